// SmMirror: keeps rpc.statd's files under the state directory (sm/,
// sm.bak/, state) current with the NSM store while the daemon runs, for
// the tools that read or copy them (Pacemaker's nfsserver and nfsnotify
// agents, CTDB's scripts, an admin's ls) and for a fall-back to nfs-utils
// without an export.  The database stays the truth; the files follow it.
//
// What it is told: the changes the store has committed, in commit order
// (MirroredNsmStore reports each successful unit from its completion), and
// every snapshot the store loaded.  It keeps its own copy of the committed
// lists and a per-host dirty set, so a job rewrites only the files of the
// hosts that changed, with the formats and the atomic replace of the
// export (statd/nfs_utils_export.h, WriteLegacyUpdate).
//
// Jobs run on a MirrorRunner (an Executor worker in the daemon), never on
// the loop and never before the change's commit; at most one runs at a
// time, and changes that arrive meanwhile are merged into the next one.
// When changes came while a job ran, the next job starts `pace` after it
// ended, so that under a steady stream of changes the mirror's CPU and I/O
// stay small beside the store's commits; a change that finds no job
// running and none just ended starts its job at once, and Flush never
// waits for the pace.  Jobs flush nothing (no fsync: after a crash the
// next start rewrites every file from the database); the job a Flush
// (drain) waits for ends with one syncfs, so a clean stop leaves the files
// on disk.
// The first snapshot, and RewriteAll (after a reload), rewrite every file
// and remove those of hosts the store does not hold.
//
// Nothing is written while the store holds no state number: until then
// rpc.statd's files may still be waiting to be taken over (NsmService::
// Start reads them, and the store's first state is stored with them), and
// once a state is stored they are never taken over again, so a mirrored
// file is never imported twice and a removed monitor never comes back.
//
// A failed job is one warning (at most one per 10 minutes, with the count
// of those held back); its hosts stay dirty for the next job, which the
// next change or Flush starts.  It never fails a store call or a reply.
//
// Loop thread only.  Jobs own copies of what they write, so one still
// running when the mirror is destroyed finishes harmlessly; its result is
// dropped.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/base/callback.h"
#include "common/base/clock.h"
#include "common/base/liveness.h"
#include "common/base/log_limiter.h"
#include "common/base/logging.h"
#include "common/os/executor.h"
#include "statd/monitor.h"
#include "statd/nfs_utils_export.h"
#include "statd/nsm_store.h"

namespace nfsrec::statd {

// Where mirror jobs run: off the loop thread, answering on it.
class MirrorRunner {
 public:
  using Work = Callback<Result<LegacyUpdateCounts>()>;
  using Done = Callback<void(Result<LegacyUpdateCounts>)>;
  virtual ~MirrorRunner() = default;
  // Runs work() elsewhere, then done(result) on the loop thread unless
  // `owner` is gone.  Never runs either inline.
  virtual void Run(Liveness::Token owner, Work work, Done done) = 0;
};

// The daemon's runner: one thread of its own, at nice 10, so that under a
// CPU-bound load the loop and the commit thread go first and the mirror
// only lags (and coalesces more); DNS lookups on the shared Executor are
// not slowed.
class ExecutorMirrorRunner final : public MirrorRunner {
 public:
  static constexpr int kNice = 10;
  explicit ExecutorMirrorRunner(EventLoop& loop) : executor_(loop, Executor::Options{1}) {}
  void Run(Liveness::Token owner, Work work, Done done) override;

 private:
  Executor executor_;
};

class SmMirror {
 public:
  struct Stats {
    uint64_t jobs = 0;  // finished, failed ones included
    uint64_t whole_jobs = 0;
    uint64_t failed_jobs = 0;
    uint64_t files_written = 0;  // state included
    uint64_t files_removed = 0;
    uint64_t skipped_records = 0;  // records rpc.statd's format cannot carry, per job
  };

  // `state_dir` holds sm/, sm.bak/ and state.
  SmMirror(MirrorRunner& runner, Scheduler& scheduler, Logger& log, std::string state_dir,
           Duration pace = kDefaultPace);
  static constexpr Duration kDefaultPace = std::chrono::milliseconds(1000);
  // Most host files one job writes: their texts are built on the loop
  // thread, so a start with 100,000 hosts must not build them all at once
  // (seconds of a blocked loop, and every text in memory together).
  static constexpr size_t kHostsPerJob = 1024;
  SmMirror(const SmMirror&) = delete;
  SmMirror& operator=(const SmMirror&) = delete;

  // --- What the store committed (NsmStore's calls, after their commit) ---
  void Loaded(const NsmSnapshot& snapshot);
  void MonitorPut(const MonitorRecord& record);
  void MonitorsDeleted(const std::vector<MonitorKey>& keys);
  void StateSet(int32_t state);  // the stored number never goes down
  void Imported(int32_t state, const std::vector<MonitorRecord>& monitors,
                const std::vector<MonitorRecord>& notify);
  void RebootPrepared(bool move_monitors, int32_t state);
  void NotifiedDeleted(const std::vector<MonitorKey>& keys);

  // The next job rewrites every file (after a reload: another process may
  // have changed the store, and anyone may have changed the files).
  void RewriteAll();
  // For an orderly exit: done() once every change told so far is written,
  // or a job failed, or `limit` has passed (then a warning says the files
  // may lag).  Never inline.
  void Flush(Duration limit, Callback<void()> done);

  // Whether nothing is left to write and no job runs.
  bool idle() const { return !running_ && !Dirty(); }
  const Stats& stats() const { return stats_; }

 private:
  // One list (sm/ or sm.bak/): the committed records, by host file.
  struct List {
    std::map<MonitorKey, MonitorRecord> records;
    std::map<std::string, std::set<MonitorKey>> hosts;  // canonical name -> keys
    std::set<std::string> dirty;                        // hosts whose file is stale

    void Put(const MonitorRecord& record);
    void Erase(const MonitorKey& key);
    void Clear();
    // The file of `host` ("" if none), skipped records counted.
    std::string Text(const std::string& host, uint64_t& skipped) const;
  };
  // What a job took from the dirty sets, given back if it fails.
  struct Taken {
    bool whole = false;
    std::set<std::string> monitors;
    std::set<std::string> notify;
    bool state = false;
    bool more = false;  // hosts were left dirty for the next job (kHostsPerJob)
  };

  bool Dirty() const;
  // Starts a job if there is something to write, none runs, the pace
  // allows (or `now`), and the store holds a state; finishes waiting
  // flushes when all is written.
  void MaybeStart(bool now = false);
  void JobDone(Taken taken, Result<LegacyUpdateCounts> result);
  // Replaces `list` with `records`, marking the hosts whose file changes.
  void Replace(List& list, const std::vector<MonitorRecord>& records);
  void FinishFlushes();

  MirrorRunner& runner_;
  Scheduler& scheduler_;
  Logger& log_;
  std::string state_dir_;
  Duration pace_;
  bool pacing_ = false;  // a job ended less than pace_ ago
  List monitors_;
  List notify_;
  int32_t state_ = 0;
  bool state_dirty_ = false;
  bool whole_ = false;
  bool loaded_ = false;
  bool running_ = false;
  bool state_not_writable_said_ = false;  // the one line that says `state` is left alone
  Stats stats_;
  LogLimiter failure_log_{"sm/ mirror: failed writes", 1, std::chrono::minutes(10)};
  LogLimiter skipped_log_{"sm/ mirror: records left out", 1, std::chrono::minutes(10)};
  struct PendingFlush {
    Callback<void()> done;
    Scheduler::TimerId timer = 0;  // its limit
  };
  uint64_t next_flush_ = 1;
  std::map<uint64_t, PendingFlush> flushes_;  // waiting Flush calls, by id
  Liveness liveness_;                         // last: job results and timers check it
};

}  // namespace nfsrec::statd
