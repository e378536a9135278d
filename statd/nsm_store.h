// NsmStore: the persistence port of the NSM service.
//
// Implementations: SqliteNsmStore (statd/sqlite_nsm_store.h), group-committed
// into the shared database; EtcdNsmStore (statd/etcd_nsm_store.h), cluster
// mode; MemNsmStore (tests/support/mem_nsm_store.h).
//
// Contract for every mutating call: `done(status)` runs later on the loop
// thread, after the change is durable (status OK) or has failed (no part of
// the call applied).  Never inline inside the call.
//
// LoadInto is asynchronous too, so that a reload (SIGUSR1) never holds up
// the loop: the read runs elsewhere (SqliteNsmStore: on the commit thread)
// and `done` runs later on the loop thread.  Calls are ordered: the load
// includes every change submitted before it that succeeded, and its `done`
// runs after the `done` of every call made before it.
//
// A load streams: each record goes to the caller's NsmLoadSink as it is
// read, so the store holds no copy of the lists.  Why: with 100,000
// monitors a snapshot held beside the index the service builds from it is
// most of the start-up's peak memory, and a second pass over every record.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/base/callback.h"
#include "common/base/result.h"
#include "statd/monitor.h"

namespace nfsrec::statd {

// Which list a loaded record is on.
enum class NsmList {
  kMonitors,  // the peers we monitor (rpc.statd's sm/)
  kNotify,    // the peers to tell that we rebooted (sm-notify's sm.bak/)
};

// Receives the records of one load.  The store calls it one call at a
// time, on the thread it reads on (SqliteNsmStore: the commit thread, so a
// sink must touch nothing the loop thread uses until the load's `done`;
// the other stores: the loop thread), and makes no call after the load's
// `done` has been posted.  Within a list, records come in that list's
// order (NsmSnapshot).  If the load fails, `done` gets the error and
// whatever the sink received is to be thrown away.
class NsmLoadSink {
 public:
  virtual ~NsmLoadSink() = default;
  // How many records each list holds, when the store knows before it
  // reads them (for reservations); a hint, possibly never given.
  virtual void Expect(size_t /*monitors*/, size_t /*notify*/) {}
  // One record; a failure ends the load with that status.
  virtual Status Add(NsmList list, MonitorRecord&& record) = 0;
};

// What a load reads besides the records.
struct NsmLoadInfo {
  int32_t local_state = 0;  // 0: never stored
  std::string boot_id;      // stored by the last PrepareReboot; "" if none
};

// Everything the NSM service keeps in memory, read in one transaction
// (NsmStore::Load, for readers that want the lists as values).
struct NsmSnapshot {
  int32_t local_state = 0;              // 0: never stored
  std::vector<MonitorRecord> monitors;  // in insertion order
  // Peers to tell that we rebooted, most recently used first.
  std::vector<MonitorRecord> notify;
  std::string boot_id;  // stored by the last PrepareReboot; "" if none
};

// A sink that gathers a load into an NsmSnapshot.
class NsmSnapshotSink final : public NsmLoadSink {
 public:
  void Expect(size_t monitors, size_t notify) override;
  Status Add(NsmList list, MonitorRecord&& record) override;
  // The records received, with `info`; leaves the sink empty.
  NsmSnapshot Take(NsmLoadInfo info);

 private:
  NsmSnapshot snapshot_;
};

class NsmStore {
 public:
  using Done = Callback<void(Status)>;
  using LoadDone = Callback<void(Result<NsmSnapshot>)>;
  using LoadIntoDone = Callback<void(Result<NsmLoadInfo>)>;
  virtual ~NsmStore() = default;

  // Reads the whole NSM state: every record into `sink` (see NsmLoadSink),
  // the rest into done's NsmLoadInfo.  Corruption if a stored row cannot be
  // a MonitorRecord.  The store keeps its reference to `sink` no longer
  // than until `done` has run.
  virtual void LoadInto(std::shared_ptr<NsmLoadSink> sink, LoadIntoDone done) = 0;
  // LoadInto, gathered into an NsmSnapshot (tools and tests; the service
  // streams).
  void Load(LoadDone done);

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
