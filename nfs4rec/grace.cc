#include "nfs4rec/grace.h"

#include <charconv>
#include <chrono>
#include <string>
#include <utility>

#include "common/base/logging.h"

namespace nfsrec::nfs4rec {

Status WriteEndGrace(FileSystem& fs) { return fs.WriteExistingFile(kV4EndGracePath, "Y"); }

Result<Duration> ReadGraceTime(FileSystem& fs) {
  NFSREC_ASSIGN_OR_RETURN(
      const std::string text,
      fs.ReadSmallFile(kNfsdGraceTimePath, ReadFileOptions{.max_bytes = 64, .truncate = true}));
  int64_t seconds = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, seconds);
  if (ec != std::errc() || seconds <= 0 || (p != end && *p != '\n')) {
    return Status::Corruption(StrCat("unreadable grace time in ", kNfsdGraceTimePath));
  }
  return Duration(std::chrono::seconds(seconds));
}

ProcGraceControl::ProcGraceControl(Executor& executor, std::shared_ptr<FileSystem> fs)
    : executor_(executor), fs_(std::move(fs)) {}

void ProcGraceControl::EndGrace(Callback<void(Status)> done) {
  executor_.Run(
      liveness_.token(), [fs = fs_] { return WriteEndGrace(*fs); },
      [done = std::move(done)](Status st) mutable { done(std::move(st)); });
}

void ProcGraceControl::ReadGraceTime(Callback<void(Result<Duration>)> done) {
  executor_.Run(
      liveness_.token(), [fs = fs_] { return nfs4rec::ReadGraceTime(*fs); },
      [done = std::move(done)](Result<Duration> r) mutable { done(std::move(r)); });
}

}  // namespace nfsrec::nfs4rec
