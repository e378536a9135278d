// NsmService: the NSM procedures (SM_STAT ... SM_NOTIFY) as deterministic
// logic over ports: NsmStore, Resolver, KernelNsm, LockdCallbacks.
//
// Loop thread only.  Every handler answers through its callback exactly
// once, possibly later (after DNS and after the store made the change
// durable).  The in-memory monitor list mirrors what has been submitted to
// the store; a failed write puts the previous entry back.
//
// Who may call (decided here, documented in docs/nsm.md):
//  - SM_MON, SM_UNMON, SM_UNMON_ALL: callers on this host, i.e. calls that
//    came in over the loopback interface from a loopback address
//    (Caller::loopback, decided by the RPC transport from the receiving
//    interface and socket, rpc::CallContext::IsLoopback).  We accept all of
//    127.0.0.0/8 and ::1, like the kernel's own check for NSM callbacks, not
//    only 127.0.0.1 as rpc.statd does: every such address is local to this
//    host (or network namespace), so widening the set grants nothing to a
//    remote caller, and it lets a user-space NLM on ::1 reach us.  A
//    v4-mapped ::ffff:127.x.y.z source on an IPv6 socket is not local: it
//    can come from the wire.
//  - SM_SIMU_CRASH: as above, and from a privileged source port.
//  - SM_STAT, SM_NOTIFY: anyone.
// Every call to those four is logged with its caller (address:port):
// refused ones as warnings, at most 20 per 10 s and then a count of those
// left out; accepted ones at debug level.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/base/callback.h"
#include "common/base/clock.h"
#include "common/base/liveness.h"
#include "common/base/log_limiter.h"
#include "common/base/logging.h"
#include "common/os/resolver.h"
#include "statd/ha_callout.h"
#include "statd/kernel_nsm.h"
#include "statd/lockd_callbacks.h"
#include "statd/monitor.h"
#include "statd/monitor_index.h"
#include "statd/nsm_codec.h"
#include "statd/nsm_store.h"

namespace nfsrec::statd {

struct Caller {
  bool loopback = false;
  bool privileged_port = false;
  std::string address;  // numeric presentation form, for logs and matching
  uint16_t port = 0;    // source port, for logs
  // When the call was read, on the loop's Scheduler clock: the time base of
  // the rate limits on log lines that callers can trigger.
  TimePoint received{};
};

class NsmService {
 public:
  using StatReply = Callback<void(StatRes)>;
  // The local state, or an error when the change could not be made durable
  // (the RPC layer then answers SYSTEM_ERR).
  using StateReply = Callback<void(Result<int32_t>)>;
  using VoidReply = Callback<void()>;
  using Done = Callback<void(Status)>;

  NsmService(NsmStore& store, Resolver& resolver, KernelNsm& kernel, LockdCallbacks& callbacks,
             Logger& log);
  NsmService(const NsmService&) = delete;
  NsmService& operator=(const NsmService&) = delete;

  // Optional (-H): told about every durable monitor change and every
  // SM_NOTIFY.  The SM_MON, SM_UNMON and SM_UNMON_ALL replies wait for their
  // add-client/del-client callouts (ha_callout.h); a callout dropped at
  // shutdown sends no reply, so lockd asks again.  Must outlive the service.
  void SetHaEvents(HaEvents* ha) { ha_ = ha; }

  // Loads the monitor list and the local state.  A store holding no state
  // (fresh install) starts at 3, as rpc.statd does; `legacy.state` (from an
  // existing rpc.statd state file, 0 if none) is adopted instead when it is
  // larger, so peers never see our number go backwards.  An even number is
  // made odd.  A store that has never held a state also takes over
  // rpc.statd's monitor and notify lists (records that would fail SM_MON's
  // checks are skipped), in the same transaction.  Any change is committed
  // before done(OK); then the state is published to the kernel.
  // rpc.statd's files come from `legacy`: legacy(false) gives the state
  // number alone (lists empty), legacy(true) everything.  The lists are
  // read only by a start whose store has never held a state (with the sm/
  // mirror on they hold one file per monitored host).  A start that wrote
  // nothing serves the lists it loaded; one that wrote loads them again.
  using LegacyReader = std::function<LegacyStatd(bool with_lists)>;
  void Start(LegacyReader legacy, Done done);
  // Start from files already read.
  void Start(const LegacyStatd& legacy, Done done);
  // Re-reads the monitor list, notify list and state from the store, after
  // another process (the sm-notify command) changed them.  The read runs
  // off the loop; done runs on the loop thread once the lists are replaced.
  // A reload asked for while one is in flight follows it.
  void Reload(Done done);
  // True while Start or Reload waits for the store.  Calls that change the
  // lists (SM_MON, SM_UNMON[_ALL], SM_NOTIFY, boot notification) wait
  // meanwhile and run, in arrival order, on the reloaded lists; SM_STAT and
  // everything else on the loop go on.
  bool loading() const { return loading_; }

  void Stat(const Caller& caller, const std::string& mon_name, StatReply reply);
  void Mon(const Caller& caller, MonArgs args, StatReply reply);
  void Unmon(const Caller& caller, MonitorKey id, StateReply reply);
  void UnmonAll(const Caller& caller, MyId id, StateReply reply);
  // Returns true if the caller may simulate a crash (the reboot itself is
  // run by whoever owns notification).
  bool SimuCrashAllowed(const Caller& caller);
  void Notify(const Caller& caller, NotifyArgs args, VoidReply reply);

  // --- Administration (nfsrecctl remove monitor; statd/nsm_admin.cc) ---
  // Which monitors of a host to remove; unset fields match any value.
  struct MonitorFilter {
    std::optional<int32_t> my_prog;
    std::optional<int32_t> my_vers;
    std::optional<int32_t> my_proc;
  };
  // Removes every monitor record of `host` that passes `filter`, as SM_UNMON
  // removes one: the host matches mon_name or the canonical name ASCII
  // case-insensitively (a numeric address also in any spelling of it), the
  // answer comes after the deletion is durable, a failed deletion leaves
  // the records monitored, and with -H the del-client callouts run first.
  // The notify list is left alone: those peers are still owed our reboot.
  // done(number removed); NotFound if no record matches.
  void RemoveMonitorsOf(const std::string& host, const MonitorFilter& filter,
                        Callback<void(Result<size_t>)> done);

  // --- Boot notification (used by BootNotifier) ---
  struct RebootPlan {
    bool new_boot = false;
    int32_t state = 0;
    std::vector<MonitorRecord> peers;  // the notify list to work through
  };
  // A new boot (boot_id differs from the stored one, or force): moves the
  // monitor list to the notify list and, if any peer is to be notified,
  // bumps the state by 2, all in one durable step, then publishes the state.
  // Otherwise it changes nothing and returns the current notify list.
  // With bump_state false (sm-notify -n) the state is left as it is.
  void PrepareReboot(const std::string& boot_id, bool force, bool bump_state,
                     Callback<void(Result<RebootPlan>)> done);
  // A peer acknowledged our SM_NOTIFY: drop it from the notify list.
  void PeerNotified(const MonitorKey& key);
  size_t notify_count() const { return notify_list_.size(); }

  int32_t local_state() const { return local_state_; }
  // Sets a new local state durably, then publishes it (boot notification).
  void SetLocalState(int32_t state, Done done);
  size_t monitor_count() const { return monitors_.size(); }
  std::vector<MonitorRecord> Monitors() const;
  // Calls waiting for a load (see loading()).
  size_t waiting() const { return waiting_.size(); }
  // Calls refused because of who made them, by procedure name ("SM_MON").
  const std::map<std::string, uint64_t>& refused_calls() const { return refused_calls_; }

 private:
  // A record and its bookkeeping: `generation` is nonzero while a change
  // is being made durable (a new one for every submitted change);
  // `ha_reported` says its add-client callout ran in this process (a record
  // loaded from the store has not: a crash may have cut it short, so a
  // repeated SM_MON runs it).
  using Entry = MonitorIndex::Entry;
  using Slot = MonitorIndex::Slot;

  bool AcceptableLegacy(const MonitorRecord& r);
  // Start, once the store answered with the lists and `stored`, the
  // stored state.
  void StartWith(const LegacyReader& read_legacy, int32_t stored, Done done);
  // After the state (and any take-over) is durable: reads the lists back
  // if this start wrote, then publishes the state.
  void FinishStart(int32_t state, bool wrote, Done done);
  // The start's last step, on the lists as loaded; `stored` is the loaded state.
  void Started(int32_t state, int32_t stored, Done done);
  // Loads the lists during Start: then(stored state, done), or, if the
  // store fails, the load ends and done gets the error.
  void LoadForStart(Done done, Callback<void(int32_t, Done)> then);
  void ReloadNext();
  // Loads the lists and boot id from the store and replaces the in-memory
  // ones; done(the stored state), unless the service is gone.
  void LoadLists(Callback<void(Result<int32_t>)> done);
  // Ends a load: runs the calls that waited for it, in order.
  void LoadFinished();
  // Queues `call` until the load in flight has been applied.
  void Wait(Callback<void()> call);
  // Resolves without blocking; `then` runs on the loop thread unless the
  // service is gone.
  void Lookup(const std::string& name, Resolver::Done then);

  void FinishMon(MonArgs args, std::string canonical, StatReply reply);
  // Whether a caller may use a privileged procedure (and, if
  // `reserved_port`, called from a privileged port); logs the decision.
  bool FromLocalHost(const Caller& caller, const char* procedure, bool reserved_port = false);
  // Runs the add-client callout (with -H), then reply(res).
  void ReportAdded(const MonitorKey& key, StatRes res, StatReply reply);
  // Runs the del-client callouts (with -H), then replies the local state.
  void ReportRemoved(const std::vector<MonitorKey>& keys, StateReply reply);
  // A rate-limited line about an SM_NOTIFY that matches no monitor.
  void LogUnmatchedNotify(TimePoint received, const std::string& line);
  // Deletes monitors already taken out of the list (keys[i] was removed[i])
  // and replies with the local state; if the store fails they are put back,
  // `failure` starts the logged error and the reply is that error.
  void RemoveMonitors(std::vector<MonitorKey> keys, std::vector<Entry> removed, std::string failure,
                      StateReply reply);
  void NotifyMatched(TimePoint received, const NotifyArgs& args,
                     const std::vector<std::string>& names,
                     const std::vector<std::string>& addresses, VoidReply reply);
  void PublishState();
  // Queues the callback lockd is owed for rec.peer_state; on lockd's
  // acknowledgement, records it durably.
  void OwedCallback(const MonitorRecord& rec);
  void CallbackDelivered(const MonitorKey& key, int32_t state);
  // Writes the acknowledgements gathered in delivered_, unless a write of
  // them is in flight (its completion writes the next batch).
  void WriteDelivered();
  uint32_t NextGeneration();

  NsmStore& store_;
  Resolver& resolver_;
  KernelNsm& kernel_;
  LockdCallbacks& callbacks_;
  Logger& log_;
  HaEvents* ha_ = nullptr;
  LogLimiter unmatched_log_{"NSM: SM_NOTIFY matching no monitor", 10, std::chrono::minutes(1)};
  int32_t local_state_ = 0;
  uint32_t next_generation_ = 1;
  MonitorIndex monitors_;
  MonitorIndex notify_list_;
  std::string boot_id_;
  LogLimiter refused_log_{"NSM: refused privileged calls", 20, std::chrono::seconds(10)};
  std::map<std::string, uint64_t> refused_calls_;
  bool loading_ = false;
  std::deque<Callback<void()>> waiting_;
  std::vector<Done> reloads_;  // Reload calls that wait for the next load
  // lockd's acknowledgements not yet written, and whether a write is in flight.
  std::vector<std::pair<MonitorKey, int32_t>> delivered_;
  bool writing_delivered_ = false;
  Liveness liveness_;  // last: late store, resolver and lockd answers check it
};

// Validation helpers, exposed for tests.
// mon_name must be non-empty, free of NUL and '/', and must not start with '.'.
bool AcceptableMonName(const std::string& name);
// Maps space, tab, CR and LF to '_' (rpc.statd does the same to my_name).
std::string SanitizeMyName(std::string name);
// "mon_name for my_name", printable, for logs.
std::string Describe(const MonitorKey& key);
// ASCII case-insensitive equality (host names).
bool EqualsIgnoreCase(const std::string& a, const std::string& b);

}  // namespace nfsrec::statd
