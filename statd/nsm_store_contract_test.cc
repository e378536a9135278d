// The NsmStore contract, run against SqliteNsmStore and MemNsmStore, so the
// fake that service tests use behaves like the real store.  Also the
// MemNsmStore test controls (manual Flush, FailNext, DropPending).
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/store/commit_queue.h"
#include "statd/sqlite_nsm_store.h"
#include "tests/support/mem_nsm_store.h"
#include "tests/support/nsm_store_testutil.h"
#include "tests/support/store_harness.h"
#include <gtest/gtest.h>

namespace nfsrec::statd {
namespace {

using test_support::StoreHarness;

class SqliteHarness : public StoreHarness<SqliteNsmStore> {
 public:
  void Init() { ASSERT_OK(Open()); }
};

class MemHarness {
 public:
  void Init() {
    auto loop = EventLoop::Create();
    ASSERT_OK(loop);
    loop_ = std::move(loop).value();
    store_ = std::make_unique<MemNsmStore>(loop_.get());
  }
  NsmStore& store() { return *store_; }
  EventLoop& loop() { return *loop_; }

 private:
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<MemNsmStore> store_;
};

template <typename Harness>
class NsmStoreContractTest : public ::testing::Test {
 protected:
  void SetUp() override { h_.Init(); }

  NsmStore& store() { return h_.store(); }
  Status Put(const MonitorRecord& r) {
    return RunAndWait(h_.loop(), [&](NsmStore::Done d) { store().PutMonitor(r, std::move(d)); });
  }
  Status Delete(const std::vector<MonitorKey>& keys) {
    return RunAndWait(h_.loop(),
                      [&](NsmStore::Done d) { store().DeleteMonitors(keys, std::move(d)); });
  }
  Status SetPeers(const std::vector<std::pair<MonitorKey, int32_t>>& states) {
    return RunAndWait(h_.loop(),
                      [&](NsmStore::Done d) { store().SetPeerStates(states, std::move(d)); });
  }
  Status SetLocal(int32_t state) {
    return RunAndWait(h_.loop(),
                      [&](NsmStore::Done d) { store().SetLocalState(state, std::move(d)); });
  }
  Status PrepareReboot(bool move, int32_t state, const std::string& boot_id) {
    return RunAndWait(h_.loop(), [&](NsmStore::Done d) {
      store().PrepareReboot(move, state, boot_id, std::move(d));
    });
  }
  Result<bool> Import(int32_t state, const std::vector<MonitorRecord>& monitors,
                      const std::vector<MonitorRecord>& notify) {
    return RunAndWait<Result<bool>>(h_.loop(), [&](auto done) {
      store().ImportLegacy(state, monitors, notify, std::move(done));
    });
  }
  Status DeleteNotified(const std::vector<MonitorKey>& keys) {
    return RunAndWait(h_.loop(),
                      [&](NsmStore::Done d) { store().DeleteNotified(keys, std::move(d)); });
  }
  NsmSnapshot Snap() {
    Result<NsmSnapshot> r = LoadAndWait(h_.loop(), store());
    EXPECT_OK(r);
    return r.ok() ? std::move(r).value() : NsmSnapshot{};
  }
  static std::vector<MonitorRecord> Sorted(std::vector<MonitorRecord> v) {
    std::sort(v.begin(), v.end(),
              [](const MonitorRecord& a, const MonitorRecord& b) { return a.key < b.key; });
    return v;
  }
  std::vector<MonitorRecord> LoadNotify() { return Sorted(Snap().notify); }
  std::vector<MonitorRecord> Load() { return Sorted(Snap().monitors); }
  EventLoop& loop() { return h_.loop(); }

  Harness h_;
};

using Harnesses = ::testing::Types<SqliteHarness, MemHarness>;
TYPED_TEST_SUITE(NsmStoreContractTest, Harnesses);

TYPED_TEST(NsmStoreContractTest, StartsEmpty) {
  NsmSnapshot s = this->Snap();
  EXPECT_TRUE(s.monitors.empty());
  EXPECT_EQ(s.local_state, 0);
}

TYPED_TEST(NsmStoreContractTest, PutThenLoad) {
  MonitorRecord a = SampleRecord(1);
  MonitorRecord b = SampleRecord(2);
  b.peer_state = 7;
  ASSERT_OK(this->Put(a));
  ASSERT_OK(this->Put(b));
  EXPECT_EQ(this->Load(), (std::vector<MonitorRecord>{a, b}));
}

TYPED_TEST(NsmStoreContractTest, PutReplacesTheRecordWithTheSameKey) {
  MonitorRecord a = SampleRecord(1);
  ASSERT_OK(this->Put(a));
  MonitorRecord changed = a;
  changed.priv.fill(0xee);
  changed.canonical_name = "elsewhere.example";
  changed.peer_state = 9;
  ASSERT_OK(this->Put(changed));
  EXPECT_EQ(this->Load(), (std::vector<MonitorRecord>{changed}));
}

TYPED_TEST(NsmStoreContractTest, KeyIsTheWholeMyId) {
  MonitorRecord kernel = SampleRecord(1);
  MonitorRecord ganesha = kernel;
  ganesha.key.my_vers = 4;
  MonitorRecord other_proc = kernel;
  other_proc.key.my_proc = 24;
  MonitorRecord other_name = kernel;
  other_name.key.my_name = "second.example";
  for (const auto& r : {kernel, ganesha, other_proc, other_name}) ASSERT_OK(this->Put(r));
  EXPECT_EQ(this->Load().size(), 4u);
}

TYPED_TEST(NsmStoreContractTest, NamesAreBytes) {
  MonitorRecord r = SampleRecord(1);
  r.key.mon_name = std::string("a\0b\xff\x01 \n", 7);
  r.key.my_name = std::string(1024, '\xc3');
  r.canonical_name = std::string("\0", 1);
  MonitorRecord prefix = r;
  prefix.key.mon_name = "a";  // equal up to the NUL: must stay a distinct key
  ASSERT_OK(this->Put(r));
  ASSERT_OK(this->Put(prefix));
  std::vector<MonitorRecord> loaded = this->Load();
  ASSERT_EQ(loaded.size(), 2u);
  EXPECT_EQ(loaded[0], prefix);
  EXPECT_EQ(loaded[1], r);
}

TYPED_TEST(NsmStoreContractTest, DeleteRemovesOnlyTheGivenKeys) {
  for (int i = 1; i <= 3; ++i) ASSERT_OK(this->Put(SampleRecord(i)));
  MonitorKey absent = SampleRecord(99).key;
  ASSERT_OK(this->Delete({SampleRecord(1).key, SampleRecord(3).key, absent}));
  EXPECT_EQ(this->Load(), (std::vector<MonitorRecord>{SampleRecord(2)}));
  ASSERT_OK(this->Delete({}));
  ASSERT_OK(this->Delete({absent}));
  EXPECT_EQ(this->Load().size(), 1u);
}

TYPED_TEST(NsmStoreContractTest, PeerStatesUpdateExistingRecordsOnly) {
  for (int i = 1; i <= 3; ++i) ASSERT_OK(this->Put(SampleRecord(i)));
  ASSERT_OK(this->SetPeers(
      {{SampleRecord(1).key, 5}, {SampleRecord(3).key, -7}, {SampleRecord(42).key, 11}}));
  std::vector<MonitorRecord> loaded = this->Load();
  ASSERT_EQ(loaded.size(), 3u);
  EXPECT_EQ(loaded[0].peer_state, 5);
  EXPECT_EQ(loaded[1].peer_state, 0);
  EXPECT_EQ(loaded[2].peer_state, -7);
  EXPECT_EQ(loaded[0].priv, SampleRecord(1).priv);
}

TYPED_TEST(NsmStoreContractTest, LocalStateIsStored) {
  ASSERT_OK(this->SetLocal(3));
  EXPECT_EQ(this->Snap().local_state, 3);
  ASSERT_OK(this->SetLocal(INT32_MAX));
  EXPECT_EQ(this->Snap().local_state, INT32_MAX);
}

TYPED_TEST(NsmStoreContractTest, NotifyListAndBootIdStartEmpty) {
  EXPECT_TRUE(this->LoadNotify().empty());
  EXPECT_EQ(this->Snap().boot_id, "");
}

TYPED_TEST(NsmStoreContractTest, PrepareRebootMovesMonitorsToTheNotifyList) {
  MonitorRecord a = SampleRecord(1);
  MonitorRecord b = SampleRecord(2);
  b.key.mon_name = std::string("\0b", 2);
  b.peer_state = 9;
  ASSERT_OK(this->Put(a));
  ASSERT_OK(this->Put(b));
  ASSERT_OK(this->PrepareReboot(true, 5, "boot-1"));
  EXPECT_TRUE(this->Load().empty());
  std::vector<MonitorRecord> want = {a, b};
  std::sort(want.begin(), want.end(),
            [](const MonitorRecord& x, const MonitorRecord& y) { return x.key < y.key; });
  EXPECT_EQ(this->LoadNotify(), want);
  EXPECT_EQ(this->Snap().local_state, 5);
  EXPECT_EQ(this->Snap().boot_id, "boot-1");

  // A second reboot before the peer answered: the newer record replaces
  // the one with the same key, the others stay.
  MonitorRecord a2 = a;
  a2.priv.fill(0x77);
  ASSERT_OK(this->Put(a2));
  ASSERT_OK(this->PrepareReboot(true, 7, "boot-2"));
  std::vector<MonitorRecord> notify = this->LoadNotify();
  ASSERT_EQ(notify.size(), 2u);
  EXPECT_TRUE(std::find(notify.begin(), notify.end(), a2) != notify.end());
  EXPECT_TRUE(std::find(notify.begin(), notify.end(), b) != notify.end());
  EXPECT_EQ(this->Snap().boot_id, "boot-2");
}

TYPED_TEST(NsmStoreContractTest, ImportLegacyAddsBothListsAndTheStateTogether) {
  MonitorRecord existing = SampleRecord(1);
  ASSERT_OK(this->Put(existing));
  MonitorRecord replaced = existing;
  replaced.priv.fill(0x42);
  MonitorRecord mon = SampleRecord(2);
  MonitorRecord late = SampleRecord(3);
  Result<bool> imported = this->Import(41, {replaced, mon}, {late});
  ASSERT_OK(imported);
  EXPECT_TRUE(*imported);
  EXPECT_EQ(this->Load(), (std::vector<MonitorRecord>{replaced, mon}));
  EXPECT_EQ(this->LoadNotify(), (std::vector<MonitorRecord>{late}));
  EXPECT_EQ(this->Snap().local_state, 41);
}

TYPED_TEST(NsmStoreContractTest, ImportLegacyChangesNothingOnceAStateIsStored) {
  ASSERT_OK(this->SetLocal(5));
  Result<bool> imported = this->Import(41, {SampleRecord(1)}, {SampleRecord(2)});
  ASSERT_OK(imported);
  EXPECT_FALSE(*imported);
  EXPECT_TRUE(this->Load().empty());
  EXPECT_TRUE(this->LoadNotify().empty());
  EXPECT_EQ(this->Snap().local_state, 5);
}

TYPED_TEST(NsmStoreContractTest, LocalStateNeverGoesDown) {
  ASSERT_OK(this->PrepareReboot(false, 7, "boot"));
  ASSERT_OK(this->SetLocal(3));
  EXPECT_EQ(this->Snap().local_state, 7);
  ASSERT_OK(this->PrepareReboot(false, 5, "boot"));
  EXPECT_EQ(this->Snap().local_state, 7);
}

TYPED_TEST(NsmStoreContractTest, PrepareRebootWithoutMoveKeepsMonitors) {
  ASSERT_OK(this->Put(SampleRecord(1)));
  ASSERT_OK(this->PrepareReboot(false, 3, "boot-x"));
  EXPECT_EQ(this->Load(), (std::vector<MonitorRecord>{SampleRecord(1)}));
  EXPECT_TRUE(this->LoadNotify().empty());
  EXPECT_EQ(this->Snap().local_state, 3);
  EXPECT_EQ(this->Snap().boot_id, "boot-x");
}

TYPED_TEST(NsmStoreContractTest, DeleteNotifiedRemovesOnlyThoseKeys) {
  for (int i = 1; i <= 3; ++i) ASSERT_OK(this->Put(SampleRecord(i)));
  ASSERT_OK(this->PrepareReboot(true, 5, "b"));
  ASSERT_OK(this->DeleteNotified({SampleRecord(2).key, SampleRecord(42).key}));
  EXPECT_EQ(this->LoadNotify(), (std::vector<MonitorRecord>{SampleRecord(1), SampleRecord(3)}));
  EXPECT_TRUE(this->Load().empty());
}

// Load is ordered with the calls before it: it sees what they changed and
// completes after their completions, never inside the call.
TYPED_TEST(NsmStoreContractTest, LoadSeesAndFollowsEarlierCalls) {
  std::vector<std::string> order;
  this->store().PutMonitor(SampleRecord(1), [&](Status st) {
    EXPECT_OK(st);
    order.push_back("put");
  });
  this->store().SetLocalState(9, [&](Status st) {
    EXPECT_OK(st);
    order.push_back("state");
  });
  std::optional<Result<NsmSnapshot>> snap;
  this->store().Load([&](Result<NsmSnapshot> r) {
    order.push_back("load");
    snap = std::move(r);
  });
  EXPECT_FALSE(snap.has_value());
  ASSERT_TRUE(this->loop().RunUntil([&] { return snap.has_value(); }, std::chrono::seconds(30)));
  EXPECT_EQ(order, (std::vector<std::string>{"put", "state", "load"}));
  ASSERT_OK(*snap);
  EXPECT_EQ((*snap)->monitors, (std::vector<MonitorRecord>{SampleRecord(1)}));
  EXPECT_EQ((*snap)->local_state, 9);
}

// --- MemNsmStore's own controls ---

TEST(MemNsmStoreTest, WithoutLoopNothingCommitsBeforeFlush) {
  MemNsmStore store;
  bool done = false;
  store.PutMonitor(SampleRecord(1), [&](Status st) {
    EXPECT_OK(st);
    done = true;
  });
  EXPECT_FALSE(done);
  EXPECT_EQ(store.pending(), 1u);
  EXPECT_TRUE(store.monitors().empty());
  EXPECT_EQ(store.writes(), 0);
  EXPECT_EQ(store.Flush(), 1u);
  EXPECT_TRUE(done);
  ASSERT_NE(store.Find(SampleRecord(1).key), nullptr);
  EXPECT_EQ(store.writes(), 1);
  EXPECT_EQ(store.puts(), 1);
}

TEST(MemNsmStoreTest, FlushCommitsCallsMadeByCompletions) {
  MemNsmStore store;
  int order = 0;
  store.SetLocalState(3, [&](Status) {
    EXPECT_EQ(order++, 0);
    store.PutMonitor(SampleRecord(1), [&](Status) { EXPECT_EQ(order++, 1); });
  });
  EXPECT_EQ(store.Flush(), 2u);
  EXPECT_EQ(order, 2);
  EXPECT_EQ(store.local_state(), 3);
  EXPECT_EQ(store.local_state_writes(), 1);
}

TEST(MemNsmStoreTest, FailNextFailsOneCallAndAppliesNothing) {
  MemNsmStore store;
  store.Seed(SampleRecord(1));
  store.FailNext(Status::IOError("disk gone"));
  std::optional<Status> first, second;
  store.DeleteMonitors({SampleRecord(1).key}, [&](Status st) { first = st; });
  store.PutMonitor(SampleRecord(2), [&](Status st) { second = st; });
  store.Flush();
  ASSERT_TRUE(first && second);
  EXPECT_TRUE(first->IsIOError());
  EXPECT_EQ(first->message(), "disk gone");
  EXPECT_OK(*second);
  EXPECT_NE(store.Find(SampleRecord(1).key), nullptr);
  EXPECT_EQ(store.failed_writes(), 1);
  EXPECT_EQ(store.writes(), 1);
  EXPECT_EQ(store.deletes(), 0);

  store.FailNextLoad(Status::Corruption("bad"));
  std::vector<Status> loads;
  for (int i = 0; i < 2; ++i) {
    store.Load([&](Result<NsmSnapshot> r) { loads.push_back(r.ok() ? Status::Ok() : r.status()); });
  }
  EXPECT_TRUE(loads.empty());
  store.Flush();
  ASSERT_EQ(loads.size(), 2u);
  EXPECT_TRUE(loads[0].IsCorruption());
  EXPECT_OK(loads[1]);
}

TEST(MemNsmStoreTest, DropPendingModelsACrashBeforeCommit) {
  MemNsmStore store;
  bool done = false;
  store.SetLocalState(5, [&](Status) { done = true; });
  store.DropPending();
  EXPECT_EQ(store.Flush(), 0u);
  EXPECT_FALSE(done);
  EXPECT_EQ(store.local_state(), 0);
}

TEST(MemNsmStoreTest, WithLoopCompletionsArePosted) {
  auto loop = EventLoop::Create();
  ASSERT_OK(loop);
  MemNsmStore store(loop->get());
  ASSERT_OK(RunAndWait(**loop,
                       [&](NsmStore::Done d) { store.PutMonitor(SampleRecord(4), std::move(d)); }));
  EXPECT_EQ(store.puts(), 1);
  EXPECT_EQ(store.pending(), 0u);
}

TEST(MemNsmStoreTest, PostedCommitAfterDestructionIsIgnored) {
  auto loop = EventLoop::Create();
  ASSERT_OK(loop);
  bool done = false;
  {
    MemNsmStore store(loop->get());
    store.PutMonitor(SampleRecord(1), [&](Status) { done = true; });
  }
  (*loop)->RunUntil([] { return false; }, std::chrono::milliseconds(30));
  EXPECT_FALSE(done);
}

}  // namespace
}  // namespace nfsrec::statd
