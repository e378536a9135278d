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
      return Status::Busy("pid file " + path + " is locked by another process");
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
