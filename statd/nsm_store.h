// NsmStore: the persistence port of the NSM service.
//
// Implementations: SqliteNsmStore (statd/sqlite_nsm_store.h), group-committed
// into the shared database; MemNsmStore (tests/support/mem_nsm_store.h).
// A future distributed backend implements the same port.
//
// Contract for every mutating call: `done(status)` runs later on the loop
// thread, after the change is durable (status OK) or has failed (no part of
// the call applied).  Never inline inside the call.
//
// Load is asynchronous too, so that a reload (SIGUSR1) never holds up the
// loop: the read runs elsewhere (SqliteNsmStore: on the commit thread) and
// `done` runs later on the loop thread.  Calls are ordered: the snapshot
// includes every change submitted before Load that succeeded, and Load's
// `done` runs after the `done` of every call made before it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/base/callback.h"
#include "common/base/result.h"
#include "statd/monitor.h"

namespace nfsrec::statd {

// Everything the NSM service keeps in memory, read in one transaction.
struct NsmSnapshot {
  int32_t local_state = 0;              // 0: never stored
  std::vector<MonitorRecord> monitors;  // in insertion order
  // Peers to tell that we rebooted, most recently used first.
  std::vector<MonitorRecord> notify;
  std::string boot_id;  // stored by the last PrepareReboot; "" if none
};

class NsmStore {
 public:
  using Done = Callback<void(Status)>;
  using LoadDone = Callback<void(Result<NsmSnapshot>)>;
  virtual ~NsmStore() = default;

  // Reads the whole NSM state (see NsmSnapshot).  Corruption if a stored
  // row cannot be a MonitorRecord.
  virtual void Load(LoadDone done) = 0;

  // Inserts, or replaces the record with the same key.
  virtual void PutMonitor(const MonitorRecord& record, Done done) = 0;
  // Deletes the records with these keys; absent keys are not an error.
  virtual void DeleteMonitors(const std::vector<MonitorKey>& keys, Done done) = 0;
  // Records the latest state seen from peers, per monitor record.
  virtual void SetPeerStates(const std::vector<std::pair<MonitorKey, int32_t>>& states,
                             Done done) = 0;
  // The stored number never goes down: a smaller `state` leaves it as it
  // is (the daemon and the sm-notify command may both write at first boot).
  virtual void SetLocalState(int32_t state, Done done) = 0;
  // One transaction, for taking over rpc.statd's files (LegacyStatd), that
  // changes nothing if a state is already stored (another process took
  // over first): the local state becomes `state`, and the records join the
  // monitor list and the notify list, replacing records with the same key.
  // `done` gets true if this call imported, false if a state was there.
  virtual void ImportLegacy(int32_t state, const std::vector<MonitorRecord>& monitors,
                            const std::vector<MonitorRecord>& notify,
                            Callback<void(Result<bool>)> done) = 0;
  // Records that lockd acknowledged the callback for `state`.
  virtual void SetLockdStates(const std::vector<std::pair<MonitorKey, int32_t>>& states,
                              Done done) = 0;

  // --- Boot notification (statd/boot_notifier.h) ---
  // The notify list (NsmSnapshot::notify) is sm-notify's sm.bak.
  // One transaction: if move_monitors, every monitor record moves to the
  // notify list (replacing a notify record with the same key) and the
  // monitor list becomes empty; the local state becomes `state` (never
  // lower, as SetLocalState); the boot id is stored.
  virtual void PrepareReboot(bool move_monitors, int32_t state, const std::string& boot_id,
                             Done done) = 0;
  // Removes peers that acknowledged our SM_NOTIFY; absent keys are fine.
  virtual void DeleteNotified(const std::vector<MonitorKey>& keys, Done done) = 0;
};

}  // namespace nfsrec::statd
