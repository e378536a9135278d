// I/O fault injection under the commit queue: the Nth write or fsync of a
// group commit fails, for N = 1, 2, ... until the write no longer reaches
// the Nth operation.  Each time: every done gets a clean error (or OK), the
// database reopens intact, everything committed before is there, and every
// unit reported OK is there.
#include <optional>
#include <string>
#include <vector>

#include "common/store/commit_queue.h"
#include "tests/support/fault_vfs.h"
#include "tests/support/store_testutil.h"
#include <gtest/gtest.h>

namespace nfsrec {
namespace {

using sqlite::Db;
using sqlite::FaultVfs;
using sqlite::TempDir;
using namespace std::chrono_literals;

constexpr int kBaseline = 20;
constexpr int kMaxN = 200;  // far above the I/O operations of the faulted writes
constexpr int kGroup = 6;
// Rows span several pages (overflow pages), so a group writes many WAL
// frames, and a tiny auto-checkpoint threshold makes commits checkpoint into
// the main file, whose writes and fsyncs are then in the fault window too.
constexpr int kRowBytes = 6000;
constexpr int kCheckpointPages = 8;

CommitQueue::Work Insert(int64_t k) {
  return [k](Db& db) -> Status {
    auto stmt = db.Cached("INSERT INTO t (k, v) VALUES (?1, randomblob(?2))");
    if (!stmt.ok()) return stmt.status();
    NFSREC_RETURN_IF_ERROR((*stmt)->BindInt(1, k));
    NFSREC_RETURN_IF_ERROR((*stmt)->BindInt(2, kRowBytes));
    return (*stmt)->Run();
  };
}

struct FaultCase {
  FaultVfs::Op op;
  bool persistent;
};

class StoreFaultTest : public ::testing::TestWithParam<FaultCase> {};

// Runs one iteration; returns how many faults were injected.
int RunOnce(FaultVfs& vfs, const FaultCase& fc, int n) {
  TempDir dir;
  EXPECT_TRUE(dir.ok());
  const std::string path = dir.File("fault.sqlite");
  auto loop = EventLoop::Create();
  EXPECT_TRUE(loop.ok());
  std::vector<std::optional<Status>> results(kGroup);
  int injected = 0;
  {
    Db::Options options;
    options.vfs = vfs.name();
    auto db = Db::Open(path, options);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    if (!db.ok()) return 0;
    EXPECT_OK((*db)->Exec("PRAGMA wal_autocheckpoint=" + std::to_string(kCheckpointPages)));
    CommitQueue queue(std::move(db).value(), **loop);
    EXPECT_OK(queue.RunSync(
        [](Db& d) { return d.Exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)"); }));
    int baseline_done = 0;
    for (int i = 0; i < kBaseline; ++i) {
      queue.Submit(Insert(i), [&baseline_done](Status st) {
        EXPECT_OK(st);
        ++baseline_done;
      });
    }
    EXPECT_TRUE((*loop)->RunUntil([&] { return baseline_done == kBaseline; }, 30s));

    vfs.Arm(fc.op, n, fc.persistent);
    for (int i = 0; i < kGroup; ++i) {
      queue.Submit(Insert(1000 + i), [&results, i](Status st) { results[i] = std::move(st); });
    }
    auto all = [&] {
      for (const auto& r : results) {
        if (!r) return false;
      }
      return true;
    };
    EXPECT_TRUE((*loop)->RunUntil(all, 30s)) << "n=" << n;
    injected = vfs.injected();
    // ORDER: the queue (and its connection) closes while persistent faults
    // still fail the close-time checkpoint, so recovery must use the WAL.
  }
  vfs.Disarm();

  for (int i = 0; i < kGroup; ++i) {
    if (!results[i]) continue;
    const Status& st = *results[i];
    if (!st.ok()) {
      EXPECT_TRUE(st.IsIOError()) << "n=" << n << " " << st.ToString();
      EXPECT_NE(st.message().find("disk I/O error"), std::string::npos) << st.ToString();
    }
  }

  auto db = Db::Open(path);
  EXPECT_TRUE(db.ok()) << "n=" << n << " " << db.status().ToString();
  if (!db.ok()) return injected;
  auto check = (*db)->Prepare("PRAGMA integrity_check");
  EXPECT_TRUE(check.ok());
  auto row = check->Step();
  EXPECT_TRUE(row.ok() && *row);
  EXPECT_EQ(check->ColumnText(0), "ok") << "n=" << n;
  EXPECT_EQ(*(*db)->QueryInt("SELECT count(*) FROM t WHERE k < " + std::to_string(kBaseline)),
            kBaseline)
      << "n=" << n;
  for (int i = 0; i < kGroup; ++i) {
    auto present = (*db)->QueryInt("SELECT count(*) FROM t WHERE k = " + std::to_string(1000 + i));
    EXPECT_TRUE(present.ok());
    // OK means durable.  An error means "not known to be durable": after a
    // failed fsync the frames may still be complete on disk.
    if (results[i] && results[i]->ok()) {
      EXPECT_EQ(*present, 1) << "n=" << n << " unit " << i;
    }
  }
  return injected;
}

TEST_P(StoreFaultTest, NthOperationFails) {
  const FaultCase fc = GetParam();
  auto vfs = FaultVfs::Create("nfsrec-fault");
  ASSERT_TRUE(vfs.ok()) << vfs.status().ToString();
  int failing_runs = 0;
  int n = 1;
  for (; n <= kMaxN; ++n) {
    int injected = RunOnce(**vfs, fc, n);
    if (::testing::Test::HasFatalFailure()) return;
    if (injected == 0) break;  // the write needs fewer than n operations
    ++failing_runs;
  }
  RecordProperty("failing_runs", failing_runs);
  EXPECT_GT(failing_runs, 0);
  EXPECT_LE(n, kMaxN) << "the write never completed without a fault";
}

INSTANTIATE_TEST_SUITE_P(Faults, StoreFaultTest,
                         ::testing::Values(FaultCase{FaultVfs::Op::kWrite, false},
                                           FaultCase{FaultVfs::Op::kWrite, true},
                                           FaultCase{FaultVfs::Op::kSync, false},
                                           FaultCase{FaultVfs::Op::kSync, true}),
                         [](const ::testing::TestParamInfo<FaultCase>& param_info) {
                           const FaultCase& fc = param_info.param;
                           return std::string(fc.op == FaultVfs::Op::kWrite ? "Write" : "Sync") +
                                  (fc.persistent ? "Persistent" : "Once");
                         });

// After a transient fault the same connection keeps working: one bad write
// must not fail every later request until a restart.
TEST(StoreFaultRecoveryTest, QueueWorksAgainAfterATransientFault) {
  for (FaultVfs::Op op : {FaultVfs::Op::kWrite, FaultVfs::Op::kSync}) {
    auto vfs = FaultVfs::Create("nfsrec-fault-recover");
    ASSERT_TRUE(vfs.ok());
    TempDir dir;
    auto loop = EventLoop::Create();
    ASSERT_TRUE(loop.ok());
    Db::Options options;
    options.vfs = (*vfs)->name();
    auto db = Db::Open(dir.File("r.sqlite"), options);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    CommitQueue queue(std::move(db).value(), **loop);
    ASSERT_OK(queue.RunSync(
        [](Db& d) { return d.Exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)"); }));

    (*vfs)->Arm(op, 1, false);
    std::optional<Status> failed;
    queue.Submit(Insert(1), [&](Status st) { failed = st; });
    ASSERT_TRUE((*loop)->RunUntil([&] { return failed.has_value(); }, 30s));
    EXPECT_TRUE(failed->IsIOError()) << failed->ToString();
    EXPECT_EQ((*vfs)->injected(), 1);

    std::optional<Status> retried;
    queue.Submit(Insert(1), [&](Status st) { retried = st; });
    ASSERT_TRUE((*loop)->RunUntil([&] { return retried.has_value(); }, 30s));
    EXPECT_OK(*retried);
    int64_t count = -1;
    ASSERT_OK(queue.RunSync([&count](Db& d) -> Status {
      auto n = d.QueryInt("SELECT count(*) FROM t");
      if (!n.ok()) return n.status();
      count = *n;
      return Status::Ok();
    }));
    EXPECT_EQ(count, 1);
  }
}

TEST(FaultVfsTest, CountsAndUnregisters) {
  {
    auto vfs = FaultVfs::Create("nfsrec-fault-count");
    ASSERT_TRUE(vfs.ok());
    EXPECT_TRUE(FaultVfs::Create("nfsrec-fault-count").status().IsAlreadyExists());
    TempDir dir;
    Db::Options options;
    options.vfs = (*vfs)->name();
    auto db = Db::Open(dir.File("c.sqlite"), options);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    (*vfs)->Arm(FaultVfs::Op::kSync, 1000, false);
    ASSERT_OK((*db)->Exec("CREATE TABLE t (x)"));
    EXPECT_GT((*vfs)->writes(), 0);
    EXPECT_GT((*vfs)->syncs(), 0);  // synchronous=FULL syncs the WAL at COMMIT
    EXPECT_EQ((*vfs)->injected(), 0);
    (*vfs)->Arm(FaultVfs::Op::kWrite, 1, false);
    Status st = (*db)->Exec("INSERT INTO t VALUES (1)");
    EXPECT_TRUE(st.IsIOError()) << st.ToString();
    EXPECT_EQ((*vfs)->injected(), 1);
    (*vfs)->Disarm();
  }
  EXPECT_EQ(sqlite3_vfs_find("nfsrec-fault-count"), nullptr);
}

}  // namespace
}  // namespace nfsrec
