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

#include "common/store/commit_queue.h"
#include "daemon/daemon_config.h"
#include "common/os/daemonize.h"
#include "common/os/event_loop.h"
#include "common/os/executor.h"
#include "common/os/file_system.h"
#include "common/base/logging.h"
#include "daemon/nfs_conf.h"
#include "common/os/resolver.h"
#include "common/store/sqlite.h"
#include "common/rpc/udp_rpc_client.h"
#include "common/base/unique_fd.h"
#include "config.h"
#include "statd/boot_notifier.h"
#include "statd/kernel_nsm.h"
#include "statd/legacy_state.h"
#include "statd/notify_engine.h"
#include "statd/nsm_service.h"
#include "statd/sqlite_nsm_store.h"

namespace nfsrec::statd {
namespace {

constexpr const char* kDefaultGuard = "/run/sm-notify.pid";

struct NotifyOptions {
  bool debug = false;
  bool force = false;
  int minutes = 15;
  bool update_state = true;
  bool lift_grace = true;
  uint16_t port = 0;
  std::string name;
  std::string state_dir = kDefaultStateDir;
  std::string proc_root;
  std::string guard = kDefaultGuard;
  std::string daemon_pidfile = "/run/rpc.statd.pid";
};

void Usage(const std::string& prog) {
  std::fprintf(stderr,
               "Usage: %s -notify [-dfn] [-m max-retry-minutes] [-p srcport] "
               "[-P /path/to/state/directory] [-v my_host_name]\n",
               prog.c_str());
}

// nfs.conf as sm-notify reads it: [sm-notify] force, retry-time (minutes),
// update-state, outgoing-port, outgoing-addr, lift-grace, and [statd]
// state-directory-path.  The command line then overrides.
Result<NotifyOptions> FromNfsConf(const NfsConf& conf) {
  NotifyOptions o;
  Result<std::optional<bool>> force = conf.GetBool("sm-notify", "force");
  Result<std::optional<int64_t>> minutes = conf.GetCount("sm-notify", "retry-time", 1000000);
  Result<std::optional<bool>> update = conf.GetBool("sm-notify", "update-state");
  Result<std::optional<uint16_t>> port = conf.GetPort("sm-notify", "outgoing-port");
  Result<std::optional<bool>> lift = conf.GetBool("sm-notify", "lift-grace");
  for (const Status* s : {&force.status(), &minutes.status(), &update.status(), &port.status(),
                          &lift.status()}) {
    if (!s->ok()) return *s;
  }
  o.force = force->value_or(o.force);
  o.minutes = static_cast<int>(minutes->value_or(o.minutes));
  o.update_state = update->value_or(o.update_state);
  o.port = port->value_or(o.port);
  o.lift_grace = lift->value_or(o.lift_grace);
  o.name = conf.Get("sm-notify", "outgoing-addr").value_or(o.name);
  o.state_dir = conf.Get("statd", "state-directory-path").value_or(o.state_dir);
  return o;
}

std::optional<NotifyOptions> Parse(const std::vector<std::string>& args, NotifyOptions o) {
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* out) {
      if (a.size() > 2 && a[1] != '-') {
        *out = a.substr(2);
        return true;
      }
      if (i + 1 >= args.size()) return false;
      *out = args[++i];
      return true;
    };
    std::string v;
    if (a == "-d") {
      o.debug = true;
    } else if (a == "-f") {
      o.force = true;
    } else if (a == "-n") {
      o.update_state = false;
    } else if (a.rfind("-m", 0) == 0) {
      if (!value(&v) || v.find_first_not_of("0123456789") != std::string::npos || v.empty()) {
        return std::nullopt;
      }
      o.minutes = std::atoi(v.c_str());
    } else if (a.rfind("-p", 0) == 0) {
      if (!value(&v)) return std::nullopt;
      int p = std::atoi(v.c_str());
      if (p < 1 || p > 65535) return std::nullopt;
      o.port = static_cast<uint16_t>(p);
    } else if (a.rfind("-v", 0) == 0) {
      if (!value(&o.name)) return std::nullopt;
    } else if (a.rfind("-P", 0) == 0) {
      if (!value(&o.state_dir)) return std::nullopt;
    } else if (a == "--proc-root" && i + 1 < args.size()) {
      o.proc_root = args[++i];
    } else if (a == "--guard-file" && i + 1 < args.size()) {
      o.guard = args[++i];
    } else if (a == "--daemon-pidfile" && i + 1 < args.size()) {
      o.daemon_pidfile = args[++i];
    } else if (a == "--config" && i + 1 < args.size()) {
      ++i;  // read before parsing (ConfigFileFromArgs)
    } else if (a.rfind("--config=", 0) == 0) {
    } else {
      return std::nullopt;
    }
  }
  return o;
}

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

int NotifyMain(const std::vector<std::string>& args) {
  std::string prog = args.empty() ? "sm-notify" : args[0];
  RealFileSystem conf_files;
  const NfsConf conf = NfsConf::Load(conf_files, ConfigFileFromArgs(args), GetEnv);
  Result<NotifyOptions> base = FromNfsConf(conf);
  if (!base.ok()) {
    std::fprintf(stderr, "%s: %s\n", prog.c_str(), base.status().message().c_str());
    return 1;
  }
  std::optional<NotifyOptions> o = Parse(args, std::move(base).value());
  if (!o) {
    Usage(prog);
    return 1;
  }
  std::unique_ptr<Logger> log;
  if (o->debug) {
    log = std::make_unique<StderrLogger>("sm-notify", true);
  } else {
    log = std::make_unique<SyslogLogger>("sm-notify", false);
  }
  log->Notice(StrCat("Version ", PACKAGE_VERSION, " starting"));
  for (const std::string& w : conf.warnings()) log->Warning(StrCat("nfs.conf: ", w));

  if (o->state_dir == kDefaultStateDir && !TakeGuard(o->guard, *log) && !o->force &&
      o->update_state) {
    log->Notice("Already notifying clients; Exiting!");
    return 0;
  }

  // ORDER: detach before any thread exists (fork keeps only the caller's
  // thread); the parent still exits only after the state is bumped and
  // published, when the child reports, as sm-notify's does.
  ReadinessPipe ready;
  if (!o->debug) {
    Result<ReadinessPipe> r = Daemonize();
    if (!r.ok()) {
      log->Error(StrCat("Cannot detach: ", r.status().ToString()));
      return 1;
    }
    ready = std::move(r.value());
  }

  Result<std::unique_ptr<EventLoop>> loop_r = EventLoop::Create();
  if (!loop_r.ok()) return 1;
  EventLoop& loop = *loop_r.value();
  LoopScheduler scheduler(loop);
  Result<std::unique_ptr<sqlite::Db>> db = sqlite::Db::Open(o->state_dir + "/nfsrecd.sqlite");
  if (!db.ok()) {
    log->Error(StrCat("Cannot open database: ", db.status().ToString()));
    return 1;
  }
  CommitQueue queue(std::move(db.value()), loop);
  Result<std::unique_ptr<SqliteNsmStore>> store = SqliteNsmStore::Open(queue);
  if (!store.ok()) {
    log->Error(StrCat("Database: ", store.status().ToString()));
    return 1;
  }
  Executor executor(loop);
  ThreadResolver resolver(executor, scheduler);
  RealFileSystem files(o->proc_root);
  ProcKernelNsm kernel(files);

  Result<NotifySockets> sockets = OpenNotifySockets(loop, o->port);
  if (!sockets.ok()) {
    log->Error(StrCat("Cannot create sockets: ", sockets.status().ToString()));
    return 1;
  }
  rpc::UdpRpcClient callback_client(*sockets->callback, scheduler, *log);
  rpc::UdpRpcClient notify_client(*sockets->notify, scheduler, *log);
  NotifyEngine::Options eopts;
  eopts.notify_window = std::chrono::minutes(o->minutes);
  NotifyEngine engine(callback_client, notify_client, resolver, scheduler, *log, eopts);
  NsmService service(*store.value(), resolver, kernel, engine, *log);

  std::optional<Status> started;
  service.Start(ReadLegacyStatd(files, o->state_dir), [&](Status s) { started = s; });
  if (!loop.RunUntil([&] { return started.has_value(); }, std::chrono::minutes(5)) ||
      !started->ok()) {
    log->Error(StrCat("Start-up: ", started.value_or(Status::TimedOut("store")).ToString()));
    return 1;
  }

  BootNotifier notifier(service, engine, kernel, *log,
                        BootNotifier::Options{o->name, o->lift_grace, o->update_state});
  std::optional<Result<BootNotifier::Summary>> summary;
  std::optional<std::pair<size_t, size_t>> result;
  // sm-notify is the boot notification itself: always a new boot for it.
  notifier.Run(
      ReadBootId(files), /*force=*/true,
      [&](Result<BootNotifier::Summary> s) { summary = std::move(s); },
      [&](size_t ok, size_t failed) {
        result = {ok, failed};
        loop.Stop();
      });
  if (!loop.RunUntil([&] { return summary.has_value(); }, std::chrono::minutes(5))) return 1;
  if (!summary->ok()) {
    log->Error(StrCat("Notification: ", summary->status().ToString()));
    ready.Report(1);
    return 1;
  }
  TellRunningDaemon(o->daemon_pidfile, *log);
  if (!o->debug) log->Notice("Backgrounding to notify hosts...");
  ready.Report(0);
  if (result.has_value()) return result->second == 0 ? 0 : 1;
  Status ran = loop.Run();
  if (!ran.ok() || !result.has_value()) return 1;
  return result->second == 0 ? 0 : 1;
}

}  // namespace nfsrec::statd
