#include "common/store/commit_queue.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/base/logging.h"
#include "common/store/schema.h"
#include "tests/support/store_harness.h"
#include "tests/support/temp_dir.h"
#include <gtest/gtest.h>

namespace nfsrec {
namespace {

using sqlite::Db;
using test_support::DbHarness;
using namespace std::chrono_literals;

constexpr auto kWait = DbHarness::kWait;

// Inserts key k into t.
CommitQueue::Work Insert(int64_t k) {
  return [k](Db& db) -> Status {
    NFSREC_ASSIGN_OR_RETURN(sqlite::Statement * stmt, db.Cached("INSERT INTO t (k) VALUES (?1)"));
    NFSREC_RETURN_IF_ERROR(stmt->BindInt(1, k));
    return stmt->Run();
  };
}

class CommitQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(h_.Open());
    loop_ = &h_.loop();
    queue_ = &h_.queue();
    ASSERT_OK(queue_->RunSync([](Db& d) {
      return d.Exec(
          "CREATE TABLE t (k INTEGER PRIMARY KEY);"
          "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
          "CREATE TABLE child (pid INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)");
    }));
  }

  // Reads through a second connection: sees only committed data.
  int64_t CountCommitted(const std::string& where = "1") {
    auto n = h_.PeekInt("SELECT count(*) FROM t WHERE " + where);
    EXPECT_OK(n);
    return n.ok() ? *n : -1;
  }

  // A unit that holds the commit thread until Release(), so that everything
  // submitted meanwhile queues up and forms the next group.  Returns once the
  // commit thread is inside it.
  void SubmitBlocker() {
    queue_->Submit(
        [this](Db&) {
          blocker_running_ = true;
          auto deadline = std::chrono::steady_clock::now() + kWait;
          while (!release_ && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(1ms);
          }
          return Status::Ok();
        },
        [this](Status st) {
          EXPECT_OK(st);
          ++blocker_done_;
        });
    auto deadline = std::chrono::steady_clock::now() + kWait;
    while (!blocker_running_ && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(1ms);
    }
    ASSERT_TRUE(blocker_running_);
  }
  void Release() { release_ = true; }

  std::atomic<bool> release_{false};
  std::atomic<bool> blocker_running_{false};
  int blocker_done_ = 0;
  // ORDER: after what the blocker unit reads, so the commit thread is joined
  // while that is still alive.
  DbHarness h_;
  EventLoop* loop_ = nullptr;
  CommitQueue* queue_ = nullptr;
};

TEST_F(CommitQueueTest, DoneRunsLaterOnTheLoop) {
  bool done = false;
  queue_->Submit(Insert(1), [&](Status st) {
    EXPECT_OK(st);
    done = true;
  });
  EXPECT_FALSE(done);  // never inline
  ASSERT_TRUE(loop_->RunUntil([&] { return done; }, kWait));
  EXPECT_EQ(CountCommitted(), 1);
}

TEST_F(CommitQueueTest, SubmitWithResultDeliversTheValueOrTheError) {
  std::optional<Result<int64_t>> value;
  std::optional<Result<int64_t>> failed;
  auto keep = std::make_unique<int>(7);  // the completion may be move-only
  queue_->SubmitWithResult<int64_t>(
      [](Db& d) -> Result<int64_t> {
        NFSREC_RETURN_IF_ERROR(d.Exec("INSERT INTO t (k) VALUES (41)"));
        return 42;
      },
      [&value, keep = std::move(keep)](Result<int64_t> r) { value = std::move(r); });
  queue_->SubmitWithResult<int64_t>(
      [](Db& d) -> Result<int64_t> {
        NFSREC_RETURN_IF_ERROR(d.Exec("INSERT INTO t (k) VALUES (43)"));
        return Status::Corruption("refused");
      },
      [&failed](Result<int64_t> r) { failed = std::move(r); });
  ASSERT_TRUE(loop_->RunUntil([&] { return value && failed; }, kWait));
  ASSERT_OK(*value);
  EXPECT_EQ(**value, 42);
  EXPECT_EQ(failed->status().code(), Status::Code::kCorruption);
  EXPECT_EQ(CountCommitted("k = 41"), 1);
  EXPECT_EQ(CountCommitted("k = 43"), 0);  // the failed unit alone is rolled back
}

TEST_F(CommitQueueTest, ConcurrentUnitsShareTransactions) {
  constexpr int kUnits = 50;
  const CommitQueue::Stats before = queue_->stats();
  SubmitBlocker();
  std::vector<std::optional<Status>> results(kUnits);
  for (int i = 0; i < kUnits; ++i) {
    queue_->Submit(Insert(i), [&results, i](Status st) { results[i] = std::move(st); });
  }
  Release();
  auto all_done = [&] {
    for (const auto& r : results) {
      if (!r) return false;
    }
    return blocker_done_ == 1;
  };
  ASSERT_TRUE(loop_->RunUntil(all_done, kWait));
  for (int i = 0; i < kUnits; ++i) EXPECT_OK(*results[i]);

  const CommitQueue::Stats after = queue_->stats();
  const uint64_t units = after.units - before.units;
  const uint64_t transactions = after.transactions - before.transactions;
  EXPECT_EQ(units, kUnits + 1u);
  // The blocker's group, then one group holding all 50.
  EXPECT_EQ(transactions, 2u);
  EXPECT_LT(transactions, units);
  EXPECT_EQ(after.max_group, static_cast<uint64_t>(kUnits));
  EXPECT_EQ(CountCommitted(), kUnits);
}

TEST_F(CommitQueueTest, StatsShowQueuedAndRunningUnitsAndTimeEachCommit) {
  const CommitQueue::Stats before = queue_->stats();
  SubmitBlocker();
  int done = 0;
  for (int i = 0; i < 3; ++i) queue_->Submit(Insert(i), [&done](Status) { ++done; });
  // The blocker's group is running; the three wait behind it.
  ASSERT_TRUE(loop_->RunUntil([&] { return queue_->stats().running == 1; }, kWait));
  EXPECT_EQ(queue_->stats().queued, 3u);
  Release();
  ASSERT_TRUE(loop_->RunUntil([&] { return done == 3 && blocker_done_ == 1; }, kWait));
  const CommitQueue::Stats after = queue_->stats();
  EXPECT_EQ(after.queued, 0u);
  EXPECT_EQ(after.running, 0u);
  // One histogram entry per COMMIT issued: the blocker's and the group's.
  EXPECT_EQ(after.commit_time.count() - before.commit_time.count(), 2u);
  EXPECT_EQ(after.commit_time.count(), after.transactions);
  EXPECT_GT(after.commit_time.Percentile(0.99), Duration::zero());
}

TEST_F(CommitQueueTest, NoCompletionBeforeItsDataIsDurable) {
  constexpr int kUnits = 20;
  int done = 0;
  for (int i = 0; i < kUnits; ++i) {
    queue_->Submit(Insert(i), [this, i, &done](Status st) {
      EXPECT_OK(st);
      // A separate connection sees the row: it was committed (and, with
      // synchronous=FULL, fsynced) before this completion ran.
      EXPECT_EQ(CountCommitted("k = " + std::to_string(i)), 1) << i;
      ++done;
    });
  }
  ASSERT_TRUE(loop_->RunUntil([&] { return done == kUnits; }, kWait));
}

TEST_F(CommitQueueTest, CompletionsKeepSubmissionOrder) {
  std::vector<int> order;
  for (int i = 0; i < 30; ++i) {
    queue_->Submit(Insert(i), [&order, i](Status) { order.push_back(i); });
  }
  ASSERT_TRUE(loop_->RunUntil([&] { return order.size() == 30; }, kWait));
  for (int i = 0; i < 30; ++i) EXPECT_EQ(order[i], i);
}

TEST_F(CommitQueueTest, FailingUnitIsIsolated) {
  const CommitQueue::Stats before = queue_->stats();
  SubmitBlocker();
  std::optional<Status> a, b, c, d;
  queue_->Submit(Insert(1), [&](Status st) { a = st; });
  queue_->Submit(
      [](Db& db) -> Status {
        NFSREC_RETURN_IF_ERROR(Insert(2)(db));  // undone by the savepoint
        return Status::InvalidArgument("unit refuses");
      },
      [&](Status st) { b = st; });
  queue_->Submit(Insert(1), [&](Status st) { c = st; });  // duplicate key: SQL error
  queue_->Submit(Insert(3), [&](Status st) { d = st; });
  Release();
  ASSERT_TRUE(loop_->RunUntil([&] { return a && b && c && d; }, kWait));

  EXPECT_OK(*a);
  EXPECT_TRUE(b->IsInvalidArgument());
  EXPECT_EQ(b->message(), "unit refuses");
  EXPECT_TRUE(c->IsAlreadyExists()) << c->ToString();
  EXPECT_OK(*d);
  EXPECT_EQ(CountCommitted("k = 1"), 1);
  EXPECT_EQ(CountCommitted("k = 2"), 0);
  EXPECT_EQ(CountCommitted("k = 3"), 1);
  EXPECT_EQ(queue_->stats().transactions - before.transactions, 2u);
}

TEST_F(CommitQueueTest, CommitFailureReachesEveryUnitOfTheGroup) {
  SubmitBlocker();
  std::optional<Status> a, b, c;
  queue_->Submit(Insert(1), [&](Status st) { a = st; });
  // A deferred foreign key is checked only at COMMIT, so this unit succeeds
  // on its own and makes the group's COMMIT fail.
  queue_->Submit([](Db& db) { return db.Exec("INSERT INTO child (pid) VALUES (99)"); },
                 [&](Status st) { b = st; });
  queue_->Submit(Insert(2), [&](Status st) { c = st; });
  Release();
  ASSERT_TRUE(loop_->RunUntil([&] { return a && b && c; }, kWait));
  for (const auto* st : {&a, &b, &c}) {
    ASSERT_FALSE((*st)->ok());
    EXPECT_NE((*st)->message().find("FOREIGN KEY"), std::string::npos) << (*st)->ToString();
  }
  EXPECT_EQ(CountCommitted(), 0);

  // The queue keeps working after a failed group.
  std::optional<Status> e;
  queue_->Submit(Insert(5), [&](Status st) { e = st; });
  ASSERT_TRUE(loop_->RunUntil([&] { return e.has_value(); }, kWait));
  EXPECT_OK(*e);
  EXPECT_EQ(CountCommitted(), 1);
}

TEST_F(CommitQueueTest, UnitThatEndsTheTransactionFailsItsGroup) {
  SubmitBlocker();
  std::optional<Status> a, b, c;
  queue_->Submit(Insert(1), [&](Status st) { a = st; });
  queue_->Submit([](Db& db) { return db.Exec("ROLLBACK"); }, [&](Status st) { b = st; });
  queue_->Submit(Insert(2), [&](Status st) { c = st; });
  Release();
  ASSERT_TRUE(loop_->RunUntil([&] { return a && b && c; }, kWait));
  EXPECT_FALSE(a->ok());
  EXPECT_FALSE(b->ok());
  EXPECT_FALSE(c->ok());
  EXPECT_EQ(CountCommitted(), 0);
}

TEST_F(CommitQueueTest, DestructorDrainsTheQueue) {
  constexpr int kUnits = 25;
  int done = 0;
  for (int i = 0; i < kUnits; ++i) {
    queue_->Submit(Insert(i), [&done](Status st) {
      EXPECT_OK(st);
      ++done;
    });
  }
  h_.Close();
  EXPECT_EQ(done, 0);  // completions are posted, not run by the destructor
  EXPECT_EQ(CountCommitted(), kUnits);
  ASSERT_TRUE(loop_->RunUntil([&] { return done == kUnits; }, kWait));
}

TEST_F(CommitQueueTest, CompletionsMayBeMoveOnly) {
  // A completion that owns a move-only value (a reply, another Callback).
  auto owned = std::make_unique<int>(7);
  int got = 0;
  queue_->Submit(Insert(1), [owned = std::move(owned), &got](Status st) {
    EXPECT_OK(st);
    got = *owned;
  });
  ASSERT_TRUE(loop_->RunUntil([&] { return got != 0; }, kWait));
  EXPECT_EQ(got, 7);
}

TEST_F(CommitQueueTest, RunSyncSeesEarlierUnitsAndRollsBackOnError) {
  for (int i = 0; i < 5; ++i) queue_->Submit(Insert(i), nullptr);
  int64_t seen = -1;
  ASSERT_OK(queue_->RunSync([&seen](Db& db) -> Status {
    NFSREC_ASSIGN_OR_RETURN(seen, db.QueryInt("SELECT count(*) FROM t"));
    return Status::Ok();
  }));
  EXPECT_EQ(seen, 5);

  Status st = queue_->RunSync([](Db& db) -> Status {
    NFSREC_RETURN_IF_ERROR(Insert(100)(db));
    return Status::Busy("stop");
  });
  EXPECT_TRUE(st.IsBusy());
  EXPECT_EQ(CountCommitted("k = 100"), 0);
}

// A database file renamed over (or unlinked) while the daemon runs: every
// commit after it must fail, or writes acknowledged into the orphaned inode
// vanish at the next start.  Logged once, not once per group; once the file
// is back, commits succeed again.
TEST(CommitQueueFileTest, CommitFailsAfterDatabaseFileReplaced) {
  test_support::TempDir dir;
  ASSERT_TRUE(dir.ok());
  const std::string path = dir.File("nfsrecd.sqlite");
  std::unique_ptr<EventLoop> loop = EventLoop::Create().value();
  CapturingLogger log;
  Result<std::unique_ptr<Db>> db = Db::Open(path);
  ASSERT_OK(db);
  CommitQueue queue(std::move(*db), *loop, &log);
  ASSERT_OK(queue.RunSync([](Db& d) { return d.Exec("CREATE TABLE t (k INTEGER PRIMARY KEY)"); }));
  auto commit = [&](int64_t k) {
    std::optional<Status> result;
    queue.Submit(Insert(k), [&result](Status st) { result = std::move(st); });
    EXPECT_TRUE(loop->RunUntil([&] { return result.has_value(); }, kWait));
    // The log line is posted to the loop with the completions' hand-off.
    loop->RunOnce();
    return result.value_or(Status::TimedOut("no completion"));
  };
  auto errors = [&] {
    int n = 0;
    for (const auto& [level, line] : log.lines()) n += level == LogLevel::kError;
    return n;
  };

  ASSERT_OK(commit(1));
  EXPECT_EQ(errors(), 0);

  // The admin's mistake: keep the original under another name, put another
  // file in its place.
  const std::string kept = dir.File("kept.sqlite");
  const std::string other = dir.File("other.sqlite");
  ASSERT_EQ(::link(path.c_str(), kept.c_str()), 0);
  dir.Write("other.sqlite", "");
  ASSERT_EQ(::rename(other.c_str(), path.c_str()), 0);
  for (int k = 2; k <= 4; ++k) {
    Status st = commit(k);
    EXPECT_EQ(st.code(), Status::Code::kIOError) << st.ToString();
    EXPECT_NE(st.message().find(path), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("replaced"), std::string::npos) << st.message();
  }
  EXPECT_EQ(errors(), 1) << "one log line, not one per failed group";
  EXPECT_TRUE(log.Contains("restore the file or restart nfsrecd"));

  // Unlinked outright: the same, with its own words.
  ASSERT_EQ(::unlink(path.c_str()), 0);
  Status gone = commit(5);
  EXPECT_EQ(gone.code(), Status::Code::kIOError) << gone.ToString();
  EXPECT_NE(gone.message().find("removed"), std::string::npos) << gone.message();

  // The original back in place: commits go through again.
  ASSERT_EQ(::rename(kept.c_str(), path.c_str()), 0);
  ASSERT_OK(commit(6));
  EXPECT_TRUE(log.Contains("is back"));
  // Nothing of the failed groups went into the orphaned file either.
  std::optional<int64_t> count;
  ASSERT_OK(queue.RunSync([&count](Db& d) -> Status {
    NFSREC_ASSIGN_OR_RETURN(count, d.QueryInt("SELECT count(*) FROM t"));
    return Status::Ok();
  }));
  EXPECT_EQ(count, 2);
}

// Gathering (commit_queue.h): writers that wait for their completion before
// submitting again must not split into alternating half-groups.
class CommitQueueGatherTest : public ::testing::Test {
 protected:
  // A window long enough that only the behaviour under test can end a
  // wait in time: the share of the COMMIT time is lifted out of the way,
  // and a writer counts as returning for as long as the window.
  void Open(Duration max_gather_wait) {
    ASSERT_TRUE(dir_.ok());
    loop_ = EventLoop::Create().value();
    Result<std::unique_ptr<Db>> db = Db::Open(dir_.File("gather.sqlite"));
    ASSERT_OK(db);
    CommitQueue::Options options;
    options.max_gather_wait = max_gather_wait;
    options.gather_fraction = 1e9;
    options.return_horizon = max_gather_wait;
    queue_ = std::make_unique<CommitQueue>(std::move(*db), *loop_, nullptr, options);
    ASSERT_OK(
        queue_->RunSync([](Db& d) { return d.Exec("CREATE TABLE t (k INTEGER PRIMARY KEY)"); }));
  }
  void TearDown() override { queue_.reset(); }

  // Submits units one after another, each from the previous one's
  // completion (one writer); returns once all have completed.
  void OneAtATime(int64_t first, int count) {
    int done = 0;
    std::function<void(int)> next = [&](int i) {
      queue_->Submit(Insert(first + i), [&, i](Status st) {
        EXPECT_OK(st);
        ++done;
        if (i + 1 < count) next(i + 1);
      });
    };
    next(0);
    ASSERT_TRUE(loop_->RunUntil([&] { return done == count; }, kWait));
  }

  test_support::TempDir dir_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<CommitQueue> queue_;
};

TEST_F(CommitQueueGatherTest, WriterReturningFromTheLastCommitJoinsTheNextGroup) {
  Open(std::chrono::seconds(30));
  std::atomic<bool> release{false};
  std::atomic<bool> running{false};
  const CommitQueue::Stats before = queue_->stats();
  int done = 0;
  // Group 1: a unit that holds the commit thread; its writer submits again
  // as soon as its completion runs.
  queue_->Submit(
      [&](Db& db) {
        running = true;
        while (!release) std::this_thread::sleep_for(1ms);
        return Insert(0)(db);
      },
      [&](Status st) {
        EXPECT_OK(st);
        ++done;
        queue_->Submit(Insert(100), [&](Status st2) {
          EXPECT_OK(st2);
          ++done;
        });
      });
  ASSERT_TRUE(loop_->RunUntil([&] { return running.load(); }, kWait));
  // Four writers queue up behind it.
  for (int i = 1; i <= 4; ++i) {
    queue_->Submit(Insert(i), [&](Status st) {
      EXPECT_OK(st);
      ++done;
    });
  }
  release = true;
  ASSERT_TRUE(loop_->RunUntil([&] { return done == 6; }, kWait));
  const CommitQueue::Stats after = queue_->stats();
  // Without gathering the four would commit alone and the returning writer
  // after them: three fsyncs.  With it, two, the second holding all five.
  EXPECT_EQ(after.transactions - before.transactions, 2u);
  EXPECT_EQ(after.max_group, 5u);
  // (Whether the commit thread had to wait depends on who got there first.)
  EXPECT_EQ(after.gather_timeouts, before.gather_timeouts);
}

TEST_F(CommitQueueGatherTest, OneWriterAtATimeNeverWaits) {
  Open(std::chrono::seconds(30));
  const CommitQueue::Stats before = queue_->stats();
  const auto t0 = std::chrono::steady_clock::now();
  OneAtATime(0, 20);
  const CommitQueue::Stats after = queue_->stats();
  EXPECT_EQ(after.gather_waits, before.gather_waits);
  EXPECT_EQ(after.transactions - before.transactions, 20u);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(30));
}

TEST_F(CommitQueueGatherTest, UnitAfterTheWindowStartsAtOnce) {
  Open(100ms);
  // A group of three ends...
  int done = 0;
  for (int i = 0; i < 3; ++i) {
    queue_->Submit(Insert(i), [&](Status st) {
      EXPECT_OK(st);
      ++done;
    });
  }
  ASSERT_TRUE(loop_->RunUntil([&] { return done == 3; }, kWait));
  // ... and long after its window, one writer comes: nothing to wait for.
  std::this_thread::sleep_for(300ms);
  const CommitQueue::Stats before = queue_->stats();
  OneAtATime(10, 1);
  EXPECT_EQ(queue_->stats().gather_waits, before.gather_waits);
}

TEST_F(CommitQueueGatherTest, WaitEndsAtTheWindowWhenWritersDoNotReturn) {
  Open(std::chrono::seconds(1));
  // A RunSync unit (after which nothing is gathered) holds the commit
  // thread while two writers queue up: they form one group.
  std::atomic<bool> release{false};
  std::atomic<bool> running{false};
  std::thread holder([&] {
    EXPECT_OK(queue_->RunSync([&](Db&) {
      running = true;
      while (!release) std::this_thread::sleep_for(1ms);
      return Status::Ok();
    }));
  });
  while (!running) std::this_thread::sleep_for(1ms);
  const CommitQueue::Stats before = queue_->stats();
  int done = 0;
  bool lone_done = false;
  for (int i = 0; i < 2; ++i) {
    queue_->Submit(Insert(i), [&, i](Status st) {
      EXPECT_OK(st);
      ++done;
      if (i == 0) {  // only one of the two writes again
        queue_->Submit(Insert(10), [&](Status st2) {
          EXPECT_OK(st2);
          lone_done = true;
        });
      }
    });
  }
  release = true;
  holder.join();
  ASSERT_TRUE(loop_->RunUntil([&] { return lone_done; }, kWait));
  EXPECT_EQ(done, 2);
  const CommitQueue::Stats after = queue_->stats();
  EXPECT_EQ(after.gather_waits - before.gather_waits, 1u);
  EXPECT_EQ(after.gather_timeouts - before.gather_timeouts, 1u);
}

TEST_F(CommitQueueGatherTest, ZeroWindowDisablesGathering) {
  Open(Duration::zero());
  std::atomic<bool> release{false};
  std::atomic<bool> running{false};
  int done = 0;
  queue_->Submit(
      [&](Db& db) {
        running = true;
        while (!release) std::this_thread::sleep_for(1ms);
        return Insert(0)(db);
      },
      [&](Status) {
        ++done;
        queue_->Submit(Insert(100), [&](Status) { ++done; });
      });
  ASSERT_TRUE(loop_->RunUntil([&] { return running.load(); }, kWait));
  queue_->Submit(Insert(1), [&](Status) { ++done; });
  release = true;
  ASSERT_TRUE(loop_->RunUntil([&] { return done == 3; }, kWait));
  EXPECT_EQ(queue_->stats().gather_waits, 0u);
}

class CommitQueueIdleTest : public ::testing::Test {
 protected:
  void Open(Duration idle_after) {
    ASSERT_TRUE(dir_.ok());
    loop_ = EventLoop::Create().value();
    Result<std::unique_ptr<Db>> db = Db::Open(dir_.File("idle.sqlite"));
    ASSERT_OK(db);
    CommitQueue::Options options;
    options.idle_after = idle_after;
    queue_ = std::make_unique<CommitQueue>(std::move(*db), *loop_, nullptr, options);
    // Marked as ours, so that Count's connections accept the file.
    ASSERT_OK(queue_->RunSync([](Db& d) {
      return d.Exec(StrCat("PRAGMA application_id = ", kApplicationId,
                           "; CREATE TABLE t (k INTEGER PRIMARY KEY)"));
    }));
  }
  void TearDown() override { queue_.reset(); }
  int64_t Count(const std::string& where) {
    auto db = Db::Open(dir_.File("idle.sqlite"));
    EXPECT_OK(db);
    auto n = (*db)->QueryInt("SELECT count(*) FROM t WHERE " + where);
    EXPECT_OK(n);
    return n.ok() ? *n : -1;
  }
  Status SubmitAndWait(int64_t k) {
    std::optional<Status> result;
    queue_->Submit(Insert(k), [&](Status st) { result = st; });
    if (!loop_->RunUntil([&] { return result.has_value(); }, kWait)) {
      return Status::TimedOut("unit did not complete");
    }
    return *result;
  }

  test_support::TempDir dir_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<CommitQueue> queue_;
};

// Idle work runs in a transaction of its own once the queue is idle, again
// while it reports more, then not until a group has run.
TEST_F(CommitQueueIdleTest, RunsWhenIdleWhileItHasMoreAndAgainAfterAGroup) {
  Open(20ms);
  std::atomic<int> runs{0};
  queue_->SetIdleWork("test", [&runs](Db& d) -> Result<bool> {
    const int run = ++runs;
    NFSREC_RETURN_IF_ERROR(d.Exec("INSERT INTO t (k) VALUES (" + std::to_string(1000 + run) + ")"));
    return run < 3;  // three runs, then done
  });
  ASSERT_TRUE(loop_->RunUntil([&] { return Count("k > 1000") == 3; }, kWait));
  std::this_thread::sleep_for(200ms);  // ten idle spells: nothing more to do
  EXPECT_EQ(runs.load(), 3);
  EXPECT_EQ(queue_->stats().idle_runs, 3u);
  EXPECT_EQ(queue_->stats().transactions, 1u);  // the RunSync; idle runs are not counted
  ASSERT_OK(SubmitAndWait(1));
  // The counter moves inside the run, before its COMMIT: wait for the row.
  ASSERT_TRUE(loop_->RunUntil([&] { return Count("k > 1000") == 4; }, kWait));
  EXPECT_EQ(runs.load(), 4);
}

// While writers keep the queue busy, idle work waits; it runs after them.
TEST_F(CommitQueueIdleTest, WaitsWhileUnitsKeepComing) {
  Open(300ms);
  ASSERT_OK(SubmitAndWait(1));  // a group: idle work, once set, is due
  std::atomic<int> runs{0};
  queue_->SetIdleWork("test", [&runs](Db&) -> Result<bool> {
    ++runs;
    return false;
  });
  for (int i = 2; i < 40; ++i) ASSERT_OK(SubmitAndWait(i));  // one writer, back to back
  EXPECT_EQ(runs.load(), 0);
  ASSERT_TRUE(loop_->RunUntil([&] { return runs.load() == 1; }, kWait));
}

// A failed run changes nothing and is tried again after the next group;
// SetIdleWork under the same name replaces the work.
TEST_F(CommitQueueIdleTest, FailedRunIsRolledBackAndRetriedAfterTheNextGroup) {
  Open(20ms);
  std::atomic<int> failed{0};
  queue_->SetIdleWork("test", [&failed](Db& d) -> Result<bool> {
    ++failed;
    NFSREC_RETURN_IF_ERROR(d.Exec("INSERT INTO t (k) VALUES (500)"));
    return Status::IOError("injected");
  });
  ASSERT_TRUE(loop_->RunUntil([&] { return failed.load() == 1; }, kWait));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(failed.load(), 1);
  EXPECT_EQ(Count("k = 500"), 0);
  std::atomic<int> runs{0};
  queue_->SetIdleWork("test", [&runs](Db& d) -> Result<bool> {
    ++runs;
    NFSREC_RETURN_IF_ERROR(d.Exec("INSERT INTO t (k) VALUES (501)"));
    return false;
  });
  ASSERT_OK(SubmitAndWait(1));
  ASSERT_TRUE(loop_->RunUntil([&] { return Count("k = 501") == 1; }, kWait));
  EXPECT_EQ(failed.load(), 1);
  EXPECT_EQ(runs.load(), 1);
}

}  // namespace
}  // namespace nfsrec
