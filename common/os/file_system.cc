#include "common/os/file_system.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <optional>
#include <utility>

#include "common/base/logging.h"
#include "common/base/unique_fd.h"

namespace nfsrec {

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}
namespace {

FileType TypeOfMode(mode_t mode) {
  if (S_ISREG(mode)) return FileType::kRegular;
  if (S_ISDIR(mode)) return FileType::kDirectory;
  if (S_ISLNK(mode)) return FileType::kSymlink;
  return FileType::kOther;
}

std::optional<FileType> TypeOfDirent(unsigned char d_type) {
  switch (d_type) {
    case DT_REG:
      return FileType::kRegular;
    case DT_DIR:
      return FileType::kDirectory;
    case DT_LNK:
      return FileType::kSymlink;
    case DT_UNKNOWN:
      return std::nullopt;
    default:
      return FileType::kOther;
  }
}

}  // namespace

RealFileSystem::RealFileSystem(std::string proc_root) : proc_root_(std::move(proc_root)) {
  while (!proc_root_.empty() && proc_root_.back() == '/') proc_root_.pop_back();
}

std::string RealFileSystem::Resolve(const std::string& path) const {
  const bool under_proc = path == "/proc" || path.rfind("/proc/", 0) == 0;
  return under_proc ? proc_root_ + path : path;
}

Result<std::string> RealFileSystem::ReadSmallFile(const std::string& name,
                                                  const ReadFileOptions& options) {
  const std::string path = Resolve(name);
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
      if (options.truncate) {
        text.resize(options.max_bytes);
        return text;
      }
      return Status::InvalidArgument(StrCat(path, ": larger than ", options.max_bytes, " bytes"));
    }
  }
}

Status RealFileSystem::WriteExistingFile(const std::string& name, std::string_view data) {
  const std::string path = Resolve(name);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) return PosixError("open " + path, errno);
  ssize_t n;
  do {
    n = ::write(fd.get(), data.data(), data.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return PosixError("write " + path, errno);
  if (static_cast<size_t>(n) != data.size()) return Status::IOError("short write to " + path);
  return Status::Ok();
}

Result<std::vector<DirEntry>> RealFileSystem::ListDirectory(const std::string& name) {
  const std::string path = Resolve(name);
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(path.c_str()), ::closedir);
  if (!dir) {
    const int err = errno;
    if (err == ENOTDIR) return Status::NotFound("opendir " + path + ": not a directory");
    return PosixError("opendir " + path, err);
  }
  std::vector<DirEntry> out;
  for (;;) {
    errno = 0;
    const dirent* e = ::readdir(dir.get());
    if (e == nullptr) {
      if (errno != 0) return PosixError("readdir " + path, errno);
      break;
    }
    std::string_view n = e->d_name;
    if (n == "." || n == "..") continue;
    std::optional<FileType> type = TypeOfDirent(e->d_type);
    if (!type) {
      // Filesystems without d_type: ask for the entry itself.
      struct stat st;
      type = ::fstatat(::dirfd(dir.get()), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0
                 ? TypeOfMode(st.st_mode)
                 : FileType::kOther;
    }
    out.push_back(DirEntry{std::string(n), *type});
  }
  std::sort(out.begin(), out.end(),
            [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return out;
}

}  // namespace nfsrec
