// Result<T>: a value or a failed Status (std::expected is C++23; g++ 12
// builds this project as C++20).
#pragma once

#include <cassert>
#include <optional>
#include <utility>

#include "common/base/status.h"

namespace nfsrec {

template <typename T>
class [[nodiscard]] Result {
 public:
  // Implicit from a value or from a failed Status, so functions can
  // `return value;` or `return Status::IOError(...)`.
  Result(T value) : value_(std::move(value)) {}         // NOLINT(runtime/explicit)
  Result(Status status) : status_(std::move(status)) {  // NOLINT(runtime/explicit)
    assert(!status_.ok() && "Result built from an OK status without a value");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace nfsrec

// Propagates a failed Status out of the enclosing function.
#define NFSREC_RETURN_IF_ERROR(expr) \
  do {                               \
    ::nfsrec::Status _st = (expr);   \
    if (!_st.ok()) return _st;       \
  } while (0)

// The one way to unwrap a Result: evaluates `rexpr` (a Result<T>), returns
// its Status from the enclosing function if it failed, else moves the value
// into `lhs`, which may declare a variable:
//   NFSREC_ASSIGN_OR_RETURN(std::unique_ptr<Db> db, Db::Open(path));
//   NFSREC_ASSIGN_OR_RETURN(port, ParsePort(text));
#define NFSREC_ASSIGN_OR_RETURN(lhs, rexpr) \
  NFSREC_ASSIGN_OR_RETURN_IMPL(NFSREC_CONCAT(_result_, __LINE__), lhs, rexpr)
#define NFSREC_ASSIGN_OR_RETURN_IMPL(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                 \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()
#define NFSREC_CONCAT(a, b) NFSREC_CONCAT_INNER(a, b)
#define NFSREC_CONCAT_INNER(a, b) a##b
