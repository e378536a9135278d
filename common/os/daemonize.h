// Detaching from the terminal with a readiness handshake: the parent
// returns from Daemonize() only in the child; the original process waits
// until the child reports Ready() (exit 0) or dies/reports failure (exit
// status from the child), so an init system sees "started" only once the
// service is really up (what systemd Type=forking expects).
#pragma once

#include "common/base/result.h"
#include "common/base/unique_fd.h"

namespace nfsrec {

class ReadinessPipe {
 public:
  ReadinessPipe() = default;
  explicit ReadinessPipe(UniqueFd fd) : fd_(std::move(fd)) {}
  // Tells the waiting parent to exit with `code` (0 = ready).  Idempotent.
  void Report(int code);
  bool attached() const { return fd_.valid(); }

 private:
  UniqueFd fd_;
};

// Forks; in the parent this never returns (it exits with the child's
// report).  In the child: new session, stdin/stdout/stderr on /dev/null,
// cwd "/".  Returns the pipe to report on.
Result<ReadinessPipe> Daemonize();

}  // namespace nfsrec
