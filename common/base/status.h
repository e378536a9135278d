// Status: the outcome of an operation that can fail, as a value.
//
// A default-constructed Status is OK and carries no allocation.  Failures
// carry a code and a human-readable message, made by the named
// constructors.  Protocol layers map a Status to their own wire codes in
// one function each (see statd/nsm_codec.h, nfs4rec/cld_codec.h).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace nfsrec {

class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk = 0,
    kNotFound,
    kInvalidArgument,
    kIOError,
    kCorruption,
    kBusy,
    kUnavailable,
    kPermissionDenied,
    kAlreadyExists,
    kTimedOut,
    kUnsupported,
    // The system is not in the state the operation requires, and retrying
    // will not change that (e.g. another owner holds the data now).
    kFailedPrecondition,
  };

  Status() = default;
  Status(const Status& other) : rep_(other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr) {}
  Status& operator=(const Status& other) {
    if (this != &other) {
      rep_ = other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr;
    }
    return *this;
  }
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;

  static Status Ok() { return Status(); }
  static Status NotFound(std::string_view msg) { return Status(Code::kNotFound, msg); }
  static Status InvalidArgument(std::string_view msg) {
    return Status(Code::kInvalidArgument, msg);
  }
  static Status IOError(std::string_view msg) { return Status(Code::kIOError, msg); }
  static Status Corruption(std::string_view msg) { return Status(Code::kCorruption, msg); }
  static Status Busy(std::string_view msg) { return Status(Code::kBusy, msg); }
  static Status Unavailable(std::string_view msg) { return Status(Code::kUnavailable, msg); }
  static Status PermissionDenied(std::string_view msg) {
    return Status(Code::kPermissionDenied, msg);
  }
  static Status AlreadyExists(std::string_view msg) { return Status(Code::kAlreadyExists, msg); }
  static Status TimedOut(std::string_view msg) { return Status(Code::kTimedOut, msg); }
  static Status Unsupported(std::string_view msg) { return Status(Code::kUnsupported, msg); }
  static Status FailedPrecondition(std::string_view msg) {
    return Status(Code::kFailedPrecondition, msg);
  }

  bool ok() const { return rep_ == nullptr; }
  Code code() const { return rep_ ? rep_->code : Code::kOk; }
  bool IsNotFound() const { return code() == Code::kNotFound; }
  bool IsInvalidArgument() const { return code() == Code::kInvalidArgument; }
  bool IsIOError() const { return code() == Code::kIOError; }
  bool IsCorruption() const { return code() == Code::kCorruption; }
  bool IsBusy() const { return code() == Code::kBusy; }
  bool IsUnavailable() const { return code() == Code::kUnavailable; }
  bool IsPermissionDenied() const { return code() == Code::kPermissionDenied; }
  bool IsAlreadyExists() const { return code() == Code::kAlreadyExists; }
  bool IsTimedOut() const { return code() == Code::kTimedOut; }
  bool IsUnsupported() const { return code() == Code::kUnsupported; }
  bool IsFailedPrecondition() const { return code() == Code::kFailedPrecondition; }

  const std::string& message() const {
    static const std::string kEmpty;
    return rep_ ? rep_->message : kEmpty;
  }

  // "OK", or "<code name>: <message>".
  std::string ToString() const;

  // Returns a copy whose message is "<context>: <message>".
  Status WithContext(std::string_view context) const;

 private:
  struct Rep {
    Code code;
    std::string message;
  };
  Status(Code code, std::string_view msg)
      : rep_(std::make_unique<Rep>(Rep{code, std::string(msg)})) {}

  std::unique_ptr<Rep> rep_;
};

// errno -> Status, with the operation named: PosixError("open /x", ENOENT)
// yields NotFound("open /x: No such file or directory").
Status PosixError(std::string_view context, int err);

}  // namespace nfsrec
