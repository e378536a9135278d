// SqliteNsmStore: the NsmStore port over the shared SQLite database.
//
// Every mutating call becomes one unit of the CommitQueue, so it commits in a
// group with whatever else is queued and its `done` runs on the loop thread
// after the COMMIT.  The schema is documented in sqlite_nsm_store.cc.
//
// Peer and lockd states go to a journal (schema version 5, documented in
// sqlite_nsm_store.cc), not into their monitors rows.  Why: an SM_NOTIFY
// is answered only once its peer's new state is durable, so in a
// notification storm every group commit carries the new states of as many
// peers as there are senders in flight, and lockd's acknowledgements of
// as many callbacks.  As UPDATEs of monitors rows each of those dirties
// a page of its own (the rows of different peers are spread over the
// whole table): about a hundred pages of WAL per fsync, plus the
// checkpoints writing them back.  Appended to the journal, where the
// rowid grows, a group lands on the last page or two.  Durability is the
// same: the journal row commits in the group, before the reply; every
// reader applies the journal (LoadInto, ReadOffline), so a crash before the
// fold loses nothing.  The fold into monitors runs when the commit queue
// is idle (CommitQueue::SetIdleWork), a bounded step at a time, where a
// page rewritten once carries many journaled states.
//
// Threading: the public methods are called on the loop thread.  All SQL runs
// on the commit thread; LoadInto is a read-only unit of the queue, so it sees
// every change submitted before it and never blocks the loop.
#pragma once

#include <memory>
#include <vector>

#include "common/store/commit_queue.h"
#include "common/store/schema.h"
#include "statd/nsm_store.h"

namespace nfsrec::statd {

class SqliteNsmStore final : public NsmStore {
 public:
  // Name of this component's row in schema_versions.
  static constexpr const char* kComponent = "nsm";

  // Brings the "nsm" tables to the newest version (queue.RunSync).  The queue
  // must outlive the store.  Errors: those of ApplyMigrations (Corruption for
  // a database written by a newer version).
  static Result<std::unique_ptr<SqliteNsmStore>> Open(CommitQueue& queue);

  // The ordered migrations of the "nsm" component (exposed for tests).
  static const std::vector<Migration>& Migrations();
  // What a load reads, read on `db` by the caller (inside its own read
  // transaction, on a connection that may be read-only): for readers outside
  // the daemon, such as nfsrecctl.  Same errors as Load.
  static Result<NsmSnapshot> ReadOffline(sqlite::Db& db);

  ~SqliteNsmStore() override = default;
  SqliteNsmStore(const SqliteNsmStore&) = delete;
  SqliteNsmStore& operator=(const SqliteNsmStore&) = delete;

  // Corruption if a stored row cannot be a MonitorRecord (wrong types, a
  // cookie that is not 16 bytes, a number outside int32).  The sink is
  // called on the commit thread.
  void LoadInto(std::shared_ptr<NsmLoadSink> sink, LoadIntoDone done) override;

  void PutMonitor(const MonitorRecord& record, Done done) override;
  void DeleteMonitors(const std::vector<MonitorKey>& keys, Done done) override;
  // Keys without a stored record are skipped: the record may have been
  // removed by SM_UNMON while the notification was in flight.
  void SetPeerStates(const std::vector<std::pair<MonitorKey, int32_t>>& states, Done done) override;
  void SetLocalState(int32_t state, Done done) override;
  void ImportLegacy(int32_t state, const std::vector<MonitorRecord>& monitors,
                    const std::vector<MonitorRecord>& notify,
                    Callback<void(Result<bool>)> done) override;
  void SetLockdStates(const std::vector<std::pair<MonitorKey, int32_t>>& states,
                      Done done) override;
  void PrepareReboot(bool move_monitors, int32_t state, const std::string& boot_id,
                     Done done) override;
  void DeleteNotified(const std::vector<MonitorKey>& keys, Done done) override;

 private:
  explicit SqliteNsmStore(CommitQueue& queue) : queue_(queue) {}
  void Submit(CommitQueue::Work work, Done done);
  CommitQueue& queue_;
};

}  // namespace nfsrec::statd
