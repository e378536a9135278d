// Callback<R(Args...)>: a move-only, type-erased callable, the one callback
// type of asynchronous code here.  Unlike std::function it accepts lambdas
// that capture move-only values (a Responder, a unique_ptr, another
// Callback), so completions need no shared_ptr wrapper.  (C++23's
// std::move_only_function is the same idea; this project builds as C++20.)
//
// Calling an empty Callback is a bug (asserted).  Not thread-safe: a
// Callback belongs to one thread at a time, like any value.
#pragma once

#include <cassert>
#include <memory>
#include <type_traits>
#include <utility>

namespace nfsrec {

template <typename Signature>
class Callback;

template <typename R, typename... Args>
class Callback<R(Args...)> {
 public:
  Callback() = default;
  Callback(std::nullptr_t) {}  // NOLINT(runtime/explicit)
  template <typename F,
            typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, Callback> &&
                                        std::is_invocable_r_v<R, std::decay_t<F>&, Args...>>>
  Callback(F&& fn)  // NOLINT(runtime/explicit)
      : impl_(std::make_unique<Impl<std::decay_t<F>>>(std::forward<F>(fn))) {}
  Callback(Callback&&) noexcept = default;
  Callback& operator=(Callback&&) noexcept = default;
  Callback(const Callback&) = delete;
  Callback& operator=(const Callback&) = delete;

  explicit operator bool() const { return impl_ != nullptr; }

  R operator()(Args... args) {
    assert(impl_ && "calling an empty Callback");
    return impl_->Call(std::forward<Args>(args)...);
  }

 private:
  struct Base {
    virtual ~Base() = default;
    virtual R Call(Args&&... args) = 0;
  };
  template <typename F>
  struct Impl final : Base {
    explicit Impl(F&& f) : fn(std::move(f)) {}
    explicit Impl(const F& f) : fn(f) {}
    R Call(Args&&... args) override { return fn(std::forward<Args>(args)...); }
    F fn;
  };
  std::unique_ptr<Base> impl_;
};

}  // namespace nfsrec
