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
#include "tests/support/store_harness.h"
#include <gtest/gtest.h>

namespace nfsrec {
namespace {

using sqlite::Db;
using sqlite::FaultVfs;
using test_support::DbHarness;
using test_support::FaultCase;
using test_support::SweepNthFault;
using test_support::TempDir;
using namespace std::chrono_literals;

constexpr int kBaseline = 20;
constexpr int kMaxN = 200;  // far above the I/O operations of the faulted writes
constexpr std::chrono::seconds kBudget{120};
constexpr int kGroup = 6;
// Rows span several pages (overflow pages), so a group writes many WAL
// frames, and a tiny auto-checkpoint threshold makes commits checkpoint into
// the main file, whose writes and fsyncs are then in the fault window too.
constexpr int kRowBytes = 6000;
constexpr int kCheckpointPages = 8;

CommitQueue::Work Insert(int64_t k) {
  return [k](Db& db) -> Status {
    NFSREC_ASSIGN_OR_RETURN(sqlite::Statement * stmt,
                            db.Cached("INSERT INTO t (k, v) VALUES (?1, randomblob(?2))"));
    NFSREC_RETURN_IF_ERROR(stmt->BindInt(1, k));
    NFSREC_RETURN_IF_ERROR(stmt->BindInt(2, kRowBytes));
    return stmt->Run();
  };
}

class StoreFaultTest : public ::testing::TestWithParam<FaultCase> {};

// Runs one iteration; returns how many faults were injected.
int RunOnce(const FaultCase& fc, int n) {
  DbHarness h;
  std::vector<std::optional<Status>> results(kGroup);
  int injected = 0;
  {
    EXPECT_OK(h.OpenFaulty("PRAGMA wal_autocheckpoint=" + std::to_string(kCheckpointPages)));
    if (!h.is_open()) return 0;
    FaultVfs& vfs = h.fault_vfs();
    EXPECT_OK(h.queue().RunSync(
        [](Db& d) { return d.Exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)"); }));
    int baseline_done = 0;
    for (int i = 0; i < kBaseline; ++i) {
      h.queue().Submit(Insert(i), [&baseline_done](Status st) {
        EXPECT_OK(st);
        ++baseline_done;
      });
    }
    EXPECT_TRUE(h.loop().RunUntil([&] { return baseline_done == kBaseline; }, 30s));

    vfs.Arm(fc.op, n, fc.persistent);
    for (int i = 0; i < kGroup; ++i) {
      h.queue().Submit(Insert(1000 + i), [&results, i](Status st) { results[i] = std::move(st); });
    }
    auto all = [&] {
      for (const auto& r : results) {
        if (!r) return false;
      }
      return true;
    };
    EXPECT_TRUE(h.loop().RunUntil(all, 30s));
    injected = vfs.injected();
    // ORDER: the queue (and its connection) closes while persistent faults
    // still fail the close-time checkpoint, so recovery must use the WAL.
    h.Close();
  }
  h.fault_vfs().Disarm();

  for (int i = 0; i < kGroup; ++i) {
    if (!results[i]) continue;
    const Status& st = *results[i];
    if (!st.ok()) {
      EXPECT_TRUE(st.IsIOError()) << st.ToString();
      EXPECT_NE(st.message().find("disk I/O error"), std::string::npos) << st.ToString();
    }
  }

  EXPECT_OK(h.CheckIntegrity());
  auto baseline = h.PeekInt("SELECT count(*) FROM t WHERE k < " + std::to_string(kBaseline));
  EXPECT_OK(baseline);
  if (baseline.ok()) {
    EXPECT_EQ(*baseline, kBaseline);
  }
  for (int i = 0; i < kGroup; ++i) {
    auto present = h.PeekInt("SELECT count(*) FROM t WHERE k = " + std::to_string(1000 + i));
    EXPECT_OK(present);
    // OK means durable.  An error means "not known to be durable": after a
    // failed fsync the frames may still be complete on disk.
    if (present.ok() && results[i] && results[i]->ok()) {
      EXPECT_EQ(*present, 1) << "unit " << i;
    }
  }
  return injected;
}

TEST_P(StoreFaultTest, NthOperationFails) {
  const FaultCase fc = GetParam();
  SweepNthFault(kMaxN, kBudget, [&](int n) { return RunOnce(fc, n); });
}

INSTANTIATE_TEST_SUITE_P(Faults, StoreFaultTest, test_support::AllFaultCases(),
                         test_support::FaultCaseName);

// After a transient fault the same connection keeps working: one bad write
// must not fail every later request until a restart.
TEST(StoreFaultRecoveryTest, QueueWorksAgainAfterATransientFault) {
  for (FaultVfs::Op op : {FaultVfs::Op::kWrite, FaultVfs::Op::kSync}) {
    DbHarness h;
    ASSERT_OK(h.OpenFaulty());
    FaultVfs& vfs = h.fault_vfs();
    CommitQueue& queue = h.queue();
    ASSERT_OK(queue.RunSync(
        [](Db& d) { return d.Exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)"); }));

    vfs.Arm(op, 1, false);
    std::optional<Status> failed;
    queue.Submit(Insert(1), [&](Status st) { failed = st; });
    ASSERT_TRUE(h.loop().RunUntil([&] { return failed.has_value(); }, 30s));
    EXPECT_TRUE(failed->IsIOError()) << failed->ToString();
    EXPECT_EQ(vfs.injected(), 1);

    std::optional<Status> retried;
    queue.Submit(Insert(1), [&](Status st) { retried = st; });
    ASSERT_TRUE(h.loop().RunUntil([&] { return retried.has_value(); }, 30s));
    EXPECT_OK(*retried);
    int64_t count = -1;
    ASSERT_OK(queue.RunSync([&count](Db& d) -> Status {
      NFSREC_ASSIGN_OR_RETURN(count, d.QueryInt("SELECT count(*) FROM t"));
      return Status::Ok();
    }));
    EXPECT_EQ(count, 1);
  }
}

TEST(FaultVfsTest, CountsAndUnregisters) {
  {
    auto vfs = FaultVfs::Create("nfsrec-fault-count");
    ASSERT_OK(vfs);
    EXPECT_TRUE(FaultVfs::Create("nfsrec-fault-count").status().IsAlreadyExists());
    TempDir dir;
    Db::Options options;
    options.vfs = (*vfs)->name();
    auto db = Db::Open(dir.File("c.sqlite"), options);
    ASSERT_OK(db);
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

TEST(FaultVfsTest, FailsOpenWriteAndTruncateAsEioOrEnospc) {
  auto vfs = FaultVfs::Create("nfsrec-fault-kinds");
  ASSERT_OK(vfs);
  TempDir dir;
  Db::Options options;
  options.vfs = (*vfs)->name();
  // A failed open(2): nothing is opened, the error is an I/O error.
  (*vfs)->Arm(FaultVfs::Op::kOpen, 1, false);
  Result<std::unique_ptr<Db>> failed = Db::Open(dir.File("k.sqlite"), options);
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ((*vfs)->injected(), 1);
  EXPECT_GE((*vfs)->opens(), 1);
  (*vfs)->Disarm();
  auto db = Db::Open(dir.File("k.sqlite"), options);
  ASSERT_OK(db);
  ASSERT_OK((*db)->Exec("CREATE TABLE t (x); PRAGMA journal_size_limit=0;"));

  (*vfs)->Arm(FaultVfs::Op::kWrite, 1, false, FaultVfs::Flavour::kEnospc);
  Status full = (*db)->Exec("INSERT INTO t VALUES (1)");
  EXPECT_NE(full.message().find("database or disk is full"), std::string::npos) << full.ToString();
  (*vfs)->Arm(FaultVfs::Op::kSync, 1, false, FaultVfs::Flavour::kEio);
  Status io = (*db)->Exec("INSERT INTO t VALUES (2)");
  EXPECT_NE(io.message().find("disk I/O error"), std::string::npos) << io.ToString();

  // A checkpoint that truncates the WAL meets the truncate fault.
  (*vfs)->Arm(FaultVfs::Op::kTruncate, 1, true);
  ASSERT_OK((*db)->Exec("INSERT INTO t VALUES (3)"));
  (void)(*db)->Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  EXPECT_GE((*vfs)->truncates(), 1);
  EXPECT_EQ((*vfs)->injected(), (*vfs)->truncates());
  (*vfs)->Disarm();
  ASSERT_OK((*db)->Exec("INSERT INTO t VALUES (4)"));
  Result<int64_t> rows = (*db)->QueryInt("SELECT count(*) FROM t");
  ASSERT_OK(rows);
  EXPECT_EQ(*rows, 2);  // 3 and 4: 1 and 2 failed
}

}  // namespace
}  // namespace nfsrec
