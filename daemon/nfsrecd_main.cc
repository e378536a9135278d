// nfsrecd: the composition root.  The only file that sees both services:
// the NSM service (statd/) and NFSv4 client tracking (nfs4rec/).
//
// Invoked as "sm-notify" or "nfsrec-notify" (a link to this binary), or with
// --sm-notify as the first argument, it runs the sm-notify-compatible
// command instead (statd/notify_main.cc).
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/store/commit_queue.h"
#include "daemon/daemon_config.h"
#include "common/os/daemonize.h"
#include "common/os/event_loop.h"
#include "common/os/executor.h"
#include "common/os/file_system.h"
#include "common/base/logging.h"
#include "common/os/pidfile.h"
#include "common/os/resolver.h"
#include "common/rpc/rpc_server.h"
#include "common/rpc/rpcbind.h"
#include "common/store/sqlite.h"
#include "common/rpc/udp_rpc_client.h"
#include "config.h"
#include "nfs4rec/tracking_daemon.h"
#include "statd/boot_notifier.h"
#include "statd/ha_callout.h"
#include "statd/kernel_nsm.h"
#include "statd/legacy_state.h"
#include "statd/notify_engine.h"
#include "daemon/notify_main.h"
#include "statd/nsm_codec.h"
#include "statd/nsm_program.h"
#include "statd/nsm_service.h"
#include "statd/sqlite_nsm_store.h"

namespace nfsrec {
namespace {

constexpr int kExitUsage = 255;  // rpc.statd exits with -1 on bad usage
constexpr auto kProbeTimeout = std::chrono::seconds(2);

std::unique_ptr<Logger> MakeLogger(const DaemonConfig& c) {
  if (c.process.log_stderr && c.process.foreground) return std::make_unique<StderrLogger>("nfsrecd", c.process.debug);
  return std::make_unique<SyslogLogger>("nfsrecd", c.process.debug);
}

// Runs the loop until `done` holds; for start-up steps that complete through
// the loop (store commits).
bool AwaitStartup(EventLoop& loop, const std::function<bool()>& done) {
  return loop.RunUntil(done, std::chrono::minutes(5));
}

int RunDaemon(const DaemonConfig& config, const NfsConf& conf) {
  std::unique_ptr<Logger> log = MakeLogger(config);
  log->Notice(StrCat("Version ", PACKAGE_VERSION, " starting"));
  for (const std::string& f : conf.files()) log->Debug(StrCat("Read ", f));
  for (const std::string& w : conf.warnings()) log->Warning(StrCat("nfs.conf: ", w));

  // ORDER: refuse to start beside a running statd before touching anything.
  Result<bool> running = rpc::ProbeRunning(statd::kNsmProgram, statd::kNsmVersion, kProbeTimeout);
  if (running.ok() && running.value()) {
    std::fprintf(stderr, "Statd service already running!\n");
    log->Error("Statd service already running!");
    return 1;
  }

  struct stat dir_stat;
  if (::lstat(config.nsm.state_dir.c_str(), &dir_stat) != 0 || !S_ISDIR(dir_stat.st_mode)) {
    std::string why = StrCat("state directory ", config.nsm.state_dir, ": ",
                             errno != 0 ? std::strerror(errno) : "not a directory");
    std::fprintf(stderr, "nfsrecd: %s\n", why.c_str());
    log->Error(why);
    return 1;
  }

  // ORDER: detach before opening anything the child must own (database
  // thread, sockets); the parent waits for the child's readiness report.
  ReadinessPipe ready;
  if (!config.process.foreground) {
    Result<ReadinessPipe> r = Daemonize();
    if (!r.ok()) {
      log->Error(StrCat("Cannot detach: ", r.status().ToString()));
      return 1;
    }
    ready = std::move(r.value());
  }
  auto fail = [&](const std::string& what, const Status& s) {
    log->Error(StrCat(what, ": ", s.ToString()));
    if (config.process.foreground) std::fprintf(stderr, "nfsrecd: %s: %s\n", what.c_str(), s.ToString().c_str());
    ready.Report(1);
    return 1;
  };

  std::unique_ptr<Pidfile> pidfile;
  if (!config.process.pidfile.empty()) {
    Result<std::unique_ptr<Pidfile>> p = Pidfile::Create(config.process.pidfile);
    if (!p.ok()) return fail("pid file", p.status());
    pidfile = std::move(p.value());
  }

  Result<std::unique_ptr<EventLoop>> loop_r = EventLoop::Create();
  if (!loop_r.ok()) return fail("event loop", loop_r.status());
  EventLoop& loop = *loop_r.value();
  LoopScheduler scheduler(loop);

  // ORDER: database before anything that can be asked to remember.
  Result<std::unique_ptr<sqlite::Db>> db = sqlite::Db::Open(config.DbPath());
  if (!db.ok()) return fail("open database " + config.DbPath(), db.status());
  CommitQueue queue(std::move(db.value()), loop);
  Result<std::unique_ptr<statd::SqliteNsmStore>> store = statd::SqliteNsmStore::Open(queue);
  if (!store.ok()) return fail("database schema", store.status());

  Executor executor(loop);
  ThreadResolver resolver(executor, scheduler);
  auto files = std::make_shared<RealFileSystem>(config.process.proc_root);
  statd::ProcKernelNsm kernel(*files);
  statd::WriteNlmPorts(kernel, config.nsm.nlm_tcp_port, config.nsm.nlm_udp_port, *log);

  // Outgoing sockets: lockd callbacks from a privileged port on loopback
  // (the kernel accepts nothing else), SM_NOTIFY from a privileged port or -o.
  Result<statd::NotifySockets> sockets = statd::OpenNotifySockets(loop, config.nsm.outgoing_port);
  if (!sockets.ok()) return fail("outgoing sockets", sockets.status());
  rpc::UdpRpcClient callback_client(*sockets->callback, scheduler, *log);
  rpc::UdpRpcClient notify_client(*sockets->notify, scheduler, *log);
  statd::NotifyEngine engine(callback_client, notify_client, resolver, scheduler, *log, {});

  statd::NsmService service(*store.value(), resolver, kernel, engine, *log);
  std::unique_ptr<statd::HaCallout> ha;
  if (!config.nsm.ha_callout.empty()) {
    ha = std::make_unique<statd::HaCallout>(loop, scheduler, *log,
                                            statd::HaCallout::Options{config.nsm.ha_callout});
    service.SetHaEvents(ha.get());
  }
  std::optional<Status> started;
  service.Start(statd::ReadLegacyStatd(*files, config.nsm.state_dir),
                [&](Status s) { started = s; });
  if (!AwaitStartup(loop, [&] { return started.has_value(); }) || !started->ok()) {
    return fail("NSM start-up", started.value_or(Status::TimedOut("store did not answer")));
  }

  statd::BootNotifier notifier(service, engine, kernel, *log,
                               statd::BootNotifier::Options{config.nsm.my_name, true, true});
  std::string boot_id = statd::ReadBootId(*files);
  auto run_notification = [&](bool force) {
    notifier.Run(boot_id, force, [&log](Result<statd::BootNotifier::Summary> s) {
      if (!s.ok()) log->Error(StrCat("Boot notification: ", s.status().ToString()));
    });
  };

  rpc::RpcServer::Options rpc_opts;
  rpc_opts.port = config.nsm.port;
  Result<std::unique_ptr<rpc::RpcServer>> server = rpc::RpcServer::Create(loop, *log, rpc_opts);
  if (!server.ok()) {
    log->Error("failed to create RPC listeners, exiting");
    return fail("RPC listeners", server.status());
  }
  Status added = server.value()->AddProgram(
      statd::kNsmProgram, statd::kNsmVersion,
      statd::NsmHandlers(service, *log, [&] { run_notification(/*force=*/true); }));
  if (!added.ok()) return fail("NSM program", added);

  // ORDER: stale registrations go before ours (rpcbind refuses duplicates).
  Status unset = rpc::UnsetAll(statd::kNsmProgram, statd::kNsmVersion);
  if (!unset.ok()) log->Warning(StrCat("Removing stale rpcbind entries: ", unset.ToString()));
  Result<std::unique_ptr<rpc::RpcbindRegistration>> reg = rpc::RpcbindRegistration::Register(
      statd::kNsmProgram, statd::kNsmVersion, server.value()->listeners());
  if (!reg.ok()) return fail("rpcbind registration", reg.status());
  for (const auto& l : server.value()->listeners()) {
    log->Info(StrCat("Listening on ", l.netid, " ", l.address, " port ", l.port));
  }

  std::unique_ptr<nfs4rec::TrackingDaemon> tracking;
  if (config.nfs4) {
    Result<std::unique_ptr<nfs4rec::TrackingDaemon>> t = nfs4rec::TrackingDaemon::Create(
        loop, scheduler, executor, files, *log, queue, config.tracking);
    if (!t.ok()) return fail("NFSv4 client tracking", t.status());
    tracking = std::move(t.value());
    Status ts = tracking->Start();
    if (!ts.ok()) return fail("NFSv4 client tracking", ts);
  }

  // Signal handlers only wake the loop; the work happens here.
  ::signal(SIGPIPE, SIG_IGN);
  bool quitting = false;
  auto quit = [&](const char* name) {
    if (quitting) return loop.Stop();  // a second signal does not wait
    quitting = true;
    log->Notice(StrCat("Caught signal ", name, ", un-registering and exiting"));
    // An upcall already read must be answered, or an nfsd thread waits for
    // ever; unread ones go to the next opener of the pipe.
    if (tracking) {
      tracking->Drain([&loop] { loop.Stop(); });
    } else {
      loop.Stop();
    }
  };

  SignalWatcher on_term(loop, SIGTERM, [&] { quit("SIGTERM"); });
  SignalWatcher on_int(loop, SIGINT, [&] { quit("SIGINT"); });
  SignalWatcher on_hup(loop, SIGHUP, [&] { quit("SIGHUP"); });
  // SIGUSR1: the sm-notify command changed the database (or an admin wants
  // notification resumed): re-read it, then notify whoever is still owed.
  SignalWatcher on_usr1(loop, SIGUSR1, [&] {
    Status st = service.Reload();
    if (!st.ok()) log->Error(StrCat("SIGUSR1: reload failed: ", st.ToString()));
    if (!config.nsm.no_notify) run_notification(/*force=*/false);
  });
  // Only this (the loop) thread takes SIGUSR1; a pending one arrives now.
  if (Status s = UnblockSignal(SIGUSR1); !s.ok()) return fail("SIGUSR1", s);

  if (!config.nsm.no_notify) run_notification(/*force=*/false);

  ready.Report(0);
  Status ran = loop.Run();
  if (!ran.ok()) log->Error(StrCat("Event loop: ", ran.ToString()));
  // Teardown is by destructors, in reverse order of construction: rpcbind
  // entries go first, then listeners, the engine, and last the commit queue,
  // which finishes every write already submitted.
  return ran.ok() ? 0 : 1;
}

}  // namespace
}  // namespace nfsrec

int main(int argc, char** argv) {
  // SIGUSR1 (the sm-notify command: "reload") stays pending until the
  // loop's watcher exists: ignored it would be lost, and by default fatal.
  // ORDER: before any thread, so that every thread inherits the mask.
  if (nfsrec::Status s = nfsrec::BlockSignal(SIGUSR1); !s.ok()) {
    std::fprintf(stderr, "nfsrecd: %s\n", s.ToString().c_str());
    return 1;
  }
  std::vector<std::string> args(argv, argv + argc);
  std::string base = args.empty() ? "nfsrecd" : args[0];
  if (auto slash = base.rfind('/'); slash != std::string::npos) base = base.substr(slash + 1);
  if (base == "sm-notify" || base == "nfsrec-notify") return nfsrec::statd::NotifyMain(args);
  if (args.size() > 1 && args[1] == "--sm-notify") {
    args.erase(args.begin() + 1);
    return nfsrec::statd::NotifyMain(args);
  }

  const char* env = std::getenv("RPC_STATD_NO_NOTIFY");
  nfsrec::RealFileSystem conf_files;
  const nfsrec::NfsConf conf =
      nfsrec::NfsConf::Load(conf_files, nfsrec::ConfigFileFromArgs(args), nfsrec::GetEnv);
  nfsrec::Result<nfsrec::CommandLine> cl = nfsrec::ParseCommandLine(args, env ? env : "", conf);
  if (!cl.ok()) {
    const std::string& why = cl.status().message();
    // A bad setting in nfs.conf is not a usage error: no usage text.
    if (why.rfind("nfs.conf ", 0) == 0) {
      std::fprintf(stderr, "%s: %s\n", base.c_str(), why.c_str());
      return 1;
    }
    std::fprintf(stderr, "%s: %s\n%s", base.c_str(), why.c_str(), nfsrec::Usage(base).c_str());
    return why.rfind("bad port", 0) == 0 ? 1 : nfsrec::kExitUsage;
  }
  switch (cl->action) {
    case nfsrec::CommandLine::Action::kHelp:
      std::fprintf(stderr, "%s", nfsrec::Usage(base).c_str());
      return 0;
    case nfsrec::CommandLine::Action::kVersion:
      std::printf("%s version %s\n", base.c_str(), PACKAGE_VERSION);
      return 0;
    case nfsrec::CommandLine::Action::kDumpConfig:
      for (const std::string& w : conf.warnings()) {
        std::fprintf(stderr, "%s: nfs.conf: %s\n", base.c_str(), w.c_str());
      }
      std::printf("%s", cl->config.Dump().c_str());
      return 0;
    case nfsrec::CommandLine::Action::kRun:
      break;
  }
  return nfsrec::RunDaemon(cl->config, conf);
}
