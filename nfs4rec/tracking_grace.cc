// TrackingService, continued: who is offered at GraceStart, grace
// bookkeeping for the status report and the recovery events in the log.
// The wording of every line is documented in docs/events.md; keep the two
// in step.
#include <algorithm>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "nfs4rec/tracking_service.h"

namespace nfsrec::nfs4rec {

namespace {

// nfsd starts its timer when the upload is over, and measures whole
// seconds: a GraceDone this close to the grace time is the timer's.
constexpr Duration kTimerTolerance = std::chrono::seconds(1);

int64_t Seconds(Duration d) { return std::chrono::duration_cast<std::chrono::seconds>(d).count(); }

const char* ReasonForLog(GraceEndReason reason) {
  switch (reason) {
    case GraceEndReason::kAllReclaimed:
      return "all reclaimed";
    case GraceEndReason::kTimer:
      return "timer";
    case GraceEndReason::kAdmin:
      return "admin";
    case GraceEndReason::kUnknown:
      break;
  }
  return "timer or admin";
}

}  // namespace

const char* GraceEndReasonName(GraceEndReason reason) {
  switch (reason) {
    case GraceEndReason::kAllReclaimed:
      return "all-reclaimed";
    case GraceEndReason::kTimer:
      return "timer";
    case GraceEndReason::kAdmin:
      return "admin";
    case GraceEndReason::kUnknown:
      break;
  }
  return "unknown";
}

std::string TrackingService::ClientIdForLog(const std::string& id) {
  constexpr size_t kMaxText = 64;
  constexpr size_t kMaxHex = 48;
  bool printable = !id.empty();
  for (char c : id) printable = printable && c >= 0x20 && c < 0x7f;
  if (printable) {
    if (id.size() <= kMaxText) return StrCat("\"", id, "\"");
    return StrCat("\"", id.substr(0, kMaxText), "...\"");
  }
  const size_t n = id.size() < kMaxHex ? id.size() : kMaxHex;
  return StrCat("hex:", HexBytes(id.data(), n), id.size() > kMaxHex ? "..." : "");
}

void TrackingService::OnEndGraceWritten(const Status& st) {
  if (st.ok()) {
    log_.Info("cld: the kernel ended the grace period");
  } else if (st.IsBusy()) {
    // Newer kernels answer EBUSY once grace is over: nfsd ended it itself
    // when the same RECLAIM_COMPLETE reached its own count, and its
    // GraceDone is on its way.  (Or nfsd has stopped.)  Nothing to do.
    log_.Debug(StrCat("cld: v4_end_grace: grace already over: ", st.ToString()));
  } else {
    log_.Warning(StrCat("cld: could not end the grace period early: ", st.ToString()));
  }
}

void TrackingService::NoteGraceStarted(const GraceStartResult& r) {
  if (pending_end_) FinishGraceEnded(nullptr);
  grace_started_ = scheduler_.Now();
  may_reclaim_known_ = true;
  reclaimed_ = 0;
  kernel_grace_time_.reset();
  log_.Notice(StrCat(
      "cld: grace started: ", uploaded_, " clients may reclaim from epoch ", epochs_.recovery,
      not_offered_ ? StrCat(", ", not_offered_, " not offered (expired before the reboot)")
                   : std::string(),
      "; current epoch ", epochs_.current,
      r.kept_recovery ? " (grace still open from the previous start)" : ""));
  // nfsd's grace time tells its timer from an early v4_end_grace.  nfsd
  // cannot change it while it runs, so once per GraceStart is enough.
  const uint64_t seq = upload_seq_;
  grace_.ReadGraceTime(liveness_.Guard([this, seq](Result<Duration> t) {
    if (seq != upload_seq_) return;
    if (!t.ok()) {
      log_.Debug(StrCat("cld: nfsd's grace time unknown: ", t.status().ToString()));
      return;
    }
    kernel_grace_time_ = *t;
  }));
}

void TrackingService::NoteGraceOpenedByCheck() {
  if (pending_end_) FinishGraceEnded(nullptr);
  not_offered_ = 0;
  grace_started_ = scheduler_.Now();
  may_reclaim_known_ = false;
  reclaimed_ = 0;
  kernel_grace_time_.reset();
  log_.Notice(StrCat("cld: grace started: clients may reclaim from epoch ", epochs_.recovery,
                     "; current epoch ", epochs_.current,
                     " (kernel without GraceStart: opened by a Check)"));
  grace_.GraceStarted(GraceControl::kOfferedUnknown);
}

void TrackingService::NoteLoadedInGrace() {
  grace_started_.reset();
  may_reclaim_known_ = true;
  reclaimed_ = uploaded_ - awaiting_.size();
  kernel_grace_time_.reset();
}

void TrackingService::NoteReclaim(const std::string& id) {
  ++reclaimed_;
  if (!log_.DebugEnabled()) return;
  log_.Debug(StrCat("cld: reclaim: client ", ClientIdForLog(id), " (", reclaimed_,
                    may_reclaim_known_ ? StrCat(" of ", uploaded_) : std::string(), ")"));
}

GraceEndReason TrackingService::EndReason(const std::optional<Duration>& elapsed) const {
  if (may_reclaim_known_ && awaiting_.empty()) return GraceEndReason::kAllReclaimed;
  if (!elapsed || !kernel_grace_time_) return GraceEndReason::kUnknown;
  return *elapsed + kTimerTolerance >= *kernel_grace_time_ ? GraceEndReason::kTimer
                                                           : GraceEndReason::kAdmin;
}

void TrackingService::NoteGraceEnded(const EndGraceResult& r) {
  GraceReport::Ended e;
  e.ended_at = scheduler_.Now();
  if (grace_started_) e.duration = e.ended_at - *grace_started_;
  e.reason = EndReason(e.duration);
  e.recovery_epoch = epochs_.recovery;
  e.may_reclaim_known = may_reclaim_known_;
  e.may_reclaim = may_reclaim_known_ ? uploaded_ : 0;
  e.reclaimed = reclaimed_;
  e.not_returned = may_reclaim_known_ ? awaiting_.size() : 0;
  e.not_offered = not_offered_;
  // Taken, not copied: the caller empties awaiting_ right after.
  ClientIdSet missing(awaiting_.hasher());
  if (may_reclaim_known_) std::swap(missing, awaiting_);
  pending_end_ = PendingEnd{e, std::move(missing), r.dropped, scans_started_};
  grace_started_.reset();
  may_reclaim_known_ = true;
  reclaimed_ = 0;
  not_offered_ = 0;
  // An NFSv4.0 client reclaims without a Create: only the kernel's client
  // list, read after GraceDone, tells it from one that did not come back.
  if (live_source_ == nullptr) FinishGraceEnded(nullptr);
}

// With `scan` (a client list read after GraceDone), uploaded clients
// without a new record that hold state in it count as reclaimed; without,
// they count as not come back.
void TrackingService::FinishGraceEnded(const LiveClientScan* scan) {
  PendingEnd p = std::move(*pending_end_);
  pending_end_.reset();
  GraceReport::Ended& e = p.ended;
  if (scan != nullptr) {
    for (const NfsdClientInfo& c : scan->clients) {
      const bool live =
          c.status == NfsdClientStatus::kConfirmed || c.status == NfsdClientStatus::kCourtesy;
      if (live && c.holds_state && p.missing.erase(c.name) != 0) ++e.reclaimed_without_create;
    }
    e.reclaimed += e.reclaimed_without_create;
    e.not_returned -= e.reclaimed_without_create;
  }
  const std::string after =
      e.duration ? StrCat("after ", Seconds(*e.duration), " s")
                 : std::string("after an unknown time (grace began before this start)");
  const std::string missing =
      e.may_reclaim_known
          ? StrCat(e.not_returned, " of ", e.may_reclaim,
                   " clients that may reclaim did not come back")
          : StrCat(e.reclaimed, " clients reclaimed (the kernel did not say how many may)");
  const std::string without_create =
      e.reclaimed_without_create
          ? StrCat(" (", e.reclaimed_without_create, " reclaimed without a Create: NFSv4.0)")
          : std::string();
  const std::string not_offered =
      e.not_offered ? StrCat(", ", e.not_offered, " not offered (expired before the reboot)")
                    : std::string();
  log_.Notice(StrCat("cld: grace ended (", ReasonForLog(e.reason), ") ", after, ": ", missing,
                     without_create, not_offered, "; recovery epoch ", e.recovery_epoch,
                     " dropped (", p.dropped, " records)"));
  last_ended_ = e;
}

GraceReport TrackingService::grace_report() const {
  GraceReport g;
  g.in_grace = epochs_.in_grace();
  g.current_epoch = epochs_.current;
  g.recovery_epoch = epochs_.recovery;
  if (g.in_grace) {
    g.started_at = grace_started_;
    g.kernel_grace_time = kernel_grace_time_;
    g.may_reclaim_known = may_reclaim_known_;
    g.may_reclaim = may_reclaim_known_ ? uploaded_ : 0;
    g.reclaimed = reclaimed_;
    g.not_offered = not_offered_;
  }
  g.last_ended = last_ended_;
  return g;
}

}  // namespace nfsrec::nfs4rec
