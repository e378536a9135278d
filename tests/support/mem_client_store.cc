#include "tests/support/mem_client_store.h"

#include <ctime>
#include <utility>

namespace nfsrec::nfs4rec {

void MemClientStore::Load(ResultDone<ClientSnapshot> done) {
  if (QueueFailure(done)) return;
  ClientSnapshot out;
  out.epochs = epochs_;
  out.current = Records(epochs_.current);
  if (epochs_.in_grace()) out.recovery = Records(epochs_.recovery);
  pending_.push_back(
      [done = std::move(done), out = std::move(out)]() mutable { done(std::move(out)); });
}

std::vector<ClientRecord> MemClientStore::Records(uint64_t epoch) const {
  std::vector<ClientRecord> out;
  auto it = rows_.find(epoch);
  if (it == rows_.end()) return out;
  for (const auto& [id, r] : it->second) out.push_back(r);
  return out;
}

template <typename T>
bool MemClientStore::QueueFailure(Callback<void(T)>& done) {
  if (fail_next_.ok()) return false;
  Status fail = std::exchange(fail_next_, Status::Ok());
  pending_.push_back([done = std::move(done), fail]() mutable { done(fail); });
  return true;
}

bool MemClientStore::Has(uint64_t epoch, const std::string& id) const {
  auto it = rows_.find(epoch);
  return it != rows_.end() && it->second.count(id) > 0;
}

size_t MemClientStore::Count(uint64_t epoch) const {
  auto it = rows_.find(epoch);
  return it == rows_.end() ? 0 : it->second.size();
}

void MemClientStore::StartGrace(ResultDone<GraceStartResult> done) {
  if (QueueFailure(done)) return;
  ++mutations_;
  GraceStartResult out;
  if (epochs_.in_grace()) {
    out.kept_recovery = true;
    rows_.erase(epochs_.current);
  } else {
    epochs_ = Epochs{epochs_.current + 1, epochs_.current};
  }
  out.epochs = epochs_;
  out.reclaimable = Records(epochs_.recovery);
  pending_.push_back([done = std::move(done), out]() mutable { done(out); });
}

void MemClientStore::PutClient(const ClientRecord& record, Done done) {
  if (QueueFailure(done)) return;
  ++mutations_;
  ClientRecord stored = record;
  stored.time = static_cast<int64_t>(std::time(nullptr));
  rows_[epochs_.current][record.id] = std::move(stored);
  pending_.push_back([done = std::move(done)]() mutable { done(Status::Ok()); });
}

void MemClientStore::RemoveClient(const std::string& id, Done done) {
  if (QueueFailure(done)) return;
  ++mutations_;
  rows_[epochs_.current].erase(id);
  pending_.push_back([done = std::move(done)]() mutable { done(Status::Ok()); });
}

void MemClientStore::SetLeaseExpired(const std::string& id, bool expired, Done done) {
  if (QueueFailure(done)) return;
  ++mutations_;
  auto epoch = rows_.find(epochs_.current);
  if (epoch != rows_.end()) {
    auto it = epoch->second.find(id);
    if (it != epoch->second.end()) it->second.lease_expired = expired;
  }
  pending_.push_back([done = std::move(done)]() mutable { done(Status::Ok()); });
}

void MemClientStore::CheckReclaim(const std::string& id, ResultDone<CheckResult> done) {
  if (QueueFailure(done)) return;
  ++mutations_;
  CheckResult out;
  if (!epochs_.in_grace()) {
    epochs_ = Epochs{epochs_.current + 1, epochs_.current};
    out.started_grace = true;
  }
  out.epochs = epochs_;
  if (Has(epochs_.current, id)) {
    out.outcome = ReclaimOutcome::kAlreadyCurrent;
  } else if (Has(epochs_.recovery, id)) {
    ClientRecord copy = rows_[epochs_.recovery][id];
    copy.lease_expired = false;
    copy.time = static_cast<int64_t>(std::time(nullptr));
    rows_[epochs_.current][id] = std::move(copy);
    out.outcome = ReclaimOutcome::kReclaimed;
  }
  pending_.push_back([done = std::move(done), out]() mutable { done(out); });
}

void MemClientStore::EndGrace(ResultDone<EndGraceResult> done) {
  if (QueueFailure(done)) return;
  ++mutations_;
  EndGraceResult out;
  out.was_in_grace = epochs_.in_grace();
  for (auto it = rows_.begin(); it != rows_.end();) {
    if (it->first != epochs_.current) {
      out.dropped += it->second.size();
      it = rows_.erase(it);
    } else {
      ++it;
    }
  }
  epochs_.recovery = 0;
  out.epochs = epochs_;
  pending_.push_back([done = std::move(done), out]() mutable { done(out); });
}

bool MemClientStore::RunOne() {
  if (pending_.empty()) return false;
  auto fn = std::move(pending_.front());
  pending_.pop_front();
  fn();
  return true;
}

size_t MemClientStore::RunPending() {
  size_t n = 0;
  while (RunOne()) ++n;
  return n;
}

}  // namespace nfsrec::nfs4rec
