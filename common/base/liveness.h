// Liveness: the one guard for callbacks that may run after their owner is
// gone (a timer, a resolver answer, a commit completion, a reply that
// arrives after shutdown began).  The owner holds a Liveness member,
// declared last so it dies first; a callback captures a Token and returns
// early when the owner no longer exists:
//
//   resolver_.Resolve(name, [this, alive = liveness_.token()](auto r) {
//     if (!alive) return;
//     ...
//   });
//
// or wraps itself: liveness_.Guard([this](Status s) { ... }).
//
// Single-threaded: tokens are checked on the loop thread, where the owner
// is destroyed.  Work posted from other threads carries the token back to
// the loop before it is checked.
#pragma once

#include <memory>
#include <utility>

namespace nfsrec {

class Liveness {
 public:
  class Token {
   public:
    Token() = default;
    explicit operator bool() const { return !weak_.expired(); }

   private:
    friend class Liveness;
    explicit Token(std::weak_ptr<const char> weak) : weak_(std::move(weak)) {}
    std::weak_ptr<const char> weak_;
  };

  Liveness() : anchor_(std::make_shared<const char>('\0')) {}
  Liveness(const Liveness&) = delete;
  Liveness& operator=(const Liveness&) = delete;

  Token token() const { return Token(anchor_); }

  // fn, made to do nothing once this Liveness is destroyed.  The result is
  // move-only if fn is.
  template <typename F>
  auto Guard(F fn) const {
    return [alive = token(), fn = std::move(fn)](auto&&... args) mutable {
      if (alive) fn(std::forward<decltype(args)>(args)...);
    };
  }

 private:
  std::shared_ptr<const char> anchor_;
};

}  // namespace nfsrec
