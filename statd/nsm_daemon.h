// NsmDaemon: the NSM side of nfsrecd (rpc.statd and sm-notify) as one unit
// for the daemon's main and for the sm-notify command.
//
// Owns the resolver, the kernel port (/proc), the two notify sockets and
// their UDP RPC clients, the NotifyEngine, the NsmService over an NsmStore,
// the BootNotifier, the HA callout (-H) and the NSM handler table.  The RPC
// server and the rpcbind registration stay with the composition root: the
// listeners and rpcbind entries belong to the process (the sm-notify
// command has none), and the root tears them down first, before anything a
// handler uses; it registers Handlers() with its server.
//
// Loop thread only.  Destroy it before the CommitQueue and the EventLoop.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "common/base/callback.h"
#include "common/base/clock.h"
#include "common/base/liveness.h"
#include "common/base/logging.h"
#include "common/os/event_loop.h"
#include "common/os/executor.h"
#include "common/os/file_system.h"
#include "common/os/resolver.h"
#include "common/rpc/rpc_server.h"
#include "common/rpc/udp_rpc_client.h"
#include "common/store/commit_queue.h"
#include "statd/boot_notifier.h"
#include "statd/ha_callout.h"
#include "statd/kernel_nsm.h"
#include "statd/notify_engine.h"
#include "statd/nsm_options.h"
#include "statd/nsm_program.h"
#include "statd/nsm_service.h"
#include "statd/nsm_store.h"
#include "statd/sm_mirror.h"

namespace nfsrec::statd {

class NsmDaemon {
 public:
  using Done = Callback<void(Status)>;

  // What the daemon talks to.  Create opens the real ones; tests pass fakes.
  struct Ports {
    std::unique_ptr<NsmStore> store;
    std::unique_ptr<Resolver> resolver;
    std::unique_ptr<KernelNsm> kernel;
    std::unique_ptr<rpc::DatagramPort> callback_port;  // lockd callbacks
    std::unique_ptr<rpc::DatagramPort> notify_port;    // SM_NOTIFY to peers
    // Where the jobs that keep rpc.statd's files current run and what they
    // read (statd/sm_mirror.h); without both the files are not kept
    // current.  The in-step marker goes to mirror_marker_dir ("": none).
    std::unique_ptr<MirrorRunner> mirror_runner;
    std::shared_ptr<MirrorSource> mirror_source;
    std::string mirror_marker_dir;
  };

  // Opens the "nsm" schema in the queue's database, a ThreadResolver on
  // `executor` and ProcKernelNsm over `files`, takes `sockets` (the
  // caller opens them with OpenNotifySockets, options.outgoing_port and
  // options.notify_source, before it drops privileges), and, with
  // options.mirror_sm, the mirror's own runner reading the database
  // read-only (statd/sqlite_mirror_source.h).  -T/-U are the
  // composition root's (daemon/nlm_ports.h): they must be written as root,
  // loading lockd if need be.  Nothing is loaded yet.
  // `files` also serves rpc.statd's files and the boot id; it, the executor
  // and the queue must outlive the daemon.
  static Result<std::unique_ptr<NsmDaemon>> Create(EventLoop& loop, Scheduler& scheduler,
                                                   Executor& executor, FileSystem& files,
                                                   Logger& log, CommitQueue& queue,
                                                   NotifySockets sockets,
                                                   const NsmOptions& options);
  // As Create, on another store (cluster mode's etcd store).  The mirror
  // reads `mirror_source` (its marker in `marker_dir`); without one,
  // rpc.statd's files are not kept current (said once in the log).
  static Result<std::unique_ptr<NsmDaemon>> CreateOnStore(
      EventLoop& loop, Scheduler& scheduler, Executor& executor, FileSystem& files, Logger& log,
      std::unique_ptr<NsmStore> store, NotifySockets sockets, const NsmOptions& options,
      std::shared_ptr<MirrorSource> mirror_source = nullptr, std::string marker_dir = "");
  static std::unique_ptr<NsmDaemon> CreateWithPorts(EventLoop& loop, Scheduler& scheduler,
                                                    FileSystem& files, Logger& log, Ports ports,
                                                    const NsmOptions& options);
  ~NsmDaemon();
  NsmDaemon(const NsmDaemon&) = delete;
  NsmDaemon& operator=(const NsmDaemon&) = delete;

  // Loads the lists and the state, taking over rpc.statd's files in
  // options.state_dir once (NsmService::Start); done(OK) once the state is
  // durable and published.  Never blocks.
  void Start(Done done);
  // SIGUSR1: re-reads the lists off the loop thread, then, unless
  // options.no_notify, resumes boot notification for whoever is still owed.
  // The mirror, if any, then rewrites every file.
  void Reload(Done done);
  // Boot notification (BootNotifier::Run) with the kernel's boot id;
  // `force` treats this as a new boot.  Errors are logged; `started` and
  // `finished` are optional.
  void RunBootNotification(bool force,
                           Callback<void(Result<BootNotifier::Summary>)> started = nullptr,
                           Callback<void(size_t answered, size_t failed)> finished = nullptr);
  // Handlers for every NSM procedure; an allowed SM_SIMU_CRASH runs a
  // forced boot notification.  They refer to this daemon: unregister (drop
  // the server) before destroying it.
  std::map<uint32_t, rpc::Handler> Handlers();
  // For an orderly exit: runs `done` on the loop thread once every store
  // call already submitted has completed, so the replies they owe (SM_MON,
  // SM_UNMON, SM_NOTIFY) have been sent.  Calls held by a reload run first.
  // With -H, the replies that wait for their add-client/del-client callouts
  // are waited for too, up to the callouts' drain grace (HaCallout::Drain);
  // then the mirror's last job, up to kMirrorFlushLimit, so that a clean
  // stop leaves rpc.statd's files exact.
  void Drain(Callback<void()> done);
  static constexpr Duration kMirrorFlushLimit = std::chrono::seconds(5);

  // nfsrecctl remove monitor: NsmService::RemoveMonitorsOf.
  void RemoveMonitors(const std::string& host, const NsmService::MonitorFilter& filter,
                      Callback<void(Result<size_t>)> done);

  // One line for the logs.
  std::string StatusReport() const;

  NsmService& service() { return *service_; }
  const NsmService& service() const { return *service_; }
  const NotifyEngine& engine() const { return *engine_; }
  const BootNotifier& notifier() const { return *notifier_; }
  // The mirror of rpc.statd's files; null if they are not kept current.
  const SmMirror* mirror() const { return mirror_.get(); }
  // Calls counted by Handlers().
  const NsmProgramStats& program_stats() const { return *program_stats_; }

 private:
  NsmDaemon(EventLoop& loop, Scheduler& scheduler, FileSystem& files, Logger& log, Ports ports,
            const NsmOptions& options);

  Logger& log_;
  NsmOptions options_;
  FileSystem& files_;
  // ORDER: before ports_, whose store (MirroredNsmStore) reports to it.
  std::unique_ptr<SmMirror> mirror_;
  Ports ports_;
  rpc::UdpRpcClient callback_client_;
  rpc::UdpRpcClient notify_client_;
  std::unique_ptr<NotifyEngine> engine_;
  std::unique_ptr<HaCallout> ha_;
  std::unique_ptr<NsmService> service_;
  std::unique_ptr<BootNotifier> notifier_;
  uint64_t reloads_ = 0;
  uint64_t failed_reloads_ = 0;
  std::shared_ptr<NsmProgramStats> program_stats_ = std::make_shared<NsmProgramStats>();
  Liveness liveness_;  // last: store and notifier answers check it
};

}  // namespace nfsrec::statd
