// Helpers for ClientStore tests: sample records, blocking calls, and the
// store's whole state as one comparable value.
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
  // The ids of an epoch, sorted; empty (and a test failure) if the load fails.
  std::vector<std::string> Ids(uint64_t epoch) {
    Result<std::vector<ClientRecord>> recs = store_.LoadClients(epoch);
    EXPECT_TRUE(recs.ok()) << recs.status().ToString();
    std::vector<std::string> out;
    if (recs.ok()) {
      for (const ClientRecord& r : *recs) out.push_back(r.id);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  ClientStore& store_;
  test_support::Settle settle_;
};

// What a restarting service loads: the epochs and the records of the
// current and recovery epochs, sorted by id, with the store's write times
// cleared (they are clock values, not state).
struct ClientStoreState {
  Epochs epochs;
  std::vector<ClientRecord> current;
  std::vector<ClientRecord> recovery;
  bool operator==(const ClientStoreState&) const = default;
};

inline Result<std::vector<ClientRecord>> SortedUntimed(ClientStore& store, uint64_t epoch) {
  NFSREC_ASSIGN_OR_RETURN(std::vector<ClientRecord> recs, store.LoadClients(epoch));
  for (ClientRecord& r : recs) r.time = 0;
  std::sort(recs.begin(), recs.end(),
            [](const ClientRecord& a, const ClientRecord& b) { return a.id < b.id; });
  return recs;
}

inline Result<ClientStoreState> LoadState(ClientStore& store) {
  ClientStoreState s;
  NFSREC_ASSIGN_OR_RETURN(s.epochs, store.LoadEpochs());
  NFSREC_ASSIGN_OR_RETURN(s.current, SortedUntimed(store, s.epochs.current));
  if (s.epochs.in_grace()) {
    NFSREC_ASSIGN_OR_RETURN(s.recovery, SortedUntimed(store, s.epochs.recovery));
  }
  return s;
}

// For gtest's messages: ids are bytes, so only their sizes and a prefix.
inline void PrintTo(const ClientStoreState& s, std::ostream* os) {
  auto list = [os](const std::vector<ClientRecord>& recs) {
    *os << "[";
    for (const ClientRecord& r : recs) {
      *os << " " << r.id.substr(0, 12) << "(" << r.id.size() << (r.princhash.empty() ? "" : ",h")
          << (r.has_session ? (*r.has_session ? ",s1" : ",s0") : "") << ")";
    }
    *os << " ]";
  };
  *os << "epochs " << s.epochs.current << "/" << s.epochs.recovery << " current ";
  list(s.current);
  *os << " recovery ";
  list(s.recovery);
}

}  // namespace nfsrec::nfs4rec
