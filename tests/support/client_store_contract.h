// The ClientStore contract (nfs4rec/client_store.h) as typed tests, run on
// every store: SqliteClientStore and MemClientStore
// (nfs4rec/client_store_contract_test.cc), EtcdClientStore
// (nfs4rec/etcd_client_store_test.cc), so the fake that the service tests
// use behaves like the real stores: epochs, Put/Remove per epoch, grace
// start (also during grace), the v0 Check, grace end, ordering of
// back-to-back calls (Load among them), and what a restart loads.
//
// A program instantiates it with its harnesses:
//   INSTANTIATE_TYPED_TEST_SUITE_P(Store, ClientStoreContractTest, Types<H1, H2>);
// A harness has Init() (a fresh, empty store), Restart() (a new store
// object on the same stored state, as a restarted daemon has), store(),
// StoredRows(epoch) (records of any epoch, read past the port) and settle()
// (test_support::Settle).
#pragma once

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nfs4rec/client_store.h"
#include "tests/support/client_store_testutil.h"
#include "tests/support/store_harness.h"
#include <gtest/gtest.h>

namespace nfsrec::nfs4rec {

template <typename Harness>
class ClientStoreContractTest : public ::testing::Test {
 protected:
  void SetUp() override { h_.Init(); }

  ClientStore& store() { return h_.store(); }
  ClientStoreCalls calls() { return ClientStoreCalls(h_.store(), h_.settle()); }
  Result<ClientSnapshot> Load() { return LoadState(store(), h_.settle()); }
  Epochs epochs() {
    Result<ClientSnapshot> s = Load();
    EXPECT_OK(s);
    return s.ok() ? s->epochs : Epochs{0, 0};
  }
  // The current or recovery epoch's records, SortedUntimed.
  std::vector<ClientRecord> Records(uint64_t epoch) {
    Result<ClientSnapshot> s = Load();
    EXPECT_OK(s);
    const std::vector<ClientRecord>* recs = s.ok() ? EpochRecords(*s, epoch) : nullptr;
    return recs != nullptr ? *recs : std::vector<ClientRecord>{};
  }
  std::vector<std::string> Ids(uint64_t epoch) { return calls().Ids(epoch); }
  // Puts each id into the current epoch.
  void PutAll(const std::vector<std::string>& ids) {
    for (const std::string& id : ids) ASSERT_OK(calls().Put(Client(id)));
  }
  static std::vector<std::string> IdsOf(std::vector<ClientRecord> recs) {
    std::vector<std::string> out;
    for (const ClientRecord& r : recs) out.push_back(r.id);
    std::sort(out.begin(), out.end());
    return out;
  }

  Harness h_;
};

TYPED_TEST_SUITE_P(ClientStoreContractTest);

TYPED_TEST_P(ClientStoreContractTest, StartsInEpochOneOutOfGrace) {
  EXPECT_EQ(this->epochs(), (Epochs{1, 0}));
  EXPECT_FALSE(this->epochs().in_grace());
  EXPECT_TRUE(this->Records(1).empty());
}

TYPED_TEST_P(ClientStoreContractTest, PutStoresEveryFieldAndStampsTheTime) {
  ClientRecord v40 = Client("v4.0 client", "", std::nullopt);
  ClientRecord v41 = Client("v4.1 client", std::string(32, '\x11'), true);
  ClientRecord v41_no = Client("v4.1 without session", "", false);
  for (const ClientRecord& r : {v40, v41, v41_no}) ASSERT_OK(this->calls().Put(r));
  Result<ClientSnapshot> loaded = this->calls().Load();
  ASSERT_OK(loaded);
  ASSERT_EQ(loaded->current.size(), 3u);
  for (const ClientRecord& r : loaded->current) EXPECT_GT(r.time, 1600000000) << r.id;
  EXPECT_EQ(this->Records(1), (std::vector<ClientRecord>{v40, v41, v41_no}));
}

TYPED_TEST_P(ClientStoreContractTest, IdsAreBytes) {
  ClientRecord nul = Client(std::string("a\0b\xff", 4));
  ClientRecord prefix = Client("a");  // equal up to the NUL: a distinct id
  std::string longest;
  for (int i = 0; i < 1024; ++i) longest.push_back(static_cast<char>(i % 256));
  ClientRecord max = Client(longest, std::string(32, '\0'));
  for (const ClientRecord& r : {nul, prefix, max}) ASSERT_OK(this->calls().Put(r));
  EXPECT_EQ(this->Records(1), (std::vector<ClientRecord>{max, prefix, nul}));
}

TYPED_TEST_P(ClientStoreContractTest, PutReplacesTheRecordWithTheSameId) {
  ASSERT_OK(this->calls().Put(Client("c", "", std::nullopt)));
  ClientRecord changed = Client("c", std::string(32, 'h'), true);
  ASSERT_OK(this->calls().Put(changed));
  EXPECT_EQ(this->Records(1), (std::vector<ClientRecord>{changed}));
}

TYPED_TEST_P(ClientStoreContractTest, RemoveDeletesOnlyThatIdAndAbsentIsNotAnError) {
  this->PutAll({"a", "b", "c"});
  ASSERT_OK(this->calls().Remove("b"));
  ASSERT_OK(this->calls().Remove("never-there"));
  EXPECT_EQ(this->Ids(1), (std::vector<std::string>{"a", "c"}));
}

TYPED_TEST_P(ClientStoreContractTest, StartGraceTurnsCurrentIntoRecovery) {
  ClientRecord a = Client("a", std::string(32, 'x'), true);
  ASSERT_OK(this->calls().Put(a));
  this->PutAll({"b"});
  Result<GraceStartResult> g = this->calls().StartGrace();
  ASSERT_OK(g);
  EXPECT_EQ(g->epochs, (Epochs{2, 1}));
  EXPECT_FALSE(g->kept_recovery);
  // The recovery epoch's records, as stored.
  for (ClientRecord& r : g->reclaimable) r.time = 0;
  std::sort(g->reclaimable.begin(), g->reclaimable.end(),
            [](const ClientRecord& x, const ClientRecord& y) { return x.id < y.id; });
  EXPECT_EQ(g->reclaimable, (std::vector<ClientRecord>{a, Client("b")}));
  EXPECT_EQ(this->epochs(), (Epochs{2, 1}));
  EXPECT_TRUE(this->Records(2).empty());
  EXPECT_EQ(this->Ids(1), (std::vector<std::string>{"a", "b"}));
}

// The mark travels with the record into the recovery epoch (GraceStart
// leaves it out of the upload), only the current record's is set, and a
// Put (a Create) writes the record afresh, unmarked.
TYPED_TEST_P(ClientStoreContractTest, LeaseExpiredMarksTheCurrentRecordUntilAPutClearsIt) {
  ClientRecord a = Client("a", std::string(32, 'x'), true);
  ASSERT_OK(this->calls().Put(a));
  this->PutAll({"b"});
  ASSERT_OK(this->calls().SetLeaseExpired("a", true));
  ASSERT_OK(this->calls().SetLeaseExpired("never-there", true));
  ClientRecord a_marked = a;
  a_marked.lease_expired = true;
  EXPECT_EQ(this->Records(1), (std::vector<ClientRecord>{a_marked, Client("b")}));

  Result<GraceStartResult> g = this->calls().StartGrace();
  ASSERT_OK(g);
  EXPECT_EQ(SortedUntimed(g->reclaimable), (std::vector<ClientRecord>{a_marked, Client("b")}));
  // During grace it touches only current: a has no current record yet.
  ASSERT_OK(this->calls().SetLeaseExpired("a", false));
  EXPECT_EQ(this->Records(1), (std::vector<ClientRecord>{a_marked, Client("b")}));
  ASSERT_OK(this->calls().Put(a));
  EXPECT_EQ(this->Records(2), (std::vector<ClientRecord>{a}));
  ASSERT_OK(this->calls().SetLeaseExpired("a", true));
  ASSERT_OK(this->calls().SetLeaseExpired("a", false));
  EXPECT_EQ(this->Records(2), (std::vector<ClientRecord>{a}));
  ASSERT_OK(this->calls().SetLeaseExpired("a", true));
  ASSERT_OK(this->calls().Put(a));
  EXPECT_EQ(this->Records(2), (std::vector<ClientRecord>{a}));
}

TYPED_TEST_P(ClientStoreContractTest, DuringGracePutAndRemoveTouchOnlyCurrent) {
  this->PutAll({"a", "b"});
  ASSERT_OK(this->calls().StartGrace());
  this->PutAll({"a", "new"});            // a reclaims, new is a new client
  ASSERT_OK(this->calls().Remove("b"));  // b was never in current
  ASSERT_OK(this->calls().Remove("new"));
  EXPECT_EQ(this->Ids(2), (std::vector<std::string>{"a"}));
  EXPECT_EQ(this->Ids(1), (std::vector<std::string>{"a", "b"}));
}

TYPED_TEST_P(ClientStoreContractTest, StartGraceDuringGraceKeepsRecoveryAndEmptiesCurrent) {
  this->PutAll({"a", "b"});
  ASSERT_OK(this->calls().StartGrace());
  this->PutAll({"a"});
  // The server rebooted again before grace ended (pynfs REBT3): b has not
  // reclaimed yet and must keep its right to.
  Result<GraceStartResult> g = this->calls().StartGrace();
  ASSERT_OK(g);
  EXPECT_TRUE(g->kept_recovery);
  EXPECT_EQ(g->epochs, (Epochs{2, 1}));
  EXPECT_EQ(this->IdsOf(g->reclaimable), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(this->epochs(), (Epochs{2, 1}));
  EXPECT_TRUE(this->Ids(2).empty());
  EXPECT_EQ(this->Ids(1), (std::vector<std::string>{"a", "b"}));
}

TYPED_TEST_P(ClientStoreContractTest, EndGraceDropsRecoveryAndIsIdempotent) {
  this->PutAll({"a", "b", "c"});
  ASSERT_OK(this->calls().StartGrace());
  this->PutAll({"b", "late"});
  Result<EndGraceResult> e = this->calls().EndGrace();
  ASSERT_OK(e);
  EXPECT_TRUE(e->was_in_grace);
  EXPECT_EQ(e->dropped, 3u);
  EXPECT_EQ(e->epochs, (Epochs{2, 0}));
  EXPECT_EQ(this->epochs(), (Epochs{2, 0}));
  EXPECT_EQ(this->h_.StoredRows(1), 0);
  EXPECT_EQ(this->Ids(2), (std::vector<std::string>{"b", "late"}));

  Result<EndGraceResult> again = this->calls().EndGrace();
  ASSERT_OK(again);
  EXPECT_FALSE(again->was_in_grace);
  EXPECT_EQ(again->dropped, 0u);
  EXPECT_EQ(again->epochs, (Epochs{2, 0}));
  EXPECT_EQ(this->Ids(2), (std::vector<std::string>{"b", "late"}));
}

TYPED_TEST_P(ClientStoreContractTest, EpochsKeepCountingAcrossGracePeriods) {
  for (uint64_t i = 1; i <= 4; ++i) {
    Result<GraceStartResult> g = this->calls().StartGrace();
    ASSERT_OK(g);
    EXPECT_EQ(g->epochs, (Epochs{i + 1, i}));
    ASSERT_OK(this->calls().EndGrace());
  }
  EXPECT_EQ(this->epochs(), (Epochs{5, 0}));
}

TYPED_TEST_P(ClientStoreContractTest, CheckOpensGraceOnceAndCopiesTheReclaim) {
  ClientRecord a = Client("a", std::string(32, 'p'), true);
  ASSERT_OK(this->calls().Put(a));
  // Old kernels send no GraceStart: the first Check opens the grace period.
  Result<CheckResult> r = this->calls().Check("a");
  ASSERT_OK(r);
  EXPECT_TRUE(r->started_grace);
  EXPECT_EQ(r->epochs, (Epochs{2, 1}));
  EXPECT_EQ(r->outcome, ReclaimOutcome::kReclaimed);
  EXPECT_EQ(this->Records(2), (std::vector<ClientRecord>{a}));  // princhash kept

  Result<CheckResult> r2 = this->calls().Check("a");
  ASSERT_OK(r2);
  EXPECT_FALSE(r2->started_grace);
  EXPECT_EQ(r2->epochs, (Epochs{2, 1}));
  EXPECT_EQ(r2->outcome, ReclaimOutcome::kAlreadyCurrent);

  Result<CheckResult> r3 = this->calls().Check("unknown");
  ASSERT_OK(r3);
  EXPECT_FALSE(r3->started_grace);
  EXPECT_EQ(r3->outcome, ReclaimOutcome::kNotFound);
  EXPECT_EQ(this->Ids(2), (std::vector<std::string>{"a"}));
  EXPECT_EQ(this->Ids(1), (std::vector<std::string>{"a"}));
}

TYPED_TEST_P(ClientStoreContractTest, CheckFindsAClientCreatedDuringGraceInCurrent) {
  ASSERT_OK(this->calls().StartGrace());
  this->PutAll({"fresh"});
  Result<CheckResult> r = this->calls().Check("fresh");
  ASSERT_OK(r);
  EXPECT_FALSE(r->started_grace);
  EXPECT_EQ(r->outcome, ReclaimOutcome::kAlreadyCurrent);
}

TYPED_TEST_P(ClientStoreContractTest, BackToBackCallsApplyAndCompleteInCallOrder) {
  this->PutAll({"old"});
  // Issued without waiting: each call reads the epochs when it applies, so
  // the Put after StartGrace lands in the new current epoch.
  std::vector<std::string> order;
  this->store().StartGrace([&](Result<GraceStartResult> g) {
    EXPECT_OK(g);
    order.push_back("start");
  });
  this->store().PutClient(Client("x"), [&](Status st) {
    EXPECT_OK(st);
    order.push_back("put x");
  });
  this->store().RemoveClient("x", [&](Status st) {
    EXPECT_OK(st);
    order.push_back("remove x");
  });
  this->store().PutClient(Client("y"), [&](Status st) {
    EXPECT_OK(st);
    order.push_back("put y");
  });
  EXPECT_TRUE(order.empty()) << "a completion ran inside its call";
  ASSERT_TRUE(this->h_.settle()([&] { return order.size() == 4; }));
  EXPECT_EQ(order, (std::vector<std::string>{"start", "put x", "remove x", "put y"}));
  EXPECT_EQ(this->epochs(), (Epochs{2, 1}));
  EXPECT_EQ(this->Ids(2), (std::vector<std::string>{"y"}));
  EXPECT_EQ(this->Ids(1), (std::vector<std::string>{"old"}));
}

TYPED_TEST_P(ClientStoreContractTest, LoadReadsEpochsCurrentAndRecovery) {
  ClientRecord a = Client("a", std::string(32, 'q'), true);
  ASSERT_OK(this->calls().Put(a));
  this->PutAll({"b"});
  Result<ClientSnapshot> out_of_grace = this->Load();
  ASSERT_OK(out_of_grace);
  EXPECT_EQ(*out_of_grace, (ClientSnapshot{Epochs{1, 0}, {a, Client("b")}, {}}));

  ASSERT_OK(this->calls().StartGrace());
  this->PutAll({"b", "new"});
  Result<ClientSnapshot> in_grace = this->Load();
  ASSERT_OK(in_grace);
  EXPECT_EQ(*in_grace,
            (ClientSnapshot{Epochs{2, 1}, {Client("b"), Client("new")}, {a, Client("b")}}));
}

// LoadDigest is Load in fingerprints: the current epoch's ids, and the
// recovery records the filter accepts (here: those with a princhash).
TYPED_TEST_P(ClientStoreContractTest, LoadDigestFingerprintsWhatLoadReads) {
  ClientRecord a = Client("a", std::string(32, 'q'), true);
  ASSERT_OK(this->calls().Put(a));
  this->PutAll({"b"});
  // Out of grace the recovery list is empty, whatever the filter says.
  auto digest = [this] {
    return test_support::RunAndWait<Result<ClientDigest>>(this->h_.settle(), [&](auto done) {
      this->store().LoadDigest(
          [](std::string_view id) { return std::hash<std::string_view>()(id); },
          [](const ClientRecord& r) { return !r.princhash.empty(); }, done);
    });
  };
  auto fp = [](const std::string& id) { return std::hash<std::string_view>()(id); };
  auto sorted = [](std::vector<uint64_t> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  Result<ClientDigest> out_of_grace = digest();
  ASSERT_OK(out_of_grace);
  EXPECT_EQ(out_of_grace->epochs, (Epochs{1, 0}));
  EXPECT_EQ(sorted(out_of_grace->current), sorted({fp("a"), fp("b")}));
  EXPECT_TRUE(out_of_grace->recovery.empty());

  ASSERT_OK(this->calls().StartGrace());
  this->PutAll({"b", "new"});
  Result<ClientDigest> in_grace = digest();
  ASSERT_OK(in_grace);
  EXPECT_EQ(in_grace->epochs, (Epochs{2, 1}));
  EXPECT_EQ(sorted(in_grace->current), sorted({fp("b"), fp("new")}));
  EXPECT_EQ(in_grace->recovery, std::vector<uint64_t>{fp("a")});
}

// The GraceStart upload's source: OpenGrace switches the epochs as
// StartGrace does but returns no records; ReadRecords pages through an
// epoch in id order.
TYPED_TEST_P(ClientStoreContractTest, OpenGraceThenReadRecordsPagesThroughTheRecoveryEpoch) {
  ClientRecord a = Client("a", std::string(32, 'q'), true);
  ASSERT_OK(this->calls().Put(a));
  this->PutAll({"e", "c", "b", "d"});
  Result<GraceStartResult> g = test_support::RunAndWait<Result<GraceStartResult>>(
      this->h_.settle(), [&](auto done) { this->store().OpenGrace(done); });
  ASSERT_OK(g);
  EXPECT_EQ(g->epochs, (Epochs{2, 1}));
  EXPECT_FALSE(g->kept_recovery);
  EXPECT_TRUE(g->reclaimable.empty());
  auto page = [this](const std::optional<std::string>& after, size_t limit) {
    return test_support::RunAndWait<Result<std::vector<ClientRecord>>>(
        this->h_.settle(), [&](auto done) { this->store().ReadRecords(1, after, limit, done); });
  };
  std::vector<std::string> ids;
  std::optional<std::string> after;
  for (int pages = 0; pages < 10; ++pages) {
    Result<std::vector<ClientRecord>> p = page(after, 2);
    ASSERT_OK(p);
    for (const ClientRecord& r : *p) ids.push_back(r.id);
    if (p->size() < 2) break;
    after = p->back().id;
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  Result<std::vector<ClientRecord>> first = page(std::nullopt, 1);
  ASSERT_OK(first);
  ASSERT_EQ(first->size(), 1u);
  ClientRecord got = (*first)[0];
  got.time = 0;
  EXPECT_EQ(got, a);  // every field
  // The new current epoch is empty.
  Result<std::vector<ClientRecord>> current =
      test_support::RunAndWait<Result<std::vector<ClientRecord>>>(
          this->h_.settle(),
          [&](auto done) { this->store().ReadRecords(2, std::nullopt, 10, done); });
  ASSERT_OK(current);
  EXPECT_TRUE(current->empty());
}

TYPED_TEST_P(ClientStoreContractTest, LoadIsOrderedWithTheOtherCalls) {
  this->PutAll({"before"});
  // Issued without waiting: the snapshot holds what was called before Load
  // and nothing called after it, and the completions come in call order.
  std::vector<std::string> order;
  std::optional<Result<ClientSnapshot>> loaded;
  this->store().StartGrace([&](Result<GraceStartResult> g) {
    EXPECT_OK(g);
    order.push_back("start");
  });
  this->store().PutClient(Client("x"), [&](Status st) {
    EXPECT_OK(st);
    order.push_back("put x");
  });
  this->store().Load([&](Result<ClientSnapshot> s) {
    loaded.emplace(std::move(s));
    order.push_back("load");
  });
  this->store().PutClient(Client("after"), [&](Status st) {
    EXPECT_OK(st);
    order.push_back("put after");
  });
  EXPECT_TRUE(order.empty()) << "a completion ran inside its call";
  ASSERT_TRUE(this->h_.settle()([&] { return order.size() == 4; }));
  EXPECT_EQ(order, (std::vector<std::string>{"start", "put x", "load", "put after"}));
  ASSERT_TRUE(loaded.has_value());
  ASSERT_OK(*loaded);
  EXPECT_EQ((*loaded)->epochs, (Epochs{2, 1}));
  EXPECT_EQ(this->IdsOf((*loaded)->current), (std::vector<std::string>{"x"}));
  EXPECT_EQ(this->IdsOf((*loaded)->recovery), (std::vector<std::string>{"before"}));
  EXPECT_EQ(this->Ids(2), (std::vector<std::string>{"after", "x"}));
}

TYPED_TEST_P(ClientStoreContractTest, ARestartLoadsWhatWasAcknowledged) {
  this->PutAll({"a", "b", "c"});
  ASSERT_OK(this->calls().StartGrace());
  ASSERT_OK(this->calls().Put(Client("a", std::string(32, 'k'), true)));
  ASSERT_OK(this->calls().Check("b"));
  Result<ClientSnapshot> before = this->Load();
  ASSERT_OK(before);
  this->h_.Restart();
  Result<ClientSnapshot> after = this->Load();
  ASSERT_OK(after);
  EXPECT_EQ(*after, *before);
  EXPECT_EQ(after->epochs, (Epochs{2, 1}));
  EXPECT_EQ(this->IdsOf(after->current), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(this->IdsOf(after->recovery), (std::vector<std::string>{"a", "b", "c"}));

  // The grace period goes on after the restart.
  Result<EndGraceResult> e = this->calls().EndGrace();
  ASSERT_OK(e);
  EXPECT_TRUE(e->was_in_grace);
  EXPECT_EQ(e->dropped, 3u);
}

REGISTER_TYPED_TEST_SUITE_P(
    ClientStoreContractTest, StartsInEpochOneOutOfGrace, PutStoresEveryFieldAndStampsTheTime,
    IdsAreBytes, PutReplacesTheRecordWithTheSameId, RemoveDeletesOnlyThatIdAndAbsentIsNotAnError,
    StartGraceTurnsCurrentIntoRecovery, LeaseExpiredMarksTheCurrentRecordUntilAPutClearsIt,
    DuringGracePutAndRemoveTouchOnlyCurrent, StartGraceDuringGraceKeepsRecoveryAndEmptiesCurrent,
    EndGraceDropsRecoveryAndIsIdempotent, EpochsKeepCountingAcrossGracePeriods,
    CheckOpensGraceOnceAndCopiesTheReclaim, CheckFindsAClientCreatedDuringGraceInCurrent,
    BackToBackCallsApplyAndCompleteInCallOrder, LoadReadsEpochsCurrentAndRecovery,
    LoadDigestFingerprintsWhatLoadReads, OpenGraceThenReadRecordsPagesThroughTheRecoveryEpoch,
    LoadIsOrderedWithTheOtherCalls, ARestartLoadsWhatWasAcknowledged);

}  // namespace nfsrec::nfs4rec
