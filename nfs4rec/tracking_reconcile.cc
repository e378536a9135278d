// TrackingService, continued: reconciliation with the kernel's live client
// list (docs/nfs4rec.md, "Reconciling with the kernel's client list").
#include <chrono>
#include <memory>
#include <set>
#include <string>

#include "nfs4rec/tracking_service.h"

namespace nfsrec::nfs4rec {

void TrackingService::EnableReconcile(LiveClientSource& source, Duration interval,
                                      bool follow_lease) {
  live_source_ = &source;
  reconcile_interval_ = interval;
  reconcile_follows_lease_ = follow_lease;
  // A first run as soon as the records are loaded: when the daemon takes
  // over from nfsdcld while nfsd serves clients (nfsrecd-switch), they get
  // their records before a reboot that may come within the first interval.
  if (start_ != StartState::kReady) reconcile_after_start_ = true;
  ScheduleReconcile();
}

void TrackingService::ScheduleReconcile() {
  if (reconcile_timer_ != 0) scheduler_.Cancel(reconcile_timer_);
  reconcile_timer_ = 0;
  if (reconcile_interval_ <= Duration::zero()) return;
  reconcile_timer_ = scheduler_.RunAfter(reconcile_interval_, liveness_.Guard([this] {
    reconcile_timer_ = 0;
    ReconcileNow();
  }));
}

void TrackingService::ReconcileNow() {
  if (live_source_ == nullptr) return;
  if (start_ != StartState::kReady) {
    // Not loaded yet: which ids have a record is unknown, and a write now
    // could replace a Create's record (with its princhash) by ours.
    reconcile_after_start_ = true;
    return;
  }
  if (scan_running_) {
    rescan_wanted_ = true;
    return;
  }
  scan_running_ = true;
  ++scans_started_;
  removed_during_scan_.clear();
  live_source_->Scan(
      liveness_.Guard([this](Result<LiveClientScan> r) { OnLiveClients(std::move(r)); }));
}

// Which live clients get a record (docs/nfs4rec.md):
//  - confirmed: the client holds state in this server instance, so after the
//    next reboot it is entitled to reclaim it;
//  - courtesy (5.19+): its lease expired but the server still honours all
//    its state, because nobody has asked for anything that conflicts; if it
//    comes back the kernel keeps that state and records it itself, so after
//    a reboot it must be able to reclaim it just the same;
//  - expirable: a conflicting request arrived and the kernel is about to
//    expire it (and send Remove); its state may be handed to someone else,
//    so it must not gain a right to reclaim;
//  - unconfirmed: no state, and it may never confirm.
// Only clients whose states file lists state: a client without state has
// nothing to reclaim, and a record would only let it claim state it never had.
bool TrackingService::ShouldRecord(const NfsdClientInfo& c) {
  const bool live =
      c.status == NfsdClientStatus::kConfirmed || c.status == NfsdClientStatus::kCourtesy;
  return live && c.holds_state;
}

void TrackingService::OnLiveClients(Result<LiveClientScan> scan) {
  scan_running_ = false;
  // ORDER: before a rescan starts another.  A scan that began before
  // GraceDone may miss a client that reclaimed since.
  if (pending_end_ && scans_started_ > pending_end_->after_scan) {
    FinishGraceEnded(scan.ok() ? &*scan : nullptr);
  }
  ++stats_.reconcile_runs;
  std::set<std::string> removed = std::move(removed_during_scan_);
  removed_during_scan_.clear();
  const bool again = rescan_wanted_;
  rescan_wanted_ = false;
  if (reconcile_follows_lease_ && scan.ok() && scan->lease_seconds && *scan->lease_seconds > 0 &&
      std::chrono::seconds(*scan->lease_seconds) != reconcile_interval_) {
    reconcile_interval_ = std::chrono::seconds(*scan->lease_seconds);
    log_.Info(
        StrCat("cld: reconciling every ", *scan->lease_seconds, " s from now on (nfsd's lease)"));
  }
  if (again) {
    ReconcileNow();
  } else {
    ScheduleReconcile();
  }
  if (!scan.ok()) {
    const bool missing = scan.status().code() == Status::Code::kNotFound;
    // Before nfsd's first upcall a missing list only means nfsd has not
    // started yet (the first run is at start-up, usually before nfsd).
    if (missing && stats_.upcalls == 0) {
      log_.Debug("cld: no kernel client list yet (nfsd not started)");
      return;
    }
    // Kernels before 5.3 have no list: say so once, not every lease period.
    if (!missing || !reported_missing_list_) {
      log_.Warning(
          StrCat("cld: cannot read the kernel's client list",
                 missing ? " (kernel "
                           "before 5.3?); NFSv4.0 clients may lose their reclaim right after a "
                           "second reboot"
                         : "",
                 ": ", scan.status().ToString()));
    }
    reported_missing_list_ = reported_missing_list_ || missing;
    return;
  }
  // Skipped during grace: the recovery epoch still holds every client that
  // may reclaim, a reboot during grace keeps that epoch and empties current
  // (so anything written now would be thrown away), and the list shows
  // clients halfway through reclaiming.  GraceDone starts a run at once, so
  // nothing waits longer than the grace period.
  if (epochs_.in_grace()) {
    ++stats_.reconcile_skipped_in_grace;
    log_.Debug("cld: reconciliation skipped: in grace");
    return;
  }
  stats_.reconcile_last_seen = scan->clients.size();
  stats_.reconcile_last_run = scheduler_.Now();
  if (scan->unreadable != 0) {
    log_.Warning(StrCat("cld: ", scan->unreadable,
                        " entries of the kernel's client list were"
                        " unreadable and are not recorded; first: ",
                        scan->first_error));
  }
  struct Run {
    uint64_t writes = 0;
    uint64_t added = 0;
    uint64_t failed = 0;
    uint64_t seen = 0;
  };
  auto run = std::make_shared<Run>();
  run->seen = scan->clients.size();
  auto finished = [this, run] {
    stats_.reconcile_last_added = run->added;
    // Quiet when the run changed nothing: it repeats every lease period.
    const LogLevel level = run->added || run->failed ? LogLevel::kInfo : LogLevel::kDebug;
    if (level == LogLevel::kDebug && !log_.DebugEnabled()) return;
    log_.Write(level,
               StrCat("cld: reconciliation: ", run->seen, " live clients, ", run->added,
                      " records added", run->failed ? StrCat(", ", run->failed, " failed") : "",
                      " (total added ", stats_.reconcile_added, ")"));
  };
  std::set<std::string> issued;
  for (NfsdClientInfo& c : scan->clients) {
    if (!ShouldRecord(c) || current_ids_.count(c.name) != 0 ||
        pending_creates_.count(c.name) != 0 || removed.count(c.name) != 0 ||
        !issued.insert(c.name).second) {
      continue;
    }
    ClientRecord rec;
    rec.id = c.name;
    if (c.minor_version) rec.has_session = *c.minor_version >= 1;
    rec.lease_expired = c.status == NfsdClientStatus::kCourtesy;
    ++run->writes;
    store_.PutClient(rec, liveness_.Guard([this, run, finished, c, rec](Status st) {
      if (st.ok()) {
        current_ids_.insert(c.name);
        if (rec.lease_expired) lease_expired_ids_.insert(c.name);
        ++run->added;
        ++stats_.reconcile_added;
        if (log_.DebugEnabled()) {
          log_.Debug(StrCat("cld: reconciliation recorded live ", NfsdClientStatusName(c.status),
                            " client ", NameForLog(c.name), " (v4.",
                            c.minor_version ? StrCat(*c.minor_version) : std::string("?"), ", ",
                            Printable(c.address), ")"));
        }
      } else {
        ++run->failed;
        ++stats_.store_errors;
        log_.Error(StrCat("cld: reconciliation cannot store client ", NameForLog(c.name), ": ",
                          st.ToString()));
      }
      if (--run->writes == 0) finished();
    }));
  }
  if (run->writes == 0) finished();
  UpdateLeaseMarks(*scan, removed);
}

// Marks the current record of each client the list shows with an expired
// lease (courtesy, expirable), and clears the mark of each it shows
// confirmed: GraceStart offers only unmarked records.  A client missing
// from the list keeps its mark, marked or not: nothing new was seen.  The
// write changes the mark alone, so a Create's princhash stays.
void TrackingService::UpdateLeaseMarks(const LiveClientScan& scan,
                                       const std::set<std::string>& removed) {
  std::set<std::string> issued;
  for (const NfsdClientInfo& c : scan.clients) {
    bool expired = false;
    switch (c.status) {
      case NfsdClientStatus::kCourtesy:
      case NfsdClientStatus::kExpirable:
        expired = true;
        break;
      case NfsdClientStatus::kConfirmed:
        break;
      default:
        continue;
    }
    if (current_ids_.count(c.name) == 0 || pending_creates_.count(c.name) != 0 ||
        removed.count(c.name) != 0 || (lease_expired_ids_.count(c.name) != 0) == expired ||
        !issued.insert(c.name).second) {
      continue;
    }
    const std::string id = c.name;
    store_.SetLeaseExpired(id, expired, liveness_.Guard([this, id, expired](Status st) {
      if (!st.ok()) {
        ++stats_.store_errors;
        log_.Error(
            StrCat("cld: cannot mark client ", NameForLog(id), " in the store: ", st.ToString()));
        return;
      }
      // A Remove or a Create since has rewritten or dropped the record.
      if (current_ids_.count(id) == 0 || pending_creates_.count(id) != 0) return;
      if (expired) {
        lease_expired_ids_.insert(id);
      } else {
        lease_expired_ids_.erase(id);
      }
      if (log_.DebugEnabled()) {
        log_.Debug(StrCat("cld: client ", ClientIdForLog(id),
                          expired ? ": lease expired; not offered at the next GraceStart"
                                  : ": active again; offered at the next GraceStart"));
      }
    }));
  }
}

std::string TrackingService::ReconcileReport() const {
  if (live_source_ == nullptr) return "; reconciliation off";
  std::string last = "never";
  if (stats_.reconcile_last_run != TimePoint{}) {
    auto ago = std::chrono::duration_cast<std::chrono::seconds>(scheduler_.Now() -
                                                                stats_.reconcile_last_run);
    last = StrCat(ago.count(), " s ago, ", stats_.reconcile_last_seen, " live clients, ",
                  stats_.reconcile_last_added, " added");
  }
  return StrCat("; reconciliation: runs ", stats_.reconcile_runs, ", skipped in grace ",
                stats_.reconcile_skipped_in_grace, ", clients added ", stats_.reconcile_added,
                ", last run ", last);
}

}  // namespace nfsrec::nfs4rec
