// nfsrecd: the composition root.  The only file that sees both services:
// the NSM service (statd/) and NFSv4 client tracking (nfs4rec/).
//
// Invoked as "sm-notify" or "nfsrec-notify" (a link to this binary), or with
// --sm-notify as the first argument, it runs the sm-notify-compatible
// command instead (daemon/notify_main.cc).
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
#include "common/base/logging.h"
#include "common/os/pidfile.h"
#include "common/rpc/rpc_server.h"
#include "common/rpc/rpcbind.h"
#include "common/store/sqlite.h"
#include "config.h"
#include "nfs4rec/tracking_daemon.h"
#include "daemon/notify_main.h"
#include "statd/nsm_codec.h"
#include "statd/nsm_daemon.h"

namespace nfsrec {
namespace {

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

  // ORDER: the NSM stack loads (and takes over rpc.statd's files) and
  // publishes the state before anyone can call it.
  Result<std::unique_ptr<statd::NsmDaemon>> nsm_r = statd::NsmDaemon::Create(
      loop, scheduler, *log, queue, config.nsm, config.process.proc_root);
  if (!nsm_r.ok()) return fail("NSM", nsm_r.status());
  statd::NsmDaemon& nsm = *nsm_r.value();
  std::optional<Status> started;
  nsm.Start([&](Status s) { started = s; });
  if (!AwaitStartup(loop, [&] { return started.has_value(); }) || !started->ok()) {
    return fail("NSM start-up", started.value_or(Status::TimedOut("store did not answer")));
  }

  rpc::RpcServer::Options rpc_opts;
  rpc_opts.port = config.nsm.port;
  Result<std::unique_ptr<rpc::RpcServer>> server =
      rpc::RpcServer::Create(loop, scheduler, *log, rpc_opts);
  if (!server.ok()) {
    log->Error("failed to create RPC listeners, exiting");
    return fail("RPC listeners", server.status());
  }
  Status added = server.value()->AddProgram(statd::kNsmProgram, statd::kNsmVersion,
                                            nsm.Handlers());
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
    nfs4rec::TrackingOptions topts = config.tracking;
    topts.proc_root = config.process.proc_root;
    Result<std::unique_ptr<nfs4rec::TrackingDaemon>> t =
        nfs4rec::TrackingDaemon::Create(loop, *log, queue, topts);
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
    log->Debug(nsm.StatusReport());
    // Replies owed for writes in flight are sent; an upcall already read
    // must be answered, or an nfsd thread waits for ever (unread ones go to
    // the next opener of the pipe).
    nsm.Drain([&] {
      if (!tracking) return loop.Stop();
      tracking->Drain([&loop] { loop.Stop(); });
    });
  };

  SignalWatcher on_term(loop, SIGTERM, [&] { quit("SIGTERM"); });
  SignalWatcher on_int(loop, SIGINT, [&] { quit("SIGINT"); });
  SignalWatcher on_hup(loop, SIGHUP, [&] { quit("SIGHUP"); });
  // SIGUSR1: the sm-notify command changed the database (or an admin wants
  // notification resumed): re-read it, then notify whoever is still owed.
  SignalWatcher on_usr1(loop, SIGUSR1, [&] { nsm.Reload([](Status) {}); });
  // Only this (the loop) thread takes SIGUSR1; a pending one arrives now.
  if (Status s = UnblockSignal(SIGUSR1); !s.ok()) return fail("SIGUSR1", s);

  if (!config.nsm.no_notify) nsm.RunBootNotification(/*force=*/false);

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
  nfsrec::options::ParseResult<nfsrec::CommandLine> cl = nfsrec::ParseCommandLine(
      args, env ? env : "",
      [](const std::string& path) { return nfsrec::NfsConf::Load(path, nfsrec::GetEnv); });
  if (!cl.ok()) {
    return nfsrec::options::ReportError(
        base, cl.status(), nfsrec::DaemonErrorReply(cl.status().kind), nfsrec::Usage(base), stderr);
  }
  switch (cl->action) {
    case nfsrec::CommandLine::Action::kHelp:
      std::fprintf(stderr, "%s", nfsrec::Usage(base).c_str());
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
    case nfsrec::CommandLine::Action::kRun:
      break;
  }
  return nfsrec::RunDaemon(cl->config, cl->conf);
}
