// MemClientStore: an in-memory ClientStore for service tests.
//
// Completions are queued, not run: the test delivers them with RunPending()
// (or RunOne()), so it controls exactly when "the commit" finishes.  FailNext()
// makes the next mutating call fail without applying anything.  Like the
// SQLite store, it stamps a record's time with the wall clock when it writes
// it (Put, and the copy of a reclaim).
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <string>

#include "nfs4rec/client_store.h"

namespace nfsrec::nfs4rec {

class MemClientStore final : public ClientStore {
 public:
  MemClientStore() = default;
  MemClientStore(const MemClientStore&) = delete;
  MemClientStore& operator=(const MemClientStore&) = delete;

  Result<Epochs> LoadEpochs() override;
  Result<std::vector<ClientRecord>> LoadClients(uint64_t epoch) override;
  void StartGrace(std::function<void(Result<GraceStartResult>)> done) override;
  void PutClient(const ClientRecord& record, Done done) override;
  void RemoveClient(const std::string& id, Done done) override;
  void CheckReclaim(const std::string& id,
                    std::function<void(Result<CheckResult>)> done) override;
  void EndGrace(std::function<void(Result<EndGraceResult>)> done) override;

  // Test controls.
  size_t RunPending();  // runs every queued completion (and ones they queue)
  bool RunOne();
  size_t pending() const { return pending_.size(); }
  void FailNext(Status st) { fail_next_ = std::move(st); }
  // Direct access, bypassing the completion queue.
  void Insert(uint64_t epoch, const ClientRecord& r) { rows_[epoch][r.id] = r; }
  void SetEpochs(const Epochs& e) { epochs_ = e; }
  const Epochs& epochs() const { return epochs_; }
  bool Has(uint64_t epoch, const std::string& id) const;
  size_t Count(uint64_t epoch) const;
  uint64_t mutations() const { return mutations_; }

 private:
  // Queues done(the FailNext status) and returns true if one is armed.
  template <typename Fn>
  bool QueueFailure(const Fn& done);
  std::vector<ClientRecord> Records(uint64_t epoch) const;

  Epochs epochs_;
  std::map<uint64_t, std::map<std::string, ClientRecord>> rows_;
  std::deque<std::function<void()>> pending_;
  Status fail_next_;
  uint64_t mutations_ = 0;
};

}  // namespace nfsrec::nfs4rec
