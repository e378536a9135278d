// Start-up steps shared by the daemon and the sm-notify command: the
// logger, detaching with a readiness report, the pid file, the database,
// and waiting on the loop for an asynchronous start.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/base/callback.h"
#include "common/base/logging.h"
#include "common/base/result.h"
#include "common/os/daemonize.h"
#include "common/os/event_loop.h"
#include "common/os/pidfile.h"
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

// The shared database at `db_path` and its commit queue, which reports to
// `log` (if given) when the file is replaced under it.
Result<std::unique_ptr<CommitQueue>> OpenStore(const std::string& db_path, EventLoop& loop,
                                               Logger* log = nullptr);

// Starts something that completes through the loop (a store load) and runs
// the loop until it has: start(done) must call done exactly once.  TimedOut
// after `limit`.
Status StartAndWait(EventLoop& loop, const std::function<void(Callback<void(Status)>)>& start,
                    std::chrono::seconds limit = std::chrono::minutes(5));

}  // namespace nfsrec
