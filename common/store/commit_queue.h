// Group commit for the one SQLite database.
//
// Writers on the loop thread Submit() a unit of work and a completion.  A
// single commit thread owns the write connection: it takes every unit that
// is queued, runs them all inside ONE transaction (each unit in its own
// SAVEPOINT, so one unit's failure rolls back only that unit), COMMITs
// (one fsync for the whole group), and only then posts each completion to
// the loop thread.  While it is committing, new units queue up and form the
// next group.  Hence: no reply that depends on a write can leave before that
// write is durable, and concurrent requests share fsyncs.
//
// Gathering.  Writers usually wait for their completion before they submit
// again (lockd's SM_MON, an nfsd thread's Create), so C of them keep C units
// in play.  Taking whatever is queued the moment the previous COMMIT
// returns splits them: the units completed by that COMMIT are still on
// their way back (reply, client, next call) while the others already wait,
// and the two parts then alternate, far fewer than C units per fsync.  So
// when a group ends, the next one is expected to hold the units queued then
// plus the ones just completed (or the most seen in play since a wait last
// timed out, if more).  When its first unit comes within return_horizon
// (or the average COMMIT time, if longer) of that end, the group waits until
// the expected units are queued, for at most the gather window: the smaller
// of max_gather_wait and gather_fraction of the average COMMIT time, so
// always well under one fsync.  A wait that times out makes the queue learn
// the number of writers again.  It never waits when the expected units are
// already there (one writer at a time, whose unit starts as soon as it
// arrives), for a first unit after an idle spell, for RunSync or while
// stopping.
//
// Idle work.  A store may register work that is worth doing but that no
// caller waits for (folding a journal into its tables: statd/sqlite_nsm_store.h).
// It runs on the commit thread once the queue has had no unit for
// idle_after, in a transaction and COMMIT of its own, with no completion;
// it runs again after the next idle spell while it reports more to do, and
// else once more after the next group (any group may have made new work).
// A unit submitted meanwhile waits for that one run, so each run must be
// short (a bounded step, not all of it).  A failed run is logged and tried
// again after the next group.  Never while stopping: the destructor does
// not wait for it.
//
// Loop-thread contract: Submit() and the destructor are called on the loop
// thread; `done` always runs on the loop thread (via EventLoop::Post), never
// inline inside Submit().  `work` runs on the commit thread and must touch
// nothing but the Db it is given (and data it owns).
//
// Failure semantics within a group:
//  - a unit whose work fails is rolled back to its savepoint; its done gets
//    that Status, the others are unaffected;
//  - if the group's transaction is lost (BEGIN or COMMIT fails, or an I/O
//    error makes SQLite roll the whole transaction back), every unit of the
//    group that had not already failed on its own gets that error;
//  - after a failed COMMIT the changes may still have reached the disk (an
//    fsync error cannot tell), so an error means "not known to be durable":
//    callers retry idempotent writes, they never assume "absent";
//  - before BEGIN and after COMMIT the database's path is checked to still
//    name the file the connection writes (sqlite::Db::CheckFileIdentity, a
//    stat each): if the file was renamed over or unlinked, the group fails
//    with that error, since a restart would never see its writes.  This is
//    logged as an error (once a minute while it lasts) and checked again
//    for every group, so commits resume once the file is back.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/base/callback.h"
#include "common/base/clock.h"
#include "common/base/histogram.h"
#include "common/base/logging.h"
#include "common/base/result.h"
#include "common/os/event_loop.h"
#include "common/store/sqlite.h"

namespace nfsrec {

class CommitQueue {
 public:
  using Work = std::function<Status(sqlite::Db&)>;
  // Move-only, so a completion can carry a reply or another Callback.
  using Done = Callback<void(Status)>;

  // Idle work (see above): returns true while more is left to do.
  using IdleWork = std::function<Result<bool>(sqlite::Db&)>;

  struct Options {
    // Upper bound of the gather window (see Gathering); zero disables
    // gathering.
    Duration max_gather_wait = std::chrono::milliseconds(5);
    // The window is at most this share of the average COMMIT time.
    double gather_fraction = 0.5;
    // A first unit later than this (or than the average COMMIT time, if
    // longer) after the last group ended is not waited with.
    Duration return_horizon = std::chrono::milliseconds(5);
    // How long the queue must have been empty before idle work runs: long
    // enough that a burst of writers stalled on a loaded machine (a
    // notification storm) is not taken for the end of the burst.
    Duration idle_after = std::chrono::seconds(1);
  };

  struct Stats {
    uint64_t units = 0;         // units committed or failed
    uint64_t transactions = 0;  // COMMITs issued (fsync groups)
    uint64_t max_group = 0;     // largest number of units in one transaction
    // At the time of stats(): units waiting for the commit thread, and
    // units of the group it is running.
    uint64_t queued = 0;
    uint64_t running = 0;
    // Groups that waited for units still on their way (see Gathering),
    // and how many of those waits ended at the window instead.
    uint64_t gather_waits = 0;
    uint64_t gather_timeouts = 0;
    // Wall time of each COMMIT statement (the fsync), per transaction.
    LatencyHistogram commit_time;
    // Runs of idle work (not counted in transactions or commit_time).
    uint64_t idle_runs = 0;
  };

  // Takes ownership of the connection.  `loop` (and `log`, if given; its
  // lines are written on the loop thread) must outlive the queue.
  CommitQueue(std::unique_ptr<sqlite::Db> db, EventLoop& loop, Logger* log = nullptr);
  CommitQueue(std::unique_ptr<sqlite::Db> db, EventLoop& loop, Logger* log, Options options);
  // Finishes every queued unit (their completions are posted, not run),
  // then joins the commit thread.
  ~CommitQueue();
  CommitQueue(const CommitQueue&) = delete;
  CommitQueue& operator=(const CommitQueue&) = delete;

  // Queues work; done(status) later runs on the loop thread after the
  // group's COMMIT returned (status OK) or after the unit or the commit failed.
  void Submit(Work work, Done done);
  // Submit for work that computes a value: done gets that value, or the
  // unit's or the group's error, on the loop thread after the COMMIT.
  template <typename T>
  void SubmitWithResult(std::function<Result<T>(sqlite::Db&)> work,
                        Callback<void(Result<T>)> done) {
    // Written on the commit thread, read by the completion on the loop
    // thread (the post orders the two); shared because Work is copyable.
    auto slot = std::make_shared<std::optional<T>>();
    Submit(
        [work = std::move(work), slot](sqlite::Db& db) -> Status {
          NFSREC_ASSIGN_OR_RETURN(*slot, work(db));
          return Status::Ok();
        },
        [slot, done = std::move(done)](Status st) mutable {
          done(st.ok() ? Result<T>(std::move(**slot)) : Result<T>(std::move(st)));
        });
  }

  // Registers idle work under `name`, replacing any registered under that
  // name (a store opened again on the same queue).  `work` runs on the
  // commit thread and, like a unit's, touches nothing but the Db it is
  // given: it may outlive whoever registered it.
  void SetIdleWork(const std::string& name, IdleWork work);

  // Runs work in its own transaction on the commit thread and waits for it.
  // For start-up and tests only: it blocks the caller.
  Status RunSync(const Work& work);

  Stats stats() const;
  // The path the database was opened by (for readers with a connection
  // of their own).  Fixed for the queue's life, so any thread may read it.
  const std::string& database_path() const { return db_->path(); }

 private:
  struct Unit {
    Work work;
    Done done;
    bool sync = false;  // RunSync: own transaction, done runs on the commit thread
  };
  void ThreadMain();
  // Waits (mu_ held through `lock`) while the next group is still expected
  // to grow; see Gathering.
  void Gather(std::unique_lock<std::mutex>& lock);
  void RunGroup(std::vector<Unit>& group);
  void RunSyncUnit(Unit& unit);
  // Runs the idle work (a copy taken under mu_) in one transaction.
  void RunIdle(const std::vector<IdleWork>& work);
  // `commit_time`: how long the COMMIT took, if one was issued.
  // `gather_next`: whether the next group may wait for this one's writers.
  void CountGroup(size_t units, bool commit_issued, Duration commit_time, bool gather_next);
  // The file identity check, logged when it changes.  Commit thread only.
  Status CheckDatabaseFile();

  std::unique_ptr<sqlite::Db> db_;
  EventLoop& loop_;
  Logger* log_;
  const Options options_;
  bool file_lost_ = false;        // commit thread only
  TimePoint file_lost_logged_{};  // commit thread only
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Unit> queue_;  // guarded by mu_
  bool stopping_ = false;   // guarded by mu_
  Stats stats_;             // guarded by mu_
  size_t running_ = 0;      // guarded by mu_
  size_t sync_queued_ = 0;  // RunSync units in queue_; guarded by mu_
  // Gathering (see above); guarded by mu_.  The next group's expected
  // size (0: none), the most units seen in play since a wait last timed
  // out, when the last group ended, and the COMMIT time, smoothed.
  size_t gather_target_ = 0;
  size_t writers_ = 0;
  std::chrono::steady_clock::time_point last_group_end_{};
  Duration commit_time_avg_{};
  // Idle work by name, and whether it is due (it may have work); guarded by mu_.
  std::vector<std::pair<std::string, IdleWork>> idle_work_;
  bool idle_due_ = false;
  std::thread thread_;
};

}  // namespace nfsrec
