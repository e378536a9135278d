#include "nfs4rec/tracking_service.h"

#include <cassert>
#include <chrono>
#include <string_view>
#include <utility>
#include <vector>

namespace nfsrec::nfs4rec {

int16_t ToCldStatus(const Status& st) { return st.ok() ? 0 : kCldERemoteIo; }

// Records read from the store per page of a GraceStart upload: a million
// records are never in memory at once, and a page is read in a few ms.
constexpr size_t kUploadPage = 4096;

// A GraceStart upload: pages of the recovery epoch, in id order, each sent
// options_.upload_batch downcalls per loop turn.
struct TrackingService::Upload {
  uint64_t seq = 0;
  CldMessage request;
  Reply reply;
  GraceStartResult grace;             // epochs; its `reclaimable` stays empty
  std::vector<ClientRecord> records;  // the page being sent
  size_t next = 0;
  bool last_page = false;  // `records` is the last page
  uint64_t sent = 0;
  uint64_t skipped = 0;
  TimePoint started;
  Duration store{};    // in the store: the epoch switch and every page read
  Duration writing{};  // spent inside reply: the downcall writes
};

namespace {

CldMessage ReplyTo(const CldMessage& up, int16_t status) {
  CldMessage r;
  r.version = up.version;
  r.command = up.command;
  r.xid = up.xid;
  r.status = status;
  return r;
}

}  // namespace

std::string TrackingService::NameForLog(const std::string& id) {
  constexpr size_t kMax = 64;
  std::string p = Printable(id.substr(0, kMax));
  if (id.size() > kMax) p += "...";
  return p;
}

TrackingService::TrackingService(ClientStore& store, GraceControl& grace, Scheduler& scheduler,
                                 Logger& log, TrackingServiceOptions options)
    : store_(store),
      grace_(grace),
      scheduler_(scheduler),
      log_(log),
      options_(options),
      awaiting_(ClientIdSet::RandomHasher()),
      current_ids_(awaiting_.hasher()) {
  if (options_.upload_batch == 0) options_.upload_batch = 1;
}

TrackingService::~TrackingService() {
  if (reconcile_timer_ != 0) scheduler_.Cancel(reconcile_timer_);
}

void TrackingService::Start(Callback<void(Status)> done) {
  assert(start_ == StartState::kIdle || start_ == StartState::kFailed);
  start_ = StartState::kLoading;
  const ClientIdSet::Hasher hasher = current_ids_.hasher();
  store_.LoadDigest([hasher](std::string_view id) { return hasher(id); },
                    // By value: it runs on the store's thread.
                    [upload_expired = options_.upload_expired](const ClientRecord& r) {
                      return (upload_expired || !r.lease_expired) && RecordProblem(r).empty();
                    },
                    liveness_.Guard([this, done = std::move(done)](Result<ClientDigest> r) mutable {
                      OnLoaded(std::move(r), std::move(done));
                    }));
}

void TrackingService::OnLoaded(Result<ClientDigest> digest, Callback<void(Status)> done) {
  std::vector<std::pair<CldMessage, Reply>> waiting = std::move(waiting_);
  waiting_.clear();
  if (!digest.ok()) {
    start_ = StartState::kFailed;
    log_.Error(StrCat("cld: cannot load the client records: ", digest.status().ToString(),
                      "; answering upcalls that need them with errors"));
    for (auto& [up, reply] : waiting) {
      if (!RefuseWithoutStore(up, reply)) Dispatch(up, std::move(reply));
    }
    done(digest.status());
    return;
  }
  epochs_ = digest->epochs;
  current_ids_.clear();
  current_ids_.reserve(digest->current.size());
  for (uint64_t f : digest->current) current_ids_.InsertFingerprint(f);
  lease_expired_ids_.clear();
  for (std::string& id : digest->current_lease_expired) lease_expired_ids_.insert(std::move(id));
  awaiting_.clear();
  awaiting_.reserve(digest->recovery.size());
  for (uint64_t f : digest->recovery) awaiting_.InsertFingerprint(f);
  not_offered_ = digest->recovery_left_out;
  uploaded_ = awaiting_.size();
  for (uint64_t f : digest->current) awaiting_.EraseFingerprint(f);
  if (epochs_.in_grace()) {
    log_.Info(StrCat("cld: grace period open (recovery epoch ", epochs_.recovery, ", current ",
                     epochs_.current, "): ", awaiting_.size(), " of ", uploaded_,
                     " clients have not reclaimed yet"));
    NoteLoadedInGrace();
  }
  start_ = StartState::kReady;
  for (auto& [up, reply] : waiting) Dispatch(up, std::move(reply));
  if (std::exchange(reconcile_after_start_, false)) ReconcileNow();
  // ORDER: last, so that an owner that destroys the service from done finds
  // nothing left to run here.
  done(Status::Ok());
}

bool TrackingService::RefuseWithoutStore(const CldMessage& up, const Reply& reply) {
  switch (static_cast<CldCommand>(up.command)) {
    case CldCommand::kCheck:
      Finish(up, reply, kCldEAcces);
      break;
    case CldCommand::kGraceStart:
    case CldCommand::kCreate:
    case CldCommand::kRemove:
    case CldCommand::kGraceDone:
      Finish(up, reply, kCldERemoteIo);
      break;
    default:  // GetVersion, unsupported commands
      return false;
  }
  ++stats_.store_errors;
  return true;
}

void TrackingService::Finish(const CldMessage& up, const Reply& reply, int16_t status) {
  // ORDER: count the upcall as answered before replying, so that whoever
  // watches in_flight() from inside the reply sees the final count.
  if (in_flight_ > 0) --in_flight_;
  reply(ReplyTo(up, status));
}

void TrackingService::Handle(const CldMessage& up, Reply reply) {
  ++stats_.upcalls;
  ++in_flight_;
  if (log_.DebugEnabled()) {
    log_.Debug(StrCat("cld: upcall ", CldCommandName(up.command), " v", int{up.version}, " xid ",
                      up.xid, up.name.empty() ? "" : " id ", NameForLog(up.name)));
  }
  switch (start_) {
    case StartState::kIdle:
    case StartState::kLoading:
      waiting_.emplace_back(up, std::move(reply));
      return;
    case StartState::kFailed:
      if (RefuseWithoutStore(up, reply)) return;
      break;
    case StartState::kReady:
      break;
  }
  Dispatch(up, std::move(reply));
}

// Counted in Handle: in_flight_ already includes this upcall.
void TrackingService::Dispatch(const CldMessage& up, Reply reply) {
  switch (static_cast<CldCommand>(up.command)) {
    case CldCommand::kGetVersion: {
      CldMessage r = ReplyTo(up, 0);
      r.max_version = kCldMaxVersion;
      --in_flight_;
      reply(r);
      return;
    }
    case CldCommand::kGraceStart:
      return HandleGraceStart(up, std::move(reply));
    case CldCommand::kCreate:
      return HandleCreate(up, std::move(reply));
    case CldCommand::kRemove:
      return HandleRemove(up, std::move(reply));
    case CldCommand::kCheck:
      return HandleCheck(up, std::move(reply));
    case CldCommand::kGraceDone:
      return HandleGraceDone(up, std::move(reply));
  }
  ++stats_.unsupported;
  log_.Warning(StrCat("cld: unsupported upcall command ", int{up.command}, " (xid ", up.xid,
                      "); answering -EOPNOTSUPP"));
  Finish(up, reply, kCldEOpNotSupp);
}

std::string TrackingService::RecordProblem(const ClientRecord& r) {
  if (r.id.empty()) return "empty name";
  if (r.id.size() > kCldNameMax) return StrCat("name of ", r.id.size(), " bytes");
  if (!r.princhash.empty() && r.princhash.size() != kCldPrincHashSize) {
    return StrCat("princhash of ", r.princhash.size(), " bytes");
  }
  return "";
}

void TrackingService::HandleGraceStart(const CldMessage& up, Reply reply) {
  ++stats_.grace_starts;
  auto job = std::make_shared<Upload>();
  job->seq = ++upload_seq_;
  job->request = up;
  job->reply = std::move(reply);
  job->started = scheduler_.Now();
  store_.OpenGrace(liveness_.Guard([this, job](Result<GraceStartResult> r) {
    if (!r.ok()) {
      ++stats_.store_errors;
      log_.Error(StrCat("cld: GraceStart failed in the store: ", r.status().ToString()));
      Finish(job->request, job->reply, ToCldStatus(r.status()));
      return;
    }
    job->store += scheduler_.Now() - job->started;
    epochs_ = r->epochs;
    current_ids_.clear();  // the store emptied the current epoch
    lease_expired_ids_.clear();
    not_offered_ = 0;  // counted page by page
    job->grace = std::move(r).value();
    // Filled page by page; uploaded_ is set, and grace noted as started
    // (nfsd starts its timer then), once the last page is sent.  Until
    // then uploaded_ is 0, so no early end can be asked for mid-upload.
    awaiting_.clear();
    uploaded_ = 0;
    end_grace_requested_ = false;
    ReadUploadPage(job);
  }));
}

void TrackingService::ReadUploadPage(const std::shared_ptr<Upload>& job) {
  std::optional<std::string> after;
  if (!job->records.empty()) after = job->records.back().id;
  const TimePoint asked = scheduler_.Now();
  store_.ReadRecords(epochs_.recovery, std::move(after), kUploadPage,
                     liveness_.Guard([this, job, asked](Result<std::vector<ClientRecord>> page) {
                       job->store += scheduler_.Now() - asked;
                       if (job->seq == upload_seq_ && !page.ok()) {
                         ++stats_.store_errors;
                         log_.Error(StrCat("cld: GraceStart xid ", job->request.xid,
                                           ": reading the records after ", job->sent,
                                           " failed: ", page.status().ToString()));
                         Finish(job->request, job->reply, ToCldStatus(page.status()));
                         return;
                       }
                       if (page.ok()) {
                         job->records = std::move(page).value();
                         job->next = 0;
                         job->last_page = job->records.size() < kUploadPage;
                       }
                       ContinueUpload(job);
                     }));
}

void TrackingService::ContinueUpload(const std::shared_ptr<Upload>& job) {
  if (job->seq != upload_seq_) {
    // A newer GraceStart came from a new nfsd instance; this one's kernel
    // side is gone, so there is nobody to finish it for.
    log_.Warning(StrCat("cld: abandoning the upload for GraceStart xid ", job->request.xid,
                        " after ", job->sent, " records: a newer GraceStart arrived"));
    if (in_flight_ > 0) --in_flight_;
    return;
  }
  const bool v2 = job->request.version >= kCldVersion2;
  size_t budget = options_.upload_batch;
  while (job->next < job->records.size() && budget > 0) {
    const ClientRecord& rec = job->records[job->next++];
    if (!Offered(rec)) {
      ++not_offered_;  // see TrackingService::Offered
      continue;
    }
    std::string problem = RecordProblem(rec);
    if (!problem.empty()) {
      ++job->skipped;
      ++stats_.records_skipped;
      log_.Warning(StrCat("cld: not uploading stored record of epoch ", epochs_.recovery, " (",
                          problem, ", id ", NameForLog(rec.id),
                          "): the database holds a value the kernel cannot take"));
      continue;
    }
    awaiting_.insert(rec.id);
    CldMessage m = ReplyTo(job->request, kCldEInProgress);
    m.name = rec.id;
    if (v2) m.princhash = rec.princhash;
    const TimePoint before = scheduler_.Now();
    job->reply(m);
    job->writing += scheduler_.Now() - before;
    ++job->sent;
    ++stats_.records_uploaded;
    --budget;
  }
  if (job->next < job->records.size()) {
    scheduler_.RunAfter(Duration::zero(), liveness_.Guard([this, job] { ContinueUpload(job); }));
    return;
  }
  if (!job->last_page) return ReadUploadPage(job);
  if (!options_.grace_hold_id.empty()) {
    CldMessage m = ReplyTo(job->request, kCldEInProgress);
    m.name = options_.grace_hold_id;
    job->reply(m);
  }
  uploaded_ = awaiting_.size();
  NoteGraceStarted(job->grace);
  if (!options_.grace_hold_id.empty() && awaiting_.empty()) RequestEarlyEnd();
  using std::chrono::milliseconds;
  const Duration total = scheduler_.Now() - job->started;
  // The daemon's own part excludes the writes, which the kernel (or a FUSE
  // emulator) paces.
  auto ms = [](Duration d) { return std::chrono::duration_cast<milliseconds>(d).count(); };
  log_.Info(StrCat("cld: GraceStart xid ", job->request.xid, ": uploaded ", job->sent, " records",
                   job->skipped ? StrCat(", skipped ", job->skipped) : "", " in ", ms(total),
                   " ms (daemon ", ms(total - job->writing), " ms, of which the store ",
                   ms(job->store), " ms; writing downcalls ", ms(job->writing), " ms)"));
  Finish(job->request, job->reply, 0);
  grace_.GraceStarted(uploaded_);
}

void TrackingService::HandleCreate(const CldMessage& up, Reply reply) {
  ++stats_.creates;
  if (up.name.empty()) {
    log_.Warning(StrCat("cld: Create xid ", up.xid, " with an empty name; answering -EINVAL"));
    return Finish(up, reply, kCldEInval);
  }
  ClientRecord rec;
  rec.id = up.name;
  rec.princhash = up.princhash;
  ++pending_creates_[up.name];
  store_.PutClient(rec, liveness_.Guard([this, up, reply = std::move(reply)](Status st) {
    auto p = pending_creates_.find(up.name);
    if (p != pending_creates_.end() && --p->second == 0) pending_creates_.erase(p);
    if (st.ok()) {
      current_ids_.insert(up.name);
      lease_expired_ids_.erase(up.name);  // a Create writes the record unmarked
    }
    if (!st.ok()) {
      ++stats_.store_errors;
      log_.Error(StrCat("cld: cannot store client ", NameForLog(up.name), ": ", st.ToString()));
    } else {
      OnCreated(up.name);
    }
    Finish(up, reply, ToCldStatus(st));
  }));
}

// Ending grace early is safe once every client that the kernel may let
// reclaim has finished reclaiming:
//  - only clients we uploaded at GraceStart can reclaim at all (knfsd checks
//    reclaims against that upload and answers NFS4ERR_RECLAIM_BAD otherwise);
//  - during grace the kernel sends Create for such a client only at its
//    RECLAIM_COMPLETE (v4.1+), after which it may not reclaim any more.  A
//    v4.0 client's reclaim (OPEN with CLAIM_PREVIOUS) sends no Create, and a
//    non-reclaim OPEN is refused during grace, so a v4.0 client never empties
//    the set and the full grace period runs for it.
// So when the set of uploaded clients without a fresh Create is empty, no
// reclaim can still be pending, and grace only delays new state.
void TrackingService::OnCreated(const std::string& id) {
  if (!epochs_.in_grace() || awaiting_.erase(id) == 0) return;
  NoteReclaim(id);
  if (!awaiting_.empty()) return;
  RequestEarlyEnd();
}

void TrackingService::RequestEarlyEnd() {
  // Without a hold record, an empty upload made nfsd skip grace itself.
  if (options_.grace_hold_id.empty() && uploaded_ == 0) return;
  if (!options_.end_grace_early || end_grace_requested_) return;
  end_grace_requested_ = true;
  ++stats_.early_ends;
  // The notice-level event is "grace ended", at the GraceDone this brings.
  log_.Info(uploaded_ == 0 ? std::string("cld: no uploaded client to wait for;"
                                         " ending the grace period early")
                           : StrCat("cld: all ", uploaded_,
                                    " uploaded clients have re-created their records;"
                                    " ending the grace period early"));
  grace_.EndGrace(liveness_.Guard([this](Status st) { OnEndGraceWritten(st); }));
}

void TrackingService::HandleRemove(const CldMessage& up, Reply reply) {
  ++stats_.removes;
  if (up.name.empty()) {
    log_.Warning(StrCat("cld: Remove xid ", up.xid, " with an empty name; answering -EINVAL"));
    return Finish(up, reply, kCldEInval);
  }
  current_ids_.erase(up.name);
  lease_expired_ids_.erase(up.name);
  if (scan_running_) removed_during_scan_.insert(up.name);
  store_.RemoveClient(up.name, liveness_.Guard([this, up, reply = std::move(reply)](Status st) {
    if (!st.ok()) {
      ++stats_.store_errors;
      log_.Error(StrCat("cld: cannot remove client ", NameForLog(up.name), ": ", st.ToString()));
    }
    Finish(up, reply, ToCldStatus(st));
  }));
}

void TrackingService::RemoveRecord(const std::string& id, Callback<void(Status)> done) {
  Status refused;
  if (start_ != StartState::kReady) {
    refused = Status::Unavailable("the client records are not loaded");
  } else if (current_ids_.count(id) == 0 && pending_creates_.count(id) == 0) {
    refused = awaiting_.count(id) != 0
                  ? Status::Busy(StrCat("client ", ClientIdForLog(id),
                                        " has only a record of the recovery epoch: it may still "
                                        "reclaim, and the record goes when grace ends"))
                  : Status::NotFound(StrCat("no record of client ", ClientIdForLog(id)));
  }
  if (!refused.ok()) {
    // Scheduler callbacks are copyable; the Callback is not.
    auto shared = std::make_shared<Callback<void(Status)>>(std::move(done));
    scheduler_.RunAfter(Duration::zero(),
                        liveness_.Guard([shared, refused] { (*shared)(refused); }));
    return;
  }
  current_ids_.erase(id);
  lease_expired_ids_.erase(id);
  if (scan_running_) removed_during_scan_.insert(id);
  store_.RemoveClient(id, liveness_.Guard([this, id, done = std::move(done)](Status st) mutable {
    if (st.ok()) {
      log_.Notice(StrCat("cld: client ", ClientIdForLog(id),
                         ": record removed from the store (administrator request)"));
    } else {
      ++stats_.store_errors;
      current_ids_.insert(id);  // still on disk
      log_.Error(StrCat("cld: cannot remove client ", NameForLog(id), ": ", st.ToString()));
    }
    done(st);
  }));
}

void TrackingService::HandleCheck(const CldMessage& up, Reply reply) {
  ++stats_.checks;
  if (up.name.empty()) return Finish(up, reply, kCldEAcces);
  auto checked = [this, up, reply = std::move(reply)](Result<CheckResult> r) {
    if (!r.ok()) {
      ++stats_.store_errors;
      log_.Error(StrCat("cld: Check of ", NameForLog(up.name), " failed: ", r.status().ToString()));
      return Finish(up, reply, kCldEAcces);
    }
    epochs_ = r->epochs;
    if (r->started_grace) NoteGraceOpenedByCheck();
    bool allowed = r->outcome != ReclaimOutcome::kNotFound;
    if (allowed) current_ids_.insert(up.name);
    if (r->outcome == ReclaimOutcome::kReclaimed && epochs_.in_grace()) NoteReclaim(up.name);
    Finish(up, reply, allowed ? 0 : kCldEAcces);
  };
  store_.CheckReclaim(up.name, liveness_.Guard(std::move(checked)));
}

void TrackingService::HandleGraceDone(const CldMessage& up, Reply reply) {
  ++stats_.grace_dones;
  store_.EndGrace(liveness_.Guard([this, up, reply = std::move(reply)](Result<EndGraceResult> r) {
    if (!r.ok()) {
      ++stats_.store_errors;
      log_.Error(StrCat("cld: GraceDone failed in the store: ", r.status().ToString()));
      Finish(up, reply, ToCldStatus(r.status()));
      // The kernel's grace is over whatever the store said.
      grace_.GraceEnded();
      return;
    }
    if (!r->was_in_grace) {
      // Older kernels may send GraceDone twice (nfsd's timer and the last
      // RECLAIM_COMPLETE both end grace): the second changes nothing, not
      // even a reconciliation run, and succeeds.
      log_.Info("cld: GraceDone outside grace; nothing to do");
      epochs_ = r->epochs;
      Finish(up, reply, 0);
      grace_.GraceEnded();
      return;
    }
    // The whole recovery epoch goes; reclaimed clients live on in the
    // current epoch, so only the awaiting ones lose their record.
    NoteGraceEnded(*r);
    epochs_ = r->epochs;
    awaiting_.clear();
    uploaded_ = 0;
    end_grace_requested_ = false;
    Finish(up, reply, 0);
    grace_.GraceEnded();
    // Right away: the recovery epoch just went, and with it the only record
    // of v4.0 clients that reclaimed without a Create (see OnLiveClients).
    if (live_source_ != nullptr) ReconcileNow();
  }));
}

std::string TrackingService::StatusReport() const {
  std::string grace = epochs_.in_grace() ? StrCat("in grace (recovery epoch ", epochs_.recovery,
                                                  "), ", awaiting_.size(), " of ", uploaded_,
                                                  " uploaded clients yet to reclaim")
                                         : std::string("not in grace");
  const char* start = start_ == StartState::kReady    ? ""
                      : start_ == StartState::kFailed ? "load failed; "
                                                      : "loading; ";
  return StrCat(start, "current epoch ", epochs_.current, ", ", grace, "; upcalls ", stats_.upcalls,
                " (create ", stats_.creates, ", remove ", stats_.removes, ", check ", stats_.checks,
                ", gracestart ", stats_.grace_starts, ", gracedone ", stats_.grace_dones,
                ", unsupported ", stats_.unsupported, "), in flight ", in_flight_,
                ", store errors ", stats_.store_errors, ", records uploaded ",
                stats_.records_uploaded, ", skipped ", stats_.records_skipped, ReconcileReport());
}

}  // namespace nfsrec::nfs4rec
