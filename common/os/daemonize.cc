#include "common/os/daemonize.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "common/os/signals.h"

namespace nfsrec {

void ReadinessPipe::Report(int code) {
  if (!fd_) return;
  unsigned char c = static_cast<unsigned char>(code);
  ssize_t ignored = ::write(fd_.get(), &c, 1);
  (void)ignored;
  fd_.reset();
}

Result<ReadinessPipe> Daemonize() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return PosixError("pipe", errno);
  UniqueFd rd(fds[0]);
  UniqueFd wr(fds[1]);
  pid_t pid = ::fork();
  if (pid < 0) return PosixError("fork", errno);
  if (pid > 0) {
    // This process only waits for the report: a quit signal ends it at once
    // (the child goes on), whatever the caller blocked for the child.
    (void)UnblockSignals({SIGTERM, SIGINT, SIGHUP});
    wr.reset();
    unsigned char c = 1;
    ssize_t n;
    do {
      n = ::read(rd.get(), &c, 1);
    } while (n < 0 && errno == EINTR);
    if (n == 1) ::_exit(c);
    // The child died without reporting: pass its status on.
    int status = 0;
    if (::waitpid(pid, &status, 0) == pid && WIFEXITED(status)) ::_exit(WEXITSTATUS(status));
    ::_exit(1);
  }
  rd.reset();
  if (::setsid() < 0) return PosixError("setsid", errno);
  if (::chdir("/") != 0) return PosixError("chdir /", errno);
  UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null) return PosixError("open /dev/null", errno);
  for (int target = 0; target <= 2; ++target) {
    if (::dup2(null.get(), target) < 0) return PosixError("dup2", errno);
  }
  return ReadinessPipe(std::move(wr));
}

}  // namespace nfsrec
