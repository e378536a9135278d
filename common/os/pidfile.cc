#include "common/os/pidfile.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace nfsrec {

Result<std::unique_ptr<Pidfile>> Pidfile::Create(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!fd) return PosixError("open pid file " + path, errno);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      // The holder wrote its pid there; name it, and what stops it.
      char text[32] = {};
      const ssize_t n = ::pread(fd.get(), text, sizeof(text) - 1, 0);
      std::string pid = n > 0 ? std::string(text, static_cast<size_t>(n)) : std::string();
      while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
      if (pid.find_first_not_of("0123456789") != std::string::npos) pid.clear();
      return Status::Busy("pid file " + path + " is locked by another process" +
                          (pid.empty() ? "" : " (pid " + pid + ")") +
                          ": an nfsrecd is already running with this pid file. Stop it first "
                          "(systemctl stop nfsrecd.service" +
                          (pid.empty() ? "" : ", or kill " + pid) +
                          "), or give this one another pid file (--pidfile)");
    }
    return PosixError("lock pid file " + path, errno);
  }
  if (::ftruncate(fd.get(), 0) != 0) return PosixError("truncate pid file " + path, errno);
  std::string line = std::to_string(::getpid()) + "\n";
  if (::pwrite(fd.get(), line.data(), line.size(), 0) != static_cast<ssize_t>(line.size())) {
    return PosixError("write pid file " + path, errno);
  }
  return std::unique_ptr<Pidfile>(new Pidfile(path, std::move(fd)));
}

Pidfile::~Pidfile() {
  if (fd_) {
    int ignored = ::ftruncate(fd_.get(), 0);
    (void)ignored;
  }
}

}  // namespace nfsrec
