// Helpers for ClientStore tests: sample records, blocking calls, and the
// store's loaded state as one comparable value.
#pragma once

#include <algorithm>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "nfs4rec/client_store.h"
#include "tests/support/store_harness.h"

namespace nfsrec::nfs4rec {

inline ClientRecord Client(std::string id, std::string princhash = "",
                           std::optional<bool> has_session = std::nullopt) {
  ClientRecord r;
  r.id = std::move(id);
  r.princhash = std::move(princhash);
  r.has_session = has_session;
  return r;
}

// Every call of the port, each run and waited for (test_support::RunAndWait).
class ClientStoreCalls {
 public:
  ClientStoreCalls(ClientStore& store, test_support::Settle settle)
      : store_(store), settle_(std::move(settle)) {}

  Status Put(const ClientRecord& r) {
    return test_support::RunAndWait(settle_, [&](auto done) { store_.PutClient(r, done); });
  }
  Status Remove(const std::string& id) {
    return test_support::RunAndWait(settle_, [&](auto done) { store_.RemoveClient(id, done); });
  }
  Status SetLeaseExpired(const std::string& id, bool expired) {
    return test_support::RunAndWait(settle_,
                                    [&](auto done) { store_.SetLeaseExpired(id, expired, done); });
  }
  Result<GraceStartResult> StartGrace() {
    return test_support::RunAndWait<Result<GraceStartResult>>(
        settle_, [&](auto done) { store_.StartGrace(done); });
  }
  Result<CheckResult> Check(const std::string& id) {
    return test_support::RunAndWait<Result<CheckResult>>(
        settle_, [&](auto done) { store_.CheckReclaim(id, done); });
  }
  Result<EndGraceResult> EndGrace() {
    return test_support::RunAndWait<Result<EndGraceResult>>(
        settle_, [&](auto done) { store_.EndGrace(done); });
  }
  Result<ClientSnapshot> Load() {
    return test_support::RunAndWait<Result<ClientSnapshot>>(settle_,
                                                            [&](auto done) { store_.Load(done); });
  }
  // The ids of the current or recovery epoch (from Load), sorted; empty,
  // and a test failure, if the load fails or the epoch is neither.
  std::vector<std::string> Ids(uint64_t epoch);

 private:
  ClientStore& store_;
  test_support::Settle settle_;
};

// Records sorted by id, with the store's write times cleared (they are
// clock values, not state).
inline std::vector<ClientRecord> SortedUntimed(std::vector<ClientRecord> recs) {
  for (ClientRecord& r : recs) r.time = 0;
  std::sort(recs.begin(), recs.end(),
            [](const ClientRecord& a, const ClientRecord& b) { return a.id < b.id; });
  return recs;
}

// What a restarting service loads, comparable across stores and restarts:
// the snapshot with both record lists SortedUntimed.
inline Result<ClientSnapshot> LoadState(ClientStore& store, const test_support::Settle& settle) {
  NFSREC_ASSIGN_OR_RETURN(ClientSnapshot s, ClientStoreCalls(store, settle).Load());
  s.current = SortedUntimed(std::move(s.current));
  s.recovery = SortedUntimed(std::move(s.recovery));
  return s;
}

// The records of the current or recovery epoch of a loaded state; nullptr
// (and a test failure) for any other epoch.
inline const std::vector<ClientRecord>* EpochRecords(const ClientSnapshot& s, uint64_t epoch) {
  if (epoch == s.epochs.current) return &s.current;
  if (s.epochs.in_grace() && epoch == s.epochs.recovery) return &s.recovery;
  ADD_FAILURE() << "epoch " << epoch << " is neither current (" << s.epochs.current
                << ") nor recovery (" << s.epochs.recovery << ")";
  return nullptr;
}

inline std::vector<std::string> ClientStoreCalls::Ids(uint64_t epoch) {
  std::vector<std::string> out;
  Result<ClientSnapshot> s = Load();
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  if (!s.ok()) return out;
  if (const std::vector<ClientRecord>* recs = EpochRecords(*s, epoch)) {
    for (const ClientRecord& r : *recs) out.push_back(r.id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// For gtest's messages: ids are bytes, so only their sizes and a prefix.
inline void PrintTo(const ClientSnapshot& s, std::ostream* os) {
  auto list = [os](const std::vector<ClientRecord>& recs) {
    *os << "[";
    for (const ClientRecord& r : recs) {
      *os << " " << r.id.substr(0, 12) << "(" << r.id.size() << (r.princhash.empty() ? "" : ",h")
          << (r.has_session ? (*r.has_session ? ",s1" : ",s0") : "")
          << (r.lease_expired ? ",x" : "") << ")";
    }
    *os << " ]";
  };
  *os << "epochs " << s.epochs.current << "/" << s.epochs.recovery << " current ";
  list(s.current);
  *os << " recovery ";
  list(s.recovery);
}

}  // namespace nfsrec::nfs4rec
