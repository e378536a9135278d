// HA callouts (-H prog): rpc.statd runs `prog add-client mon_name my_name`,
// `prog del-client mon_name my_name` and `prog sm-notify mon_name sender_ip
// state` so that cluster software can mirror the monitor list.
//
// rpc.statd runs them synchronously (fork + waitpid) inside the request, so a
// slow script stalls every NSM call.  Here they run one at a time, in the
// order the events happened, as child processes watched by the loop; a
// child that outlives Options::timeout is killed (SIGKILL) and the next one
// starts.  Callouts run after the change they report is durable.
#pragma once

#include <sys/types.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "common/base/clock.h"
#include "common/base/logging.h"
#include "common/os/event_loop.h"

namespace nfsrec::statd {

// What the NSM service reports; implemented by HaCallout, or by a recorder
// in tests.
class HaEvents {
 public:
  virtual ~HaEvents() = default;
  virtual void AddClient(const std::string& mon_name, const std::string& my_name) = 0;
  virtual void DelClient(const std::string& mon_name, const std::string& my_name) = 0;
  virtual void SmNotify(const std::string& mon_name, const std::string& sender, int32_t state) = 0;
};

class HaCallout final : public HaEvents {
 public:
  struct Options {
    std::string program;
    Duration timeout = std::chrono::seconds(30);
  };
  HaCallout(EventLoop& loop, Scheduler& scheduler, Logger& log, Options options);
  // Kills a running child (SIGKILL) and reaps it.
  ~HaCallout() override;
  HaCallout(const HaCallout&) = delete;
  HaCallout& operator=(const HaCallout&) = delete;

  void AddClient(const std::string& mon_name, const std::string& my_name) override;
  void DelClient(const std::string& mon_name, const std::string& my_name) override;
  void SmNotify(const std::string& mon_name, const std::string& sender, int32_t state) override;

  size_t queued() const { return queue_.size() + (child_ > 0 ? 1 : 0); }
  uint64_t completed() const { return completed_; }

 private:
  void Enqueue(std::vector<std::string> argv);
  void StartNext();
  void Reap();

  Scheduler& scheduler_;
  Logger& log_;
  Options options_;
  std::deque<std::vector<std::string>> queue_;
  pid_t child_ = -1;
  Scheduler::TimerId timer_ = 0;
  uint64_t completed_ = 0;
  std::unique_ptr<SignalWatcher> sigchld_;
};

}  // namespace nfsrec::statd
