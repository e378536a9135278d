// EtcdClientStore against real etcd members (tests/support/etcd-cluster):
// the ClientStore contract (tests/support/client_store_contract.h) on one
// member shared by the program, each test under its own key prefix and
// fenced by an owner key; then what only etcd has: a lost fence, etcd
// unreachable and back, a member of three killed during a stream of
// PutClient, 100,000 records through grace with etcd's default limits, a
// restart during grace.  Run by etcd_client_store_test.sh (a private
// network namespace when root; SKIP without etcd).
#include "nfs4rec/etcd_client_store.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/os/event_loop.h"
#include "common/store/etcd_client.h"
#include "nfs4rec/etcd_client_keys.h"
#include "tests/support/client_store_contract.h"
#include "tests/support/client_store_testutil.h"
#include "tests/support/etcd_cluster.h"
#include "tests/support/status_matchers.h"
#include "tests/support/store_harness.h"
#include <gtest/gtest.h>

namespace nfsrec::nfs4rec {
namespace {

using namespace std::chrono_literals;
using test_support::EtcdCluster;
using test_support::Settle;

// One member for the whole program.
test_support::SharedEtcdCluster* const kSharedEtcd = test_support::SharedEtcdCluster::ForProgram(1);

// A loop, an etcd client and a store on a prefix of its own, fenced by an
// owner key (as cluster/instance_lock.h takes it).
class EtcdStoreRig {
 public:
  static constexpr auto kWait = 60s;

  // The client's own time-outs (etcd::ClientOptions' defaults), except in
  // the test of them, which wants them short to bound its run.
  enum class Timeouts { kDefault, kShort };

  // Tests share the member: each rig gets its own base key.
  explicit EtcdStoreRig(std::vector<std::string> endpoints, Timeouts timeouts = Timeouts::kDefault)
      : endpoints_(std::move(endpoints)),
        timeouts_(timeouts),
        base_(StrCat("/nfsrec/test", getpid(), "/instances/i", next_id_++, "/")) {
    auto loop = EventLoop::Create();
    EXPECT_OK(loop);
    loop_ = std::move(loop).value();
    sched_ = std::make_unique<LoopScheduler>(*loop_);
    NewClient();
  }
  ~EtcdStoreRig() {
    store_.reset();
    client_.reset();
  }

  void NewClient() {
    etcd::ClientOptions o;
    o.endpoints = endpoints_;
    if (timeouts_ == Timeouts::kShort) {
      o.connect_timeout = 500ms;
      o.request_timeout = 1s;
      o.read_retry_time = 2s;
    }
    o.watch_probe_interval = 1s;
    auto c = etcd::Client::Create(*loop_, *sched_, log_, std::move(o));
    EXPECT_OK(c);
    client_ = std::move(c).value();
  }
  // Takes the instance: puts the owner key; its create_revision is the fence.
  Status TakeOwnership() {
    auto p = Sync<etcd::PutResponse>([&](auto cb) {
      client_->Put(etcd::PutRequest{OwnerKey(), "{\"node\":\"test\"}", 0, false}, std::move(cb));
    });
    if (!p.ok()) return p.status();
    fence_ = p->header.revision;
    return Status::Ok();
  }
  // Another daemon takes the instance over: the owner key is deleted and
  // created again (a new create_revision).
  Status LoseOwnership() {
    auto d = Sync<etcd::DeleteResponse>([&](auto cb) {
      etcd::DeleteRequest del;
      del.key = OwnerKey();
      client_->Delete(std::move(del), std::move(cb));
    });
    if (!d.ok()) return d.status();
    auto p = Sync<etcd::PutResponse>([&](auto cb) {
      client_->Put(etcd::PutRequest{OwnerKey(), "{\"node\":\"other\"}", 0, false}, std::move(cb));
    });
    return p.ok() ? Status::Ok() : p.status();
  }
  void CloseStore() { store_.reset(); }
  // A new store object (a restarted daemon): nothing cached.
  void OpenStore() {
    store_.reset();
    EtcdScope scope;
    scope.client = client_.get();
    scope.prefix = prefix();
    if (fence_ != 0) {
      scope.fence = etcd::Compare::CreateRevision(OwnerKey(), etcd::Compare::Op::kEqual, fence_);
    }
    store_ = std::make_unique<EtcdClientStore>(*loop_, log_, std::move(scope));
  }

  std::string OwnerKey() const { return base_ + "owner"; }
  std::string prefix() const { return base_ + "v4/"; }
  EtcdClientStore& store() { return *store_; }
  etcd::Client& client() { return *client_; }
  EventLoop& loop() { return *loop_; }
  Settle settle() {
    return [this](const std::function<bool()>& pred) { return loop_->RunUntil(pred, kWait); };
  }
  ClientStoreCalls calls() { return ClientStoreCalls(*store_, settle()); }

  template <typename T>
  Result<T> Sync(const std::function<void(Callback<void(Result<T>)>)>& start) {
    std::optional<Result<T>> out;
    start([&out](Result<T> r) { out.emplace(std::move(r)); });
    if (!loop_->RunUntil([&] { return out.has_value(); }, kWait)) {
      return Status::TimedOut("test: no completion");
    }
    return std::move(*out);
  }
  Result<etcd::RangeResponse> Get(etcd::RangeRequest r) {
    return Sync<etcd::RangeResponse>([&](auto cb) { client_->Range(std::move(r), std::move(cb)); });
  }
  // Every key under the store's prefix with its value and mod_revision.
  std::vector<std::string> Dump() {
    std::vector<std::string> out;
    auto r = Get(etcd::RangeRequest::Prefix(prefix()));
    EXPECT_OK(r);
    if (!r.ok()) return out;
    for (const etcd::KeyValue& kv : r->kvs) {
      out.push_back(StrCat(kv.key, "=", kv.value, "@", kv.mod_revision));
    }
    return out;
  }
  int64_t Count(const std::string& prefix) {
    etcd::RangeRequest r = etcd::RangeRequest::Prefix(prefix);
    r.count_only = true;
    auto got = Get(std::move(r));
    EXPECT_OK(got);
    return got.ok() ? got->count : -1;
  }

 private:
  static inline int next_id_ = 1;
  std::vector<std::string> endpoints_;
  Timeouts timeouts_;
  std::string base_;
  CapturingLogger log_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<LoopScheduler> sched_;
  std::unique_ptr<etcd::Client> client_;
  int64_t fence_ = 0;
  std::unique_ptr<EtcdClientStore> store_;
};

// ---------------------------------------------------------------------------
// The contract.

class EtcdClientHarness {
 public:
  void Init() {
    EtcdCluster* cluster = kSharedEtcd->Get();
    ASSERT_NE(cluster, nullptr) << kSharedEtcd->error().ToString();
    rig_ = std::make_unique<EtcdStoreRig>(cluster->endpoints());
    ASSERT_OK(rig_->TakeOwnership());
    rig_->OpenStore();
  }
  // A restarted daemon: a new client and store on the same keys.
  void Restart() {
    rig_->CloseStore();
    rig_->NewClient();
    rig_->OpenStore();
  }
  ClientStore& store() { return rig_->store(); }
  int64_t StoredRows(uint64_t epoch) { return rig_->Count(rig_->store().EpochPrefix(epoch)); }
  Settle settle() { return rig_->settle(); }

 private:
  std::unique_ptr<EtcdStoreRig> rig_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Etcd, ClientStoreContractTest, ::testing::Types<EtcdClientHarness>);

// ---------------------------------------------------------------------------
// etcd only.

class EtcdClientStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EtcdCluster* cluster = kSharedEtcd->Get();
    ASSERT_NE(cluster, nullptr) << kSharedEtcd->error().ToString();
    rig_ = std::make_unique<EtcdStoreRig>(cluster->endpoints());
    ASSERT_OK(rig_->TakeOwnership());
    rig_->OpenStore();
  }
  ClientStoreCalls calls() { return rig_->calls(); }
  std::vector<std::string> Ids(uint64_t epoch) { return calls().Ids(epoch); }

  std::unique_ptr<EtcdStoreRig> rig_;
};

TEST_F(EtcdClientStoreTest, KeysFollowTheDocumentedLayout) {
  ASSERT_OK(calls().Put(Client(std::string("a\0\xff", 3), std::string(32, '\x01'), true)));
  ASSERT_OK(calls().StartGrace());
  std::vector<std::string> dump = rig_->Dump();
  ASSERT_EQ(dump.size(), 2u);
  const std::string p = rig_->prefix();
  EXPECT_EQ(dump[0].substr(0, dump[0].find('@')), p + "meta={\"current\":2,\"recovery\":1}");
  const std::string rec = dump[1].substr(0, dump[1].find('@'));
  EXPECT_EQ(rec.substr(0, rec.find('=')), p + "rec/0000000000000001/6100ff");
  // "<time> <session> <lease_expired> <princhash hex>"
  const std::string value = rec.substr(rec.find('=') + 1);
  EXPECT_EQ(value.substr(value.find(' ')), " 1 0 " + etcd_keys::Hex(std::string(32, '\x01')));
}

TEST_F(EtcdClientStoreTest, ImpossibleStoredEpochsAreCorruption) {
  auto put = rig_->Sync<etcd::PutResponse>([&](auto cb) {
    rig_->client().Put(
        etcd::PutRequest{rig_->store().MetaKey(), "{\"current\":3,\"recovery\":3}", 0, false},
        std::move(cb));
  });
  ASSERT_OK(put);
  Result<ClientSnapshot> s = calls().Load();
  EXPECT_TRUE(s.status().IsCorruption()) << s.status().ToString();
  EXPECT_TRUE(calls().Put(Client("x")).IsCorruption());
}

TEST_F(EtcdClientStoreTest, LostFenceFailsEveryWriteWithFailedPreconditionAndWritesNothing) {
  ASSERT_OK(calls().Put(Client("a")));
  ASSERT_OK(calls().Put(Client("b")));
  ASSERT_OK(calls().StartGrace());
  ASSERT_OK(calls().Put(Client("a")));
  ASSERT_OK(rig_->LoseOwnership());
  const std::vector<std::string> before = rig_->Dump();

  EXPECT_TRUE(calls().Put(Client("c")).IsFailedPrecondition());
  EXPECT_TRUE(calls().Remove("a").IsFailedPrecondition());
  EXPECT_TRUE(calls().SetLeaseExpired("a", true).IsFailedPrecondition());
  EXPECT_TRUE(calls().Check("b").status().IsFailedPrecondition());
  EXPECT_TRUE(calls().StartGrace().status().IsFailedPrecondition());
  EXPECT_TRUE(calls().EndGrace().status().IsFailedPrecondition());
  EXPECT_TRUE(calls().Put(Client("d")).IsFailedPrecondition());
  EXPECT_EQ(rig_->Dump(), before);
  // Reads need no fence: the records are still there to read.
  EXPECT_EQ(Ids(2), (std::vector<std::string>{"a"}));
  EXPECT_EQ(Ids(1), (std::vector<std::string>{"a", "b"}));
}

// Restart during grace (REBT3, client_store.h): the restarted daemon's
// GraceStart keeps the recovery epoch, so clients that had not reclaimed
// yet keep their right to; only current is emptied.
TEST_F(EtcdClientStoreTest, ARestartDuringGraceKeepsTheRecoveryEpoch) {
  for (const char* id : {"a", "b", "c"}) ASSERT_OK(calls().Put(Client(id)));
  ASSERT_OK(calls().StartGrace());
  ASSERT_OK(calls().Put(Client("a")));
  ASSERT_OK(calls().Put(Client("new")));
  rig_->CloseStore();
  rig_->NewClient();
  rig_->OpenStore();
  Result<GraceStartResult> g = calls().StartGrace();
  ASSERT_OK(g);
  EXPECT_TRUE(g->kept_recovery);
  EXPECT_EQ(g->epochs, (Epochs{2, 1}));
  std::vector<std::string> ids;
  for (const ClientRecord& r : g->reclaimable) ids.push_back(r.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(rig_->Count(rig_->store().EpochPrefix(2)), 0);
  ASSERT_OK(calls().Put(Client("b")));
  rig_->OpenStore();
  Result<EndGraceResult> e = calls().EndGrace();
  ASSERT_OK(e);
  EXPECT_TRUE(e->was_in_grace);
  EXPECT_EQ(e->dropped, 3u);
  EXPECT_EQ(Ids(2), (std::vector<std::string>{"b"}));
}

// Calls made without waiting share Txns (the batcher's groups); a grace
// start during grace and a grace end (range deletes) must still apply
// after the puts made before them and before those made after them.
TEST_F(EtcdClientStoreTest, EpochChangesIssuedBetweenQueuedPutsApplyInCallOrder) {
  ASSERT_OK(calls().Put(Client("old")));
  ASSERT_OK(calls().StartGrace());
  std::vector<std::string> order;
  auto put = [&](const char* id) {
    rig_->store().PutClient(Client(id), [&order, id](Status st) {
      EXPECT_OK(st);
      order.push_back(id);
    });
  };
  put("a");
  put("b");
  rig_->store().StartGrace([&](Result<GraceStartResult> g) {
    ASSERT_OK(g);
    EXPECT_TRUE(g->kept_recovery);
    order.push_back("start");
  });
  put("c");
  rig_->store().EndGrace([&](Result<EndGraceResult> e) {
    ASSERT_OK(e);
    EXPECT_EQ(e->dropped, 1u);
    order.push_back("end");
  });
  put("d");
  ASSERT_TRUE(rig_->settle()([&] { return order.size() == 6; }));
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "start", "c", "end", "d"}));
  EXPECT_EQ(rig_->store().EpochPrefix(2), rig_->prefix() + "rec/0000000000000002/");
  EXPECT_EQ(Ids(2), (std::vector<std::string>{"c", "d"}));
  EXPECT_EQ(rig_->Count(rig_->prefix() + "rec/"), 2);
  Result<ClientSnapshot> s = calls().Load();
  ASSERT_OK(s);
  EXPECT_EQ(s->epochs, (Epochs{2, 0}));
}

// Every call is O(1) Txn ops: grace start and end move 100,000 records
// with etcd's default --max-txn-ops (128) and --max-request-bytes.
// Records outside {current, recovery} (a grace end whose clean-up failed,
// or a hand edit) are invisible to every read and go at the next grace
// end, in slices of kDropSlice keys, while current's records stay.
TEST_F(EtcdClientStoreTest, GraceEndDropsEveryOtherEpochInSlices) {
  ASSERT_OK(calls().Put(Client("kept")));
  ASSERT_OK(calls().StartGrace());  // {2, 1}
  ASSERT_OK(calls().Put(Client("kept")));
  const int64_t kStale = EtcdClientStore::kDropSlice + 7;
  for (int64_t base = 0; base < kStale; base += 100) {
    etcd::TxnRequest t;
    for (int64_t i = base; i < std::min(base + 100, kStale); ++i) {
      // Epoch 0 (below every real one) and 9 (above current).
      const uint64_t epoch = i % 2 == 0 ? 0 : 9;
      t.success.emplace_back(etcd::PutRequest{
          rig_->prefix() + etcd_keys::RecordPart(epoch, StrCat("stale-", i)), "1 - 0 -", 0, false});
    }
    ASSERT_OK(rig_->Sync<etcd::TxnResponse>(
        [&](auto cb) { rig_->client().Txn(std::move(t), std::move(cb)); }));
  }
  EXPECT_EQ(Ids(2), (std::vector<std::string>{"kept"}));
  Result<EndGraceResult> e = calls().EndGrace();
  ASSERT_OK(e);
  EXPECT_TRUE(e->was_in_grace);
  // The recovery epoch's one record and every stale one.
  EXPECT_EQ(e->dropped, static_cast<uint64_t>(kStale + 1));
  EXPECT_EQ(rig_->Count(rig_->prefix() + "rec/"), 1);
  EXPECT_EQ(Ids(2), (std::vector<std::string>{"kept"}));
  Result<EndGraceResult> again = calls().EndGrace();
  ASSERT_OK(again);
  EXPECT_FALSE(again->was_in_grace);
  EXPECT_EQ(again->dropped, 0u);
}

TEST_F(EtcdClientStoreTest, GraceWithAHundredThousandRecordsFitsTheDefaultLimits) {
  constexpr int kRecords = 100000;
  constexpr int kWindow = 1000;
  int submitted = 0, acked = 0, failed = 0;
  std::function<void()> submit_one = [&] {
    int i = submitted++;
    rig_->store().PutClient(Client(StrCat("client-", 1000000 + i), std::string(32, 'h'), true),
                            [&](Status st) {
                              if (st.ok()) {
                                ++acked;
                              } else {
                                ++failed;
                                ADD_FAILURE() << st.ToString();
                              }
                              if (submitted < kRecords) submit_one();
                            });
  };
  for (int i = 0; i < kWindow; ++i) submit_one();
  ASSERT_TRUE(rig_->loop().RunUntil([&] { return acked + failed == kRecords; }, 300s));
  ASSERT_EQ(acked, kRecords);

  {
    Result<GraceStartResult> g = calls().StartGrace();
    ASSERT_OK(g);
    EXPECT_EQ(g->epochs, (Epochs{2, 1}));
    EXPECT_EQ(g->reclaimable.size(), static_cast<size_t>(kRecords));
  }
  // Paged through in id order.
  int seen = 0;
  std::optional<std::string> after;
  bool in_order = true;
  while (true) {
    auto page = test_support::RunAndWait<Result<std::vector<ClientRecord>>>(
        rig_->settle(), [&](auto done) { rig_->store().ReadRecords(1, after, 5000, done); });
    ASSERT_OK(page);
    for (const ClientRecord& r : *page) {
      if (after && !(r.id > *after)) in_order = false;
      after = r.id;
      ++seen;
    }
    if (page->size() < 5000) break;
  }
  EXPECT_EQ(seen, kRecords);
  EXPECT_TRUE(in_order);
  Result<ClientDigest> d =
      test_support::RunAndWait<Result<ClientDigest>>(rig_->settle(), [&](auto done) {
        rig_->store().LoadDigest([](std::string_view) { return uint64_t{1}; },
                                 [](const ClientRecord& r) { return r.has_session == true; }, done);
      });
  ASSERT_OK(d);
  EXPECT_EQ(d->recovery.size(), static_cast<size_t>(kRecords));
  EXPECT_TRUE(d->current.empty());
  ASSERT_OK(calls().Put(Client("client-1000007")));
  Result<EndGraceResult> e = calls().EndGrace();
  ASSERT_OK(e);
  EXPECT_EQ(e->dropped, static_cast<uint64_t>(kRecords));
  EXPECT_EQ(rig_->Count(rig_->store().EpochPrefix(1)), 0);
  EXPECT_EQ(Ids(2), (std::vector<std::string>{"client-1000007"}));
}

// ---------------------------------------------------------------------------
// Clusters of their own: these tests kill members.

TEST(EtcdClientStoreOutage, UnreachableEtcdFailsInBoundedTimeAndRecoversAfterRestart) {
  auto cluster = EtcdCluster::Start(1);
  ASSERT_OK(cluster);
  EtcdStoreRig rig((*cluster)->endpoints(), EtcdStoreRig::Timeouts::kShort);
  ASSERT_OK(rig.TakeOwnership());
  rig.OpenStore();
  std::set<std::string> acked;
  for (int i = 0; i < 20; ++i) {
    std::string id = StrCat("before-", i);
    ASSERT_OK(rig.calls().Put(Client(id)));
    acked.insert(id);
  }
  ASSERT_OK((*cluster)->Kill(1));

  auto t0 = std::chrono::steady_clock::now();
  Status put = rig.calls().Put(Client("during"));
  EXPECT_TRUE(put.IsUnavailable()) << put.ToString();
  Result<GraceStartResult> g = rig.calls().StartGrace();
  EXPECT_TRUE(g.status().IsUnavailable()) << g.status().ToString();
  Result<ClientSnapshot> load = rig.calls().Load();
  EXPECT_TRUE(load.status().IsUnavailable()) << load.status().ToString();
  // Time-outs: connect 0.5 s, request 1 s, reads retried for 2 s.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 15s);

  ASSERT_OK((*cluster)->Restart(1));
  ASSERT_OK((*cluster)->WaitHealthy());
  ASSERT_OK(rig.calls().Put(Client("after")));
  acked.insert("after");

  // A hung member (SIGSTOP) answers nothing: the request time-out bounds
  // the call.
  ASSERT_OK((*cluster)->Freeze(1));
  t0 = std::chrono::steady_clock::now();
  Status hung = rig.calls().Put(Client("hung"));
  EXPECT_TRUE(hung.IsUnavailable()) << hung.ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  ASSERT_OK((*cluster)->Thaw(1));
  ASSERT_OK((*cluster)->WaitHealthy());
  ASSERT_OK(rig.calls().Put(Client("thawed")));
  acked.insert("thawed");

  Result<GraceStartResult> again = rig.calls().StartGrace();
  ASSERT_OK(again);
  std::set<std::string> reclaimable;
  for (const ClientRecord& r : again->reclaimable) reclaimable.insert(r.id);
  // Their outcome was unknown: either is right.
  reclaimable.erase("during");
  reclaimable.erase("hung");
  EXPECT_EQ(reclaimable, acked);
}

TEST(EtcdClientStoreThreeMembers, KillingAMemberDuringPutsLosesNoAcknowledgedRecord) {
  auto cluster = EtcdCluster::Start(3);
  ASSERT_OK(cluster);
  EtcdStoreRig rig((*cluster)->endpoints());
  ASSERT_OK(rig.TakeOwnership());
  rig.OpenStore();
  constexpr int kPuts = 600, kWindow = 16, kKillAfter = 200;
  int submitted = 0, completed = 0;
  std::set<std::string> acked;
  std::vector<Status> failures;
  std::function<void()> submit_one = [&] {
    std::string id = StrCat("c-", submitted++);
    rig.store().PutClient(Client(id), [&, id](Status st) {
      ++completed;
      if (st.ok()) {
        acked.insert(id);
      } else {
        failures.push_back(st);
      }
      if (submitted < kPuts) submit_one();
    });
  };
  for (int i = 0; i < kWindow; ++i) submit_one();
  ASSERT_TRUE(rig.loop().RunUntil([&] { return completed >= kKillAfter; }, 60s));
  // Member 1 is the client's endpoint (and often the leader).
  ASSERT_OK((*cluster)->Kill(1));
  ASSERT_TRUE(rig.loop().RunUntil([&] { return completed == kPuts; }, 120s));
  // Only calls in flight when the member died may fail (unknown outcome).
  for (const Status& st : failures) EXPECT_TRUE(st.IsUnavailable()) << st.ToString();
  EXPECT_LE(failures.size(), static_cast<size_t>(kWindow));
  EXPECT_GE(acked.size(), static_cast<size_t>(kPuts - kWindow));
  rig.OpenStore();
  Result<ClientSnapshot> s = rig.calls().Load();
  ASSERT_OK(s);
  std::set<std::string> stored;
  for (const ClientRecord& r : s->current) stored.insert(r.id);
  for (const std::string& id : acked) EXPECT_TRUE(stored.count(id)) << id << " was acknowledged";
}

}  // namespace
}  // namespace nfsrec::nfs4rec
