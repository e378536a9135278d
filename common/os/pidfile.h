// Pidfile: "<pid>\n" in a file that stays locked (flock) while we run, so a
// second instance fails fast.  The file is truncated, not unlinked, when the
// owner goes away (rpc.statd does the same; scripts test it for emptiness).
#pragma once

#include <memory>
#include <string>

#include "common/base/result.h"
#include "common/base/unique_fd.h"

namespace nfsrec {

class Pidfile {
 public:
  // Busy if another process holds the lock.
  static Result<std::unique_ptr<Pidfile>> Create(const std::string& path);
  ~Pidfile();
  Pidfile(const Pidfile&) = delete;
  Pidfile& operator=(const Pidfile&) = delete;

 private:
  Pidfile(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  std::string path_;
  UniqueFd fd_;
};

}  // namespace nfsrec
