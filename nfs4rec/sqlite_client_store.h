// SqliteClientStore: ClientStore in the shared SQLite database, written
// through the CommitQueue (group commit: a completion runs only after the
// COMMIT that made its change durable).  Schema: nfs4rec/client_sql.h.
//
// Loop thread only.  Completions of units still queued when the store is
// destroyed are dropped, never run against a destroyed owner.
#pragma once

#include <memory>

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

  Result<Epochs> LoadEpochs() override;
  Result<std::vector<ClientRecord>> LoadClients(uint64_t epoch) override;
  void StartGrace(std::function<void(Result<GraceStartResult>)> done) override;
  void PutClient(const ClientRecord& record, Done done) override;
  void RemoveClient(const std::string& id, Done done) override;
  void CheckReclaim(const std::string& id,
                    std::function<void(Result<CheckResult>)> done) override;
  void EndGrace(std::function<void(Result<EndGraceResult>)> done) override;

 private:
  explicit SqliteClientStore(CommitQueue& queue) : queue_(queue) {}
  // Submits work whose result travels in *slot; done(Result) runs on the
  // loop thread after the commit, unless the store is gone by then.
  template <typename T>
  void SubmitWithResult(std::function<Result<T>(sqlite::Db&)> work,
                        std::function<void(Result<T>)> done);

  CommitQueue& queue_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace nfsrec::nfs4rec
