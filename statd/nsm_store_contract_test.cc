// The NsmStore contract (tests/support/nsm_store_contract.h), run against
// SqliteNsmStore and MemNsmStore, so the fake that service tests use behaves
// like the real store.  Also the MemNsmStore test controls (manual Flush,
// FailNext, DropPending).
#include "tests/support/nsm_store_contract.h"

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

using Harnesses = ::testing::Types<SqliteHarness, MemHarness>;
INSTANTIATE_TYPED_TEST_SUITE_P(Local, NsmStoreContractTest, Harnesses);

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
