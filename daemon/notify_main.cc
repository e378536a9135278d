#include "daemon/notify_main.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "common/base/logging.h"
#include "common/base/unique_fd.h"
#include "common/os/event_loop.h"
#include "common/os/executor.h"
#include "common/os/file_system.h"
#include "common/os/privileges.h"
#include "common/store/commit_queue.h"
#include "common/store/database_location.h"
#include "daemon/daemon_config.h"
#include "daemon/nfs_conf.h"
#include "daemon/notify_config.h"
#include "daemon/notify_source.h"
#include "daemon/nsm_endpoint.h"
#include "daemon/process.h"
#include "statd/boot_notifier.h"
#include "statd/notify_engine.h"
#include "statd/nsm_daemon.h"

namespace nfsrec {
namespace {

// True if we may proceed: the guard did not exist (and now does).
bool TakeGuard(const std::string& path, Logger& log) {
  UniqueFd fd(::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600));
  if (!fd) {
    if (errno == EEXIST) return false;
    log.Warning(StrCat("Cannot create ", path, ": ", std::strerror(errno)));
    return true;
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  ssize_t ignored = ::write(fd.get(), pid.data(), pid.size());
  (void)ignored;
  return true;
}

// A running nfsrecd holds a lock on its pid file.  It keeps its monitor
// list in memory, so after we moved that list in the database it must
// re-read it: SIGUSR1 makes it reload.
void TellRunningDaemon(const std::string& pidfile, Logger& log) {
  UniqueFd fd(::open(pidfile.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return;
  if (::flock(fd.get(), LOCK_SH | LOCK_NB) == 0) return;  // nobody holds it
  char buf[32] = {};
  if (::read(fd.get(), buf, sizeof(buf) - 1) <= 0) return;
  pid_t pid = static_cast<pid_t>(std::atoi(buf));
  if (pid <= 1 || pid == ::getpid()) return;
  if (::kill(pid, SIGUSR1) == 0) {
    log.Info(StrCat("Told nfsrecd (pid ", pid, ") to reload its monitor list"));
  }
}

}  // namespace

int RunNotifyCommand(const NotifyCommandConfig& config, const NfsConf& conf) {
  std::unique_ptr<Logger> log =
      MakeLogger("sm-notify", config.debug, config.debug || config.log_debug);
  LogStart(*log, conf);
  if (config.nsm.state_dir == statd::kDefaultStateDir && !TakeGuard(config.guard_file, *log) &&
      !config.force && config.nsm.update_state) {
    log->Notice("Already notifying clients; Exiting!");
    return 0;
  }

  // Whom to run as once the state is bumped and published: the owner of
  // sm/, as the daemon.
  Result<PrivilegePlan> plan = PlanPrivilegeDrop(config.nsm.state_dir, ::getuid());
  if (!plan.ok()) {
    log->Error(plan.status().ToString());
    return 1;
  }

  // ORDER: detach before any thread exists (fork keeps only the caller's
  // thread); the parent still exits only after the state is bumped and
  // published, when the child reports, as sm-notify's does.
  Startup startup(*log, "sm-notify", /*foreground=*/config.debug, /*echo=*/false);
  if (Status s = startup.Detach(); !s.ok()) return startup.Fail("Start-up", s);
  // ORDER: the database, opened as root, must be the user's: SQLite gives
  // its -wal and -shm the database file's owner when it makes them as root.
  const std::string db_path = DatabasePath(config.nsm.state_dir);
  if (Status s =
          PrepareDatabaseDir(DirName(db_path), DatabaseFile(config.nsm.state_dir), *plan, *log);
      !s.ok()) {
    return startup.Fail("Database directory", s);
  }
  Result<std::unique_ptr<EventLoop>> loop_r = EventLoop::Create();
  if (!loop_r.ok()) return startup.Fail("Event loop", loop_r.status());
  EventLoop& loop = **loop_r;
  LoopScheduler scheduler(loop);
  Executor executor(loop);
  RealFileSystem files(config.proc_root);
  Result<std::unique_ptr<CommitQueue>> queue = OpenStore(db_path, loop);
  if (!queue.ok()) return startup.Fail("Cannot open database", queue.status());
  // rpc.statd's files are kept current by the daemon, which reloads when
  // told below (statd/sm_mirror.h).
  statd::NsmOptions nsm_options = config.nsm;
  nsm_options.mirror_sm = false;
  // Still root: the notify socket gets its full receive buffer.
  Result<statd::NotifySockets> sockets =
      statd::OpenNotifySockets(loop, *log, nsm_options.outgoing_port, nsm_options.notify_source);
  if (!sockets.ok()) return startup.Fail("Start-up", sockets.status());
  Result<std::unique_ptr<statd::NsmDaemon>> nsm = statd::NsmDaemon::Create(
      loop, scheduler, executor, files, *log, **queue, std::move(sockets).value(), nsm_options);
  if (!nsm.ok()) return startup.Fail("Start-up", nsm.status());
  Status started = StartAndWait(loop, [&](auto done) { (*nsm)->Start(std::move(done)); });
  if (!started.ok()) return startup.Fail("Start-up", started);

  std::optional<Result<statd::BootNotifier::Summary>> summary;
  std::optional<std::pair<size_t, size_t>> result;
  // sm-notify is the boot notification itself: always a new boot for it.
  (*nsm)->RunBootNotification(
      /*force=*/true, [&](Result<statd::BootNotifier::Summary> s) { summary = std::move(s); },
      [&](size_t ok, size_t failed) {
        result = {ok, failed};
        loop.Stop();
      });
  if (!loop.RunUntil([&] { return summary.has_value(); }, std::chrono::minutes(5))) return 1;
  if (!summary->ok()) {
    return startup.Fail("Notification", summary->status());
  }
  // ORDER: the drop comes after the state bump and the kernel write, as
  // sm-notify's does; the commit thread and the executor's workers exist by
  // now and lose every capability with the uid change.
  if (Status s = ApplyPrivilegePlan(*plan, *log, OtherThreads::kLoseEverything); !s.ok()) {
    return startup.Fail("Dropping privileges", s);
  }
  TellRunningDaemon(config.daemon_pidfile, *log);
  if (!config.debug) log->Notice("Backgrounding to notify hosts...");
  startup.Ready();
  if (result.has_value()) return result->second == 0 ? 0 : 1;
  Status ran = loop.Run();
  if (!ran.ok() || !result.has_value()) return 1;
  return result->second == 0 ? 0 : 1;
}

int NotifyMain(const std::vector<std::string>& args) {
  std::string prog = args.empty() ? "sm-notify" : args[0];
  if (auto slash = prog.rfind('/'); slash != std::string::npos) prog = prog.substr(slash + 1);
  options::ParseResult<NotifyCommandLine> cl =
      ParseNotifyCommandLine(args, [](const std::string& path) {
        RealFileSystem files;
        return NfsConf::Load(files, path, GetEnv);
      });
  if (!cl.ok()) {
    return options::ReportError(prog, cl.status(), NotifyErrorReply(cl.status().kind),
                                NotifyUsage(prog), stderr);
  }
  // What sm-notify checks before it detaches, with the reason on stderr
  // (after detaching, failures go to the log only): the state directory
  // (-P), then -v's source address and announced name (an address
  // without a reverse name is refused).  Exit status 1, as sm-notify's.
  for (Status s :
       {CheckStateDirectory(cl->config.nsm.state_dir), ApplyNotifySource(cl->config.nsm)}) {
    if (s.ok()) continue;
    std::fprintf(stderr, "%s: %s\n", prog.c_str(), s.message().c_str());
    return 1;
  }
  return RunNotifyCommand(cl->config, cl->conf);
}

}  // namespace nfsrec
