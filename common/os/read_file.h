// Whole small files (configuration, state files), read with a size bound so
// that a wrong path (a device, a huge log) fails instead of eating memory.
#pragma once

#include <cstddef>
#include <string>

#include "common/base/result.h"

namespace nfsrec {

struct ReadFileOptions {
  size_t max_bytes = 1 << 20;
  bool no_follow = false;    // O_NOFOLLOW: a symlink in the last component fails
  bool shared_lock = false;  // flock(LOCK_SH) first, for files rewritten under LOCK_EX
};

// The file's bytes.  NotFound if it does not exist; InvalidArgument if it is
// larger than max_bytes; otherwise the errno of the failing call.
Result<std::string> ReadSmallFile(const std::string& path, const ReadFileOptions& options);

}  // namespace nfsrec
