#include "common/store/commit_queue.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <utility>

namespace nfsrec {

namespace {
// While the database file is gone, its error is logged this often.
constexpr Duration kFileLostLogInterval = std::chrono::minutes(1);
}  // namespace

CommitQueue::CommitQueue(std::unique_ptr<sqlite::Db> db, EventLoop& loop, Logger* log)
    : CommitQueue(std::move(db), loop, log, Options()) {}

CommitQueue::CommitQueue(std::unique_ptr<sqlite::Db> db, EventLoop& loop, Logger* log,
                         Options options)
    : db_(std::move(db)), loop_(loop), log_(log), options_(options), thread_([this] {
        ThreadMain();
      }) {}

CommitQueue::~CommitQueue() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();  // ThreadMain returns only once the queue is empty
}

void CommitQueue::Submit(Work work, Done done) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    assert(!stopping_);
    queue_.push_back(Unit{std::move(work), std::move(done), false});
    // The commit thread waits either for a first unit or, gathering, for
    // the expected group; in between, waking it would only make it look.
    wake = queue_.size() == 1 || queue_.size() >= gather_target_;
  }
  if (wake) cv_.notify_one();
}

Status CommitQueue::RunSync(const Work& work) {
  // Waiting on the commit thread for itself would never return.
  assert(std::this_thread::get_id() != thread_.get_id());
  std::promise<Status> promise;
  std::future<Status> result = promise.get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(Unit{work, [&promise](Status st) { promise.set_value(std::move(st)); }, true});
    ++sync_queued_;
  }
  cv_.notify_one();
  return result.get();
}

void CommitQueue::SetIdleWork(const std::string& name, IdleWork work) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = std::find_if(idle_work_.begin(), idle_work_.end(),
                           [&name](const auto& entry) { return entry.first == name; });
    if (it != idle_work_.end()) {
      it->second = std::move(work);
    } else {
      idle_work_.emplace_back(name, std::move(work));
    }
    idle_due_ = true;
  }
  cv_.notify_one();
}

CommitQueue::Stats CommitQueue::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  Stats s = stats_;
  s.queued = queue_.size();
  s.running = running_;
  return s;
}

void CommitQueue::ThreadMain() {
  for (;;) {
    std::vector<Unit> group;
    {
      std::unique_lock<std::mutex> lock(mu_);
      auto woken = [this] { return stopping_ || !queue_.empty(); };
      if (idle_due_ && !idle_work_.empty()) {
        if (!cv_.wait_for(lock, options_.idle_after, woken)) {
          std::vector<IdleWork> idle;
          for (const auto& entry : idle_work_) idle.push_back(entry.second);
          idle_due_ = false;  // RunIdle sets it again if there is more
          lock.unlock();
          RunIdle(idle);
          continue;
        }
      } else {
        // Idle work that becomes due (SetIdleWork) starts its idle spell.
        cv_.wait(lock, [&] { return woken() || (idle_due_ && !idle_work_.empty()); });
        if (!woken()) continue;
      }
      if (queue_.empty()) return;  // stopping, and everything is done
      if (!queue_.front().sync) Gather(lock);
      // A group is every queued unit up to the next RunSync unit, which
      // always runs alone in its own transaction.
      if (queue_.front().sync) {
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
        --sync_queued_;
      } else {
        while (!queue_.empty() && !queue_.front().sync) {
          group.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      running_ = group.size();
    }
    if (group.front().sync) {
      RunSyncUnit(group.front());
    } else {
      RunGroup(group);
    }
  }
}

void CommitQueue::Gather(std::unique_lock<std::mutex>& lock) {
  auto grown = [this] { return stopping_ || sync_queued_ > 0 || queue_.size() >= gather_target_; };
  if (grown()) return;
  const auto now = std::chrono::steady_clock::now();
  // A first unit long after the last group is new work, not a writer
  // coming back from it: it starts at once.
  if (now - last_group_end_ > std::max(commit_time_avg_, options_.return_horizon)) return;
  const auto share =
      std::chrono::duration_cast<Duration>(std::chrono::duration<double, Duration::period>(
          static_cast<double>(commit_time_avg_.count()) * options_.gather_fraction));
  stats_.gather_waits += 1;
  if (!cv_.wait_until(lock, now + std::min(options_.max_gather_wait, share), grown)) {
    stats_.gather_timeouts += 1;
    writers_ = 0;  // fewer came back in time: learn their number again
  }
}

void CommitQueue::CountGroup(size_t units, bool commit_issued, Duration commit_time,
                             bool gather_next) {
  std::lock_guard<std::mutex> lock(mu_);
  running_ = 0;
  gather_target_ = 0;
  idle_due_ = true;  // any group may have left idle work to do
  if (commit_issued) {
    // An average over the last eight or so COMMITs.
    commit_time_avg_ = commit_time_avg_ == Duration::zero()
                           ? commit_time
                           : commit_time_avg_ + (commit_time - commit_time_avg_) / 8;
  }
  if (gather_next && commit_issued && options_.max_gather_wait > Duration::zero()) {
    // Units queued now, plus this group's, whose writers are about to get
    // their completions and may submit again.
    writers_ = std::max(writers_, queue_.size() + units);
    gather_target_ = writers_;
    last_group_end_ = std::chrono::steady_clock::now();
  }
  stats_.units += units;
  if (commit_issued) {
    stats_.transactions += 1;
    stats_.commit_time.Record(commit_time);
  }
  stats_.max_group = std::max<uint64_t>(stats_.max_group, units);
}

Status CommitQueue::CheckDatabaseFile() {
  Status st = db_->CheckFileIdentity();
  // A steady clock, not the Scheduler: this runs on the commit thread and
  // only spaces out log lines.
  const TimePoint now = std::chrono::steady_clock::now();
  std::optional<std::pair<LogLevel, std::string>> line;
  if (!st.ok()) {
    if (!file_lost_ || now - file_lost_logged_ >= kFileLostLogInterval) {
      line.emplace(LogLevel::kError, st.message() + "; writes fail until then");
      file_lost_logged_ = now;
    }
    file_lost_ = true;
  } else if (file_lost_) {
    file_lost_ = false;
    line.emplace(LogLevel::kNotice, "database " + db_->path() + " is back; writes resume");
  }
  if (line && log_ != nullptr) {
    loop_.Post([log = log_, line = std::move(*line)] { log->Write(line.first, line.second); });
  }
  return st;
}

void CommitQueue::RunSyncUnit(Unit& unit) {
  bool commit_issued = false;
  Duration commit_time{};
  Status st = CheckDatabaseFile();
  if (st.ok()) {
    auto txn = sqlite::Transaction::Begin(*db_);
    if (!txn.ok()) {
      st = txn.status();
    } else {
      st = unit.work(*db_);
      if (st.ok() && !db_->InTransaction()) {
        st = Status::IOError("transaction ended inside the unit");
      }
      if (st.ok()) {
        commit_issued = true;
        const auto before = std::chrono::steady_clock::now();
        st = (*txn)->Commit();
        commit_time = std::chrono::steady_clock::now() - before;
        if (st.ok()) st = CheckDatabaseFile();
      }
    }
  }  // ~Transaction rolls back unless committed
  CountGroup(1, commit_issued, commit_time, false);
  unit.done(std::move(st));
}

void CommitQueue::RunIdle(const std::vector<IdleWork>& work) {
  bool more = false;
  Status st = CheckDatabaseFile();
  if (st.ok()) {
    auto txn = sqlite::Transaction::Begin(*db_);
    if (!txn.ok()) {
      st = txn.status();
    } else {
      for (const IdleWork& w : work) {
        Result<bool> r = w(*db_);
        if (!r.ok()) {
          st = r.status();
          break;
        }
        more = more || *r;
      }
      if (st.ok()) st = (*txn)->Commit();
    }
  }  // ~Transaction rolls back unless committed
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.idle_runs += 1;
    // After a failure the work is tried again after the next group.
    if (st.ok() && more) idle_due_ = true;
  }
  if (!st.ok() && log_ != nullptr) {
    loop_.Post([log = log_, line = "idle store work failed: " + st.ToString()] {
      log->Write(LogLevel::kWarning, line);
    });
  }
}

void CommitQueue::RunGroup(std::vector<Unit>& group) {
  const size_t n = group.size();
  std::vector<Status> results(n);
  std::vector<bool> failed_alone(n, false);
  bool commit_issued = false;
  Duration commit_time{};
  // Before: nothing goes into a file that is known to be orphaned (not
  // even its -wal, which SQLite leaves at the path for the next opener).
  Status group_error = CheckDatabaseFile();
  if (group_error.ok()) {
    auto txn = sqlite::Transaction::Begin(*db_);
    if (!txn.ok()) {
      group_error = txn.status();
    } else {
      for (size_t i = 0; i < n; ++i) {
        Status st;
        {
          auto sp = sqlite::Savepoint::Begin(*db_);
          if (!sp.ok()) {
            st = sp.status();
          } else {
            st = group[i].work(*db_);
            if (st.ok()) st = (*sp)->Release();
          }
        }  // ~Savepoint undoes this unit alone unless released
        if (!st.ok()) {
          results[i] = std::move(st);
          failed_alone[i] = true;
        }
        if (!db_->InTransaction()) {
          // SQLite rolled the whole transaction back (I/O error, disk full,
          // ...) or the unit ended it: nothing of this group survives.
          group_error =
              failed_alone[i] ? results[i] : Status::IOError("transaction ended inside a unit");
          break;
        }
      }
      if (group_error.ok()) {
        commit_issued = true;
        const auto before = std::chrono::steady_clock::now();
        group_error = (*txn)->Commit();
        commit_time = std::chrono::steady_clock::now() - before;
        // After: a replacement during the group is not acknowledged either.
        if (group_error.ok()) group_error = CheckDatabaseFile();
      }
    }
  }  // ~Transaction rolls back unless committed
  if (!group_error.ok()) {
    for (size_t i = 0; i < n; ++i) {
      if (!failed_alone[i]) results[i] = group_error;
    }
  }
  CountGroup(n, commit_issued, commit_time, true);
  // One hand-off per group keeps completions in submission order.
  std::vector<Done> dones;
  dones.reserve(n);
  for (Unit& unit : group) dones.push_back(std::move(unit.done));
  loop_.Post([dones = std::move(dones), results = std::move(results)]() mutable {
    for (size_t i = 0; i < dones.size(); ++i) {
      if (dones[i]) dones[i](std::move(results[i]));
    }
  });
}

}  // namespace nfsrec
