// SqliteClientStore: ClientStore in the shared SQLite database, written
// through the CommitQueue (group commit: a completion runs only after the
// COMMIT that made its change durable).  Schema: nfs4rec/client_sql.h.
//
// Loop thread only.  Load is a read-only unit of the queue, so it is ordered
// with the writes and never blocks the loop.  Completions of units still
// queued when the store is destroyed are dropped, never run against a
// destroyed owner.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/base/liveness.h"
#include "common/store/commit_queue.h"
#include "nfs4rec/client_store.h"

namespace nfsrec::nfs4rec {

class SqliteClientStore final : public ClientStore {
 public:
  // Applies the "cld" migrations (synchronously, on the commit thread).
  static Result<std::unique_ptr<SqliteClientStore>> Open(CommitQueue& queue);
  ~SqliteClientStore() override = default;
  SqliteClientStore(const SqliteClientStore&) = delete;
  SqliteClientStore& operator=(const SqliteClientStore&) = delete;

  void Load(ResultDone<ClientSnapshot> done) override;
  // Streams the current epoch's ids through `fingerprint` row by row.
  void LoadDigest(Fingerprint fingerprint, RecordFilter offered,
                  ResultDone<ClientDigest> done) override;
  void StartGrace(ResultDone<GraceStartResult> done) override;
  void OpenGrace(ResultDone<GraceStartResult> done) override;
  void ReadRecords(uint64_t epoch, std::optional<std::string> after, size_t limit,
                   ResultDone<std::vector<ClientRecord>> done) override;
  void PutClient(const ClientRecord& record, Done done) override;
  void RemoveClient(const std::string& id, Done done) override;
  void SetLeaseExpired(const std::string& id, bool expired, Done done) override;
  void CheckReclaim(const std::string& id, ResultDone<CheckResult> done) override;
  void EndGrace(ResultDone<EndGraceResult> done) override;

 private:
  explicit SqliteClientStore(CommitQueue& queue) : queue_(queue) {}
  // Submits work whose result travels from the commit thread to done(Result)
  // on the loop thread, after the commit, unless the store is gone by then.
  template <typename T>
  void SubmitWithResult(std::function<Result<T>(sqlite::Db&)> work, ResultDone<T> done);
  // Submits work whose Status goes to done, unless the store is gone by then.
  void SubmitGuarded(CommitQueue::Work work, Done done);

  CommitQueue& queue_;
  Liveness liveness_;  // ORDER: last, so it dies first
};

}  // namespace nfsrec::nfs4rec
