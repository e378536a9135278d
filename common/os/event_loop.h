// RAII wrappers over libevent, and the loop-thread scheduler.
//
// Threading: an EventLoop and everything registered on it belong to the
// thread that calls Run() ("the loop thread").  The only member that other
// threads may call is EventLoop::Post(), which queues a closure to run on
// the loop thread; it is how the store's commit thread and the Executor's
// workers (common/os/executor.h) hand results back.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "common/base/callback.h"
#include "common/base/clock.h"
#include "common/base/result.h"
#include "common/base/unique_fd.h"

struct event_base;
struct event;

namespace nfsrec {

class EventLoop {
 public:
  static Result<std::unique_ptr<EventLoop>> Create();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Runs until Stop() or until nothing is registered.  Returns an error only
  // if libevent itself fails.
  Status Run();
  // Runs one non-blocking pass over ready events (tests).
  void RunOnce();
  // Runs until pred() holds or the timeout passes; true if pred() held.
  bool RunUntil(const std::function<bool()>& pred, Duration timeout);
  void Stop();

  // Thread-safe: runs fn on the loop thread soon.
  void Post(Callback<void()> fn);

  event_base* base() const { return base_; }

 private:
  EventLoop(event_base* base, UniqueFd wake_fd);
  void DrainPosted();

  event_base* base_;
  UniqueFd wake_fd_;
  event* wake_event_ = nullptr;
  std::mutex mu_;
  std::vector<Callback<void()>> posted_;  // guarded by mu_
};

// Calls a callback whenever fd is readable (and/or writable).  Persistent
// until destroyed or Stop()ped.
class IoWatcher {
 public:
  enum : short { kRead = 0x02, kWrite = 0x04 };  // EV_READ, EV_WRITE
  IoWatcher(EventLoop& loop, int fd, short what, std::function<void(short)> cb);
  ~IoWatcher();
  IoWatcher(const IoWatcher&) = delete;
  IoWatcher& operator=(const IoWatcher&) = delete;

  void Start();
  void Stop();

 private:
  static void Trampoline(int fd, short what, void* arg) noexcept;
  event* ev_;
  std::function<void(short)> cb_;
};

// Runs a callback when a signal arrives; the libevent handler only marks the
// event, the callback runs later on the loop thread.
class SignalWatcher {
 public:
  SignalWatcher(EventLoop& loop, int signo, std::function<void()> cb);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  static void Trampoline(int fd, short what, void* arg) noexcept;
  event* ev_;
  std::function<void()> cb_;
};

// Blocks or unblocks `signo` in the calling thread; threads started later
// inherit the mask.  A daemon blocks a signal before it starts any thread
// and unblocks it once its SignalWatcher exists, so that one arriving in
// between stays pending and reaches the watcher instead of being lost (or,
// at the default action, fatal).
Status BlockSignal(int signo);
Status UnblockSignal(int signo);

// Scheduler on an EventLoop's clock (CLOCK_MONOTONIC).
class LoopScheduler final : public Scheduler {
 public:
  explicit LoopScheduler(EventLoop& loop);
  ~LoopScheduler() override;
  LoopScheduler(const LoopScheduler&) = delete;
  LoopScheduler& operator=(const LoopScheduler&) = delete;

  TimePoint Now() const override;
  TimerId RunAfter(Duration delay, std::function<void()> fn) override;
  void Cancel(TimerId id) override;

 private:
  struct Timer;
  static void Trampoline(int fd, short what, void* arg) noexcept;
  EventLoop& loop_;
  TimerId next_id_ = 1;
  std::map<TimerId, std::unique_ptr<Timer>> timers_;
};

}  // namespace nfsrec
