#include "common/os/effective_owner.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/base/logging.h"

namespace nfsrec {

Result<EffectiveOwner> EffectiveOwner::Become(const std::string& dir) {
  EffectiveOwner owner;
  if (::geteuid() != 0) return owner;
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    // Nothing there to create files in: the caller's open says so better.
    if (errno == ENOENT) return owner;
    return PosixError("stat " + dir, errno);
  }
  if (st.st_uid == 0) return owner;
  owner.saved_gid_ = ::getegid();
  if (::setegid(st.st_gid) != 0) return PosixError(StrCat("setegid ", st.st_gid), errno);
  if (::seteuid(st.st_uid) != 0) {
    const int err = errno;
    // The uids never changed, so this restores the gid (as root).
    if (::setegid(owner.saved_gid_) != 0) return PosixError("setegid back", errno);
    return PosixError(StrCat("seteuid ", st.st_uid), err);
  }
  owner.active_ = true;
  return owner;
}

EffectiveOwner::EffectiveOwner(EffectiveOwner&& other) noexcept
    : active_(other.active_), saved_gid_(other.saved_gid_) {
  other.active_ = false;
}

EffectiveOwner::~EffectiveOwner() {
  if (!active_) return;
  // Cannot fail: the real and saved uid are still 0.  Were it to, the
  // root-only steps after this fail with EPERM and say so.
  if (::seteuid(0) != 0) return;
  if (::setegid(saved_gid_) != 0) return;
}

}  // namespace nfsrec
