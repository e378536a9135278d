// MemClientStore: an in-memory ClientStore for service tests.
//
// Completions are queued, not run: the test delivers them with RunPending()
// (or RunOne()), so it controls exactly when "the commit" finishes.  Every
// call applies (or, for Load, reads) at once, so calls are ordered as the
// port requires.  FailNext() makes the next call fail without applying
// anything.  Like the
// SQLite store, it stamps a record's time with the wall clock when it writes
// it (Put, and the copy of a reclaim).
#pragma once

#include <deque>
#include <map>
#include <string>
#include <vector>

#include "common/base/callback.h"
#include "nfs4rec/client_store.h"

namespace nfsrec::nfs4rec {

class MemClientStore final : public ClientStore {
 public:
  MemClientStore() = default;
  MemClientStore(const MemClientStore&) = delete;
  MemClientStore& operator=(const MemClientStore&) = delete;

  void Load(ResultDone<ClientSnapshot> done) override;
  void StartGrace(ResultDone<GraceStartResult> done) override;
  void PutClient(const ClientRecord& record, Done done) override;
  void RemoveClient(const std::string& id, Done done) override;
  void SetLeaseExpired(const std::string& id, bool expired, Done done) override;
  void CheckReclaim(const std::string& id, ResultDone<CheckResult> done) override;
  void EndGrace(ResultDone<EndGraceResult> done) override;

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
  // An epoch's records, sorted by id.
  std::vector<ClientRecord> Records(uint64_t epoch) const;
  uint64_t mutations() const { return mutations_; }

 private:
  // If FailNext armed a failure: queues done(that status), leaving `done`
  // empty, and returns true.
  template <typename T>
  bool QueueFailure(Callback<void(T)>& done);

  Epochs epochs_;
  std::map<uint64_t, std::map<std::string, ClientRecord>> rows_;
  std::deque<Callback<void()>> pending_;
  Status fail_next_;
  uint64_t mutations_ = 0;
};

}  // namespace nfsrec::nfs4rec
