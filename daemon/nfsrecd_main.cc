// nfsrecd: the composition root.  The only file that sees both services:
// the NSM service (statd/) and NFSv4 client tracking (nfs4rec/).
//
// What runs depends on the program's name (argv[0]'s last component; the
// compatibility names are links to this binary):
//   nfsrecd, or any other name   the full daemon (daemon/daemon_config.h)
//   rpc.statd                    the daemon in the NSM role, rpc.statd's
//                                command line (-N runs the sm-notify command)
//   nfsdcld                      the daemon in the NFSv4-tracking role,
//                                nfsdcld's command line (daemon/nfsdcld_config.h)
//   sm-notify, nfsrec-notify     the sm-notify command (daemon/notify_main.cc),
//                                as is any name with --sm-notify first
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/base/logging.h"
#include "common/os/event_loop.h"
#include "common/os/executor.h"
#include "common/os/file_system.h"
#include "common/os/privileged_helper.h"
#include "common/os/privileges.h"
#include "common/os/signals.h"
#include "common/rpc/rpcbind.h"
#include "common/store/commit_queue.h"
#include "config.h"
#include "daemon/cluster_mode.h"
#include "daemon/control_admin.h"
#include "daemon/control_server.h"
#include "daemon/daemon_config.h"
#include "daemon/live_figures.h"
#include "daemon/nfs4_takeover.h"
#include "daemon/nfsdcld_config.h"
#include "daemon/nlm_ports.h"
#include "daemon/notify_main.h"
#include "daemon/notify_source.h"
#include "daemon/nsm_endpoint.h"
#include "daemon/process.h"
#include "nfs4rec/tracking_daemon.h"
#include "statd/notify_engine.h"
#include "statd/nsm_codec.h"
#include "statd/nsm_daemon.h"

namespace nfsrec {
namespace {

// SIGTERM, SIGINT, SIGHUP.  Replies owed for writes in flight are sent; an
// upcall already read must be answered, or an nfsd thread waits for ever
// (unread ones go to the next opener of the pipe).  A second signal does
// not wait for that, and none ends the process before teardown is done.
void Quit(const char* signal, bool& quitting, EventLoop& loop, Logger& log, statd::NsmDaemon* nsm,
          nfs4rec::TrackingDaemon* tracking) {
  if (quitting) {
    log.Notice(StrCat("Caught signal ", signal, ", already stopping; not waiting for replies"));
    return loop.Stop();
  }
  quitting = true;
  Startup::Stopping();
  log.Notice(StrCat("Caught signal ", signal, ", un-registering and exiting"));
  auto drain_tracking = [&loop, tracking] {
    if (tracking == nullptr) return loop.Stop();
    tracking->Drain([&loop] { loop.Stop(); });
  };
  if (nsm == nullptr) return drain_tracking();
  log.Debug(nsm->StatusReport());
  nsm->Drain(std::move(drain_tracking));
}

// The daemon's start-up, as ORDER steps; teardown is by destructors in
// reverse: rpcbind entries and listeners first, then the services, last the
// commit queue, which finishes every write already submitted.
int RunDaemon(const DaemonConfig& config, const NfsConf& conf) {
  const ProcessOptions& proc = config.process;
  std::unique_ptr<Logger> log =
      MakeLogger("nfsrecd", proc.log_stderr && proc.foreground, proc.debug);
  LogStart(*log, conf);

  // ORDER: refuse to start beside a running statd, or without a state
  // directory, before touching anything.  (The nfsdcld role serves no NSM.)
  for (const Status& s :
       {config.serve_nsm ? RefuseIfStatdRunning() : Status::Ok(),
        config.serve_nsm ? CheckStateDirectory(config.nsm.state_dir) : Status::Ok()}) {
    if (s.ok()) continue;
    std::fprintf(stderr, s.IsAlreadyExists() ? "%s\n" : "nfsrecd: %s\n", s.message().c_str());
    log->Error(s.message());
    return 1;
  }
  // ORDER: lockd's ports as root, loading lockd if need be, before lockd
  // can be started by anyone else (rpc.statd does it before detaching).
  if (config.serve_nsm) {
    RealFileSystem proc_files(proc.proc_root);
    (void)SetNlmPorts(proc_files, config.nsm.nlm_tcp_port, config.nsm.nlm_udp_port, *log);
  }
  // Whom to run as: the owner of sm/ (rpc.statd's rule), known before
  // anything is created, so that what is made as root can be theirs.  The
  // nfsdcld role drops too (nfsdcld itself stays uid 0 without
  // capabilities): it shares the database directory, which is that user's,
  // and the helper opens the cld pipe for it.
  Result<PrivilegePlan> plan = PlanPrivilegeDrop(config.nsm.state_dir, ::getuid());
  if (!plan.ok()) {
    std::fprintf(stderr, "nfsrecd: %s\n", plan.status().ToString().c_str());
    log->Error(plan.status().ToString());
    return 1;
  }
  const bool drop = plan->action == PrivilegePlan::Action::kDrop;
  // ORDER: detach before opening anything the child must own (database
  // thread, sockets); the parent waits for the child's readiness report.
  Startup startup(*log, "nfsrecd", proc.foreground, /*echo=*/proc.foreground);
  if (Status s = startup.Detach(); !s.ok()) return startup.Fail("start-up", s);
  // ORDER: the privileged helper, forked while this is the only thread
  // (fork keeps only the caller's); it serves the kernel files and the cld
  // pipe the dropped daemon may no longer open.
  std::unique_ptr<PrivilegedHelper> helper;
  if (drop) {
    HelperPolicy policy{proc.proc_root, {}};
    if (config.nfs4) policy.pipe_paths = nfs4rec::CldPipePaths(config.tracking);
    Result<std::unique_ptr<PrivilegedHelper>> h = PrivilegedHelper::Start(std::move(policy));
    if (!h.ok()) return startup.Fail("privileged helper", h.status());
    helper = std::move(h).value();
  }
  Result<std::unique_ptr<EventLoop>> loop_r = EventLoop::Create();
  if (!loop_r.ok()) return startup.Fail("event loop", loop_r.status());
  EventLoop& loop = **loop_r;
  LoopScheduler scheduler(loop);
  // ORDER: the cld pipe next, before the store is opened or loaded and
  // before the NSM side starts: knfsd waits only about a second for a
  // process to hold nfsd/cld open (then tracks nothing, or from 6.19 fails
  // to start).  The helper opens it; a missing pipe is watched and opened
  // within milliseconds of appearing, also while the rest starts.  Upcalls
  // wait in the pipe until the tracking facade has loaded its records.
  std::shared_ptr<nfs4rec::PipeOpener> pipe_opener;
  std::unique_ptr<nfs4rec::CldPipe> early_pipe;
  if (config.nfs4) {
    if (helper) pipe_opener = std::make_shared<nfs4rec::HelperPipeOpener>(helper->channel());
    Result<std::unique_ptr<nfs4rec::CldPipe>> p =
        nfs4rec::TrackingDaemon::OpenPipeEarly(loop, scheduler, *log, config.tracking, pipe_opener);
    if (!p.ok()) return startup.Fail("cld pipe", p.status());
    early_pipe = std::move(p).value();
  }
  // Between the blocking steps below, while the loop does not run yet: a
  // pipe that appeared meanwhile is opened at once.
  auto open_pipe_if_appeared = [&early_pipe] {
    if (early_pipe) early_pipe->OpenIfAppeared();
  };
  if (Status s = ReclaimPidfile(proc.pidfile, *plan); !s.ok()) return startup.Fail("pid file", s);
  Result<std::unique_ptr<Pidfile>> pidfile = TakePidfile(proc.pidfile);
  if (!pidfile.ok()) return startup.Fail("pid file", pidfile.status());
  if (Status s = HandOverPidfile(proc.pidfile, *plan); !s.ok()) return startup.Fail("pid file", s);
  open_pipe_if_appeared();
  if (Status s =
          PrepareDatabaseDir(config.DatabaseDir(), DatabaseFile(config.nsm.state_dir), *plan, *log);
      !s.ok()) {
    return startup.Fail("database directory " + config.DatabaseDir(), s);
  }
  // A daemon already answering on the control socket keeps it: this one
  // runs without (recovery never waits for the admin tool), and says so.
  std::string control_path = config.ControlSocketPath();
  if (!control_path.empty()) {
    if (Status s = ControlServer::RefuseIfAnswered(control_path); !s.ok()) {
      log->Warning(StrCat("Control socket: ", s.ToString(),
                          "; running without one (set --control-socket or [nfsrecd] "
                          "control-socket for this daemon)"));
      control_path.clear();
    }
  }
  // ORDER: stale rpcbind entries go while root (one made by a statd that
  // ran as root can only be removed by root); ours are made after the
  // drop, so that the uid that removes them at exit is the one that owns
  // them.  Listeners are bound after the drop too, as rpc.statd binds its
  // own: CAP_NET_BIND_SERVICE covers reserved ports.
  if (drop && config.serve_nsm) {
    if (Status s = rpc::UnsetAll(statd::kNsmProgram, statd::kNsmVersion); !s.ok()) {
      log->Warning(StrCat("Removing stale rpcbind entries: ", s.ToString()));
    }
  }
  // ORDER: nfs-utils' NFSv4 records are read while root (nfsdcld's
  // directory is root's), applied once the store is open; after the cld
  // pipe, and only the sources whose identity changed since the store
  // recorded it (a stat each), so a big stale nfsdcld database costs
  // nothing.
  nfs4rec::ImportRead nfs_utils;
  const bool on_etcd = config.cluster.on_etcd();
  if (config.nfs4 && !on_etcd) {
    nfs_utils = ReadChangedNfsUtilsRecords(NfsUtilsLocations(config), config.DbPath(), *log);
    open_pipe_if_appeared();
  }
  // ORDER: the notify sockets and the NSM UDP listeners' sockets before
  // the drop: a receive buffer beyond net.core.rmem_max (for a notify
  // storm) takes CAP_NET_ADMIN, which the drop gives up.  The notify
  // sockets serve every notification of this process; the listeners'
  // sockets are bound after the drop (see above).
  std::optional<statd::NotifySockets> notify_sockets;
  rpc::RpcServer::Prepared nsm_listeners;
  if (config.serve_nsm) {
    Result<statd::NotifySockets> ns =
        statd::OpenNotifySockets(loop, *log, config.nsm.outgoing_port, config.nsm.notify_source);
    if (!ns.ok()) return startup.Fail("NSM", ns.status());
    notify_sockets = std::move(ns).value();
    nsm_listeners = NsmEndpoint::Prepare(config.nsm.port);
  }
  // ORDER: drop before any thread exists (executor workers, the commit
  // thread): capabilities are per thread.
  if (Status s = ApplyPrivilegePlan(*plan, *log); !s.ok()) {
    return startup.Fail("dropping privileges", s);
  }
  // Blocking work (DNS, procfs scans, /proc writes the kernel may hold) and
  // every small OS file, /proc under --proc-root; once dropped, the kernel's
  // NFS files through the helper.
  Executor executor(loop);
  std::shared_ptr<FileSystem> files = std::make_shared<RealFileSystem>(proc.proc_root);
  if (helper) files = std::make_shared<HelperFileSystem>(helper->channel(), std::move(files));
  open_pipe_if_appeared();

  // ORDER: database before anything that can be asked to remember; opened
  // after the drop, so that whatever SQLite creates is the user's.  In
  // cluster mode the instance is taken first (waiting while another node
  // holds it), and its records live in etcd: no database is opened.
  std::unique_ptr<CommitQueue> queue;
  std::unique_ptr<ClusterMode> cluster;
  // A start-up step that runs out of time names the store that did not
  // answer: SQLite's disk, or etcd as the cluster sees it then.
  const NoAnswer no_answer = [&](Duration limit) {
    if (!cluster) return DatabaseNoAnswer(limit);
    const LiveStatus::Cluster now = cluster->Figures();
    return EtcdNoAnswer(config.cluster.endpoints, config.cluster.instance, now.etcd_available,
                        now.held, limit);
  };
  bool lost_instance = false;
  std::function<void()> quit_lost;  // set once the quit path exists
  if (on_etcd) {
    Result<std::unique_ptr<ClusterMode>> c =
        ClusterMode::Create(loop, scheduler, *log, config.cluster,
                            LocalInstanceParams(conf, LocalHostName(), config.cluster.node),
                            [&lost_instance, &quit_lost, &loop](Status) {
                              lost_instance = true;
                              if (quit_lost) return quit_lost();
                              loop.Stop();
                            });
    if (!c.ok()) return startup.Fail("cluster mode", c.status());
    cluster = std::move(c).value();
    Status held = StartAndWait(
        loop, [&](auto done) { cluster->Start(std::move(done)); }, kStartLimit, no_answer);
    if (!held.ok()) return startup.Fail("cluster mode", held);
  } else {
    Result<std::unique_ptr<CommitQueue>> q = OpenStore(config.DbPath(), loop, log.get());
    if (!q.ok()) return startup.Fail("open database " + config.DbPath(), q.status());
    queue = std::move(q).value();
  }
  open_pipe_if_appeared();
  // ORDER: the NSM stack loads (and takes over rpc.statd's files) and
  // publishes the state before anyone can call it.
  std::unique_ptr<statd::NsmDaemon> nsm;
  std::unique_ptr<NsmEndpoint> endpoint;
  if (config.serve_nsm) {
    Result<std::unique_ptr<statd::NsmDaemon>> n =
        cluster ? statd::NsmDaemon::CreateOnStore(loop, scheduler, executor, *files, *log,
                                                  cluster->MakeNsmStore(),
                                                  std::move(*notify_sockets), config.nsm)
                : statd::NsmDaemon::Create(loop, scheduler, executor, *files, *log, *queue,
                                           std::move(*notify_sockets), config.nsm);
    if (!n.ok()) return startup.Fail("NSM", n.status());
    nsm = std::move(n).value();
    open_pipe_if_appeared();
    Status started = StartAndWait(
        loop, [&](auto done) { nsm->Start(std::move(done)); }, kStartLimit, no_answer);
    if (!started.ok()) return startup.Fail("NSM start-up", started);
    // ORDER: on a new boot the bumped state is durable and published before
    // anyone can ask for it (rpc.statd, too, bumps it before it serves);
    // notification goes on in the background.
    if (!config.nsm.no_notify) {
      (void)StartAndWait(loop, [&](auto done) {
        nsm->RunBootNotification(config.nsm.force_notify, [done = std::move(done)](auto) mutable {
          done(Status::Ok());  // a failure is logged by the facade and is not fatal
        });
      });
    }
    Result<std::unique_ptr<NsmEndpoint>> e = NsmEndpoint::Serve(
        loop, scheduler, *log, config.nsm.port, nsm->Handlers(), std::move(nsm_listeners));
    if (!e.ok()) return startup.Fail("NSM service", e.status());
    endpoint = std::move(e).value();
    if (Status s = endpoint->KeepRegistered(scheduler, executor, *log,
                                            std::chrono::seconds(config.rpcbind_check_interval));
        !s.ok()) {
      log->Warning(StrCat("rpcbind registration will not be checked: ", s.ToString()));
    }
  }

  std::unique_ptr<nfs4rec::TrackingDaemon> tracking;
  if (config.nfs4) {
    // ORDER: before the first Load, so the next GraceStart uploads them; a
    // failure is logged and the daemon serves what its store holds.
    if (queue) (void)TakeOverNfsUtilsRecords(*queue, nfs_utils, *log);
    // The pipe opened in the first step is adopted: its upcalls are read
    // from now on and answered once the records are loaded.
    Result<std::unique_ptr<nfs4rec::TrackingDaemon>> t =
        cluster ? nfs4rec::TrackingDaemon::CreateWithStore(
                      loop, scheduler, executor, files, *log, cluster->MakeClientStore(),
                      config.tracking, std::move(pipe_opener), std::move(early_pipe),
                      cluster->GraceDecorator())
                : nfs4rec::TrackingDaemon::Create(loop, scheduler, executor, files, *log, *queue,
                                                  config.tracking, std::move(pipe_opener),
                                                  std::move(early_pipe));
    if (!t.ok()) return startup.Fail("NFSv4 client tracking", t.status());
    tracking = std::move(t).value();
    Status ts = StartAndWait(
        loop, [&](auto done) { tracking->Start(std::move(done)); }, kStartLimit, no_answer);
    if (!ts.ok()) return startup.Fail("NFSv4 client tracking", ts);
  }

  // Signal handlers only wake the loop; the work happens here.  SIGUSR1:
  // the sm-notify command changed the database (or an admin wants
  // notification resumed): re-read it, then notify whoever is still owed.
  ::signal(SIGPIPE, SIG_IGN);
  bool quitting = false;
  auto quit = [&](const char* name) {
    Quit(name, quitting, loop, *log, nsm.get(), tracking.get());
  };
  quit_lost = [&] { quit("the loss of the instance"); };
  SignalWatcher on_term(loop, SIGTERM, [&] { quit("SIGTERM"); });
  SignalWatcher on_int(loop, SIGINT, [&] { quit("SIGINT"); });
  SignalWatcher on_hup(loop, SIGHUP, [&] { quit("SIGHUP"); });
  SignalWatcher on_usr1(loop, SIGUSR1, [&] {
    if (nsm) nsm->Reload([](Status) {});
  });
  // ORDER: blocked since main() in every thread, taken by this (the loop)
  // thread only once their watchers exist: one that arrived during
  // start-up is delivered now and handled when the loop runs, through the
  // same teardown as later.  Blocked again before the watchers go (it
  // dies first), so that a signal during teardown stays pending and cannot
  // end the process before the rpcbind entries are gone.
  UnblockedSignals taken({SIGTERM, SIGINT, SIGHUP, SIGUSR1});

  // ORDER: the control socket last, after the drop (so it is the daemon
  // user's) and after the services it reports on; destroyed first.
  const int64_t ready_at = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  std::unique_ptr<ControlServer> control;
  if (!control_path.empty()) {
    Result<std::unique_ptr<ControlServer>> c =
        ControlServer::Listen(loop, scheduler, *log, control_path, {});
    if (!c.ok()) {
      log->Warning(StrCat("Control socket ", control_path, ": ", c.status().ToString(),
                          "; nfsrecctl status and metrics will not reach this daemon"));
    } else {
      control = std::move(c).value();
    }
  }
  if (control) {
    LiveSources sources{nsm.get(), tracking.get(), queue.get(), &scheduler, ready_at, {}};
    if (cluster) sources.cluster = [c = cluster.get()] { return c->Figures(); };
    control->Register("status", [sources](const nlohmann::json&, ControlServer::Reply reply) {
      reply(StatusToJson(GatherLiveStatus(sources)));
    });
    control->Register("metrics", [sources](const nlohmann::json&, ControlServer::Reply reply) {
      reply(nlohmann::json{{"text", StatusToPrometheus(GatherLiveStatus(sources))}});
    });
    RegisterAdminCommands(*control, nsm.get(), tracking.get());
  }

  startup.Ready(StrCat("NSM registered with rpcbind",
                       config.nsm.port != 0 ? StrCat(" on port ", config.nsm.port) : "",
                       config.nfs4 ? ", NFSv4 client tracking on " + config.tracking.pipe_path
                                   : ", NFSv4 client tracking off"));
  Status ran = loop.Run();
  if (!ran.ok()) log->Error(StrCat("Event loop: ", ran.ToString()));
  // A clean stop gives the instance back at once, for the node that takes
  // it over; after a loss there is nothing to give.
  if (cluster && !lost_instance) {
    (void)StartAndWait(loop, [&](auto done) {
      cluster->Release([done = std::move(done)]() mutable { done(Status::Ok()); });
    });
  }
  return ran.ok() && !lost_instance ? 0 : 1;
}

}  // namespace
}  // namespace nfsrec

namespace {

// Parses the daemon's command line for the role that argv[0] names; usage
// and its stream, and the error replies, are the role's.
nfsrec::options::ParseResult<nfsrec::CommandLine> ParseForRole(
    nfsrec::DaemonRole role, const std::vector<std::string>& args) {
  auto load = [](const std::string& path) {
    nfsrec::RealFileSystem files;
    return nfsrec::NfsConf::Load(files, path, nfsrec::GetEnv);
  };
  if (role == nfsrec::DaemonRole::kNfsdcld) return nfsrec::ParseNfsdcldCommandLine(args, load);
  const char* env = std::getenv("RPC_STATD_NO_NOTIFY");
  return nfsrec::ParseCommandLine(args, env ? env : "", load, role);
}

}  // namespace

int main(int argc, char** argv) {
  // SIGUSR1 (the sm-notify command: "reload") and the quit signals
  // (SIGTERM, SIGINT, SIGHUP) stay pending until the loop's watchers take
  // them: ignored they would be lost, and by default a quit signal during
  // start-up would kill a half-started daemon (its pid file and rpcbind
  // entries left behind).  ORDER: first, before any thread or child
  // exists, so that every thread inherits the mask (children start with
  // none: common/os/signals.h).
  if (nfsrec::Status s = nfsrec::BlockSignals({SIGUSR1, SIGTERM, SIGINT, SIGHUP}); !s.ok()) {
    std::fprintf(stderr, "nfsrecd: %s\n", s.ToString().c_str());
    return 1;
  }
  // The sm-notify command ends at a quit signal's default action.
  auto notify_main = [](const std::vector<std::string>& notify_args) {
    (void)nfsrec::UnblockSignals({SIGTERM, SIGINT, SIGHUP});
    return nfsrec::NotifyMain(notify_args);
  };
  // A fixed mmap threshold: the start-up loads free snapshots of every
  // record on the commit thread, and glibc's adaptive threshold (raised by
  // the first such free) would keep those megabytes in that thread's arena
  // for good, where malloc_trim cannot reach them.  Measured with 100,000
  // monitors and --no-mirror-sm (through the equivalent glibc tunable):
  // 55 MB resident without it, 24 MB with it.
  (void)::mallopt(M_MMAP_THRESHOLD, 1 << 20);
  std::vector<std::string> args(argv, argv + argc);
  std::string base = args.empty() ? "nfsrecd" : args[0];
  if (auto slash = base.rfind('/'); slash != std::string::npos) base = base.substr(slash + 1);
  if (base == "sm-notify" || base == "nfsrec-notify") return notify_main(args);
  if (args.size() > 1 && args[1] == "--sm-notify") {
    args.erase(args.begin() + 1);
    return notify_main(args);
  }
  nfsrec::DaemonRole role = nfsrec::DaemonRole::kNfsrecd;
  if (base == "rpc.statd") role = nfsrec::DaemonRole::kRpcStatd;
  if (base == "nfsdcld") role = nfsrec::DaemonRole::kNfsdcld;
  const bool nfsdcld = role == nfsrec::DaemonRole::kNfsdcld;
  const std::string usage = nfsdcld ? nfsrec::NfsdcldUsage(base) : nfsrec::Usage(base);

  nfsrec::options::ParseResult<nfsrec::CommandLine> cl = ParseForRole(role, args);
  if (!cl.ok()) {
    const auto reply = nfsdcld ? nfsrec::NfsdcldErrorReply(cl.status().kind)
                               : nfsrec::DaemonErrorReply(cl.status().kind, role);
    return nfsrec::options::ReportError(base, cl.status(), reply, usage, nfsdcld ? stdout : stderr);
  }
  switch (cl->action) {
    case nfsrec::CommandLine::Action::kHelp:
      // rpc.statd's help goes to stderr, nfsdcld's to stdout; both exit 0.
      std::fprintf(nfsdcld ? stdout : stderr, "%s", usage.c_str());
      return 0;
    case nfsrec::CommandLine::Action::kVersion:
      std::printf("%s version %s\n", base.c_str(), PACKAGE_VERSION);
      return 0;
    case nfsrec::CommandLine::Action::kDumpConfig:
      for (const std::string& w : cl->conf.warnings()) {
        std::fprintf(stderr, "%s: nfs.conf: %s\n", base.c_str(), w.c_str());
      }
      std::printf("%s", cl->config.Dump().c_str());
      return 0;
    case nfsrec::CommandLine::Action::kNotifyOnly:
      std::fprintf(stderr, "%s\n", nfsrec::NotifyOnlyWarning(base).c_str());
      return notify_main(nfsrec::NotifyOnlyArgs(cl->config));
    case nfsrec::CommandLine::Action::kRun:
      break;
  }
  // The boot notification's source address and name (-n, [sm-notify]
  // outgoing-addr, in cluster mode the instance's address): resolved before
  // anything starts, as sm-notify does; a problem is logged with nfs.conf's
  // warnings.
  if (cl->config.serve_nsm && !cl->config.nsm.no_notify) {
    std::string why = nfsrec::ApplyNotifySourceOrFallBack(cl->config.nsm);
    if (!why.empty()) cl->conf.AddWarning(why);
  }
  return nfsrec::RunDaemon(cl->config, cl->conf);
}
