// nfsrecd: the composition root.  The only file that sees both services:
// the NSM service (statd/) and NFSv4 client tracking (nfs4rec/).
//
// Invoked as "sm-notify" or "nfsrec-notify" (a link to this binary), or with
// --sm-notify as the first argument, it runs the sm-notify-compatible
// command instead (daemon/notify_main.cc).
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "common/base/logging.h"
#include "common/os/event_loop.h"
#include "common/os/executor.h"
#include "common/os/file_system.h"
#include "common/store/commit_queue.h"
#include "config.h"
#include "daemon/daemon_config.h"
#include "daemon/notify_main.h"
#include "daemon/nsm_endpoint.h"
#include "daemon/process.h"
#include "nfs4rec/tracking_daemon.h"
#include "statd/nsm_daemon.h"

namespace nfsrec {
namespace {

// SIGTERM, SIGINT, SIGHUP.  Replies owed for writes in flight are sent; an
// upcall already read must be answered, or an nfsd thread waits for ever
// (unread ones go to the next opener of the pipe).  A second signal does
// not wait for that, and none ends the process before teardown is done.
void Quit(const char* signal, bool& quitting, EventLoop& loop, Logger& log, statd::NsmDaemon& nsm,
          nfs4rec::TrackingDaemon* tracking) {
  if (quitting) {
    log.Notice(StrCat("Caught signal ", signal, ", already stopping; not waiting for replies"));
    return loop.Stop();
  }
  quitting = true;
  Startup::Stopping();
  log.Notice(StrCat("Caught signal ", signal, ", un-registering and exiting"));
  log.Debug(nsm.StatusReport());
  nsm.Drain([&loop, tracking] {
    if (tracking == nullptr) return loop.Stop();
    tracking->Drain([&loop] { loop.Stop(); });
  });
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
  // directory, before touching anything.
  for (const Status& s : {RefuseIfStatdRunning(), CheckStateDirectory(config.nsm.state_dir)}) {
    if (s.ok()) continue;
    std::fprintf(stderr, s.IsAlreadyExists() ? "%s\n" : "nfsrecd: %s\n", s.message().c_str());
    log->Error(s.message());
    return 1;
  }
  // ORDER: detach before opening anything the child must own (database
  // thread, sockets); the parent waits for the child's readiness report.
  Startup startup(*log, "nfsrecd", proc.foreground, /*echo=*/proc.foreground);
  if (Status s = startup.Detach(); !s.ok()) return startup.Fail("start-up", s);
  Result<std::unique_ptr<Pidfile>> pidfile = TakePidfile(proc.pidfile);
  if (!pidfile.ok()) return startup.Fail("pid file", pidfile.status());
  Result<std::unique_ptr<EventLoop>> loop_r = EventLoop::Create();
  if (!loop_r.ok()) return startup.Fail("event loop", loop_r.status());
  EventLoop& loop = **loop_r;
  LoopScheduler scheduler(loop);
  // Blocking work (DNS, procfs scans, /proc writes the kernel may hold) and
  // every small OS file, /proc under --proc-root.
  Executor executor(loop);
  auto files = std::make_shared<RealFileSystem>(proc.proc_root);

  // ORDER: database before anything that can be asked to remember.
  Result<std::unique_ptr<CommitQueue>> queue = OpenStore(config.DbPath(), loop, log.get());
  if (!queue.ok()) return startup.Fail("open database " + config.DbPath(), queue.status());
  // ORDER: the NSM stack loads (and takes over rpc.statd's files) and
  // publishes the state before anyone can call it.
  Result<std::unique_ptr<statd::NsmDaemon>> nsm =
      statd::NsmDaemon::Create(loop, scheduler, executor, *files, *log, **queue, config.nsm);
  if (!nsm.ok()) return startup.Fail("NSM", nsm.status());
  Status started = StartAndWait(loop, [&](auto done) { (*nsm)->Start(std::move(done)); });
  if (!started.ok()) return startup.Fail("NSM start-up", started);
  // ORDER: on a new boot the bumped state is durable and published before
  // anyone can ask for it (rpc.statd, too, bumps it before it serves);
  // notification goes on in the background.
  if (!config.nsm.no_notify) {
    (void)StartAndWait(loop, [&](auto done) {
      (*nsm)->RunBootNotification(/*force=*/false, [done = std::move(done)](auto) mutable {
        done(Status::Ok());  // a failure is logged by the facade and is not fatal
      });
    });
  }
  Result<std::unique_ptr<NsmEndpoint>> endpoint =
      NsmEndpoint::Serve(loop, scheduler, *log, config.nsm.port, (*nsm)->Handlers());
  if (!endpoint.ok()) return startup.Fail("NSM service", endpoint.status());
  if (Status s = (*endpoint)->KeepRegistered(scheduler, executor, *log,
                                             std::chrono::seconds(config.rpcbind_check_interval));
      !s.ok()) {
    log->Warning(StrCat("rpcbind registration will not be checked: ", s.ToString()));
  }

  std::unique_ptr<nfs4rec::TrackingDaemon> tracking;
  if (config.nfs4) {
    Result<std::unique_ptr<nfs4rec::TrackingDaemon>> t = nfs4rec::TrackingDaemon::Create(
        loop, scheduler, executor, files, *log, **queue, config.tracking);
    if (!t.ok()) return startup.Fail("NFSv4 client tracking", t.status());
    tracking = std::move(t).value();
    Status ts = StartAndWait(loop, [&](auto done) { tracking->Start(std::move(done)); });
    if (!ts.ok()) return startup.Fail("NFSv4 client tracking", ts);
  }

  // Signal handlers only wake the loop; the work happens here.  SIGUSR1:
  // the sm-notify command changed the database (or an admin wants
  // notification resumed): re-read it, then notify whoever is still owed.
  ::signal(SIGPIPE, SIG_IGN);
  // ORDER: ignored before their watchers exist, so that each watcher hands
  // back "ignore" when it goes: the watchers die first in teardown, and a
  // signal after that must not kill the process before the rpcbind entries
  // are gone.  (One arriving in the microseconds between the two steps is
  // lost; readiness is reported only later.)
  for (int quit_signal : {SIGTERM, SIGINT, SIGHUP}) ::signal(quit_signal, SIG_IGN);
  bool quitting = false;
  auto quit = [&](const char* name) { Quit(name, quitting, loop, *log, **nsm, tracking.get()); };
  SignalWatcher on_term(loop, SIGTERM, [&] { quit("SIGTERM"); });
  SignalWatcher on_int(loop, SIGINT, [&] { quit("SIGINT"); });
  SignalWatcher on_hup(loop, SIGHUP, [&] { quit("SIGHUP"); });
  SignalWatcher on_usr1(loop, SIGUSR1, [&] { (*nsm)->Reload([](Status) {}); });
  // Only this (the loop) thread takes SIGUSR1; a pending one arrives now.
  if (Status s = UnblockSignal(SIGUSR1); !s.ok()) return startup.Fail("SIGUSR1", s);

  startup.Ready(StrCat("NSM registered with rpcbind",
                       config.nsm.port != 0 ? StrCat(" on port ", config.nsm.port) : "",
                       config.nfs4 ? ", NFSv4 client tracking on " + config.tracking.pipe_path
                                   : ", NFSv4 client tracking off"));
  Status ran = loop.Run();
  if (!ran.ok()) log->Error(StrCat("Event loop: ", ran.ToString()));
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
  if (base == "sm-notify" || base == "nfsrec-notify") return nfsrec::NotifyMain(args);
  if (args.size() > 1 && args[1] == "--sm-notify") {
    args.erase(args.begin() + 1);
    return nfsrec::NotifyMain(args);
  }

  const char* env = std::getenv("RPC_STATD_NO_NOTIFY");
  nfsrec::options::ParseResult<nfsrec::CommandLine> cl =
      nfsrec::ParseCommandLine(args, env ? env : "", [](const std::string& path) {
        nfsrec::RealFileSystem files;
        return nfsrec::NfsConf::Load(files, path, nfsrec::GetEnv);
      });
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
