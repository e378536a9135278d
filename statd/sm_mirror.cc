#include "statd/sm_mirror.h"

#include <sys/resource.h>
#include <unistd.h>

#include <utility>

namespace nfsrec::statd {
namespace {

// 64-bit FNV-1a of a key's fields, each with its length.
uint64_t KeyHash(const MonitorKey& key) {
  uint64_t h = 0xcbf29ce484222325ULL;
  auto add = [&h](std::string_view bytes) {
    for (unsigned char c : bytes) {
      h ^= c;
      h *= 0x100000001b3ULL;
    }
  };
  for (const std::string* s : {&key.mon_name, &key.my_name}) {
    add(std::to_string(s->size()));
    add(":");
    add(*s);
  }
  add(StrCat(key.my_prog, ",", key.my_vers, ",", key.my_proc));
  return h;
}

// Up to `budget` names moved from `from` to `to`.
void TakeSome(std::set<std::string>& from, std::set<std::string>& to, size_t& budget) {
  while (!from.empty() && budget > 0) {
    to.insert(from.extract(from.begin()));
    --budget;
  }
}

}  // namespace

void ExecutorMirrorRunner::Run(Liveness::Token owner, Work work, Done done) {
  executor_.Run(
      std::move(owner),
      [work = std::move(work)]() mutable {
        // Per thread on Linux; raising the nice value needs no privilege.
        (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), kNice);
        return work();
      },
      std::move(done));
}

std::string SmMirror::List::HostOf(const MonitorKey& key) const {
  auto it = renamed.find(KeyHash(key));
  return it != renamed.end() ? it->second : key.mon_name;
}

void SmMirror::List::Put(const MonitorRecord& record) {
  const uint64_t h = KeyHash(record.key);
  auto it = renamed.find(h);
  if (it != renamed.end() && it->second != record.canonical_name) {
    dirty.insert(it->second);  // filed under another host before: that file loses the line
  }
  if (record.canonical_name != record.key.mon_name) {
    renamed.insert_or_assign(h, record.canonical_name);
  } else if (it != renamed.end()) {
    renamed.erase(it);
  }
  dirty.insert(record.canonical_name);
}

void SmMirror::List::Erase(const MonitorKey& key) {
  auto it = renamed.find(KeyHash(key));
  if (it == renamed.end()) {
    dirty.insert(key.mon_name);
    return;
  }
  dirty.insert(std::move(it->second));
  renamed.erase(it);
}

void SmMirror::Renamed::Add(NsmList list, const MonitorRecord& record) {
  if (record.canonical_name == record.key.mon_name) return;
  (list == NsmList::kMonitors ? monitors : notify)
      .emplace(KeyHash(record.key), record.canonical_name);
}

SmMirror::SmMirror(MirrorRunner& runner, std::shared_ptr<MirrorSource> source, Scheduler& scheduler,
                   Logger& log, std::string state_dir, std::string marker_dir, Duration pace)
    : runner_(runner),
      source_(std::move(source)),
      scheduler_(scheduler),
      log_(log),
      state_dir_(std::move(state_dir)),
      marker_dir_(std::move(marker_dir)),
      pace_(pace) {}

bool SmMirror::Dirty() const {
  return check_ || whole_ || state_dirty_ || !monitors_.dirty.empty() || !notify_.dirty.empty();
}

void SmMirror::Loaded(int32_t local_state, Renamed renamed) {
  if (!loaded_) {
    // The first load: the files are checked against the marker, and
    // rewritten unless they are in step.
    loaded_ = true;
    check_ = true;
  }
  monitors_.renamed = std::move(renamed.monitors);
  notify_.renamed = std::move(renamed.notify);
  if (local_state != state_) {
    // A later load (a reload, the drain's barrier) with another state:
    // another process changed the store (the sm-notify command always
    // bumps it), so nothing the files hold can be trusted.
    if (state_ > 0) whole_ = true;
    state_ = local_state;
    state_dirty_ = true;
  }
  MaybeStart();
}

void SmMirror::MonitorPut(const MonitorRecord& record) {
  monitors_.Put(record);
  MaybeStart();
}

void SmMirror::MonitorsDeleted(const std::vector<MonitorKey>& keys) {
  for (const MonitorKey& key : keys) monitors_.Erase(key);
  MaybeStart();
}

void SmMirror::StateSet(int32_t state) {
  if (state > state_) {
    state_ = state;
    state_dirty_ = true;
  }
  MaybeStart();
}

void SmMirror::Imported(int32_t state, const std::vector<MonitorRecord>& monitors,
                        const std::vector<MonitorRecord>& notify) {
  for (const MonitorRecord& r : monitors) monitors_.Put(r);
  for (const MonitorRecord& r : notify) notify_.Put(r);
  StateSet(state);
}

void SmMirror::RebootPrepared(bool move_monitors, int32_t state) {
  if (move_monitors) {
    // Every sm/ file moves to sm.bak/: one whole rewrite.
    notify_.renamed.merge(monitors_.renamed);
    monitors_.renamed.clear();
    whole_ = true;
  }
  StateSet(state);
}

void SmMirror::NotifiedDeleted(const std::vector<MonitorKey>& keys) {
  for (const MonitorKey& key : keys) notify_.Erase(key);
  MaybeStart();
}

void SmMirror::RewriteAll() {
  whole_ = true;
  MaybeStart();
}

void SmMirror::MaybeStart(bool now) {
  if (running_ || (pacing_ && !now)) return;
  const bool flushing = !flushes_.empty();
  const bool seal_due = flushing && verified_ && !seal_tried_ && !marker_dir_.empty();
  if (state_ <= 0 || (!Dirty() && !seal_due)) return FinishFlushes();
  Taken taken;
  taken.check = check_;
  taken.whole = whole_;
  taken.state = check_ || whole_ || state_dirty_;
  MirrorJob job;
  job.check = check_;
  job.whole = whole_;
  if (whole_) {
    // The scan reads every change told so far: they were committed first.
    monitors_.dirty.clear();
    notify_.dirty.clear();
  }
  size_t budget = kHostsPerJob;
  TakeSome(monitors_.dirty, taken.monitors, budget);
  TakeSome(notify_.dirty, taken.notify, budget);
  job.monitors = taken.monitors;
  job.notify = taken.notify;
  if (taken.state) job.state = state_;
  check_ = false;
  whole_ = false;
  state_dirty_ = false;
  taken.more = Dirty();
  // A flush (drain) leaves the files on disk; other jobs flush nothing, so
  // that they never compete with the database's commits.  Once nothing is
  // left, it records that the files are in step.
  job.durable = flushing;
  if (flushing && !taken.more && !marker_dir_.empty() &&
      (verified_ || taken.check || taken.whole)) {
    job.seal = true;
    job.known_state = state_;
    taken.seal = true;
    seal_tried_ = true;
  }
  running_ = true;
  job_started_ = scheduler_.Now();
  runner_.Run(
      liveness_.token(),
      [source = source_, dir = state_dir_, marker = marker_dir_, job = std::move(job)]() {
        return RunMirrorJob(*source, dir, marker, kMarkerName, job);
      },
      [this, taken = std::move(taken)](Result<MirrorJobResult> result) mutable {
        JobDone(std::move(taken), std::move(result));
      });
}

void SmMirror::JobDone(Taken taken, Result<MirrorJobResult> result) {
  running_ = false;
  ++stats_.jobs;
  if (result.ok()) {
    if (result->whole) {
      ++stats_.whole_jobs;
      log_.Info(StrCat(
          "sm/ mirror: rewrote every file of ", state_dir_, "/sm and sm.bak from the database in ",
          std::chrono::duration_cast<std::chrono::milliseconds>(scheduler_.Now() - job_started_)
              .count(),
          " ms (", result->counts.written, " written, ", result->unchanged, " already exact, ",
          result->counts.removed, " removed)"));
    }
    if (result->in_step) {
      ++stats_.in_step;
      log_.Info(StrCat("sm/ mirror: ", state_dir_,
                       "/sm and sm.bak are in step with the database (the last clean stop's "
                       "marker): nothing rewritten"));
    }
    if (result->sealed) ++stats_.sealed;
    if (result->whole || result->in_step) verified_ = true;
    stats_.files_written += result->counts.written;
    stats_.files_removed += result->counts.removed;
    if (result->skipped > 0) {
      stats_.skipped_records += result->skipped;
      uint64_t held = 0;
      if (skipped_log_.Allow(scheduler_.Now(), &held)) {
        log_.Warning(StrCat("rpc.statd's files: ", result->skipped,
                            " monitor record(s) left out (a name with a blank, too long, or not a "
                            "file name: rpc.statd could not read them back)",
                            held > 0 ? StrCat("; ", held, " similar warning(s) held back") : ""));
      }
    }
    if (result->counts.state_not_writable && !state_not_writable_said_) {
      // Debian's layout: sm-notify made `state` as root and rpc.statd,
      // as this daemon, runs as statd and never writes it after the boot.
      state_not_writable_said_ = true;
      log_.Info(StrCat("rpc.statd's ", state_dir_,
                       "/state is not this user's to write (as for rpc.statd after its drop): "
                       "the mirror keeps sm/ and sm.bak/ current, and the state number is in "
                       "the database"));
    }
    // Nothing came meanwhile: the next change starts its job at once (a
    // waiting flush may still have its marker to record).
    if (!Dirty()) return MaybeStart(/*now=*/true);
    // The rest of a backlog goes on at once: the pace is for changes that
    // keep coming, not for a job cut at kHostsPerJob.
    if (taken.more || !flushes_.empty() || pace_ <= Duration::zero()) {
      return MaybeStart(/*now=*/true);
    }
    pacing_ = true;
    scheduler_.RunAfter(pace_, [this, alive = liveness_.token()] {
      if (!alive) return;
      pacing_ = false;
      MaybeStart();
    });
    return;
  }
  ++stats_.failed_jobs;
  // Written again by the next job; the next change or Flush starts it.
  check_ = check_ || taken.check;
  whole_ = whole_ || taken.whole;
  state_dirty_ = state_dirty_ || taken.state;
  monitors_.dirty.merge(taken.monitors);
  notify_.dirty.merge(taken.notify);
  uint64_t held = 0;
  if (failure_log_.Allow(scheduler_.Now(), &held)) {
    log_.Warning(
        StrCat("Keeping rpc.statd's files in ", state_dir_,
               " current failed (the database has every change; they are retried with "
               "the next one): ",
               result.status().ToString(),
               held > 0 ? StrCat("; ", held, " more failure(s) since the last warning") : ""));
  }
  FinishFlushes();
}

void SmMirror::FinishFlushes() {
  if (flushes_.empty()) return;
  seal_tried_ = false;
  std::map<uint64_t, PendingFlush> done = std::move(flushes_);
  flushes_.clear();
  for (auto& [id, f] : done) {
    scheduler_.Cancel(f.timer);
    f.done();
  }
}

void SmMirror::Flush(Duration limit, Callback<void()> done) {
  const uint64_t id = next_flush_++;
  seal_tried_ = false;  // a flush that ran out of time may have left it set
  // A job left dirty by a failure is tried once more; if nothing is to be
  // written, the flush ends on the next turn of the loop.
  scheduler_.RunAfter(Duration::zero(), [this, alive = liveness_.token()] {
    if (alive) MaybeStart(/*now=*/true);
  });
  const Scheduler::TimerId timer =
      scheduler_.RunAfter(limit, [this, alive = liveness_.token(), id, limit] {
        if (!alive) return;
        auto it = flushes_.find(id);
        if (it == flushes_.end()) return;
        Callback<void()> cb = std::move(it->second.done);
        flushes_.erase(it);
        log_.Warning(StrCat("rpc.statd's files in ", state_dir_, " not written within ",
                            std::chrono::duration_cast<std::chrono::seconds>(limit).count(),
                            " s; they may lag the database until the next start"));
        cb();
      });
  flushes_.emplace(id, PendingFlush{std::move(done), timer});
}

}  // namespace nfsrec::statd
