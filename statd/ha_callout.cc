#include "statd/ha_callout.h"

#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <tuple>
#include <utility>

#include "common/os/signals.h"

extern char** environ;

namespace nfsrec::statd {

// ---- SpawnedCallouts ---------------------------------------------------------

SpawnedCallouts::SpawnedCallouts(EventLoop& loop) {
  sigchld_ = std::make_unique<SignalWatcher>(loop, SIGCHLD, [this] { Reap(); });
}

SpawnedCallouts::~SpawnedCallouts() {
  for (auto& [pid, exited] : children_) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
}

Result<pid_t> SpawnedCallouts::Spawn(const std::vector<std::string>& argv, Exited exited) {
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  // The callout starts with no signal blocked, whatever the daemon blocks.
  NFSREC_ASSIGN_OR_RETURN(
      pid_t pid, SpawnWithDefaultSignals(StrCat("posix_spawn ", Printable(argv[0])), cargv.data(),
                                         environ, /*search_path=*/false));
  children_.emplace(pid, std::move(exited));
  return pid;
}

void SpawnedCallouts::Kill(pid_t pid) {
  if (children_.count(pid) != 0) ::kill(pid, SIGKILL);
}

void SpawnedCallouts::Reap() {
  // Only our own children: others (none today) keep their exit status.
  std::vector<std::tuple<Exited, pid_t, int>> ended;
  for (auto it = children_.begin(); it != children_.end();) {
    int status = 0;
    if (::waitpid(it->first, &status, WNOHANG) == it->first) {
      ended.emplace_back(std::move(it->second), it->first, status);
      it = children_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [exited, pid, status] : ended) exited(pid, status);
}

// ---- HaCallout -------------------------------------------------------------

HaCallout::HaCallout(EventLoop& loop, Scheduler& scheduler, Logger& log, Options options)
    : owned_(std::make_unique<SpawnedCallouts>(loop)),
      processes_(*owned_),
      scheduler_(scheduler),
      log_(log),
      options_(std::move(options)) {}

HaCallout::HaCallout(CalloutProcesses& processes, Scheduler& scheduler, Logger& log,
                     Options options)
    : processes_(processes), scheduler_(scheduler), log_(log), options_(std::move(options)) {}

HaCallout::~HaCallout() {
  if (drain_timer_ != 0) scheduler_.Cancel(drain_timer_);
  size_t acks = ack_queue_.size();
  size_t notifies = notify_states_.size();
  for (const auto& [pid, child] : running_) {
    if (!child.abandoned) ++(child.ack ? acks : notifies);
  }
  if (acks + notifies > 0) {
    log_.Warning(StrCat("ha callout: exiting; dropping ", acks, " add-client/del-client and ",
                        notifies, " sm-notify callout(s), queued or running"));
  }
  for (auto& [pid, child] : running_) {
    if (child.timer != 0) scheduler_.Cancel(child.timer);
    processes_.Kill(pid);
  }
  // owned_ (if ours) reaps the killed children; `exited` no longer runs.
}

void HaCallout::AddClient(const std::string& mon_name, const std::string& my_name, Done done) {
  EnqueueAck("add-client", mon_name, my_name, std::move(done));
}

void HaCallout::DelClient(const std::string& mon_name, const std::string& my_name, Done done) {
  EnqueueAck("del-client", mon_name, my_name, std::move(done));
}

void HaCallout::EnqueueAck(const char* event, const std::string& mon_name,
                           const std::string& my_name, Done done) {
  if (drained_ || ack_queue_.size() >= options_.max_ack_pending) {
    ++stats_.ack_dropped;
    log_.Warning(StrCat("ha callout ", event, " ", Printable(mon_name), " ", Printable(my_name),
                        " dropped: ", drained_ ? "shutting down" : "too many callouts waiting",
                        "; not acknowledging it"));
    return Answer(std::move(done), CalloutOutcome::kDropped);
  }
  ack_queue_.push_back(AckCallout{
      {options_.program, event, mon_name, my_name}, {mon_name, my_name}, std::move(done)});
  StartMore();
}

void HaCallout::SmNotify(const std::string& mon_name, const std::string& sender, int32_t state) {
  PeerKey key{mon_name, sender};
  auto it = notify_states_.find(key);
  if (it != notify_states_.end()) {
    it->second = state;  // only the newest state matters
    ++stats_.notify_coalesced;
    return;
  }
  if (draining_ || notify_states_.size() >= options_.max_notify_pending) {
    ++stats_.notify_dropped;
    uint64_t suppressed = 0;
    if (drop_log_.Allow(scheduler_.Now(), &suppressed)) {
      log_.Warning(StrCat("ha callout sm-notify ", Printable(mon_name), " from ", sender,
                          " dropped: ", draining_ ? "shutting down" : "queue full", " (",
                          stats_.notify_dropped, " dropped in all; ", suppressed,
                          " not logged since the last such line)"));
    }
    return;
  }
  notify_states_.emplace(key, state);
  notify_order_.push_back(std::move(key));
  StartMore();
}

void HaCallout::StartMore() {
  if (drained_) return;
  while (running_ack_ < options_.ack_children && StartAck()) {
  }
  while (running_.size() - running_ack_ < options_.notify_children && StartNotify()) {
  }
}

bool HaCallout::StartAck() {
  // The first callout whose subject has none running: events for one
  // monitor record reach the program in the order they happened.
  for (auto it = ack_queue_.begin(); it != ack_queue_.end(); ++it) {
    bool busy = false;
    for (const auto& [pid, c] : running_) busy = busy || (c.ack && c.subject == it->subject);
    if (busy) continue;
    AckCallout a = std::move(*it);
    ack_queue_.erase(it);
    Child child;
    child.ack = true;
    child.subject = a.subject;
    child.event = a.argv[1];
    child.done = std::move(a.done);
    // A program that cannot start is logged and answered kFinished, as
    // rpc.statd replies whatever its callout did.
    Spawn(std::move(a.argv), std::move(child));
    return true;
  }
  return false;
}

bool HaCallout::StartNotify() {
  if (notify_order_.empty()) return false;
  PeerKey key = std::move(notify_order_.front());
  notify_order_.pop_front();
  auto it = notify_states_.find(key);
  int32_t state = it->second;
  notify_states_.erase(it);
  Child child;
  child.subject = key;
  child.event = "sm-notify";
  Spawn({options_.program, "sm-notify", key.first, key.second, std::to_string(state)},
        std::move(child));
  return true;
}

bool HaCallout::Spawn(std::vector<std::string> argv, Child child) {
  for (auto& a : argv) {
    if (a.find('\0') != std::string::npos) a = Printable(a);
  }
  Result<pid_t> pid = processes_.Spawn(argv, [this, alive = liveness_.token()](pid_t p, int st) {
    if (alive) Exited(p, st);
  });
  if (!pid.ok()) {
    log_.Warning(StrCat("ha callout ", Printable(argv[0]), " ", child.event,
                        " could not start: ", pid.status().ToString()));
    if (child.done) Answer(std::move(child.done), CalloutOutcome::kFinished);
    return false;
  }
  log_.Debug(StrCat("ha callout ", child.event, " started, pid ", *pid));
  child.timer = scheduler_.RunAfter(options_.timeout, [this, alive = liveness_.token(), p = *pid] {
    if (!alive) return;
    auto it = running_.find(p);
    if (it == running_.end()) return;
    it->second.timer = 0;
    it->second.timed_out = true;
    log_.Warning(StrCat("ha callout ", it->second.event, " pid ", p, " timed out; killing it"));
    processes_.Kill(p);
  });
  if (child.ack) ++running_ack_;
  running_.emplace(*pid, std::move(child));
  return true;
}

void HaCallout::Exited(pid_t pid, int status) {
  auto it = running_.find(pid);
  if (it == running_.end()) return;
  Child child = std::move(it->second);
  running_.erase(it);
  if (child.ack) --running_ack_;
  if (child.timer != 0) scheduler_.Cancel(child.timer);
  ++stats_.completed;
  if (WIFEXITED(status)) {
    log_.Debug(StrCat("ha callout ", child.event, " returned ", WEXITSTATUS(status)));
  } else if (WIFSIGNALED(status) && !child.timed_out) {
    log_.Warning(StrCat("ha callout ", child.event, " killed by signal ", WTERMSIG(status)));
  }
  if (child.done) {
    child.done(child.timed_out ? CalloutOutcome::kTimedOut : CalloutOutcome::kFinished);
  }
  StartMore();
  MaybeDrained();
}

void HaCallout::Answer(Done done, CalloutOutcome outcome) {
  if (!done) return;
  scheduler_.RunAfter(Duration::zero(), [alive = liveness_.token(),
                                         done = std::make_shared<Done>(std::move(done)), outcome] {
    if (alive) (*done)(outcome);
  });
}

void HaCallout::DropNotifyQueue(const char* why) {
  if (notify_states_.empty()) return;
  stats_.notify_dropped += notify_states_.size();
  log_.Warning(StrCat("ha callout: ", why, "; dropping ", notify_states_.size(),
                      " queued sm-notify callout(s)"));
  notify_states_.clear();
  notify_order_.clear();
}

void HaCallout::Drain(Callback<void()> done) {
  drain_done_.push_back(std::move(done));
  if (draining_) return MaybeDrained();
  draining_ = true;
  DropNotifyQueue("shutting down");
  drain_timer_ = scheduler_.RunAfter(options_.drain_grace, [this, alive = liveness_.token()] {
    if (!alive) return;
    drain_timer_ = 0;
    FinishDrain(/*deadline=*/true);
  });
  MaybeDrained();
}

void HaCallout::MaybeDrained() {
  if (!draining_ || drain_done_.empty()) return;
  if (!drained_ && (!ack_queue_.empty() || !running_.empty())) return;
  FinishDrain(/*deadline=*/false);
}

void HaCallout::FinishDrain(bool deadline) {
  if (drain_timer_ != 0) scheduler_.Cancel(drain_timer_);
  drain_timer_ = 0;
  drained_ = true;
  if (deadline) {
    size_t acks = ack_queue_.size();
    size_t killed_acks = 0;
    size_t killed_notifies = 0;
    for (auto& [pid, child] : running_) {
      if (child.timer != 0) scheduler_.Cancel(child.timer);
      child.timer = 0;
      child.abandoned = true;
      processes_.Kill(pid);
      if (child.ack) {
        ++killed_acks;
        // Cut short: the reply waiting on it is not sent (lockd asks again).
        if (child.done) Answer(std::move(child.done), CalloutOutcome::kDropped);
      } else {
        ++killed_notifies;
      }
    }
    for (AckCallout& a : ack_queue_) Answer(std::move(a.done), CalloutOutcome::kDropped);
    ack_queue_.clear();
    stats_.ack_dropped += acks + killed_acks;
    if (acks + killed_acks + killed_notifies > 0) {
      log_.Warning(StrCat(
          "ha callout: still busy after ",
          std::chrono::duration_cast<std::chrono::milliseconds>(options_.drain_grace).count(),
          " ms at exit; killed ", killed_acks, " add-client/del-client and ", killed_notifies,
          " sm-notify callout(s), dropped ", acks, " queued add-client/del-client callout(s)"));
    }
  }
  std::vector<Callback<void()>> dones = std::move(drain_done_);
  drain_done_.clear();
  scheduler_.RunAfter(Duration::zero(),
                      [alive = liveness_.token(),
                       dones = std::make_shared<std::vector<Callback<void()>>>(std::move(dones))] {
                        if (!alive) return;
                        for (auto& d : *dones) d();
                      });
}

}  // namespace nfsrec::statd
