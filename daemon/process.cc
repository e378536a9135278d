#include "daemon/process.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <optional>

#include "common/base/liveness.h"
#include "common/os/file_system.h"
#include "common/store/database_location.h"
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

// The database directory could not be made: the cause, and the fix.
Status MakeDirError(const std::string& dir, int err) {
  return PosixError("create database directory " + dir +
                        " (its parent must exist and be writable, on a writable file system)",
                    err);
}

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
  // The database's directory exists: PrepareDatabaseDir made it, with the
  // owner and mode the privilege plan needs.
  NFSREC_ASSIGN_OR_RETURN(std::unique_ptr<sqlite::Db> db, sqlite::Db::Open(db_path));
  return std::make_unique<CommitQueue>(std::move(db), loop, log);
}

namespace {

constexpr const char* kSqliteCompanions[] = {"-wal", "-shm"};

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// ORDER: -wal and -shm first, the database last: interrupted, the next
// start finds no database at the new path and moves again, and a WAL
// already moved lies where the database will be.
Status MoveLegacyDatabase(const std::string& from, const std::string& to, Logger& log) {
  if (!Exists(from) || Exists(to)) return Status::Ok();
  for (const char* suffix : kSqliteCompanions) {
    const std::string f = from + suffix;
    if (Exists(f) && ::rename(f.c_str(), (to + suffix).c_str()) != 0) {
      return PosixError(StrCat("move ", f, " to ", to, suffix), errno);
    }
  }
  if (::rename(from.c_str(), to.c_str()) != 0)
    return PosixError("move " + from + " to " + to, errno);
  for (const std::string& dir : {DirName(from), DirName(to)}) {
    UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (d) (void)::fsync(d.get());
  }
  log.Notice(StrCat("Moved the database ", from, " to ", to));
  return Status::Ok();
}

}  // namespace

Status PrepareDatabaseDir(const std::string& db_dir, const std::string& legacy_db,
                          const PrivilegePlan& plan, Logger& log) {
  if (::mkdir(db_dir.c_str(), 0700) != 0 && errno != EEXIST) return MakeDirError(db_dir, errno);
  const std::string db = DatabaseFile(db_dir);
  NFSREC_RETURN_IF_ERROR(MoveLegacyDatabase(legacy_db, db, log));
  if (plan.action != PrivilegePlan::Action::kDrop) return Status::Ok();
  UniqueFd dir(::open(db_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  struct stat st;
  if (!dir && errno == EACCES && ::stat(db_dir.c_str(), &st) == 0 && st.st_uid == plan.uid) {
    // Already the user's and closed to others (root without
    // CAP_DAC_OVERRIDE cannot look in): what is inside is theirs.
    return Status::Ok();
  }
  if (!dir) return PosixError("open database directory " + db_dir, errno);
  UniqueFd file(::openat(dir.get(), kDatabaseFileName,
                         O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600));
  if (!file && errno == EACCES && ::fstat(dir.get(), &st) == 0 && st.st_uid == plan.uid) {
    // No database yet in a directory already the user's, which root with
    // CAP_DAC_READ_SEARCH but without CAP_DAC_OVERRIDE (the unit's bounding
    // set) may enter but not write: the user creates it after the drop.
    return Status::Ok();
  }
  if (!file) return PosixError("create database " + db, errno);
  if (::fchown(file.get(), plan.uid, plan.gid) != 0) return PosixError("hand over " + db, errno);
  for (const char* suffix : kSqliteCompanions) {
    const std::string name = std::string(kDatabaseFileName) + suffix;
    if (::fchownat(dir.get(), name.c_str(), plan.uid, plan.gid, AT_SYMLINK_NOFOLLOW) != 0 &&
        errno != ENOENT) {
      return PosixError("hand over " + db + suffix, errno);
    }
  }
  // ORDER: the directory last, its mode before its owner: once it is the
  // user's, root without CAP_FOWNER can no longer change its mode, nor,
  // without CAP_DAC_OVERRIDE, reach what is inside.
  if (::fchmod(dir.get(), 0700) != 0 || ::fchown(dir.get(), plan.uid, plan.gid) != 0) {
    return PosixError("hand over database directory " + db_dir, errno);
  }
  return Status::Ok();
}

Status HandOverPidfile(const std::string& path, const PrivilegePlan& plan) {
  if (path.empty() || plan.action != PrivilegePlan::Action::kDrop) return Status::Ok();
  if (::lchown(path.c_str(), plan.uid, plan.gid) != 0) return PosixError("chown " + path, errno);
  return Status::Ok();
}

Status ReclaimPidfile(const std::string& path, const PrivilegePlan& plan) {
  if (path.empty() || plan.action == PrivilegePlan::Action::kNone) return Status::Ok();
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid == 0) {
    return Status::Ok();
  }
  if (::lchown(path.c_str(), 0, 0) != 0) return PosixError("chown " + path, errno);
  return Status::Ok();
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
