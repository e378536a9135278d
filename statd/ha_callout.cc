#include "statd/ha_callout.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <utility>

extern char** environ;

namespace nfsrec::statd {

HaCallout::HaCallout(EventLoop& loop, Scheduler& scheduler, Logger& log, Options options)
    : scheduler_(scheduler), log_(log), options_(std::move(options)) {
  sigchld_ = std::make_unique<SignalWatcher>(loop, SIGCHLD, [this] { Reap(); });
}

HaCallout::~HaCallout() {
  if (timer_ != 0) scheduler_.Cancel(timer_);
  if (child_ > 0) {
    ::kill(child_, SIGKILL);
    ::waitpid(child_, nullptr, 0);
  }
}

void HaCallout::AddClient(const std::string& mon_name, const std::string& my_name) {
  Enqueue({options_.program, "add-client", mon_name, my_name});
}

void HaCallout::DelClient(const std::string& mon_name, const std::string& my_name) {
  Enqueue({options_.program, "del-client", mon_name, my_name});
}

void HaCallout::SmNotify(const std::string& mon_name, const std::string& sender, int32_t state) {
  Enqueue({options_.program, "sm-notify", mon_name, sender, std::to_string(state)});
}

void HaCallout::Enqueue(std::vector<std::string> argv) {
  // Arguments go to execve as separate strings: no shell ever sees them.
  for (auto& a : argv) {
    if (a.find('\0') != std::string::npos) a = Printable(a);
  }
  queue_.push_back(std::move(argv));
  if (child_ <= 0) StartNext();
}

void HaCallout::StartNext() {
  while (child_ <= 0 && !queue_.empty()) {
    std::vector<std::string> argv = std::move(queue_.front());
    queue_.pop_front();
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, cargv[0], nullptr, nullptr, cargv.data(), environ);
    if (rc != 0) {
      log_.Warning(StrCat("ha callout ", Printable(argv[0]), " ", argv[1],
                          " could not start: ", std::strerror(rc)));
      continue;
    }
    child_ = pid;
    log_.Debug(StrCat("ha callout ", argv[1], " started, pid ", pid));
    timer_ = scheduler_.RunAfter(options_.timeout, [this] {
      timer_ = 0;
      if (child_ > 0) {
        log_.Warning(StrCat("ha callout pid ", child_, " timed out; killing it"));
        ::kill(child_, SIGKILL);
      }
    });
  }
}

void HaCallout::Reap() {
  if (child_ <= 0) return;
  int status = 0;
  pid_t r = ::waitpid(child_, &status, WNOHANG);
  if (r != child_) return;  // some other child, or not finished yet
  if (timer_ != 0) scheduler_.Cancel(timer_);
  timer_ = 0;
  child_ = -1;
  ++completed_;
  if (WIFEXITED(status)) {
    log_.Debug(StrCat("ha callout returned ", WEXITSTATUS(status)));
  } else if (WIFSIGNALED(status)) {
    log_.Warning(StrCat("ha callout killed by signal ", WTERMSIG(status)));
  }
  StartNext();
}

}  // namespace nfsrec::statd
