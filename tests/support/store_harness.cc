#include "tests/support/store_harness.h"

#include <unistd.h>

#include <cstdint>
#include <iostream>
#include <utility>

#include "common/base/logging.h"
#include "common/store/schema.h"

namespace nfsrec::test_support {

DbHarness::DbHarness() {
  auto loop = EventLoop::Create();
  if (loop.ok()) loop_ = std::move(loop).value();
}

DbHarness::~DbHarness() { Close(); }

Status DbHarness::Open(const DbOpenOptions& options) {
  Close();
  if (!ok()) return Status::Unavailable("no temporary directory or event loop");
  NFSREC_ASSIGN_OR_RETURN(std::unique_ptr<sqlite::Db> db, sqlite::Db::Open(path(), options.db));
  // Tests make tables of their own, not a migrated schema: the mark keeps
  // a reopen from refusing the file as another program's.
  NFSREC_RETURN_IF_ERROR(db->Exec(StrCat("PRAGMA application_id = ", kApplicationId)));
  if (!options.setup_sql.empty()) NFSREC_RETURN_IF_ERROR(db->Exec(options.setup_sql));
  queue_ = std::make_unique<CommitQueue>(std::move(db), *loop_, nullptr, options.queue);
  return OnOpen();
}

Status DbHarness::OpenFaulty(const std::string& setup_sql) {
  if (vfs_ == nullptr) {
    const std::string name = "nfsrec-fault-" + std::to_string(reinterpret_cast<uintptr_t>(this));
    NFSREC_ASSIGN_OR_RETURN(vfs_, sqlite::FaultVfs::Create(name));
  }
  DbOpenOptions options;
  options.db.vfs = vfs_->name();
  options.setup_sql = setup_sql;
  return Open(options);
}

void DbHarness::Close() {
  OnClose();
  queue_.reset();
}

void DbHarness::RemoveDatabase() {
  Close();
  for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((path() + suffix).c_str());
}

std::unique_ptr<sqlite::Db> DbHarness::Peek() const {
  auto db = sqlite::Db::Open(path());
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  return db.ok() ? std::move(db).value() : nullptr;
}

Result<int64_t> DbHarness::PeekInt(const std::string& sql) const {
  NFSREC_ASSIGN_OR_RETURN(std::unique_ptr<sqlite::Db> db, sqlite::Db::Open(path()));
  return db->QueryInt(sql);
}

Status DbHarness::CheckIntegrity() const {
  NFSREC_ASSIGN_OR_RETURN(std::unique_ptr<sqlite::Db> db, sqlite::Db::Open(path()));
  NFSREC_ASSIGN_OR_RETURN(sqlite::Statement check, db->Prepare("PRAGMA integrity_check"));
  NFSREC_ASSIGN_OR_RETURN(bool row, check.Step());
  if (!row) return Status::Corruption("integrity_check returned no row");
  std::string verdict = check.ColumnText(0);
  if (verdict != "ok") return Status::Corruption("integrity_check: " + verdict);
  return Status::Ok();
}

FaultSweep SweepNthFault(int max_n, std::chrono::seconds budget,
                         const std::function<int(int n)>& run) {
  FaultSweep sweep;
  const auto deadline = std::chrono::steady_clock::now() + budget;
  for (int n = 1; n <= max_n; ++n) {
    SCOPED_TRACE("n=" + std::to_string(n));
    const int injected = run(n);
    if (::testing::Test::HasFatalFailure()) return sweep;
    if (injected == 0) {
      sweep.clean_n = n;
      break;
    }
    ++sweep.faulted_runs;
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "fault sweep over its time budget after n=" << n;
      return sweep;
    }
  }
  EXPECT_GT(sweep.faulted_runs, 0) << "no run reached a fault";
  EXPECT_NE(sweep.clean_n, 0) << "the sequence never completed without a fault (max_n=" << max_n
                              << ")";
  const std::string range = "1.." + std::to_string(sweep.faulted_runs) + " faulted, " +
                            std::to_string(sweep.clean_n) + " clean";
  ::testing::Test::RecordProperty("fault_n", range);
  std::cout << "[ fault n  ] " << range << std::endl;
  return sweep;
}

}  // namespace nfsrec::test_support
