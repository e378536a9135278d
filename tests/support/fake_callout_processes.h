// FakeCalloutProcesses: HA callout children without processes.  Spawn
// records the command line and hands out a pid; a test ends a child with
// Exit(pid) (or ExitOldest()), which runs its `exited` callback as the
// loop's SIGCHLD reaping would.  Kill only records the signal, as a real
// SIGKILL is reaped later: ReapKilled() ends the killed children.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "statd/ha_callout.h"

namespace nfsrec::statd {

class FakeCalloutProcesses final : public CalloutProcesses {
 public:
  Result<pid_t> Spawn(const std::vector<std::string>& argv, Exited exited) override {
    std::string line;
    for (size_t i = 1; i < argv.size(); ++i) line += (i > 1 ? " " : "") + argv[i];
    if (fail_spawn) return Status::NotFound("no such program");
    pid_t pid = next_pid_++;
    started.push_back(line);
    running_.emplace(pid, Child{line, std::move(exited), false});
    return pid;
  }
  void Kill(pid_t pid) override {
    auto it = running_.find(pid);
    if (it == running_.end() || it->second.killed) return;
    it->second.killed = true;
    killed.push_back(it->second.line);
  }
  // Reaps every killed child (wait status: terminated by SIGKILL).
  void ReapKilled() {
    std::vector<pid_t> pids;
    for (const auto& [pid, c] : running_) {
      if (c.killed) pids.push_back(pid);
    }
    for (pid_t pid : pids) Exit(pid, SIGKILL);
  }
  // Ends a child with wait status `status` (0: exit 0).
  void Exit(pid_t pid, int status = 0) {
    auto it = running_.find(pid);
    if (it == running_.end()) return;
    Exited e = std::move(it->second.exited);
    running_.erase(it);
    e(pid, status);
  }
  // Ends the child started first among those still running; false if none.
  bool ExitOldest(int status = 0) {
    if (running_.empty()) return false;
    Exit(running_.begin()->first, status);
    return true;
  }
  std::vector<std::string> running() const {
    std::vector<std::string> out;
    for (const auto& [pid, c] : running_) out.push_back(c.line);
    return out;
  }

  bool fail_spawn = false;
  std::vector<std::string> started;  // "add-client mon my", in start order
  std::vector<std::string> killed;

 private:
  struct Child {
    std::string line;
    Exited exited;
    bool killed = false;
  };
  pid_t next_pid_ = 1000;
  std::map<pid_t, Child> running_;
};

}  // namespace nfsrec::statd
