// TrackingService: the knfsd client-tracking commands, as deterministic logic
// over the ClientStore and GraceControl ports.  No pipes, files or sockets:
// upcalls come in as decoded CldMessages and answers go out through a Reply
// callback, which the caller encodes and writes.
//
// Command semantics (kernel-ganesha-cluster.md §A.5):
//   GetVersion  -> status 0, cm_version = 2.
//   GraceStart  -> open a grace period in the store (current becomes
//                  recovery; during grace the recovery epoch is kept and only
//                  current is emptied), then one -EINPROGRESS downcall per
//                  valid record of the recovery epoch (name, plus princhash
//                  in v2), read a page at a time in id order, then status 0.  Records marked
//                  lease_expired are left out unless `upload_expired` (they stay in the store;
//                  tracking_grace.cc).  Records whose name is empty or
//                  over 1024 bytes, or whose princhash is neither 0 nor 32
//                  bytes, are skipped with a log line and never sent.
//   Create      -> store the record in the current epoch; answered only after
//                  the store reports it durable.
//   Remove      -> delete it from the current epoch.
//   Check (v0)  -> 0 if the client may reclaim (copied into current), else
//                  -EACCES; opens a grace period first if none is open.
//   GraceDone   -> drop the recovery epoch, then reconcile with the kernel's
//                  client list (below).  Idempotent: when no grace is open
//                  (older kernels send it twice) it changes nothing and
//                  answers 0.
//   other       -> -EOPNOTSUPP.
// Store failures answer -EREMOTEIO, as nfsdcld does.
//
// Memory: the sets of ids (current, awaiting reclaim) are ClientIdSets,
// 8 bytes per client; the records stay in the store, and start-up reads
// only their fingerprints (ClientStore::LoadDigest).
//
// Start-up: Start() loads the store's digest asynchronously.  Upcalls
// that arrive before it has loaded wait, in order, and are handled once it
// has: answering them earlier would act on state the load then overwrites
// (a Remove's id would come back as recorded).  If the load fails, waiting
// and later upcalls are answered as if their store call had failed
// (-EREMOTEIO; Check -EACCES); GetVersion and unsupported commands, which
// need no store, are answered as always.
//
// Early end of grace: see TrackingService::OnCreated and docs/nfs4rec.md.
// Grace bookkeeping and the recovery events in the log (grace started, each
// reclaim, grace ended and why): nfs4rec/tracking_grace.cc, docs/events.md.
// Reconciliation (records for live clients that reclaimed without a Create):
// see TrackingService::OnLiveClients (nfs4rec/tracking_reconcile.cc) and
// docs/nfs4rec.md.
//
// Loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/base/callback.h"
#include "common/base/clock.h"
#include "common/base/liveness.h"
#include "common/base/logging.h"
#include "nfs4rec/cld_codec.h"
#include "nfs4rec/client_id_set.h"
#include "nfs4rec/client_store.h"
#include "nfs4rec/clients_info.h"
#include "nfs4rec/grace.h"

namespace nfsrec::nfs4rec {

struct TrackingServiceOptions {
  bool end_grace_early = true;
  // Offer at GraceStart also the records whose client the last
  // reconciliation saw with an expired lease ([nfsrecd] grace-upload-expired).
  bool upload_expired = false;
  // GraceStart records sent per loop turn, so a large upload does not hold
  // the loop (shared with the NSM service) for its whole duration.
  size_t upload_batch = 512;
  // Non-empty: one more record with this id is uploaded at every GraceStart
  // (after the stored ones) and is never counted as a client.  nfsd ends
  // grace by itself once every uploaded client sent RECLAIM_COMPLETE, and
  // skips grace when the upload is empty; a record that no client will
  // ever reclaim leaves the end to the GraceControl (v4_end_grace) or to
  // nfsd's timer.  Cluster mode needs that: an instance stays in grace
  // while another instance of the cluster still has clients to recover.
  // Then EndGrace is asked for as soon as the uploaded clients are done,
  // or right after the upload when there are none.
  std::string grace_hold_id;
};

// The id cluster mode holds grace with: a NUL byte first, which no client's
// owner string is expected to have (Linux, FreeBSD and Solaris clients send
// printable names or binary host ids of fixed layout).
inline constexpr char kClusterGraceHoldId[] = "\0nfsrecd: cluster grace hold";
inline std::string ClusterGraceHoldId() {
  return std::string(kClusterGraceHoldId, sizeof(kClusterGraceHoldId) - 1);
}

// Maps a store outcome to a cld status: OK -> 0, anything else -> -EREMOTEIO.
int16_t ToCldStatus(const Status& st);

// Why a grace period ended; the rule is in docs/events.md ("Why grace
// ended").  The cld protocol's GraceDone says nothing about its cause, so
// it is told from who was still missing and how long grace had run.
enum class GraceEndReason {
  kAllReclaimed,  // every client that may reclaim had re-created its record
  kTimer,         // clients missing, and nfsd's own grace time had run out
  kAdmin,         // clients missing, before nfsd's grace time: v4_end_grace by someone else
  kUnknown,  // timer or admin: grace began before this process, or nfsd's grace time is unknown
};
// "all-reclaimed", "timer", "admin", "unknown": stable, for the status report.
const char* GraceEndReasonName(GraceEndReason reason);

// Grace bookkeeping for the status report.  Times are on the service's
// Scheduler clock (steady); the reader converts them to wall time with
// wall_now - (scheduler.Now() - t).
struct GraceReport {
  bool in_grace = false;
  uint64_t current_epoch = 0;
  uint64_t recovery_epoch = 0;  // 0 out of grace
  // In grace: when GraceStart (v0 kernels: the first Check) opened it;
  // unset when it was already open when this process loaded the records.
  std::optional<TimePoint> started_at;
  // nfsd's grace time (nfsv4gracetime), read at GraceStart, if it could be.
  std::optional<Duration> kernel_grace_time;
  // False when a v0 kernel opened grace with a Check: no upload says who may.
  bool may_reclaim_known = true;
  uint64_t may_reclaim = 0;  // clients uploaded at GraceStart
  uint64_t reclaimed = 0;    // of those, how many re-created their record so far
  // Recovery records left out of the upload: the client's lease had expired
  // before the reboot (ClientRecord::lease_expired).
  uint64_t not_offered = 0;

  struct Ended {
    GraceEndReason reason = GraceEndReason::kUnknown;
    TimePoint ended_at{};
    std::optional<Duration> duration;  // unset when started_at was
    uint64_t recovery_epoch = 0;       // the epoch dropped
    bool may_reclaim_known = true;
    uint64_t may_reclaim = 0;
    // Uploaded clients that came back: a new record, or (NFSv4.0, which
    // reclaims without a Create) found holding state in the kernel's client
    // list read right after GraceDone.
    uint64_t reclaimed = 0;
    uint64_t reclaimed_without_create = 0;  // of reclaimed, found in the list
    uint64_t not_returned = 0;              // may_reclaim - reclaimed
    uint64_t not_offered = 0;
  };
  // The last grace period that ended in this process, if any.
  std::optional<Ended> last_ended;
};

class TrackingService {
 public:
  // Called once per downcall to send, in order; for GraceStart many times.
  using Reply = std::function<void(const CldMessage&)>;

  struct Stats {
    uint64_t upcalls = 0;
    uint64_t creates = 0;
    uint64_t removes = 0;
    uint64_t checks = 0;
    uint64_t grace_starts = 0;
    uint64_t grace_dones = 0;
    uint64_t unsupported = 0;
    uint64_t store_errors = 0;
    uint64_t records_uploaded = 0;
    uint64_t records_skipped = 0;
    uint64_t early_ends = 0;
    uint64_t reconcile_runs = 0;
    uint64_t reconcile_skipped_in_grace = 0;
    uint64_t reconcile_added = 0;  // records written for live clients, total
    uint64_t reconcile_last_added = 0;
    uint64_t reconcile_last_seen = 0;  // clients in the kernel's list, last run
    TimePoint reconcile_last_run{};    // when the last run finished; epoch if never
  };

  TrackingService(ClientStore& store, GraceControl& grace, Scheduler& scheduler, Logger& log,
                  TrackingServiceOptions options);
  ~TrackingService();
  TrackingService(const TrackingService&) = delete;
  TrackingService& operator=(const TrackingService&) = delete;

  // Loads the epochs, the ids with a current record and, if a grace period
  // is open (the daemon restarted during grace: the kernel sends no second
  // GraceStart), which uploaded clients have not re-created their record
  // yet.  `done` runs on the loop thread, never inline, with the load's
  // outcome; it is dropped if the service is destroyed first.  Call once, or
  // again after a failure.
  void Start(Callback<void(Status)> done);

  bool started() const { return start_ == StartState::kReady; }

  // Upcalls before Start() has loaded wait; see the header comment.
  void Handle(const CldMessage& upcall, Reply reply);

  // Reconciliation with the kernel's live client list (docs/nfs4rec.md,
  // "Reconciling with the kernel's client list"): runs once the records are
  // loaded (when enabled before Start), right after every GraceDone and then
  // every `interval`.  A zero interval runs it only at start and after
  // GraceDone.  With `follow_lease`, the interval becomes the lease that a
  // scan reports (the admin's lease is written when nfsd starts, usually
  // after us).  `source` must outlive the service.
  void EnableReconcile(LiveClientSource& source, Duration interval, bool follow_lease = false);
  // Runs one reconciliation now (or right after the one in progress).
  void ReconcileNow();

  // nfsrecctl expire client, for a client that nfsd does not know: deletes
  // its record from the current epoch.  done(OK) once that is durable;
  // NotFound if it has no current record; Busy if it has only a record of
  // the recovery epoch (it may still reclaim; grace's end drops it);
  // Unavailable before the records are loaded.  Never inline.
  void RemoveRecord(const std::string& id, Callback<void(Status)> done);
  // A client id for events: "text" when printable, else hex:..., truncated.
  static std::string ClientIdForLog(const std::string& id);

  // Upcalls read but not finally answered yet.
  size_t in_flight() const { return in_flight_; }
  const Stats& stats() const { return stats_; }
  const Epochs& epochs() const { return epochs_; }
  // Uploaded clients that have not re-created their record in this grace.
  size_t awaiting_reclaim() const { return awaiting_.size(); }
  GraceReport grace_report() const;
  std::string StatusReport() const;

 private:
  struct Upload;
  enum class StartState { kIdle, kLoading, kReady, kFailed };

  void OnLoaded(Result<ClientDigest> digest, Callback<void(Status)> done);
  void Dispatch(const CldMessage& up, Reply reply);
  // After a failed load: answers an upcall that needs the store as a
  // store failure; false if it needs none.
  bool RefuseWithoutStore(const CldMessage& up, const Reply& reply);
  void HandleGraceStart(const CldMessage& up, Reply reply);
  void ReadUploadPage(const std::shared_ptr<Upload>& job);
  void ContinueUpload(const std::shared_ptr<Upload>& job);
  void HandleCreate(const CldMessage& up, Reply reply);
  void HandleRemove(const CldMessage& up, Reply reply);
  void HandleCheck(const CldMessage& up, Reply reply);
  void HandleGraceDone(const CldMessage& up, Reply reply);
  void OnCreated(const std::string& id);
  // Grace bookkeeping and its log lines (tracking_grace.cc).
  void NoteGraceStarted(const GraceStartResult& r);
  void NoteGraceOpenedByCheck();
  void NoteLoadedInGrace();
  void NoteReclaim(const std::string& id);
  void NoteGraceEnded(const EndGraceResult& r);
  void FinishGraceEnded(const LiveClientScan* scan);
  // A client whose lease had expired before the reboot (the last
  // reconciliation saw it courtesy or expirable) is not offered: if it is
  // gone for good, nfsd would wait the whole grace period for its
  // RECLAIM_COMPLETE.  Refusing its reclaim cannot give one lock to two
  // holders; the cost falls on that client alone if it does come back
  // (docs/nfs4rec.md, "Who is offered at GraceStart").
  bool Offered(const ClientRecord& r) const { return options_.upload_expired || !r.lease_expired; }
  void OnEndGraceWritten(const Status& st);
  // Every uploaded client is done: asks the GraceControl to end grace (once
  // per grace period), if configured to.
  void RequestEarlyEnd();
  GraceEndReason EndReason(const std::optional<Duration>& elapsed) const;
  void ScheduleReconcile();
  void OnLiveClients(Result<LiveClientScan> scan);
  // Marks or clears lease_expired of current records after a scan.
  void UpdateLeaseMarks(const LiveClientScan& scan, const std::set<std::string>& removed);
  static bool ShouldRecord(const NfsdClientInfo& c);
  std::string ReconcileReport() const;
  // Why a record may not be uploaded; empty if it may.
  static std::string RecordProblem(const ClientRecord& r);
  // A client id for log lines: printable, at most 64 bytes of it.
  static std::string NameForLog(const std::string& id);
  void Finish(const CldMessage& up, const Reply& reply, int16_t status);

  ClientStore& store_;
  GraceControl& grace_;
  Scheduler& scheduler_;
  Logger& log_;
  TrackingServiceOptions options_;
  StartState start_ = StartState::kIdle;
  // Upcalls that arrived before the load completed, in arrival order.
  std::vector<std::pair<CldMessage, Reply>> waiting_;
  bool reconcile_after_start_ = false;
  Epochs epochs_;
  ClientIdSet awaiting_;  // uploaded, not yet re-created
  size_t uploaded_ = 0;
  bool end_grace_requested_ = false;
  uint64_t upload_seq_ = 0;  // the newest GraceStart; older uploads stop
  size_t in_flight_ = 0;
  Stats stats_;
  // Ids with a record in the current epoch as far as this process wrote or
  // loaded them, plus Creates not yet durable: reconciliation never writes
  // over these (a Create's record carries the princhash, ours would not).
  ClientIdSet current_ids_;  // same key as awaiting_: they share fingerprints
  std::map<std::string, int> pending_creates_;
  // Removes issued since the running scan started: the kernel's list may
  // still show a client it has just expired.
  std::set<std::string> removed_during_scan_;
  LiveClientSource* live_source_ = nullptr;
  Duration reconcile_interval_{};
  bool reconcile_follows_lease_ = false;
  Scheduler::TimerId reconcile_timer_ = 0;
  bool scan_running_ = false;
  bool rescan_wanted_ = false;
  bool reported_missing_list_ = false;
  // Grace bookkeeping (see GraceReport).
  std::optional<TimePoint> grace_started_;
  std::optional<Duration> kernel_grace_time_;
  bool may_reclaim_known_ = true;
  uint64_t reclaimed_ = 0;
  std::optional<GraceReport::Ended> last_ended_;
  uint64_t not_offered_ = 0;
  // Current-epoch ids whose record is marked lease_expired, as this process
  // loaded or wrote them (few: only clients gone quiet).
  std::set<std::string> lease_expired_ids_;
  // A grace end whose event waits for the first client list read after its
  // GraceDone, to count the NFSv4.0 clients that came back.
  struct PendingEnd {
    GraceReport::Ended ended;
    ClientIdSet missing;  // uploaded, no new record (awaiting_ when grace ended)
    uint64_t dropped = 0;
    uint64_t after_scan = 0;  // scans_started_ at GraceDone
  };
  std::optional<PendingEnd> pending_end_;
  uint64_t scans_started_ = 0;
  Liveness liveness_;  // ORDER: last, so it dies first
};

}  // namespace nfsrec::nfs4rec
