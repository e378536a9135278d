// RateLimit: lets at most `burst` events through per `period` and counts
// the rest, for log lines that a remote peer can trigger at will (an
// SM_NOTIFY from anybody, a flood of HA callouts).  The caller passes the
// time, from its injected Scheduler, so tests drive it with a FakeScheduler.
//
// Fixed windows: the first event at or after the end of the current window
// opens the next one.  Not thread-safe; one per owner, on its thread.
#pragma once

#include <cstdint>

#include "common/base/clock.h"

namespace nfsrec {

class RateLimit {
 public:
  RateLimit(Duration period, uint32_t burst) : period_(period), burst_(burst) {}

  // True if the event at `now` may be logged.  Then *suppressed (if given)
  // gets the number of events refused since the last one let through, and
  // that count starts again from zero.
  bool Allow(TimePoint now, uint64_t* suppressed = nullptr) {
    if (!started_ || now >= window_start_ + period_) {
      started_ = true;
      window_start_ = now;
      used_ = 0;
    }
    if (used_ >= burst_) {
      ++suppressed_;
      ++total_suppressed_;
      return false;
    }
    ++used_;
    if (suppressed != nullptr) *suppressed = suppressed_;
    suppressed_ = 0;
    return true;
  }

  // Events refused over the limiter's lifetime.
  uint64_t total_suppressed() const { return total_suppressed_; }

 private:
  Duration period_;
  uint32_t burst_;
  bool started_ = false;
  TimePoint window_start_{};
  uint32_t used_ = 0;
  uint64_t suppressed_ = 0;
  uint64_t total_suppressed_ = 0;
};

}  // namespace nfsrec
