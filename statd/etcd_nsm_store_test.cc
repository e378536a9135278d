// EtcdNsmStore against real etcd (tests/support/etcd-cluster): the NsmStore
// contract (tests/support/nsm_store_contract.h) on one member shared by the
// program, each test under its own prefix; then what only etcd has: the
// fence, generations across a restart of the store, etcd unreachable, a
// member of three killed during writes, and 100,000 monitors within etcd's
// default limits.  Run by etcd_nsm_store_test.sh (a private network
// namespace when root; SKIP without etcd).
#include "statd/etcd_nsm_store.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/os/event_loop.h"
#include "tests/support/etcd_cluster.h"
#include "tests/support/nsm_store_contract.h"
#include "tests/support/nsm_store_testutil.h"
#include "tests/support/status_matchers.h"
#include <gtest/gtest.h>

namespace nfsrec::statd {

// Short failure messages for vectors of records.
void PrintTo(const MonitorRecord& r, std::ostream* os) {
  *os << "{" << r.key.mon_name << " peer " << r.peer_state << " lockd " << r.lockd_state << "}";
}

namespace {

using namespace std::chrono_literals;
using test_support::EtcdCluster;

// One member for the whole program.
test_support::SharedEtcdCluster* const kSharedEtcd = test_support::SharedEtcdCluster::ForProgram(1);

std::string NextPrefix() {
  static int n = 0;
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return StrCat("/nfsrec/t/instances/", info->name(), "-", ++n, "/nsm/");
}

// A loop, a client and a store on the given endpoints.
class EtcdSide {
 public:
  void Start(const std::vector<std::string>& endpoints) {
    auto loop = EventLoop::Create();
    ASSERT_OK(loop);
    loop_ = std::move(loop).value();
    sched_ = std::make_unique<LoopScheduler>(*loop_);
    etcd::ClientOptions o;
    o.endpoints = endpoints;
    o.connect_timeout = 500ms;
    o.request_timeout = 1s;
    o.read_retry_time = 2s;
    auto c = etcd::Client::Create(*loop_, *sched_, log_, std::move(o));
    ASSERT_OK(c);
    client_ = std::move(c).value();
  }
  std::unique_ptr<EtcdNsmStore> NewStore(const std::string& prefix,
                                         std::optional<etcd::Compare> fence = std::nullopt) {
    EtcdScope scope;
    scope.client = client_.get();
    scope.prefix = prefix;
    scope.fence = std::move(fence);
    return std::make_unique<EtcdNsmStore>(*loop_, log_, std::move(scope));
  }
  ~EtcdSide() {
    stores_.clear();
    client_.reset();
    sched_.reset();
  }
  EventLoop& loop() { return *loop_; }
  etcd::Client& client() { return *client_; }

  CapturingLogger log_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<LoopScheduler> sched_;
  std::unique_ptr<etcd::Client> client_;
  std::vector<std::unique_ptr<EtcdNsmStore>> stores_;
};

class EtcdHarness {
 public:
  void Init() {
    EtcdCluster* cluster = kSharedEtcd->Get();
    ASSERT_NE(cluster, nullptr) << kSharedEtcd->error().ToString();
    side_.Start(cluster->endpoints());
    store_ = side_.NewStore(NextPrefix());
  }
  NsmStore& store() { return *store_; }
  EventLoop& loop() { return side_.loop(); }

 private:
  EtcdSide side_;
  std::unique_ptr<EtcdNsmStore> store_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Etcd, NsmStoreContractTest, ::testing::Types<EtcdHarness>);

// --- etcd only ---

MonitorRecord Numbered(int i) {
  MonitorRecord r = SampleRecord(i % 251);
  r.key.mon_name = StrCat("peer-", i, ".example");
  return r;
}

class EtcdNsmStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EtcdCluster* cluster = kSharedEtcd->Get();
    ASSERT_NE(cluster, nullptr) << kSharedEtcd->error().ToString();
    side_.Start(cluster->endpoints());
    prefix_ = NextPrefix();
  }
  Status Wait(const std::function<void(NsmStore::Done)>& call) {
    return RunAndWait(side_.loop(), [&](NsmStore::Done d) { call(std::move(d)); });
  }
  NsmSnapshot Snap(NsmStore& s) {
    Result<NsmSnapshot> r = LoadAndWait(side_.loop(), s);
    EXPECT_OK(r);
    return r.ok() ? std::move(r).value() : NsmSnapshot{};
  }
  // PutMonitor of records [from, to), at most `window` in flight.
  void PutMany(NsmStore& s, int from, int to, int window) {
    int next = from, done = 0, failed = 0;
    while (done < to - from) {
      while (next < to && next - from - done < window) {
        s.PutMonitor(Numbered(next++), [&](Status st) {
          if (!st.ok()) ++failed;
          ++done;
        });
      }
      int before = done;
      ASSERT_TRUE(side_.loop().RunUntil([&] { return done > before; }, 30s));
    }
    EXPECT_EQ(failed, 0);
  }
  Result<etcd::PutResponse> RawPut(const std::string& key, const std::string& value) {
    std::optional<Result<etcd::PutResponse>> out;
    side_.client().Put(etcd::PutRequest{key, value, 0, false},
                       [&](Result<etcd::PutResponse> r) { out.emplace(std::move(r)); });
    if (!side_.loop().RunUntil([&] { return out.has_value(); }, 15s)) return Status::TimedOut("t");
    return std::move(*out);
  }

  EtcdSide side_;
  std::string prefix_;
};

TEST_F(EtcdNsmStoreTest,
       AfterAnotherOwnerTookTheInstanceWritesFailFailedPreconditionAndWriteNothing) {
  const std::string owner = prefix_ + "owner";
  auto mine = RawPut(owner, R"({"node":"n1","pid":1})");
  ASSERT_OK(mine);
  auto store = side_.NewStore(
      prefix_,
      etcd::Compare::CreateRevision(owner, etcd::Compare::Op::kEqual, mine->header.revision));
  ASSERT_OK(Wait([&](auto d) { store->PutMonitor(Numbered(1), std::move(d)); }));

  // n2 takes over: the owner key is created anew (new create_revision).
  std::optional<Result<etcd::DeleteResponse>> del;
  side_.client().Delete(etcd::DeleteRequest{owner, {}, false},
                        [&](Result<etcd::DeleteResponse> r) { del.emplace(std::move(r)); });
  ASSERT_TRUE(side_.loop().RunUntil([&] { return del.has_value(); }, 15s));
  ASSERT_OK(RawPut(owner, R"({"node":"n2","pid":2})"));

  Status put = Wait([&](auto d) { store->PutMonitor(Numbered(2), std::move(d)); });
  EXPECT_TRUE(put.IsFailedPrecondition()) << put.ToString();
  EXPECT_NE(put.message().find("to node n2"), std::string::npos) << put.message();
  Status reboot = Wait([&](auto d) { store->PrepareReboot(true, 9, "b", std::move(d)); });
  EXPECT_TRUE(reboot.IsFailedPrecondition()) << reboot.ToString();
  Status state = Wait([&](auto d) { store->SetLocalState(11, std::move(d)); });
  EXPECT_TRUE(state.IsFailedPrecondition()) << state.ToString();

  auto reader = side_.NewStore(prefix_);
  NsmSnapshot s = Snap(*reader);
  EXPECT_EQ(s.monitors, (std::vector<MonitorRecord>{Numbered(1)}));
  EXPECT_TRUE(s.notify.empty());
  EXPECT_EQ(s.local_state, 0);
  EXPECT_EQ(s.boot_id, "");
}

TEST_F(EtcdNsmStoreTest, AReopenedStoreWritesTheCurrentGenerationAndDeletesInOlderOnes) {
  {
    auto store = side_.NewStore(prefix_);
    ASSERT_OK(Wait([&](auto d) { store->PutMonitor(Numbered(1), std::move(d)); }));
    ASSERT_OK(Wait([&](auto d) { store->PrepareReboot(true, 3, "b1", std::move(d)); }));
    ASSERT_OK(Wait([&](auto d) { store->PutMonitor(Numbered(2), std::move(d)); }));
    ASSERT_OK(Wait([&](auto d) { store->PrepareReboot(true, 5, "b2", std::move(d)); }));
    ASSERT_OK(Wait([&](auto d) { store->PutMonitor(Numbered(1), std::move(d)); }));
  }
  auto store = side_.NewStore(prefix_);
  ASSERT_OK(Wait([&](auto d) { store->PutMonitor(Numbered(3), std::move(d)); }));
  EXPECT_EQ(store->old_generations(), (std::set<uint64_t>{1, 2}));
  NsmSnapshot s = Snap(*store);
  EXPECT_EQ(s.monitors, (std::vector<MonitorRecord>{Numbered(1), Numbered(3)}));
  EXPECT_EQ(s.notify.size(), 2u);
  ASSERT_OK(Wait([&](auto d) { store->DeleteNotified({Numbered(1).key}, std::move(d)); }));
  s = Snap(*store);
  EXPECT_EQ(s.notify, (std::vector<MonitorRecord>{Numbered(2)}));
  EXPECT_EQ(s.monitors.size(), 2u);
  ASSERT_OK(Wait([&](auto d) { store->DeleteNotified({Numbered(2).key}, std::move(d)); }));
  EXPECT_TRUE(Snap(*store).notify.empty());
  // Both older generations are empty now: a read after the deletes finds
  // it (asynchronously), and later deletes skip them.
  EXPECT_TRUE(side_.loop().RunUntil([&] { return store->old_generations().empty(); }, 5s));
  EXPECT_EQ(s.local_state, 5);
}

TEST_F(EtcdNsmStoreTest, AnImportOverOneTxnIsChunkedAndHappensOnce) {
  std::vector<MonitorRecord> mons, notify;
  for (int i = 0; i < 700; ++i) mons.push_back(Numbered(i));
  for (int i = 1000; i < 1300; ++i) notify.push_back(Numbered(i));
  auto store = side_.NewStore(prefix_);
  auto once = RunAndWait<Result<bool>>(
      side_.loop(), [&](auto d) { store->ImportLegacy(17, mons, notify, std::move(d)); });
  ASSERT_OK(once);
  EXPECT_TRUE(*once);
  EXPECT_GT(store->batcher_stats().txns, 1u);
  NsmSnapshot s = Snap(*store);
  EXPECT_EQ(s.monitors, mons);
  EXPECT_EQ(s.notify.size(), notify.size());
  EXPECT_EQ(s.local_state, 17);
  auto again = RunAndWait<Result<bool>>(
      side_.loop(), [&](auto d) { store->ImportLegacy(19, {Numbered(5000)}, {}, std::move(d)); });
  ASSERT_OK(again);
  EXPECT_FALSE(*again);
  EXPECT_EQ(Snap(*store).monitors.size(), 700u);
}

TEST_F(EtcdNsmStoreTest, PeerAndLockdStatesOverOneTxnUpdateEveryExistingRecord) {
  auto store = side_.NewStore(prefix_);
  PutMany(*store, 0, 300, 64);
  std::vector<std::pair<MonitorKey, int32_t>> peers, lockd;
  for (int i = 0; i < 400; ++i) peers.emplace_back(Numbered(i).key, 1000 + i);  // 100 absent
  for (int i = 0; i < 300; i += 2) lockd.emplace_back(Numbered(i).key, 7);
  ASSERT_OK(Wait([&](auto d) { store->SetPeerStates(peers, std::move(d)); }));
  ASSERT_OK(Wait([&](auto d) { store->SetLockdStates(lockd, std::move(d)); }));
  NsmSnapshot s = Snap(*store);
  ASSERT_EQ(s.monitors.size(), 300u);
  for (int i = 0; i < 300; ++i) {
    EXPECT_EQ(s.monitors[i].key, Numbered(i).key);
    EXPECT_EQ(s.monitors[i].peer_state, 1000 + i);
    EXPECT_EQ(s.monitors[i].lockd_state, i % 2 == 0 ? 7 : 0);
  }
}

// 100,000 monitors under etcd's default limits (128 ops, 1.5 MiB): the
// reboot moves them with one Txn, and the notify list empties in batches.
TEST_F(EtcdNsmStoreTest, HundredThousandMonitorsRebootAndNotifyWithinDefaultLimits) {
  constexpr int kN = 100000;
  auto store = side_.NewStore(prefix_);
  PutMany(*store, 0, kN, 512);
  uint64_t txns_before = store->batcher_stats().txns;
  ASSERT_OK(Wait([&](auto d) { store->PrepareReboot(true, 3, "boot", std::move(d)); }));
  EXPECT_EQ(store->batcher_stats().txns, txns_before + 1);
  NsmSnapshot s = Snap(*store);
  EXPECT_TRUE(s.monitors.empty());
  ASSERT_EQ(s.notify.size(), static_cast<size_t>(kN));
  for (int from = 0; from < kN; from += 5000) {
    std::vector<MonitorKey> keys;
    for (int i = from; i < from + 5000; ++i) keys.push_back(Numbered(i).key);
    ASSERT_OK(Wait([&](auto d) { store->DeleteNotified(keys, std::move(d)); }));
  }
  s = Snap(*store);
  EXPECT_TRUE(s.notify.empty());
  EXPECT_EQ(s.local_state, 3);
}

// Three members: one killed during a stream of writes, then all of them.
class EtcdThreeMembers : public EtcdNsmStoreTest {
 protected:
  static void TearDownTestSuite() { shared_.TearDown(); }
  void SetUp() override {
    three_ = shared_.Get();
    ASSERT_NE(three_, nullptr) << shared_.error().ToString();
    side_.Start(three_->endpoints());
    prefix_ = NextPrefix();
  }
  static inline test_support::SharedEtcdCluster shared_{3};
  EtcdCluster* three_ = nullptr;
};

TEST_F(EtcdThreeMembers, EveryAcknowledgedWriteSurvivesAMemberKilledMidStream) {
  auto store = side_.NewStore(prefix_);
  constexpr int kN = 3000;
  std::vector<int> acked;
  int next = 0, done = 0, failed = 0;
  bool killed = false;
  while (done < kN) {
    while (next < kN && next - done < 32) {
      int i = next++;
      store->PutMonitor(Numbered(i), [&, i](Status st) {
        ++done;
        if (st.ok()) {
          acked.push_back(i);
        } else {
          EXPECT_TRUE(st.IsUnavailable()) << st.ToString();
          ++failed;
        }
      });
    }
    if (!killed && done >= kN / 3) {
      ASSERT_OK(three_->Kill(1));
      killed = true;
    }
    int before = done;
    ASSERT_TRUE(side_.loop().RunUntil([&] { return done > before; }, 30s));
  }
  EXPECT_GT(acked.size(), static_cast<size_t>(kN / 2));
  auto reader = side_.NewStore(prefix_);
  NsmSnapshot s = Snap(*reader);
  std::set<std::string> stored;
  for (const auto& r : s.monitors) stored.insert(r.key.mon_name);
  for (int i : acked) EXPECT_TRUE(stored.count(Numbered(i).key.mon_name)) << i;
  ASSERT_OK(three_->Restart(1));
  ASSERT_OK(three_->WaitHealthy());
}

TEST_F(EtcdThreeMembers, UnreachableEtcdFailsUnavailableInBoundedTimeAndTheStoreWorksAfter) {
  auto store = side_.NewStore(prefix_);
  ASSERT_OK(Wait([&](auto d) { store->PutMonitor(Numbered(1), std::move(d)); }));
  for (int m = 1; m <= 3; ++m) ASSERT_OK(three_->Kill(m));
  auto start = std::chrono::steady_clock::now();
  Status put = Wait([&](auto d) { store->PutMonitor(Numbered(2), std::move(d)); });
  EXPECT_TRUE(put.IsUnavailable()) << put.ToString();
  Result<NsmSnapshot> load = LoadAndWait(side_.loop(), *store);
  EXPECT_TRUE(load.status().IsUnavailable()) << load.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 15s);

  for (int m = 1; m <= 3; ++m) ASSERT_OK(three_->Restart(m));
  ASSERT_OK(three_->WaitHealthy());
  ASSERT_OK(Wait([&](auto d) { store->PutMonitor(Numbered(3), std::move(d)); }));
  NsmSnapshot s = Snap(*store);
  std::vector<std::string> names;
  for (const auto& r : s.monitors) names.push_back(r.key.mon_name);
  // Numbered(2) may or may not be there (an Unavailable write's outcome is
  // unknown); the acknowledged ones are.
  EXPECT_EQ(names.front(), Numbered(1).key.mon_name);
  EXPECT_EQ(names.back(), Numbered(3).key.mon_name);
}

// PrepareReboot(move) without an answer, then the same call again: the
// generation moves once, whether or not etcd had applied the first.
TEST_F(EtcdThreeMembers, APrepareRebootRepeatedAfterUnavailableMovesTheMonitorsOnce) {
  auto store = side_.NewStore(prefix_);
  auto reboot_unanswered = [&](int32_t state, const std::string& boot) {
    for (int m = 1; m <= 3; ++m) ASSERT_OK(three_->Kill(m));
    Status st = Wait([&](auto d) { store->PrepareReboot(true, state, boot, std::move(d)); });
    EXPECT_TRUE(st.IsUnavailable()) << st.ToString();
    for (int m = 1; m <= 3; ++m) ASSERT_OK(three_->Restart(m));
    ASSERT_OK(three_->WaitHealthy());
  };
  auto names = [](const std::vector<MonitorRecord>& records) {
    std::vector<std::string> out;
    for (const auto& r : records) out.push_back(r.key.mon_name);
    std::sort(out.begin(), out.end());
    return out;
  };
  auto snap = [&] {
    auto reader = side_.NewStore(prefix_);
    return Snap(*reader);
  };
  const std::string m1 = Numbered(1).key.mon_name, m2 = Numbered(2).key.mon_name,
                    m3 = Numbered(3).key.mon_name;

  // Applied, answer lost: what its Txn writes is written behind the store.
  ASSERT_OK(Wait([&](auto d) { store->PutMonitor(Numbered(1), std::move(d)); }));
  reboot_unanswered(3, "b1");
  ASSERT_OK(RawPut(prefix_ + "gen", "2"));
  ASSERT_OK(RawPut(prefix_ + "boot", "b1"));
  // An SM_MON after the reboot, then the repeat: it stays a monitor.
  ASSERT_OK(Wait([&](auto d) { store->PutMonitor(Numbered(2), std::move(d)); }));
  ASSERT_OK(Wait([&](auto d) { store->PrepareReboot(true, 3, "b1", std::move(d)); }));
  NsmSnapshot s = snap();
  EXPECT_EQ(names(s.monitors), std::vector<std::string>{m2});
  EXPECT_EQ(names(s.notify), std::vector<std::string>{m1});
  EXPECT_EQ(s.local_state, 3);
  EXPECT_EQ(s.boot_id, "b1");

  // Not applied: the repeat moves the monitor list, once.
  reboot_unanswered(5, "b2");
  ASSERT_OK(Wait([&](auto d) { store->PrepareReboot(true, 5, "b2", std::move(d)); }));
  ASSERT_OK(Wait([&](auto d) { store->PutMonitor(Numbered(3), std::move(d)); }));
  s = snap();
  EXPECT_EQ(names(s.monitors), std::vector<std::string>{m3});
  EXPECT_EQ(names(s.notify), (std::vector<std::string>{m1, m2}));
  EXPECT_EQ(s.local_state, 5);
  EXPECT_EQ(s.boot_id, "b2");

  // A new reboot after a repeat moves again.
  ASSERT_OK(Wait([&](auto d) { store->PrepareReboot(true, 7, "b3", std::move(d)); }));
  s = snap();
  EXPECT_TRUE(s.monitors.empty());
  EXPECT_EQ(names(s.notify), (std::vector<std::string>{m1, m2, m3}));
}

}  // namespace
}  // namespace nfsrec::statd
