// Start-up steps shared by the daemon and the sm-notify command: the
// logger, detaching with a readiness report, the pid file, the database,
// and waiting on the loop for an asynchronous start.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/base/callback.h"
#include "common/base/clock.h"
#include "common/base/logging.h"
#include "common/base/result.h"
#include "common/os/daemonize.h"
#include "common/os/event_loop.h"
#include "common/os/pidfile.h"
#include "common/os/privileged_helper.h"
#include "common/os/privileges.h"
#include "common/store/commit_queue.h"
#include "daemon/nfs_conf.h"

namespace nfsrec {

// stderr when asked, else syslog (as rpc.statd).  `ident` must be a
// literal: openlog() keeps the pointer.
std::unique_ptr<Logger> MakeLogger(const char* ident, bool to_stderr, bool debug);

// The version line, which nfs.conf files were read, and their warnings.
void LogStart(Logger& log, const NfsConf& conf);

// A start-up in progress: detaches (unless in the foreground) and reports
// the outcome to the waiting parent, and to systemd when started as a
// Type=notify service (sd_notify; a no-op without libsystemd or outside
// systemd).  Fail() logs, tells the parent, and returns the exit status;
// destroying a Startup that never reported makes the parent exit with the
// child's status.
class Startup {
 public:
  // With `echo`, failures are also printed to stderr, prefixed with
  // `program` (the daemon in the foreground; the log may be syslog).
  Startup(Logger& log, std::string program, bool foreground, bool echo)
      : log_(log), program_(std::move(program)), foreground_(foreground), echo_(echo) {}

  // ORDER: before any thread or socket the child must own (fork keeps only
  // the calling thread).  The parent never returns from here.
  Status Detach();
  // Exit status 1, after logging "what: why" (and echoing it).
  int Fail(const std::string& what, const Status& why);
  // READY=1 with `status` (one line) as systemd's STATUS=.
  void Ready(const std::string& status = "");
  // STOPPING=1: a quit signal has started teardown.
  static void Stopping();

 private:
  Logger& log_;
  std::string program_;
  bool foreground_;
  bool echo_;
  ReadinessPipe ready_;
};

// The pid file, or nothing for an empty path.
Result<std::unique_ptr<Pidfile>> TakePidfile(const std::string& path);

// The shared database at `db_path` (its directory made by
// PrepareDatabaseDir) and its commit queue, which reports to
// `log` (if given) when the file is replaced under it.
Result<std::unique_ptr<CommitQueue>> OpenStore(const std::string& db_path, EventLoop& loop,
                                               Logger* log = nullptr);

// While still root, before the drop: the database's directory `db_dir`
// becomes the user's (made mode 0700 if missing; the mode and owner of an
// existing one are set again unless it is the user's already and closed to
// a root without CAP_DAC_OVERRIDE), a database left at `legacy_db` (the path
// before the database had a directory of its own) is moved in with its
// -wal and -shm unless one is already there, and the database file is
// made (empty, which SQLite takes for a new database) and handed over with
// its -wal and -shm, so that what SQLite creates later, as root or not,
// belongs to the user too.  Without a drop only the directory is made and
// the legacy database moved.
Status PrepareDatabaseDir(const std::string& db_dir, const std::string& legacy_db,
                          const PrivilegePlan& plan, Logger& log);

// The pid file becomes the user's (as rpc.statd's does).
Status HandOverPidfile(const std::string& path, const PrivilegePlan& plan);

// Before the pid file is opened, as root: one left by a run that dropped
// (truncated, not removed, at exit) is given back to root, which without
// CAP_DAC_OVERRIDE could not open it otherwise.  A running instance keeps
// its descriptor and its lock, so it is still found.
Status ReclaimPidfile(const std::string& path, const PrivilegePlan& plan);

// How long start-up waits for each step that completes through the loop.
inline constexpr std::chrono::minutes kStartLimit{5};

// What a start-up step that ran out of time says: what did not answer and
// the fix, given how long it waited.
using NoAnswer = std::function<std::string(Duration limit)>;

// SQLite's commit thread did not finish: its disk or file system hangs.
std::string DatabaseNoAnswer(Duration limit);

// On etcd, from the cluster's figures when the time ran out
// (ClusterMode::Figures): no endpoint answered or there is no quorum
// (!etcd_answers), another live owner kept the instance (!held), or etcd
// answered too slowly.
std::string EtcdNoAnswer(const std::vector<std::string>& endpoints, const std::string& instance,
                         bool etcd_answers, bool held, Duration limit);

// Starts something that completes through the loop (a store load) and runs
// the loop until it has: start(done) must call done exactly once.  TimedOut
// after `limit`, with the message no_answer(limit).
Status StartAndWait(EventLoop& loop, const std::function<void(Callback<void(Status)>)>& start,
                    Duration limit = kStartLimit, const NoAnswer& no_answer = DatabaseNoAnswer);

}  // namespace nfsrec
