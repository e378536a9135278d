#include "nfs4rec/tracking_daemon.h"

#include <chrono>
#include <utility>
#include <vector>

#include "nfs4rec/sqlite_client_store.h"

namespace nfsrec::nfs4rec {

std::vector<std::string> CldPipePaths(const TrackingOptions& options) {
  std::vector<std::string> paths{options.pipe_path};
  if (options.pipe_path == kDefaultCldPipePath) paths.emplace_back(kAlternateCldPipePath);
  return paths;
}

Result<std::unique_ptr<CldPipe>> TrackingDaemon::OpenPipeEarly(EventLoop& loop,
                                                               Scheduler& scheduler, Logger& log,
                                                               const TrackingOptions& options,
                                                               std::shared_ptr<PipeOpener> opener) {
  // Until a daemon adopts it nothing is read, so this handler never runs.
  NFSREC_ASSIGN_OR_RETURN(std::unique_ptr<CldPipe> pipe,
                          CldPipe::Create(
                              loop, scheduler, log, CldPipePaths(options),
                              [](std::span<const uint8_t>, uint64_t) {}, std::move(opener)));
  pipe->PauseReading();
  NFSREC_RETURN_IF_ERROR(pipe->Start());
  return pipe;
}

Result<std::unique_ptr<TrackingDaemon>> TrackingDaemon::Create(
    EventLoop& loop, Scheduler& scheduler, Executor& executor, std::shared_ptr<FileSystem> fs,
    Logger& log, CommitQueue& queue, const TrackingOptions& options,
    std::shared_ptr<PipeOpener> opener, std::unique_ptr<CldPipe> early) {
  NFSREC_ASSIGN_OR_RETURN(std::unique_ptr<SqliteClientStore> store, SqliteClientStore::Open(queue));
  return CreateWithStore(loop, scheduler, executor, std::move(fs), log, std::move(store), options,
                         std::move(opener), std::move(early));
}

Result<std::unique_ptr<TrackingDaemon>> TrackingDaemon::CreateWithStore(
    EventLoop& loop, Scheduler& scheduler, Executor& executor, std::shared_ptr<FileSystem> fs,
    Logger& log, std::unique_ptr<ClientStore> store, const TrackingOptions& options,
    std::shared_ptr<PipeOpener> opener, std::unique_ptr<CldPipe> early,
    const GraceDecorator& decorate) {
  std::unique_ptr<TrackingDaemon> d(new TrackingDaemon(loop, scheduler, executor, std::move(fs),
                                                       log, std::move(store), options,
                                                       std::move(opener), std::move(early)));
  if (decorate) d->grace_ = decorate(std::move(d->grace_));
  NFSREC_RETURN_IF_ERROR(d->Init());
  return d;
}

TrackingDaemon::TrackingDaemon(EventLoop& loop, Scheduler& scheduler, Executor& executor,
                               std::shared_ptr<FileSystem> fs, Logger& log,
                               std::unique_ptr<ClientStore> store, const TrackingOptions& options,
                               std::shared_ptr<PipeOpener> opener, std::unique_ptr<CldPipe> early)
    : loop_(loop),
      scheduler_(scheduler),
      executor_(executor),
      fs_(std::move(fs)),
      log_(log),
      options_(options),
      store_(std::move(store)),
      grace_(std::make_unique<ProcGraceControl>(executor, fs_)),
      opener_(std::move(opener)),
      pipe_(std::move(early)),
      adopted_pipe_(pipe_ != nullptr) {}

TrackingDaemon::~TrackingDaemon() {
  // ORDER: stop the pipe first so no new upcall reaches a half-destroyed service.
  pipe_.reset();
  service_.reset();
  live_clients_.reset();
}

Status TrackingDaemon::Init() {
  TrackingServiceOptions so;
  so.end_grace_early = options_.end_grace_early;
  so.upload_expired = options_.grace_upload_expired;
  so.grace_hold_id = options_.grace_hold_id;
  service_ = std::make_unique<TrackingService>(*store_, *grace_, scheduler_, log_, so);
  int64_t interval = options_.reconcile_interval;
  const bool follow_lease = interval < 0;
  if (follow_lease) {
    // Once per lease: a client that got state since the last run is then
    // recorded before its state could lapse.  The lease comes with the
    // first scan, right after the load, on an Executor worker: nothing
    // under /proc/fs/nfsd is read here, on the loop thread, because while
    // nfsd starts it holds its mutex (every such read waits for it) until
    // this daemon has answered its first upcall.
    constexpr int64_t kFallbackLease = 90;
    interval = kFallbackLease;
  }
  if (interval > 0) {
    live_clients_ = std::make_unique<ProcLiveClientSource>(executor_, fs_);
    service_->EnableReconcile(*live_clients_, std::chrono::seconds(interval), follow_lease);
    log_.Info(StrCat("cld: reconciling with ", kNfsdClientsDir, " every ",
                     follow_lease ? std::string("lease period") : StrCat(interval, " s"),
                     " and after each grace period"));
  }
  auto on_message = [this](std::span<const uint8_t> bytes, uint64_t gen) { OnMessage(bytes, gen); };
  if (pipe_) {
    pipe_->SetHandler(std::move(on_message));
    return Status::Ok();
  }
  NFSREC_ASSIGN_OR_RETURN(pipe_, CldPipe::Create(loop_, scheduler_, log_, CldPipePaths(options_),
                                                 std::move(on_message), opener_));
  return Status::Ok();
}

void TrackingDaemon::Start(Callback<void(Status)> done) {
  // ORDER: the pipe first: knfsd waits only about a second for its reader,
  // and upcalls wait for the load anyway (the service holds them, in order).
  Status opened = adopted_pipe_ ? Status::Ok() : pipe_->Start();
  service_->Start([opened, done = std::move(done)](Status loaded) mutable {
    done(opened.ok() ? loaded.WithContext("cld store") : opened);
  });
  if (adopted_pipe_) pipe_->ResumeReading();
}

void TrackingDaemon::OnMessage(std::span<const uint8_t> bytes, uint64_t generation) {
  Result<CldMessage> up = DecodeCldUpcall(bytes);
  if (!up.ok()) {
    ++bad_upcalls_;
    Result<CldHeader> h = DecodeCldHeader(bytes);
    if (!h.ok()) {
      log_.Error(
          StrCat("cld: unreadable upcall of ", bytes.size(), " bytes: ", up.status().ToString()));
      return;
    }
    // Answer in a size the kernel accepts: the header's version if we know
    // it, else the last version the kernel used.
    const bool known = CldMessageSize(h->version).ok();
    CldMessage reply;
    reply.version = known ? h->version : last_version_;
    reply.command = h->command;
    reply.xid = h->xid;
    reply.status = known ? kCldEInval : kCldEOpNotSupp;
    log_.Error(StrCat("cld: bad upcall xid ", h->xid, " (version ", int{h->version}, ", ",
                      CldCommandName(h->command), ", ", bytes.size(),
                      " bytes): ", up.status().ToString(), "; answering ", reply.status));
    SendReply(generation, reply);
    return;
  }
  last_version_ = up->version;
  ++upcalls_by_command_[up->command];
  service_->Handle(*up, [this, generation](const CldMessage& r) { SendReply(generation, r); });
}

void TrackingDaemon::SendReply(uint64_t generation, const CldMessage& reply) {
  Result<std::vector<uint8_t>> bytes = EncodeCldDowncall(reply);
  if (!bytes.ok()) {
    // Never put a malformed or wrongly sized downcall on the pipe.
    log_.Error(StrCat("cld: not sending reply xid ", reply.xid, ": ", bytes.status().ToString()));
  } else {
    Status st = pipe_->Send(generation, *bytes);
    if (!st.ok()) {
      ++dropped_replies_;
      log_.Warning(StrCat("cld: reply ", CldCommandName(reply.command), " xid ", reply.xid,
                          " not delivered: ", st.ToString()));
    }
  }
  CheckDrained();
}

void TrackingDaemon::Drain(Callback<void()> done) {
  drained_ = std::move(done);
  pipe_->PauseReading();
  // Run `done` from the loop, never inline.
  scheduler_.RunAfter(Duration::zero(), liveness_.Guard([this] { CheckDrained(); }));
}

void TrackingDaemon::CheckDrained() {
  if (!drained_ || service_->in_flight() != 0) return;
  auto done = std::move(drained_);
  drained_ = nullptr;
  done();
}

const char* TrackingDaemon::ExpireOutcomeText(ExpireOutcome outcome) {
  return outcome == ExpireOutcome::kExpiredThroughNfsd ? "expired through nfsd"
                                                       : "removed from the store";
}

void TrackingDaemon::ExpireClient(const std::string& id,
                                  Callback<void(Result<ExpireOutcome>)> done) {
  // On the worker: found and expired (true), unknown to nfsd (false), or
  // the error of the ctl write.
  auto expire = [fs = fs_, id]() -> Result<bool> {
    Result<std::string> dir = FindNfsdClient(*fs, id);
    if (!dir.ok()) {
      if (dir.status().IsNotFound()) return false;
      return dir.status();
    }
    Status st = ExpireNfsdClient(*fs, *dir);
    if (st.IsNotFound()) return false;  // the client went meanwhile
    if (!st.ok()) return st;
    return true;
  };
  executor_.Run(
      liveness_.token(), std::move(expire),
      [this, id, done = std::move(done)](Result<bool> expired) mutable {
        if (!expired.ok()) {
          log_.Warning(StrCat("cld: cannot expire client ", TrackingService::ClientIdForLog(id),
                              " through nfsd: ", expired.status().ToString()));
          return done(expired.status());
        }
        if (*expired) {
          log_.Notice(StrCat("cld: client ", TrackingService::ClientIdForLog(id),
                             " expired through nfsd (administrator request)"));
          // nfsd answered its own Remove before the write returned, if it
          // sent one: it does only for clients it marked as recorded, and a
          // client recorded by reconciliation (a v4.0 reclaim, no Create) is
          // not.  A record still here goes now.
          service_->RemoveRecord(id, [done = std::move(done)](Status st) mutable {
            if (!st.ok() && !st.IsNotFound() && !st.IsBusy()) {
              return done(st.WithContext("expired through nfsd, but its record stays"));
            }
            done(ExpireOutcome::kExpiredThroughNfsd);
          });
          return;
        }
        service_->RemoveRecord(id, [done = std::move(done)](Status st) mutable {
          if (!st.ok()) return done(st);
          done(ExpireOutcome::kRemovedFromStore);
        });
      });
}

std::string TrackingDaemon::StatusReport() const {
  const CldPipe::Stats& ps = pipe_->stats();
  std::string pipe = pipe_->is_open() ? StrCat("open ", pipe_->open_path())
                                      : StrCat("waiting for ", options_.pipe_path);
  return StrCat("cld: pipe ", pipe, " (opens ", ps.opens, ", upcalls ", ps.messages, ", replies ",
                ps.writes, ", write errors ", ps.write_errors, ", bad upcalls ", bad_upcalls_,
                ", undelivered ", dropped_replies_, ", kernel msg v", int{last_version_}, "); ",
                service_->StatusReport());
}

}  // namespace nfsrec::nfs4rec
