#include "common/base/status.h"

#include <cerrno>
#include <cstring>
#include <string>

namespace nfsrec {
namespace {

const char* CodeName(Status::Code code) {
  switch (code) {
    case Status::Code::kOk:
      return "OK";
    case Status::Code::kNotFound:
      return "Not found";
    case Status::Code::kInvalidArgument:
      return "Invalid argument";
    case Status::Code::kIOError:
      return "IO error";
    case Status::Code::kCorruption:
      return "Corruption";
    case Status::Code::kBusy:
      return "Busy";
    case Status::Code::kUnavailable:
      return "Unavailable";
    case Status::Code::kPermissionDenied:
      return "Permission denied";
    case Status::Code::kAlreadyExists:
      return "Already exists";
    case Status::Code::kTimedOut:
      return "Timed out";
    case Status::Code::kUnsupported:
      return "Unsupported";
    case Status::Code::kFailedPrecondition:
      return "Failed precondition";
  }
  return "Unknown";
}

}  // namespace

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s = CodeName(code());
  if (!rep_->message.empty()) {
    s += ": ";
    s += rep_->message;
  }
  return s;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  std::string msg(context);
  msg += ": ";
  msg += rep_->message;
  return Status(rep_->code, msg);
}

Status PosixError(std::string_view context, int err) {
  std::string msg(context);
  msg += ": ";
  msg += std::strerror(err);
  switch (err) {
    case ENOENT:
      return Status::NotFound(msg);
    case EACCES:
    case EPERM:
    case EROFS:
      return Status::PermissionDenied(msg);
    case EEXIST:
      return Status::AlreadyExists(msg);
    case EINVAL:
      return Status::InvalidArgument(msg);
    case EAGAIN:
    case EBUSY:
      return Status::Busy(msg);
    case ETIMEDOUT:
      return Status::TimedOut(msg);
    case ECONNREFUSED:
    case EHOSTUNREACH:
    case ENETUNREACH:
      return Status::Unavailable(msg);
    case ENOTSUP:
      return Status::Unsupported(msg);
    default:
      return Status::IOError(msg);
  }
}

}  // namespace nfsrec
