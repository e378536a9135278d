#include "common/os/atomic_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace nfsrec {
namespace {

constexpr int kOpenFlags = O_CLOEXEC | O_NOFOLLOW;

Status WriteAll(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError("write " + what, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<AtomicDirectory>> AtomicDirectory::Open(const std::string& path, mode_t mode,
                                                               bool* created) {
  if (created != nullptr) *created = false;
  if (::mkdir(path.c_str(), mode) == 0) {
    if (created != nullptr) *created = true;
  } else if (errno != EEXIST) {
    return PosixError("create directory " + path, errno);
  }
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return PosixError("open directory " + path, errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return PosixError("stat " + path, errno);
  return std::unique_ptr<AtomicDirectory>(
      new AtomicDirectory(path, std::move(fd), st.st_uid, st.st_gid));
}

Status AtomicDirectory::OwnLikeDirectory(int fd, const std::string& name) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return PosixError("stat " + path_ + "/" + name, errno);
  if (st.st_uid == uid_ && st.st_gid == gid_) return Status::Ok();
  if (::fchown(fd, uid_, gid_) != 0) return PosixError("chown " + path_ + "/" + name, errno);
  return Status::Ok();
}

Status AtomicDirectory::WriteTemp(const std::string& name, std::string_view data, mode_t mode) {
  const std::string temp = TempName(name);
  NFSREC_RETURN_IF_ERROR(Remove(temp));
  UniqueFd fd(::openat(fd_.get(), temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | kOpenFlags, mode));
  if (!fd) return PosixError("create " + path_ + "/" + temp, errno);
  // The mode as asked, whatever the umask.
  if (::fchmod(fd.get(), mode) != 0) return PosixError("chmod " + path_ + "/" + temp, errno);
  NFSREC_RETURN_IF_ERROR(OwnLikeDirectory(fd.get(), temp));
  return WriteAll(fd.get(), data, path_ + "/" + temp);
}

Status AtomicDirectory::WriteFile(const std::string& name, std::string_view data, mode_t mode) {
  NFSREC_RETURN_IF_ERROR(WriteTemp(name, data, mode));
  return Commit(name);
}

Status AtomicDirectory::Stage(const std::string& name, std::string_view data, mode_t mode) {
  NFSREC_RETURN_IF_ERROR(WriteTemp(name, data, mode));
  staged_.push_back(name);
  return Status::Ok();
}

Status AtomicDirectory::CommitStaged() {
  if (staged_.empty()) return Status::Ok();
  // ORDER: the data of every temp file is on disk before any rename, so a
  // crash never leaves a renamed file without its content.
  if (durable_ && ::syncfs(fd_.get()) != 0) return PosixError("syncfs " + path_, errno);
  for (const std::string& name : staged_) {
    const std::string temp = TempName(name);
    if (::renameat(fd_.get(), temp.c_str(), fd_.get(), name.c_str()) != 0) {
      return PosixError("rename " + path_ + "/" + temp + " to " + name, errno);
    }
  }
  staged_.clear();
  return Status::Ok();
}

Status AtomicDirectory::Commit(const std::string& name) {
  const std::string temp = TempName(name);
  UniqueFd fd(::openat(fd_.get(), temp.c_str(), O_RDONLY | kOpenFlags));
  if (!fd) return PosixError("open " + path_ + "/" + temp, errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return PosixError("stat " + path_ + "/" + temp, errno);
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(path_ + "/" + temp + " is not a file");
  NFSREC_RETURN_IF_ERROR(OwnLikeDirectory(fd.get(), temp));
  if (durable_ && ::fsync(fd.get()) != 0) return PosixError("fsync " + path_ + "/" + temp, errno);
  if (::renameat(fd_.get(), temp.c_str(), fd_.get(), name.c_str()) != 0) {
    return PosixError("rename " + path_ + "/" + temp + " to " + name, errno);
  }
  return Status::Ok();
}

Status AtomicDirectory::Remove(const std::string& name) {
  if (::unlinkat(fd_.get(), name.c_str(), 0) != 0 && errno != ENOENT) {
    return PosixError("remove " + path_ + "/" + name, errno);
  }
  return Status::Ok();
}

Result<std::vector<std::string>> AtomicDirectory::RegularFiles() const {
  int dup = ::openat(fd_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dup < 0) return PosixError("open directory " + path_, errno);
  DIR* dir = ::fdopendir(dup);
  if (dir == nullptr) {
    int err = errno;
    ::close(dup);
    return PosixError("read directory " + path_, err);
  }
  std::unique_ptr<DIR, int (*)(DIR*)> owner(dir, &::closedir);
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    struct dirent* e = ::readdir(dir);
    if (e == nullptr) {
      if (errno != 0) return PosixError("read directory " + path_, errno);
      break;
    }
    if (e->d_name[0] == '.') continue;
    struct stat st;
    if (::fstatat(fd_.get(), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // gone
    if (S_ISREG(st.st_mode)) names.emplace_back(e->d_name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

Status AtomicDirectory::Sync() {
  if (durable_ && ::fsync(fd_.get()) != 0) return PosixError("fsync directory " + path_, errno);
  return Status::Ok();
}

}  // namespace nfsrec
