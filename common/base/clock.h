// Time and timers behind narrow interfaces, so service logic can be driven
// by a FakeScheduler (tests/support/fake_scheduler.h) in tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace nfsrec {

using Duration = std::chrono::steady_clock::duration;
using TimePoint = std::chrono::steady_clock::time_point;

// Monotonic time plus one-shot timers.  Loop thread only.
class Scheduler {
 public:
  using TimerId = uint64_t;
  virtual ~Scheduler() = default;
  virtual TimePoint Now() const = 0;
  // Runs fn once after delay.  The returned id is never 0.
  virtual TimerId RunAfter(Duration delay, std::function<void()> fn) = 0;
  // Cancels a pending timer; unknown or already-fired ids are ignored.
  virtual void Cancel(TimerId id) = 0;
};

}  // namespace nfsrec
