#include "common/os/read_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

#include "common/base/logging.h"
#include "common/base/unique_fd.h"

namespace nfsrec {

Result<std::string> ReadSmallFile(const std::string& path, const ReadFileOptions& options) {
  // O_NONBLOCK: a FIFO in the file's place reads as empty instead of
  // stalling the caller; it changes nothing for a regular file.
  UniqueFd fd(::open(path.c_str(),
                     O_RDONLY | O_CLOEXEC | O_NONBLOCK | (options.no_follow ? O_NOFOLLOW : 0)));
  if (!fd) return PosixError("open " + path, errno);
  if (options.shared_lock && ::flock(fd.get(), LOCK_SH) != 0) {
    return PosixError("flock " + path, errno);
  }
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError("read " + path, errno);
    }
    if (n == 0) return text;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > options.max_bytes) {
      return Status::InvalidArgument(StrCat(path, ": larger than ", options.max_bytes, " bytes"));
    }
  }
}

}  // namespace nfsrec
