// SmMirror: keeps rpc.statd's files under the state directory (sm/,
// sm.bak/, state) current with the NSM store while the daemon runs, for
// the tools that read or copy them (Pacemaker's nfsserver and nfsnotify
// agents, CTDB's scripts, an admin's ls) and for a fall-back to nfs-utils
// without an export.  The database stays the truth; the files follow it.
// It is best effort: it never delays an SM_MON reply, a store call or the
// NSM service's start, and never fails one.
//
// What it is told: the changes the store has committed, in commit order
// (MirroredNsmStore reports each successful unit from its completion), and
// every snapshot the store loaded.  It keeps no copy of the lists: the loop
// only records which hosts' files are stale (by canonical name, the file's
// name), and each job reads those hosts' records from the store through a
// MirrorSource (statd/sm_mirror_source.h: the database, read-only) on the
// mirror's thread and writes their files with the formats and the atomic
// replace of the export (statd/nfs_utils_export.h).  A deletion names only
// keys, so the mirror remembers the host of each key whose file is not
// named by its mon_name (a resolved name: one string per such key, by a
// 64-bit hash of the key); every other key's file is its mon_name.
//
// Jobs run on a MirrorRunner (a thread of its own in the daemon), never on
// the loop and never before the change's commit; at most one runs at a
// time, and changes that arrive meanwhile are merged into the next one.
// When changes came while a job ran, the next job starts `pace` after it
// ended, so that under a steady stream of changes the mirror's CPU and I/O
// stay small beside the store's commits; a change that finds no job
// running and none just ended starts its job at once, and Flush never
// waits for the pace.  Jobs flush nothing (no fsync: after a crash the
// next start rewrites every file from the database); the job a Flush
// (drain) waits for ends with one syncfs, so a clean stop leaves the files
// on disk, and then records the in-step marker (statd/sm_mirror_job.h).
// The first snapshot checks that marker: if the files are in step with the
// database, nothing is rewritten; otherwise, and after a reload
// (RewriteAll) or a boot that moved sm/ to sm.bak/, one job rewrites every
// file from an ordered scan of the database, a batch at a time, and
// removes those of hosts the store does not hold.
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
// Loop thread only.  A job owns what it uses (the source is shared), so
// one still running when the mirror is destroyed finishes harmlessly; its
// result is dropped.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/base/callback.h"
#include "common/base/clock.h"
#include "common/base/liveness.h"
#include "common/base/log_limiter.h"
#include "common/base/logging.h"
#include "common/os/executor.h"
#include "statd/monitor.h"
#include "statd/nsm_store.h"
#include "statd/sm_mirror_job.h"
#include "statd/sm_mirror_source.h"

namespace nfsrec::statd {

// Where mirror jobs run: off the loop thread, answering on it.
class MirrorRunner {
 public:
  using Work = Callback<Result<MirrorJobResult>()>;
  using Done = Callback<void(Result<MirrorJobResult>)>;
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
    uint64_t jobs = 0;        // finished, failed ones included
    uint64_t whole_jobs = 0;  // jobs that rewrote every file
    uint64_t in_step = 0;     // first snapshots whose files were found in step
    uint64_t sealed = 0;      // markers written
    uint64_t failed_jobs = 0;
    uint64_t files_written = 0;  // state included
    uint64_t files_removed = 0;
    uint64_t skipped_records = 0;  // records rpc.statd's format cannot carry, per job
  };

  // `state_dir` holds sm/, sm.bak/ and state; `source` is read by the jobs
  // on the runner's thread; the in-step marker lives in `marker_dir` (one
  // this process may write: the database's), "" for none (every start
  // then rewrites every file).
  SmMirror(MirrorRunner& runner, std::shared_ptr<MirrorSource> source, Scheduler& scheduler,
           Logger& log, std::string state_dir, std::string marker_dir = "",
           Duration pace = kDefaultPace);
  static constexpr Duration kDefaultPace = std::chrono::milliseconds(1000);
  static constexpr const char* kMarkerName = "sm-mirror-in-step";
  // Most stale hosts one job takes, so that what a failed job gives back
  // and what one job holds stay bounded.
  static constexpr size_t kHostsPerJob = 4096;
  SmMirror(const SmMirror&) = delete;
  SmMirror& operator=(const SmMirror&) = delete;

  // What the mirror keeps of a load: the keys filed under another host
  // than their mon_name (their canonical name), per list.  Filled record
  // by record by a load's sink, on whichever thread the store reads on;
  // only a load's records are read, so it can be handed to Loaded.
  struct Renamed {
    std::unordered_map<uint64_t, std::string> monitors;  // key hash -> canonical name
    std::unordered_map<uint64_t, std::string> notify;
    void Add(NsmList list, const MonitorRecord& record);
  };

  // --- What the store committed (NsmStore's calls, after their commit) ---
  // A load: the stored state and the load's Renamed.
  void Loaded(int32_t local_state, Renamed renamed);
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
  // For an orderly exit: done() once every change told so far is written
  // (and the in-step marker recorded), or a job failed, or `limit` has
  // passed (then a warning says the files may lag).  Never inline.
  void Flush(Duration limit, Callback<void()> done);

  // Whether nothing is left to write and no job runs.
  bool idle() const { return !running_ && !Dirty(); }
  const Stats& stats() const { return stats_; }

 private:
  // One list (sm/ or sm.bak/): the stale hosts, and the hosts of keys filed
  // under another name than their mon_name.
  struct List {
    std::set<std::string> dirty;
    std::unordered_map<uint64_t, std::string> renamed;  // key hash -> canonical name

    std::string HostOf(const MonitorKey& key) const;
    void Put(const MonitorRecord& record);
    void Erase(const MonitorKey& key);  // its host becomes dirty
  };
  // What a job took, given back if it fails.
  struct Taken {
    bool check = false;
    bool whole = false;
    std::set<std::string> monitors;
    std::set<std::string> notify;
    bool state = false;
    bool seal = false;
    bool more = false;  // hosts were left dirty for the next job (kHostsPerJob)
  };

  bool Dirty() const;
  // Starts a job if there is something to write (or a flush to seal), none
  // runs, the pace allows (or `now`), and the store holds a state;
  // finishes waiting flushes when all is written.
  void MaybeStart(bool now = false);
  void JobDone(Taken taken, Result<MirrorJobResult> result);
  void FinishFlushes();

  MirrorRunner& runner_;
  std::shared_ptr<MirrorSource> source_;
  Scheduler& scheduler_;
  Logger& log_;
  std::string state_dir_;
  std::string marker_dir_;
  Duration pace_;
  bool pacing_ = false;  // a job ended less than pace_ ago
  List monitors_;
  List notify_;
  int32_t state_ = 0;
  bool state_dirty_ = false;
  bool check_ = false;  // the first snapshot's in-step check is due
  bool whole_ = false;
  bool loaded_ = false;
  bool running_ = false;
  TimePoint job_started_{};  // of the running job
  // The files matched the store after a whole rewrite or an in-step check
  // of this run, and every change since is written or dirty: only then can
  // a flush record the marker.
  bool verified_ = false;
  bool seal_tried_ = false;               // by the flushes waiting now
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
