// NsmService: loading the lists (Start, Reload), the calls that wait for a
// load, lockd callbacks owed, and the boot-notification steps.  The NSM
// procedures themselves are in nsm_procedures.cc.
#include "statd/nsm_service.h"

#include <utility>

namespace nfsrec::statd {

NsmService::NsmService(NsmStore& store, Resolver& resolver, KernelNsm& kernel,
                       LockdCallbacks& callbacks, Logger& log)
    : store_(store), resolver_(resolver), kernel_(kernel), callbacks_(callbacks), log_(log) {}

namespace {

// Builds the lists of a load as the store reads them, on the store's
// thread (the commit thread for SqliteNsmStore), so the loop thread only
// swaps them in.
class ListsSink final : public NsmLoadSink {
 public:
  void Expect(size_t monitor_count, size_t notify_count) override {
    monitors.Reserve(monitor_count);
    notify.Reserve(notify_count);
  }
  Status Add(NsmList list, MonitorRecord&& record) override {
    // The store's keys are unique; were one repeated, the first would win.
    (list == NsmList::kMonitors ? monitors : notify).Insert(record);
    return Status::Ok();
  }
  MonitorIndex monitors;
  MonitorIndex notify;
};

}  // namespace

void NsmService::LoadLists(Callback<void(Result<int32_t>)> done) {
  auto lists = std::make_shared<ListsSink>();
  store_.LoadInto(lists, [this, alive = liveness_.token(), lists,
                          done = std::move(done)](Result<NsmLoadInfo> info) mutable {
    if (!alive) return;
    if (!info.ok()) return done(info.status());
    boot_id_ = std::move(info->boot_id);
    monitors_ = std::move(lists->monitors);
    notify_list_ = std::move(lists->notify);
    done(info->local_state);
  });
}

void NsmService::Wait(Callback<void()> call) { waiting_.push_back(std::move(call)); }

void NsmService::LoadFinished() {
  loading_ = false;
  // A waiting call may start another load (a Reload); the rest wait again.
  while (!loading_ && !waiting_.empty()) {
    Callback<void()> call = std::move(waiting_.front());
    waiting_.pop_front();
    call();
  }
}

void NsmService::Reload(Done done) {
  reloads_.push_back(std::move(done));
  if (loading_) return;  // joins the load that follows the one in flight
  ReloadNext();
}

void NsmService::ReloadNext() {
  if (loading_ || reloads_.empty()) return;
  loading_ = true;
  std::vector<Done> dones = std::move(reloads_);
  reloads_.clear();
  auto finish = [this, dones = std::move(dones)](Status st) mutable {
    for (Done& d : dones) d(st);
    LoadFinished();
    ReloadNext();  // Reload calls that came while this one was in flight
  };
  LoadLists([this, finish = std::move(finish)](Result<int32_t> loaded) mutable {
    if (!loaded.ok()) {
      log_.Error(StrCat("Reload failed: ", loaded.status().ToString()));
      return finish(loaded.status());
    }
    const int32_t stored = *loaded;
    if (stored > 0 && stored != local_state_) {
      local_state_ = stored;
      PublishState();
    }
    log_.Notice(StrCat("Reloaded: ", monitors_.size(), " monitor record(s), ", notify_list_.size(),
                       " peer(s) to notify, NSM state ", local_state_));
    finish(Status::Ok());
  });
}

// The checks of SM_MON, for records that come from rpc.statd's files.
bool NsmService::AcceptableLegacy(const MonitorRecord& r) {
  const MonitorKey& k = r.key;
  const bool ok = k.my_prog == static_cast<int32_t>(kNlmProgram) &&
                  (k.my_proc == kNlmProcSmNotify || k.my_proc == kNlm4ProcSmNotify) &&
                  AcceptableMonName(k.mon_name) && !k.my_name.empty() &&
                  k.my_name.find('\0') == std::string::npos;
  if (!ok) log_.Warning(StrCat("Not taking over rpc.statd's record for ", Describe(k)));
  return ok;
}

void NsmService::Start(const LegacyStatd& legacy, Done done) {
  Start(
      [legacy](bool with_lists) {
        return with_lists ? legacy : LegacyStatd{legacy.state, {}, {}, {}};
      },
      std::move(done));
}

void NsmService::Start(LegacyReader legacy, Done done) {
  loading_ = true;
  LoadForStart(std::move(done), [this, legacy = std::move(legacy)](int32_t stored, Done next) {
    StartWith(legacy, stored, std::move(next));
  });
}

void NsmService::LoadForStart(Done done, Callback<void(int32_t, Done)> then) {
  LoadLists([this, done = std::move(done), then = std::move(then)](Result<int32_t> stored) mutable {
    if (!stored.ok()) {
      loading_ = false;
      return done(stored.status().WithContext("loading the NSM lists"));
    }
    then(*stored, std::move(done));
  });
}

void NsmService::StartWith(const LegacyReader& read_legacy, int32_t stored, Done done) {
  const LegacyStatd legacy = read_legacy(/*with_lists=*/stored <= 0);
  int32_t state = stored;
  if (state <= 0 && legacy.state <= 0) {
    log_.Notice("Initializing NSM state");
    state = 3;  // 1, bumped once: what rpc.statd writes on a fresh install
  }
  if (legacy.state > state) state = legacy.state;
  if ((state & 1) == 0) ++state;  // odd means "up"

  // A database that has never stored a state takes over rpc.statd's lists
  // once, in the transaction that stores the state: the peers that statd
  // monitored must still be told when we reboot.
  if (stored <= 0) {
    for (const std::string& p : legacy.problems) log_.Warning(StrCat("rpc.statd's files: ", p));
    std::vector<MonitorRecord> monitors;
    std::vector<MonitorRecord> notify;
    for (const MonitorRecord& r : legacy.monitors) {
      if (AcceptableLegacy(r)) monitors.push_back(r);
    }
    for (const MonitorRecord& r : legacy.notify) {
      if (AcceptableLegacy(r)) notify.push_back(r);
    }
    if (!monitors.empty() || !notify.empty()) {
      const size_t n_mon = monitors.size();
      const size_t n_notify = notify.size();
      store_.ImportLegacy(
          state, monitors, notify,
          [this, alive = liveness_.token(), state, n_mon, n_notify,
           done = std::move(done)](Result<bool> imported) mutable {
            if (!alive) return;
            if (!imported.ok()) {
              loading_ = false;
              return done(imported.status().WithContext("taking over rpc.statd's lists"));
            }
            if (*imported) {
              log_.Notice(StrCat("Took over from rpc.statd: ", n_mon, " monitor record(s) (sm/), ",
                                 n_notify, " peer(s) to notify (sm.bak/)"));
            } else {
              log_.Info(
                  "rpc.statd's lists were taken over by another process (the sm-notify command)");
            }
            FinishStart(state, /*wrote=*/true, std::move(done));
          });
      return;
    }
  }
  if (state == stored) return FinishStart(state, /*wrote=*/false, std::move(done));
  store_.SetLocalState(
      state, [this, alive = liveness_.token(), state, done = std::move(done)](Status st) mutable {
        if (!alive) return;
        if (!st.ok()) {
          loading_ = false;
          return done(st.WithContext("storing NSM state"));
        }
        FinishStart(state, /*wrote=*/true, std::move(done));
      });
}

void NsmService::FinishStart(int32_t state, bool wrote, Done done) {
  // Nothing written: the lists loaded are the store's, as of a load that
  // followed every change submitted before it.
  if (!wrote) return Started(state, state, std::move(done));
  // Read back what was committed: the store keeps the larger number if
  // another process (the sm-notify command at the same first boot) stored
  // one meanwhile, and its lists if it took over rpc.statd's first.
  LoadForStart(std::move(done),
               [this, state](int32_t now, Done next) { Started(state, now, std::move(next)); });
}

void NsmService::Started(int32_t state, int32_t stored, Done done) {
  local_state_ = stored > state ? stored : state;
  log_.Notice(StrCat("Local NSM state number: ", local_state_));
  log_.Info(StrCat("Loaded ", monitors_.size(), " monitor record(s)"));
  PublishState();
  // Callbacks that lockd never acknowledged before the restart, in key
  // order (only these few are sorted, not the whole list).
  std::vector<Slot> owed;
  for (Slot s : monitors_.Unordered()) {
    const int32_t peer_state = monitors_.peer_state(s);
    if (peer_state != 0 && peer_state != monitors_.lockd_state(s)) owed.push_back(s);
  }
  for (Slot s : monitors_.SortedByKey(std::move(owed))) {
    const MonitorRecord rec = monitors_.Record(s);
    log_.Info(StrCat("Resending the callback for ", Describe(rec.key), ", state ", rec.peer_state));
    OwedCallback(rec);
  }
  done(Status::Ok());
  LoadFinished();
}

void NsmService::OwedCallback(const MonitorRecord& rec) {
  CallbackRequest r{rec.key, rec.key.mon_name, rec.peer_state, rec.priv, nullptr};
  r.done = [this, alive = liveness_.token(), key = rec.key,
            state = rec.peer_state](bool delivered) {
    if (alive && delivered) CallbackDelivered(key, state);
  };
  callbacks_.Enqueue(r);
}

void NsmService::CallbackDelivered(const MonitorKey& key, int32_t state) {
  if (loading_) return Wait([this, key, state] { CallbackDelivered(key, state); });
  const Slot slot = monitors_.Find(key);
  if (slot == MonitorIndex::kNone) return;  // unmonitored meanwhile
  monitors_.set_lockd_state(slot, state);
  delivered_.emplace_back(key, state);
  WriteDelivered();
}

// lockd's acknowledgements are written in batches: one write in flight, and
// every acknowledgement that came meanwhile goes into the next one.  Nothing
// waits for them, because losing one is harmless: after a crash the
// callback is sent again (peer_state != lockd_state at start-up), and lockd
// ignores a state it already has (the kernel's host records compare it).
// What must be durable before an answer is the owed callback itself, the
// peer's new state, which SM_NOTIFY's reply waits for.
void NsmService::WriteDelivered() {
  if (writing_delivered_ || delivered_.empty()) return;
  std::vector<std::pair<MonitorKey, int32_t>> batch;
  batch.reserve(delivered_.size());
  for (auto& [key, state] : delivered_) {
    // Skip what changed since: a record unmonitored (and perhaps monitored
    // again) or reloaded must not take an older acknowledgement.
    const Slot slot = monitors_.Find(key);
    if (slot != MonitorIndex::kNone && monitors_.lockd_state(slot) == state) {
      batch.emplace_back(std::move(key), state);
    }
  }
  delivered_.clear();
  if (batch.empty()) return;
  writing_delivered_ = true;
  const size_t count = batch.size();
  store_.SetLockdStates(batch, [this, alive = liveness_.token(), count](Status st) {
    if (!alive) return;
    writing_delivered_ = false;
    if (!st.ok()) {
      // Harmless: those callbacks are sent again after a restart.
      log_.Warning(
          StrCat("Failed to record the delivery of ", count, " callback(s): ", st.ToString()));
    }
    WriteDelivered();
  });
}

void NsmService::PublishState() {
  Status st = kernel_.PublishLocalState(local_state_);
  if (st.IsNotFound()) {
    log_.Debug(StrCat("lockd is not loaded; state not published: ", st.ToString()));
  } else if (!st.ok()) {
    log_.Warning(StrCat("Failed to publish NSM state to the kernel: ", st.ToString()));
  }
}

void NsmService::SetLocalState(int32_t state, Done done) {
  store_.SetLocalState(
      state, [this, alive = liveness_.token(), state, done = std::move(done)](Status st) mutable {
        if (!alive) return;
        if (st.ok()) {
          local_state_ = state;
          PublishState();
        }
        done(st);
      });
}

void NsmService::PrepareReboot(const std::string& boot_id, bool force, bool bump_state,
                               Callback<void(Result<RebootPlan>)> done) {
  if (loading_) {
    return Wait([this, boot_id, force, bump_state, done = std::move(done)]() mutable {
      PrepareReboot(boot_id, force, bump_state, std::move(done));
    });
  }
  auto values = [](const MonitorIndex& m) {
    std::vector<MonitorRecord> out;
    out.reserve(m.size());
    for (Slot s : m.All()) out.push_back(m.Record(s));
    return out;
  };
  bool new_boot = force || boot_id.empty() || boot_id != boot_id_;
  if (!new_boot) {
    return done(RebootPlan{false, local_state_, values(notify_list_)});
  }
  // The state changes only if somebody is to hear about it (sm-notify).
  const bool no_peers = notify_list_.empty() && monitors_.empty();
  int32_t state = no_peers || !bump_state ? local_state_ : local_state_ + 2;

  // The in-memory list empties now, in submission order with the store, so
  // an SM_MON that arrives before the commit lands in the new list.
  MonitorIndex old_monitors = std::move(monitors_);
  monitors_.Clear();
  store_.PrepareReboot(
      true, state, boot_id,
      [this, alive = liveness_.token(), state, boot_id, old_monitors = std::move(old_monitors),
       values, done = std::move(done)](Status st) mutable {
        if (!alive) return;
        if (!st.ok()) {
          for (Slot s : old_monitors.All()) {
            if (monitors_.Find(old_monitors.Key(s)) == MonitorIndex::kNone) {
              monitors_.Put(old_monitors.Get(s));
            }
          }
          return done(st.WithContext("preparing boot notification"));
        }
        // As the store did: every monitor record joins the notify list,
        // replacing a notify record with the same key.
        for (Slot s : old_monitors.All()) notify_list_.Put(Entry{old_monitors.Record(s)});
        old_monitors.Clear();
        boot_id_ = boot_id;
        if (state != local_state_) {
          log_.Notice(StrCat("NSM state number changed to ", state));
        }
        local_state_ = state;
        PublishState();
        done(RebootPlan{true, state, values(notify_list_)});
      });
}

void NsmService::PeerNotified(const MonitorKey& key) {
  if (loading_) return Wait([this, key] { PeerNotified(key); });
  const Slot slot = notify_list_.Find(key);
  if (slot == MonitorIndex::kNone) return;
  notify_list_.Erase(slot);
  store_.DeleteNotified({key}, [this, alive = liveness_.token(), key](Status st) {
    if (alive && !st.ok()) {
      // The row stays, so the peer is notified again next boot: harmless.
      log_.Warning(StrCat("Failed to drop ", Printable(key.mon_name),
                          " from the notify list: ", st.ToString()));
    }
  });
}

std::vector<MonitorRecord> NsmService::Monitors() const {
  std::vector<MonitorRecord> out;
  out.reserve(monitors_.size());
  for (Slot s : monitors_.All()) out.push_back(monitors_.Record(s));
  return out;
}

}  // namespace nfsrec::statd
