// The one set-up of the store tests: a temporary directory, an EventLoop, a
// database file in the directory and a CommitQueue over a connection to it,
// plus (StoreHarness<Store>) a store adapter on that queue.
//
//   StoreHarness<SqliteClientStore> h;
//   ASSERT_OK(h.Open());                 // or h.OpenFaulty(), then h.fault_vfs().Arm(...)
//   h.store().PutClient(r, done);        // completions run in h.loop()
//   ASSERT_OK(h.Open());                 // reopen: same file, new connection
//   EXPECT_OK(h.CheckIntegrity());
//
// Open() always closes what was open first (adapter, then queue, whose
// destructor finishes the queued units), so "reopen" is Open() again.  The
// loop outlives every reopen: completions posted by a closed queue still run
// on it, and the adapters drop those whose owner is gone.
//
// Also here: RunAndWait (one asynchronous store call, waited for, bounded)
// and SweepNthFault (the N loop of the fault-injection tests), with its
// cases (EveryFaultCase), set-up SQL and fixture base (OnTmpfs).
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "common/base/result.h"
#include "common/os/event_loop.h"
#include "common/store/commit_queue.h"
#include "common/store/sqlite.h"
#include "tests/support/fault_vfs.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include <gtest/gtest.h>

namespace nfsrec::test_support {

// For a "file:...?mode=ro" connection that must not create the database.
inline sqlite::Db::Options ReadOnlyDbOptions() {
  sqlite::Db::Options o;
  o.create_if_missing = false;
  return o;
}

// Makes completions run until pred() holds; false if it never did within
// its bound.  For an adapter: run its EventLoop.  For a fake that queues
// its completions (MemClientStore): deliver them.
using Settle = std::function<bool(const std::function<bool()>& pred)>;

// How the harness opens its connection.
struct DbOpenOptions {
  sqlite::Db::Options db;  // db.vfs routes the I/O through a FaultVfs
  // Run on the new connection before the queue takes it: per-connection
  // settings such as "PRAGMA wal_autocheckpoint=8".
  std::string setup_sql;
  CommitQueue::Options queue;  // e.g. idle_after, to hold idle work back
};

class DbHarness {
 public:
  static constexpr std::chrono::seconds kWait{30};

  DbHarness();
  virtual ~DbHarness();
  DbHarness(const DbHarness&) = delete;
  DbHarness& operator=(const DbHarness&) = delete;

  // The directory and the loop exist (checked by Open()).
  bool ok() const { return dir_.ok() && loop_ != nullptr; }

  // (Re)opens the connection and the queue on path(), then OnOpen().
  Status Open(const DbOpenOptions& options);
  Status Open() { return Open(DbOpenOptions()); }
  // Open() with every file I/O going through fault_vfs(), which is created
  // (under a name of this harness's own) on first use.
  Status OpenFaulty(const std::string& setup_sql = "");
  // Valid after an OpenFaulty() that returned OK.  Outlives every
  // connection of the harness, so it can never be unregistered under one.
  sqlite::FaultVfs& fault_vfs() { return *vfs_; }
  // OnClose(), then the queue and its connection.  Idempotent.
  void Close();
  // Close(), then deletes the database with its -wal and -shm files.
  void RemoveDatabase();

  bool is_open() const { return queue_ != nullptr; }
  const TempDir& dir() const { return dir_; }
  std::string path() const { return dir_.File(kFileName); }
  EventLoop& loop() { return *loop_; }
  CommitQueue& queue() { return *queue_; }
  // Runs loop() until pred holds, at most kWait.
  Settle settle() {
    return [this](const std::function<bool()>& pred) { return loop_->RunUntil(pred, kWait); };
  }

  // A second connection to the file (default VFS): sees committed data only.
  // nullptr, and a test failure, if it cannot be opened.
  std::unique_ptr<sqlite::Db> Peek() const;
  // One integer from a SELECT on a second connection.
  Result<int64_t> PeekInt(const std::string& sql) const;
  // PRAGMA integrity_check on a second connection: OK, or Corruption with
  // SQLite's first complaint.
  Status CheckIntegrity() const;

 protected:
  // Opens the adapters over queue(); runs at the end of every Open().
  virtual Status OnOpen() { return Status::Ok(); }
  // Destroys them, before the queue goes.
  virtual void OnClose() {}

 private:
  static constexpr char kFileName[] = "nfsrecd.sqlite";

  TempDir dir_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<sqlite::FaultVfs> vfs_;  // ORDER: before queue_, destroyed after it
  std::unique_ptr<CommitQueue> queue_;
};

// A DbHarness with one store adapter: Store::Open(CommitQueue&) returning
// Result<std::unique_ptr<Store>> (SqliteNsmStore, SqliteClientStore).
template <typename Store>
class StoreHarness : public DbHarness {
 public:
  ~StoreHarness() override { store_.reset(); }
  Store& store() { return *store_; }
  bool has_store() const { return store_ != nullptr; }

 protected:
  Status OnOpen() override {
    NFSREC_ASSIGN_OR_RETURN(store_, Store::Open(queue()));
    return Status::Ok();
  }
  void OnClose() override { store_.reset(); }

 private:
  std::unique_ptr<Store> store_;
};

// Runs call(done), then settles until done ran; returns what done got, or
// TimedOut.  T is Status or a Result.  Adds a test failure if done ran
// inside the call (the store contracts forbid it).
template <typename T = Status>
T RunAndWait(const Settle& settle,
             const std::function<void(std::function<void(std::type_identity_t<T>)>)>& call) {
  // Shared, so a completion that arrives after a timeout writes to live memory.
  auto result = std::make_shared<std::optional<T>>();
  call([result](T v) { result->emplace(std::move(v)); });
  EXPECT_FALSE(result->has_value()) << "done ran inside the call";
  if (!settle([&] { return result->has_value(); })) {
    return T(Status::TimedOut("store call did not complete"));
  }
  return std::move(**result);
}

// The same on an EventLoop, bounded by `timeout`.
template <typename T = Status>
T RunAndWait(EventLoop& loop,
             const std::function<void(std::function<void(std::type_identity_t<T>)>)>& call,
             std::chrono::milliseconds timeout = DbHarness::kWait) {
  return RunAndWait<T>(
      [&loop, timeout](const std::function<bool()>& pred) { return loop.RunUntil(pred, timeout); },
      call);
}

// One kind of fault to sweep: which operation fails, whether every later
// one of that kind fails too (a disk that died) or only the nth, and how
// (EIO or ENOSPC).
struct FaultCase {
  sqlite::FaultVfs::Op op;
  bool persistent;
  sqlite::FaultVfs::Flavour flavour = sqlite::FaultVfs::Flavour::kEio;
};
// Write and Sync, each Once and Persistent, EIO, for
// INSTANTIATE_TEST_SUITE_P with FaultCaseName.
inline auto AllFaultCases() {
  using Op = sqlite::FaultVfs::Op;
  return ::testing::Values(FaultCase{Op::kWrite, false}, FaultCase{Op::kWrite, true},
                           FaultCase{Op::kSync, false}, FaultCase{Op::kSync, true});
}
// SQL for OpenFaulty in sweeps over every operation: a tiny auto-checkpoint
// threshold makes commits checkpoint into the main file, and a zero journal
// size limit truncates the WAL after each checkpoint, so writes, fsyncs and
// truncates of both files are in the fault window.
inline constexpr char kCheckpointEveryCommit[] =
    "PRAGMA wal_autocheckpoint=2; PRAGMA journal_size_limit=0";

// A base class for sweep fixtures: puts TMPDIR on /dev/shm (when writable)
// before the harness makes its directory.  The sweeps count fsyncs, they do
// not need them to reach a disk (power loss is tests/crash/'s job): on tmpfs
// every run takes milliseconds instead of one disk flush per commit.
struct OnTmpfs {
  OnTmpfs() {
    struct stat st;
    if (::stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && ::access("/dev/shm", W_OK) == 0) {
      ::setenv("TMPDIR", "/dev/shm", 1);
    }
  }
};

// Every operation FaultVfs can fail (open, write, sync, truncate), each
// once and persistent, with EIO and with ENOSPC.
inline auto EveryFaultCase() {
  using Op = sqlite::FaultVfs::Op;
  using F = sqlite::FaultVfs::Flavour;
  std::vector<FaultCase> cases;
  for (Op op : {Op::kOpen, Op::kWrite, Op::kSync, Op::kTruncate}) {
    for (bool persistent : {false, true}) {
      for (F flavour : {F::kEio, F::kEnospc}) cases.push_back(FaultCase{op, persistent, flavour});
    }
  }
  return ::testing::ValuesIn(cases);
}
inline std::string FaultCaseName(const ::testing::TestParamInfo<FaultCase>& info) {
  using Op = sqlite::FaultVfs::Op;
  const char* op = info.param.op == Op::kWrite  ? "Write"
                   : info.param.op == Op::kSync ? "Sync"
                   : info.param.op == Op::kOpen ? "Open"
                                                : "Truncate";
  return std::string(op) + (info.param.persistent ? "Persistent" : "Once") +
         (info.param.flavour == sqlite::FaultVfs::Flavour::kEnospc ? "Enospc" : "");
}

// The N range a fault sweep covered: runs 1..faulted_runs each had a fault
// injected; run clean_n (= faulted_runs + 1) completed without one.
struct FaultSweep {
  int faulted_runs = 0;
  int clean_n = 0;  // 0: no run completed without a fault
};

// Runs run(n) for n = 1, 2, ...: run arms a FaultVfs for its nth operation,
// does its operation sequence, checks the outcome and returns how many
// faults were injected.  Stops at the first run with none injected (the
// sequence needs fewer than n operations), at a fatal failure, after max_n
// runs or once `budget` has passed; the last three add a test failure.
// Records the range as the test property "fault_n" and prints it.
FaultSweep SweepNthFault(int max_n, std::chrono::seconds budget,
                         const std::function<int(int n)>& run);

}  // namespace nfsrec::test_support
