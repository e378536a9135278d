// FakeScheduler: virtual time for timer-driven logic.  Advance() moves the
// clock and fires due timers in deadline order (ties in creation order).
#pragma once

#include <functional>
#include <map>
#include <utility>

#include "common/base/clock.h"

namespace nfsrec {

class FakeScheduler final : public Scheduler {
 public:
  TimePoint Now() const override { return now_; }

  TimerId RunAfter(Duration delay, std::function<void()> fn) override {
    if (delay < Duration::zero()) delay = Duration::zero();
    TimerId id = next_id_++;
    timers_.emplace(id, Timer{now_ + delay, std::move(fn)});
    return id;
  }

  void Cancel(TimerId id) override { timers_.erase(id); }

  // Fires every timer due up to now + d, advancing the clock to each.
  void Advance(Duration d) {
    TimePoint end = now_ + d;
    while (true) {
      auto next = timers_.end();
      for (auto it = timers_.begin(); it != timers_.end(); ++it) {
        if (it->second.due <= end && (next == timers_.end() || it->second.due < next->second.due)) {
          next = it;
        }
      }
      if (next == timers_.end()) break;
      now_ = std::max(now_, next->second.due);
      std::function<void()> fn = std::move(next->second.fn);
      timers_.erase(next);
      fn();
    }
    now_ = end;
  }

  size_t pending() const { return timers_.size(); }

 private:
  struct Timer {
    TimePoint due;
    std::function<void()> fn;
  };
  TimePoint now_{};
  TimerId next_id_ = 1;
  std::map<TimerId, Timer> timers_;
};

}  // namespace nfsrec
