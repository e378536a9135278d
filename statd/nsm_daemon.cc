#include "statd/nsm_daemon.h"

#include <utility>

#include "statd/legacy_state.h"
#include "statd/mirrored_nsm_store.h"
#include "statd/nsm_program.h"
#include "statd/sqlite_mirror_source.h"
#include "statd/sqlite_nsm_store.h"

namespace nfsrec::statd {

Result<std::unique_ptr<NsmDaemon>> NsmDaemon::Create(EventLoop& loop, Scheduler& scheduler,
                                                     Executor& executor, FileSystem& files,
                                                     Logger& log, CommitQueue& queue,
                                                     NotifySockets sockets,
                                                     const NsmOptions& options) {
  NFSREC_ASSIGN_OR_RETURN(std::unique_ptr<SqliteNsmStore> store, SqliteNsmStore::Open(queue));
  return CreateOnStore(loop, scheduler, executor, files, log, std::move(store), std::move(sockets),
                       options, std::make_shared<SqliteMirrorSource>(queue.database_path()),
                       DirName(queue.database_path()));
}

Result<std::unique_ptr<NsmDaemon>> NsmDaemon::CreateOnStore(
    EventLoop& loop, Scheduler& scheduler, Executor& executor, FileSystem& files, Logger& log,
    std::unique_ptr<NsmStore> store, NotifySockets sockets, const NsmOptions& options,
    std::shared_ptr<MirrorSource> mirror_source, std::string marker_dir) {
  Ports ports;
  ports.store = std::move(store);
  ports.resolver = std::make_unique<ThreadResolver>(executor, scheduler);
  ports.kernel = std::make_unique<ProcKernelNsm>(files);
  ports.callback_port = std::move(sockets.callback);
  ports.notify_port = std::move(sockets.notify);
  if (options.mirror_sm && mirror_source) {
    ports.mirror_runner = std::make_unique<ExecutorMirrorRunner>(loop);
    ports.mirror_source = std::move(mirror_source);
    ports.mirror_marker_dir = std::move(marker_dir);
  } else if (options.mirror_sm) {
    log.Info(StrCat("rpc.statd's files in ", options.state_dir,
                    " are not kept current: this store's records are not in a local database"));
  }
  return CreateWithPorts(loop, scheduler, files, log, std::move(ports), options);
}

std::unique_ptr<NsmDaemon> NsmDaemon::CreateWithPorts(EventLoop& loop, Scheduler& scheduler,
                                                      FileSystem& files, Logger& log, Ports ports,
                                                      const NsmOptions& options) {
  return std::unique_ptr<NsmDaemon>(
      new NsmDaemon(loop, scheduler, files, log, std::move(ports), options));
}

NsmDaemon::NsmDaemon(EventLoop& loop, Scheduler& scheduler, FileSystem& files, Logger& log,
                     Ports ports, const NsmOptions& options)
    : log_(log),
      options_(options),
      files_(files),
      ports_(std::move(ports)),
      callback_client_(*ports_.callback_port, scheduler, log),
      notify_client_(*ports_.notify_port, scheduler, log) {
  if (ports_.mirror_runner && ports_.mirror_source) {
    mirror_ = std::make_unique<SmMirror>(*ports_.mirror_runner, ports_.mirror_source, scheduler,
                                         log_, options_.state_dir, ports_.mirror_marker_dir);
    ports_.store = std::make_unique<MirroredNsmStore>(std::move(ports_.store), *mirror_);
  }
  NotifyEngine::Options eopts;
  eopts.notify_window = options_.notify_window;
  engine_ = std::make_unique<NotifyEngine>(callback_client_, notify_client_, *ports_.resolver,
                                           scheduler, log_, eopts);
  service_ =
      std::make_unique<NsmService>(*ports_.store, *ports_.resolver, *ports_.kernel, *engine_, log_);
  if (!options_.ha_callout.empty()) {
    ha_ =
        std::make_unique<HaCallout>(loop, scheduler, log_, HaCallout::Options{options_.ha_callout});
    service_->SetHaEvents(ha_.get());
  }
  notifier_ = std::make_unique<BootNotifier>(
      *service_, *engine_, *ports_.kernel, scheduler, log_,
      BootNotifier::Options{options_.my_name, options_.lift_grace, options_.update_state});
}

NsmDaemon::~NsmDaemon() {
  // ORDER: users before what they use; the engine's sockets and clients,
  // the resolver and the store go last (members, in reverse).
  notifier_.reset();
  service_.reset();
  ha_.reset();
  engine_.reset();
}

void NsmDaemon::Start(Done done) {
  service_->Start(
      [&files = files_, dir = options_.state_dir](bool with_lists) {
        return with_lists ? ReadLegacyStatd(files, dir)
                          : LegacyStatd{ReadLegacyState(files, dir), {}, {}, {}};
      },
      std::move(done));
}

void NsmDaemon::Reload(Done done) {
  service_->Reload([this, alive = liveness_.token(), done = std::move(done)](Status st) mutable {
    if (!alive) return;
    ++reloads_;
    if (!st.ok()) {
      ++failed_reloads_;
      log_.Error(StrCat("SIGUSR1: reload failed: ", st.ToString()));
    }
    if (mirror_) mirror_->RewriteAll();
    if (!options_.no_notify) RunBootNotification(/*force=*/false);
    done(st);
  });
}

void NsmDaemon::RunBootNotification(bool force,
                                    Callback<void(Result<BootNotifier::Summary>)> started,
                                    Callback<void(size_t, size_t)> finished) {
  notifier_->Run(
      ReadBootId(files_), force,
      [this, alive = liveness_.token(),
       started = std::move(started)](Result<BootNotifier::Summary> s) mutable {
        if (!alive) return;
        if (!s.ok()) log_.Error(StrCat("Boot notification: ", s.status().ToString()));
        if (started) started(std::move(s));
      },
      std::move(finished));
}

std::map<uint32_t, rpc::Handler> NsmDaemon::Handlers() {
  return NsmHandlers(
      *service_, log_,
      [this, alive = liveness_.token()] {
        if (alive) RunBootNotification(/*force=*/true);
      },
      program_stats_);
}

namespace {

// A load used as a barrier only: its records are not kept.
class DiscardingSink final : public NsmLoadSink {
 public:
  Status Add(NsmList, MonitorRecord&&) override { return Status::Ok(); }
};

}  // namespace

void NsmDaemon::Drain(Callback<void()> done) {
  // A load completes after every call submitted before it (NsmStore
  // contract), so it is a barrier.  Calls held by a reload run when that
  // reload ends, after the barrier was queued, and may submit more: then
  // another round.
  const bool busy = service_->loading() || service_->waiting() > 0;
  ports_.store->LoadInto(
      std::make_shared<DiscardingSink>(),
      [this, alive = liveness_.token(), busy, done = std::move(done)](Result<NsmLoadInfo>) mutable {
        if (!alive) return;
        if (busy || service_->loading() || service_->waiting() > 0) return Drain(std::move(done));
        // Every change is committed and told to the mirror by now.
        auto flush = [this, alive, done = std::move(done)]() mutable {
          if (!alive) return;
          if (!mirror_) return done();
          mirror_->Flush(kMirrorFlushLimit, std::move(done));
        };
        if (!ha_) return flush();
        // The SM_MON and SM_UNMON replies that wait for their HA callouts.
        ha_->Drain(std::move(flush));
      });
}

void NsmDaemon::RemoveMonitors(const std::string& host, const NsmService::MonitorFilter& filter,
                               Callback<void(Result<size_t>)> done) {
  service_->RemoveMonitorsOf(host, filter, std::move(done));
}

std::string NsmDaemon::StatusReport() const {
  const NotifyEngine::Stats& es = engine_->stats();
  return StrCat("nsm: state ", service_->local_state(), ", ", service_->monitor_count(),
                " monitor(s), ", service_->notify_count(), " to notify; callbacks in progress ",
                engine_->callbacks_in_progress(), " (ok ", es.callbacks_ok, ", failed ",
                es.callbacks_failed, "); peers in progress ", engine_->peers_in_progress(),
                " (notified ", es.peers_notified, ", failed ", es.peers_failed, "); reloads ",
                reloads_, " (failed ", failed_reloads_, ")",
                mirror_ ? StrCat("; sm/ mirror jobs ", mirror_->stats().jobs, " (failed ",
                                 mirror_->stats().failed_jobs, ")")
                        : "");
}

}  // namespace nfsrec::statd
