#include "daemon/process.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <optional>

#include "common/base/liveness.h"
#include "common/os/file_system.h"
#include "common/store/sqlite.h"
#include "config.h"

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace nfsrec {

std::unique_ptr<Logger> MakeLogger(const char* ident, bool to_stderr, bool debug) {
  if (to_stderr) return std::make_unique<StderrLogger>(ident, debug);
  return std::make_unique<SyslogLogger>(ident, debug);
}

void LogStart(Logger& log, const NfsConf& conf) {
  log.Notice(StrCat("Version ", PACKAGE_VERSION, " starting"));
  for (const std::string& f : conf.files()) log.Debug(StrCat("Read ", f));
  for (const std::string& w : conf.warnings()) log.Warning(StrCat("nfs.conf: ", w));
}

Status Startup::Detach() {
  if (foreground_) return Status::Ok();
  Result<ReadinessPipe> r = Daemonize();
  if (!r.ok()) return r.status().WithContext("cannot detach");
  ready_ = std::move(r).value();
  return Status::Ok();
}

int Startup::Fail(const std::string& what, const Status& why) {
  log_.Error(StrCat(what, ": ", why.ToString()));
  if (echo_) {
    std::fprintf(stderr, "%s: %s: %s\n", program_.c_str(), what.c_str(), why.ToString().c_str());
  }
  ready_.Report(1);
  return 1;
}

namespace {

// sd_notify's message goes to $NOTIFY_SOCKET, which systemd sets only for
// services that may report; elsewhere it does nothing.  The variable stays
// set so that STOPPING=1 can follow READY=1 (systemd takes reports only
// from the main process: NotifyAccess=main).
void NotifySystemd(const std::string& message) {
#ifdef HAVE_LIBSYSTEMD
  (void)sd_notify(0, message.c_str());
#else
  (void)message;
#endif
}

}  // namespace

void Startup::Ready(const std::string& status) {
  ready_.Report(0);
  std::string message = "READY=1";
  if (!status.empty()) message += "\nSTATUS=" + status;
  NotifySystemd(message);
}

void Startup::Stopping() { NotifySystemd("STOPPING=1\nSTATUS=stopping"); }

Result<std::unique_ptr<Pidfile>> TakePidfile(const std::string& path) {
  if (path.empty()) return std::unique_ptr<Pidfile>();
  return Pidfile::Create(path);
}

Result<std::unique_ptr<CommitQueue>> OpenStore(const std::string& db_path, EventLoop& loop,
                                               Logger* log) {
  // The database's own directory (common/store/database_location.h) is
  // made on first use; its owner and mode are the caller's business.
  const std::string dir = DirName(db_path);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return PosixError("create database directory " + dir +
                          " (its parent must exist and be writable, on a writable file system)",
                      errno);
  }
  NFSREC_ASSIGN_OR_RETURN(std::unique_ptr<sqlite::Db> db, sqlite::Db::Open(db_path));
  return std::make_unique<CommitQueue>(std::move(db), loop, log);
}

Status StartAndWait(EventLoop& loop, const std::function<void(Callback<void(Status)>)>& start,
                    std::chrono::seconds limit) {
  std::optional<Status> result;
  // A completion after the time-out must not write to this dead frame.
  Liveness liveness;  // ORDER: after result, so it dies first
  start(liveness.Guard([&result](Status s) { result = std::move(s); }));
  if (!loop.RunUntil([&] { return result.has_value(); }, limit)) {
    return Status::TimedOut("the store did not answer");
  }
  return *result;
}

}  // namespace nfsrec
