#include "daemon/live_figures.h"

#include <unistd.h>

#include <chrono>

#include "config.h"
#include "statd/nsm_codec.h"

namespace nfsrec {
namespace {

int64_t UnixSeconds(TimePoint t, TimePoint mono_now, std::chrono::system_clock::time_point now) {
  return UnixSecondsOf(t, mono_now, now);
}

double Seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

const char* PeerState(statd::NotifyEngine::PeerProgress::State s) {
  using State = statd::NotifyEngine::PeerProgress::State;
  switch (s) {
    case State::kQueued:
      return "queued";
    case State::kPending:
      return "pending";
    case State::kAnswered:
      return "answered";
    case State::kGivenUp:
      return "given_up";
  }
  return "pending";
}

LiveStatus::Nsm GatherNsm(const statd::NsmDaemon& d, TimePoint mono_now,
                          std::chrono::system_clock::time_point now) {
  using statd::NsmProc;
  LiveStatus::Nsm n;
  const statd::NsmService& service = d.service();
  n.state = service.local_state();
  n.monitors = service.monitor_count();
  n.notify_list = service.notify_count();
  n.calls_waiting_for_load = service.waiting();
  const statd::NsmProgramStats& calls = d.program_stats();
  n.replies_awaited = calls.awaiting_reply;
  const std::pair<NsmProc, const char*> kProcedures[] = {
      {NsmProc::kNull, "SM_NULL"},
      {NsmProc::kStat, "SM_STAT"},
      {NsmProc::kMon, "SM_MON"},
      {NsmProc::kUnmon, "SM_UNMON"},
      {NsmProc::kUnmonAll, "SM_UNMON_ALL"},
      {NsmProc::kSimuCrash, "SM_SIMU_CRASH"},
      {NsmProc::kNotify, "SM_NOTIFY"},
  };
  for (const auto& [proc, name] : kProcedures) {
    LiveStatus::Procedure p;
    p.name = name;
    if (auto it = calls.by_proc.find(proc); it != calls.by_proc.end()) {
      p.calls = it->second.calls;
      p.garbage = it->second.garbage;
    }
    if (auto it = service.refused_calls().find(name); it != service.refused_calls().end()) {
      p.refused = it->second;
    }
    n.procedures.push_back(p);
  }
  const statd::NotifyEngine& engine = d.engine();
  const statd::NotifyEngine::Stats& es = engine.stats();
  n.callbacks_in_progress = engine.callbacks_in_progress();
  n.callbacks_delivered = es.callbacks_ok;
  n.callbacks_failed = es.callbacks_failed;
  n.peers_answered = es.peers_notified;
  n.peers_given_up = es.peers_failed;
  for (const auto& p : engine.Progress(kMaxPeersListed)) {
    n.peers.push_back(LiveStatus::Peer{p.host, PeerState(p.state), p.attempts,
                                       UnixSeconds(p.next_retry, mono_now, now)});
  }
  // Counts from the whole engine: the list may be cut short.
  n.peers_queued = engine.peers_queued();
  n.peers_pending = engine.peers_in_progress() - n.peers_queued;
  n.peers_total = engine.peers_in_progress() + n.peers_answered + n.peers_given_up;
  const statd::BootNotifier::Report& r = d.notifier().report();
  n.boot = LiveStatus::Nsm::BootRun{r.runs,
                                    r.running,
                                    r.new_boot,
                                    r.state,
                                    r.peers,
                                    r.answered,
                                    r.unreachable,
                                    r.runs > 0 ? UnixSeconds(r.started_at, mono_now, now) : 0,
                                    r.finished_at ? UnixSeconds(*r.finished_at, mono_now, now) : 0};
  return n;
}

LiveStatus::Nfs4 GatherNfs4(const nfs4rec::TrackingDaemon& d, TimePoint mono_now,
                            std::chrono::system_clock::time_point now) {
  using nfs4rec::CldCommand;
  LiveStatus::Nfs4 n;
  const nfs4rec::TrackingService& service = d.service();
  const nfs4rec::TrackingService::Stats& ts = service.stats();
  const std::pair<CldCommand, const char*> kCommands[] = {
      {CldCommand::kCreate, "create"},         {CldCommand::kRemove, "remove"},
      {CldCommand::kCheck, "check"},           {CldCommand::kGraceDone, "gracedone"},
      {CldCommand::kGraceStart, "gracestart"}, {CldCommand::kGetVersion, "getversion"},
  };
  for (const auto& [command, name] : kCommands) n.upcalls[name] = 0;
  n.upcalls["unsupported"] = 0;
  n.upcalls["undecodable"] = d.bad_upcalls();
  for (const auto& [byte, count] : d.upcalls_by_command()) {
    const char* name = "unsupported";
    for (const auto& [command, known] : kCommands) {
      if (static_cast<uint8_t>(command) == byte) name = known;
    }
    n.upcalls[name] += count;
    n.upcalls_total += count;
  }
  n.upcalls_total += d.bad_upcalls();
  n.in_flight = service.in_flight();
  n.store_errors = ts.store_errors;
  const nfs4rec::CldPipe& pipe = d.pipe();
  n.pipe_open = pipe.is_open();
  n.pipe_path = pipe.open_path();
  n.pipe_opens = pipe.stats().opens;
  n.last_upcall = UnixSeconds(pipe.stats().last_message, mono_now, now);
  const nfs4rec::GraceReport g = service.grace_report();
  n.grace.in_grace = g.in_grace;
  n.grace.current_epoch = g.current_epoch;
  n.grace.recovery_epoch = g.recovery_epoch;
  n.grace.may_reclaim_known = g.may_reclaim_known;
  n.grace.may_reclaim = g.may_reclaim;
  n.grace.reclaimed = g.reclaimed;
  n.grace.not_offered = g.not_offered;
  if (g.started_at) n.grace.since = UnixSeconds(*g.started_at, mono_now, now);
  if (g.kernel_grace_time) n.grace.kernel_grace_seconds = Seconds(*g.kernel_grace_time);
  if (g.last_ended) {
    const nfs4rec::GraceReport::Ended& e = *g.last_ended;
    LiveStatus::GraceEnd end;
    end.reason = nfs4rec::GraceEndReasonName(e.reason);
    if (e.duration) end.duration_seconds = Seconds(*e.duration);
    end.recovery_epoch = e.recovery_epoch;
    end.may_reclaim_known = e.may_reclaim_known;
    end.may_reclaim = e.may_reclaim;
    end.reclaimed = e.reclaimed;
    end.reclaimed_without_create = e.reclaimed_without_create;
    end.not_returned = e.not_returned;
    end.not_offered = e.not_offered;
    end.at = UnixSeconds(e.ended_at, mono_now, now);
    n.grace.last_end = end;
  }
  return n;
}

}  // namespace

LiveStatus GatherLiveStatus(const LiveSources& src) {
  const auto now = std::chrono::system_clock::now();
  const TimePoint mono_now = src.scheduler->Now();
  LiveStatus s;
  s.version = PACKAGE_VERSION;
  s.pid = ::getpid();
  s.uid = ::geteuid();
  s.now = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  s.started = src.started;
  if (src.nsm != nullptr) s.nsm = GatherNsm(*src.nsm, mono_now, now);
  if (src.queue != nullptr) {
    const CommitQueue::Stats q = src.queue->stats();
    s.store.emplace(LiveStatus::Store{q.units, q.transactions, q.queued, q.running, q.max_group,
                                      q.commit_time});
  }
  if (src.tracking != nullptr) s.nfs4 = GatherNfs4(*src.tracking, mono_now, now);
  if (src.cluster) s.cluster = src.cluster();
  return s;
}

}  // namespace nfsrec
