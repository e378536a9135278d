// EffectiveOwner: files created in a database directory belong to its owner.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/base/result.h"

namespace nfsrec {

// For a command run as root that opens a database another user owns
// (nfsrecctl's listings, export, and offline remove, expire and import): while an EffectiveOwner
// lives, the effective uid and gid are those of the directory's owner, so
// every file SQLite creates there (-wal, -shm) is that user's even if the
// command dies, and the daemon, which runs as that user, can always open
// them.  Effective ids only, restored by the destructor; glibc applies them
// to every thread.  Inactive (changes nothing) unless the effective uid is 0
// and the directory exists and belongs to another user.
class EffectiveOwner {
 public:
  static Result<EffectiveOwner> Become(const std::string& dir);
  EffectiveOwner(EffectiveOwner&& other) noexcept;
  EffectiveOwner& operator=(EffectiveOwner&&) = delete;
  ~EffectiveOwner();
  bool active() const { return active_; }

 private:
  EffectiveOwner() = default;
  bool active_ = false;
  gid_t saved_gid_ = 0;
};

}  // namespace nfsrec
