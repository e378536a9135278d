#include "statd/sm_mirror.h"

#include <sys/resource.h>
#include <unistd.h>

#include <utility>

namespace nfsrec::statd {

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

void SmMirror::List::Put(const MonitorRecord& record) {
  auto it = records.find(record.key);
  if (it != records.end() && it->second.canonical_name != record.canonical_name) {
    Erase(record.key);  // re-resolved to another host: its old file loses the line
  }
  records.insert_or_assign(record.key, record);
  hosts[record.canonical_name].insert(record.key);
  dirty.insert(record.canonical_name);
}

void SmMirror::List::Erase(const MonitorKey& key) {
  auto it = records.find(key);
  if (it == records.end()) return;
  const std::string host = it->second.canonical_name;
  records.erase(it);
  auto h = hosts.find(host);
  if (h != hosts.end()) {
    h->second.erase(key);
    if (h->second.empty()) hosts.erase(h);
  }
  dirty.insert(host);
}

void SmMirror::List::Clear() {
  for (const auto& [host, keys] : hosts) dirty.insert(host);
  records.clear();
  hosts.clear();
}

std::string SmMirror::List::Text(const std::string& host, uint64_t& skipped) const {
  auto h = hosts.find(host);
  if (h == hosts.end()) return "";
  std::string text;
  for (const MonitorKey& key : h->second) {
    const MonitorRecord& r = records.at(key);
    if (!CheckLegacyExportable(r).ok()) {
      ++skipped;
      continue;
    }
    text += FormatLegacyMonitorLine(r);
  }
  return text;
}

SmMirror::SmMirror(MirrorRunner& runner, Scheduler& scheduler, Logger& log, std::string state_dir,
                   Duration pace)
    : runner_(runner),
      scheduler_(scheduler),
      log_(log),
      state_dir_(std::move(state_dir)),
      pace_(pace) {}

bool SmMirror::Dirty() const {
  return whole_ || state_dirty_ || !monitors_.dirty.empty() || !notify_.dirty.empty();
}

void SmMirror::Replace(List& list, const std::vector<MonitorRecord>& records) {
  List next;
  for (const MonitorRecord& r : records) next.Put(r);
  std::set<std::string> hosts;
  for (const auto& [host, keys] : list.hosts) hosts.insert(host);
  for (const auto& [host, keys] : next.hosts) hosts.insert(host);
  uint64_t ignored = 0;
  next.dirty = std::move(list.dirty);
  for (const std::string& host : hosts) {
    if (list.Text(host, ignored) != next.Text(host, ignored)) next.dirty.insert(host);
  }
  list = std::move(next);
}

void SmMirror::Loaded(const NsmSnapshot& snapshot) {
  if (!loaded_) {
    // The first snapshot: every file is rewritten, strays removed.
    loaded_ = true;
    whole_ = true;
  }
  Replace(monitors_, snapshot.monitors);
  Replace(notify_, snapshot.notify);
  if (snapshot.local_state != state_) {
    state_ = snapshot.local_state;
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
    for (const auto& [key, r] : monitors_.records) notify_.Put(r);
    monitors_.Clear();
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
  if (state_ <= 0 || !Dirty()) return FinishFlushes();
  Taken taken;
  taken.whole = whole_;
  taken.state = whole_ || state_dirty_;
  LegacyUpdate update;
  update.whole = whole_;
  // A flush (drain) leaves the files on disk; other jobs flush nothing, so
  // that they never compete with the database's commits.
  update.durable = !flushes_.empty();
  update.state_optional = true;
  uint64_t skipped = 0;
  size_t budget = kHostsPerJob;
  auto fill = [&](List& list, LegacyFiles& files, std::set<std::string>& took,
                  std::set<std::string>& keep) {
    if (whole_) {
      // Every host's file is rewritten, batch by batch; this job removes
      // the strays and keeps the files later batches rewrite.
      for (const auto& [host, keys] : list.hosts) {
        list.dirty.insert(host);
        keep.insert(host);
      }
    }
    // "" for a host with no exportable line removes its file.
    while (!list.dirty.empty() && budget > 0) {
      auto node = list.dirty.extract(list.dirty.begin());
      files.emplace(node.value(), list.Text(node.value(), skipped));
      took.insert(std::move(node));
      --budget;
    }
  };
  fill(monitors_, update.monitors, taken.monitors, update.keep_monitors);
  fill(notify_, update.notify, taken.notify, update.keep_notify);
  if (taken.state) update.state = state_;
  whole_ = false;
  state_dirty_ = false;
  taken.more = Dirty();
  if (skipped > 0) {
    stats_.skipped_records += skipped;
    uint64_t held = 0;
    if (skipped_log_.Allow(scheduler_.Now(), &held)) {
      log_.Warning(StrCat("rpc.statd's files: ", skipped,
                          " monitor record(s) left out (a name with a blank, too long, or not a "
                          "file name: rpc.statd could not read them back)",
                          held > 0 ? StrCat("; ", held, " similar warning(s) held back") : ""));
    }
  }
  running_ = true;
  runner_.Run(
      liveness_.token(),
      [dir = state_dir_, update = std::move(update)]() { return WriteLegacyUpdate(dir, update); },
      [this, taken = std::move(taken)](Result<LegacyUpdateCounts> result) mutable {
        JobDone(std::move(taken), std::move(result));
      });
}

void SmMirror::JobDone(Taken taken, Result<LegacyUpdateCounts> result) {
  running_ = false;
  ++stats_.jobs;
  if (taken.whole) ++stats_.whole_jobs;
  if (result.ok()) {
    stats_.files_written += result->written;
    stats_.files_removed += result->removed;
    if (result->state_not_writable && !state_not_writable_said_) {
      // Debian's layout: sm-notify made `state` as root and rpc.statd,
      // as this daemon, runs as statd and never writes it after the boot.
      state_not_writable_said_ = true;
      log_.Info(StrCat("rpc.statd's ", state_dir_,
                       "/state is not this user's to write (as for rpc.statd after its drop): "
                       "the mirror keeps sm/ and sm.bak/ current, and the state number is in "
                       "the database"));
    }
    // Nothing came meanwhile: the next change starts its job at once.
    if (!Dirty()) return FinishFlushes();
    // The rest of a backlog goes on at once: the pace is for changes that
    // keep coming, not for a rewrite in batches.
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
  std::map<uint64_t, PendingFlush> done = std::move(flushes_);
  flushes_.clear();
  for (auto& [id, f] : done) {
    scheduler_.Cancel(f.timer);
    f.done();
  }
}

void SmMirror::Flush(Duration limit, Callback<void()> done) {
  const uint64_t id = next_flush_++;
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
