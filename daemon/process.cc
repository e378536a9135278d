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

namespace {

// "5 min", "90 s", "50 ms".
std::string LimitText(Duration limit) {
  using std::chrono::duration_cast;
  const auto ms = duration_cast<std::chrono::milliseconds>(limit).count();
  if (ms < 1000) return StrCat(ms, " ms");
  if (ms % 60000 == 0) return StrCat(ms / 60000, " min");
  return StrCat(ms / 1000, " s");
}

}  // namespace

std::string DatabaseNoAnswer(Duration limit) {
  return StrCat("the database did not answer in ", LimitText(limit),
                ": the disk or file system holding it does not respond; check it (dmesg), then "
                "start again");
}

std::string EtcdNoAnswer(const std::vector<std::string>& endpoints, const std::string& instance,
                         bool etcd_answers, bool held, Duration limit) {
  if (!etcd_answers) {
    std::string urls;
    for (const std::string& e : endpoints) urls += (urls.empty() ? "" : ",") + e;
    return StrCat("etcd did not answer in ", LimitText(limit), ": no member at etcd-endpoints (",
                  urls,
                  ") answered, or its members have no quorum (a majority must be up); start etcd "
                  "or bring a majority of its members back (etcdctl endpoint health), check "
                  "[nfsrecd] etcd-endpoints and the TLS files, then start again");
  }
  if (!held) {
    return StrCat("instance ", instance, " was still held by another owner after ",
                  LimitText(limit),
                  " (its node keeps renewing its lease): stop the nfsrecd serving it there, or "
                  "run 'nfsrecctl cluster remove-node NODE' if that node is gone for good, then "
                  "start again");
  }
  return StrCat("etcd did not complete the instance's loads in ", LimitText(limit),
                " although its members answer: check their health and load (etcdctl endpoint "
                "status), then start again");
}

Status StartAndWait(EventLoop& loop, const std::function<void(Callback<void(Status)>)>& start,
                    Duration limit, const NoAnswer& no_answer) {
  std::optional<Status> result;
  // A completion after the time-out must not write to this dead frame.
  Liveness liveness;  // ORDER: after result, so it dies first
  start(liveness.Guard([&result](Status s) { result = std::move(s); }));
  if (!loop.RunUntil([&] { return result.has_value(); }, limit)) {
    return Status::TimedOut(no_answer ? no_answer(limit) : DatabaseNoAnswer(limit));
  }
  return *result;
}

}  // namespace nfsrec
