// HA callouts (-H prog): `prog add-client mon_name my_name`, `prog
// del-client mon_name my_name` and `prog sm-notify mon_name sender_ip
// state`, so that cluster software can mirror the monitor list.
//
// Contract (docs/nsm.md): an add-client or del-client callout is part of
// the acknowledgement.  rpc.statd runs it synchronously before its reply;
// here the SM_MON / SM_UNMON / SM_UNMON_ALL reply waits, without blocking
// the loop, until the store committed AND the callout exited or was killed
// at Options::timeout.  We chose this over a durable pending-callout record
// because it keeps rpc.statd's meaning (a reply means the cluster software
// was told), needs no schema, and a crash in between loses nothing that
// lockd does not retry: the reply was never sent, lockd's SM_MON fails and
// is sent again, and a repeated SM_MON for a record whose add-client has not
// run in this process runs it (NsmService).  The one window left is a crash
// after an SM_UNMON's delete committed and before its del-client ran: the
// record is gone, so a repeated SM_UNMON finds nothing (rpc.statd has the
// mirror-image window: it runs del-client before the delete).
//
// Two lanes, so a flood of SM_NOTIFY (which anybody can send) never delays
// an acknowledgement:
//  - the ack lane (add-client, del-client): FIFO, Options::ack_children at
//    once, callouts for the same (mon_name, my_name) strictly in order;
//    at most Options::max_ack_pending waiting, beyond that an event is
//    answered kDropped at once (the caller does not acknowledge).
//  - the notify lane (sm-notify): one pending callout per (mon_name,
//    sender), holding the newest state only; at most
//    Options::max_notify_pending distinct pairs, further ones are dropped,
//    counted and logged rate-limited.  Options::notify_children at once.
//  The ack lane is filled first whenever a child exits.
//
// Drain (orderly exit): queued sm-notify callouts are dropped; the ack lane
// goes on; children still running after Options::drain_grace are killed,
// and what was dropped is logged per kind.  The destructor kills and reaps
// any child left (SIGKILL) and logs what it drops.
//
// Arguments go to execve as separate strings: no shell ever sees them.
// Loop thread only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/base/callback.h"
#include "common/base/clock.h"
#include "common/base/liveness.h"
#include "common/base/log_limiter.h"
#include "common/base/logging.h"
#include "common/base/result.h"
#include "common/os/event_loop.h"

namespace nfsrec::statd {

// How an add-client or del-client callout ended, for the reply waiting on it.
enum class CalloutOutcome {
  kFinished,  // exited (any status), or could not be started (logged)
  kTimedOut,  // killed after Options::timeout
  kDropped,   // not run, or cut short by shutdown: do not acknowledge
};

// What the NSM service reports; implemented by HaCallout, or by
// FakeHaEvents in tests.  `done` runs on the loop thread, never inline.
class HaEvents {
 public:
  using Done = Callback<void(CalloutOutcome)>;
  virtual ~HaEvents() = default;
  virtual void AddClient(const std::string& mon_name, const std::string& my_name, Done done) = 0;
  virtual void DelClient(const std::string& mon_name, const std::string& my_name, Done done) = 0;
  virtual void SmNotify(const std::string& mon_name, const std::string& sender, int32_t state) = 0;
};

// Starting and killing callout children: SpawnedCallouts for real,
// FakeCalloutProcesses (tests/support) in tests.
class CalloutProcesses {
 public:
  // The child's pid and wait status (waitpid).
  using Exited = Callback<void(pid_t pid, int status)>;
  virtual ~CalloutProcesses() = default;
  // Starts argv[0] with argv; `exited` runs on the loop thread once the
  // child has been reaped.  An error if it could not be started.
  virtual Result<pid_t> Spawn(const std::vector<std::string>& argv, Exited exited) = 0;
  // SIGKILL; `exited` still runs when the child is reaped.
  virtual void Kill(pid_t pid) = 0;
};

// posix_spawn, reaped on SIGCHLD by the loop.  The destructor kills and
// reaps every child still running; their `exited` callbacks never run.
class SpawnedCallouts final : public CalloutProcesses {
 public:
  explicit SpawnedCallouts(EventLoop& loop);
  ~SpawnedCallouts() override;
  SpawnedCallouts(const SpawnedCallouts&) = delete;
  SpawnedCallouts& operator=(const SpawnedCallouts&) = delete;

  Result<pid_t> Spawn(const std::vector<std::string>& argv, Exited exited) override;
  void Kill(pid_t pid) override;

 private:
  void Reap();

  std::map<pid_t, Exited> children_;
  std::unique_ptr<SignalWatcher> sigchld_;
};

class HaCallout final : public HaEvents {
 public:
  struct Options {
    std::string program;
    Duration timeout = std::chrono::seconds(30);
    Duration drain_grace = std::chrono::seconds(5);
    size_t ack_children = 2;
    size_t notify_children = 1;
    size_t max_ack_pending = 4096;
    size_t max_notify_pending = 1024;
  };
  struct Stats {
    uint64_t completed = 0;         // children reaped
    uint64_t notify_coalesced = 0;  // sm-notify replaced by a newer state before it ran
    uint64_t notify_dropped = 0;    // sm-notify refused (queue full, or shutting down)
    uint64_t ack_dropped = 0;       // add-client/del-client answered kDropped
  };

  // Real children, watched by `loop`.
  HaCallout(EventLoop& loop, Scheduler& scheduler, Logger& log, Options options);
  // Children through `processes`, which must outlive this object.
  HaCallout(CalloutProcesses& processes, Scheduler& scheduler, Logger& log, Options options);
  ~HaCallout() override;
  HaCallout(const HaCallout&) = delete;
  HaCallout& operator=(const HaCallout&) = delete;

  void AddClient(const std::string& mon_name, const std::string& my_name, Done done) override;
  void DelClient(const std::string& mon_name, const std::string& my_name, Done done) override;
  void SmNotify(const std::string& mon_name, const std::string& sender, int32_t state) override;

  // Stops taking sm-notify callouts, lets running and queued add-client /
  // del-client callouts run for up to drain_grace, then kills what still
  // runs; `done` runs on the loop thread once no callout is left.
  void Drain(Callback<void()> done);

  size_t ack_pending() const { return ack_queue_.size(); }
  size_t notify_pending() const { return notify_states_.size(); }
  size_t running() const { return running_.size(); }
  // Callouts queued or running.
  size_t queued() const { return ack_pending() + notify_pending() + running(); }
  uint64_t completed() const { return stats_.completed; }
  const Stats& stats() const { return stats_; }

 private:
  using PeerKey = std::pair<std::string, std::string>;  // (mon_name, my_name or sender)
  struct AckCallout {
    std::vector<std::string> argv;
    PeerKey subject;
    Done done;
  };
  struct Child {
    bool ack = false;
    PeerKey subject;
    std::string event;
    Done done;  // ack lane only
    Scheduler::TimerId timer = 0;
    bool timed_out = false;
    bool abandoned = false;  // killed at the end of a drain, already counted
  };

  void EnqueueAck(const char* event, const std::string& mon_name, const std::string& my_name,
                  Done done);
  // Starts what the concurrency limits allow, ack lane first.
  void StartMore();
  bool StartAck();
  bool StartNotify();
  // Returns false if the child could not be started (then logged).
  bool Spawn(std::vector<std::string> argv, Child child);
  void Exited(pid_t pid, int status);
  // Answers `done` on the loop thread.
  void Answer(Done done, CalloutOutcome outcome);
  void DropNotifyQueue(const char* why);
  void FinishDrain(bool deadline);
  void MaybeDrained();

  std::unique_ptr<CalloutProcesses> owned_;
  CalloutProcesses& processes_;
  Scheduler& scheduler_;
  Logger& log_;
  Options options_;
  Stats stats_;
  std::deque<AckCallout> ack_queue_;
  std::map<PeerKey, int32_t> notify_states_;  // newest state per pending pair
  std::deque<PeerKey> notify_order_;          // pairs in arrival order
  std::map<pid_t, Child> running_;
  size_t running_ack_ = 0;
  LogLimiter drop_log_{"ha callout: dropped sm-notify", 1, std::chrono::seconds(60)};
  bool draining_ = false;
  bool drained_ = false;  // the grace ended: nothing more runs
  Scheduler::TimerId drain_timer_ = 0;
  std::vector<Callback<void()>> drain_done_;
  Liveness liveness_;  // last: answers posted through the scheduler check it
};

}  // namespace nfsrec::statd
