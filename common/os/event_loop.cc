#include "common/os/event_loop.h"

#include <event2/event.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>

#include "common/base/logging.h"

namespace nfsrec {

Result<std::unique_ptr<EventLoop>> EventLoop::Create() {
  event_base* base = event_base_new();
  if (base == nullptr) return Status::IOError("event_base_new failed");
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) {
    int err = errno;
    event_base_free(base);
    return PosixError("eventfd", err);
  }
  return std::unique_ptr<EventLoop>(new EventLoop(base, UniqueFd(fd)));
}

EventLoop::EventLoop(event_base* base, UniqueFd wake_fd)
    : base_(base), wake_fd_(std::move(wake_fd)) {
  wake_event_ = event_new(
      base_, wake_fd_.get(), EV_READ | EV_PERSIST,
      [](evutil_socket_t fd, short, void* arg) noexcept {
        uint64_t n;
        while (::read(fd, &n, sizeof(n)) > 0) {
        }
        static_cast<EventLoop*>(arg)->DrainPosted();
      },
      this);
  event_add(wake_event_, nullptr);
}

EventLoop::~EventLoop() {
  if (wake_event_ != nullptr) event_free(wake_event_);
  event_base_free(base_);
}

Status EventLoop::Run() {
  if (event_base_dispatch(base_) < 0) return Status::IOError("event_base_dispatch failed");
  return Status::Ok();
}

void EventLoop::RunOnce() { event_base_loop(base_, EVLOOP_NONBLOCK); }

bool EventLoop::RunUntil(const std::function<bool()>& pred, Duration timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  // A private timer wakes each pass at least every 10 ms to re-check pred and
  // the deadline.  (event_base_loopexit would leave a pending exit behind
  // that ends a later Run() early.)
  event* tick = evtimer_new(
      base_, [](evutil_socket_t, short, void*) noexcept {}, nullptr);
  bool ok = true;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ok = false;
      break;
    }
    timeval tv{0, 10000};
    evtimer_add(tick, &tv);
    event_base_loop(base_, EVLOOP_ONCE);
  }
  event_free(tick);
  return ok;
}

void EventLoop::Stop() { event_base_loopbreak(base_); }

void EventLoop::Post(Callback<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    posted_.push_back(std::move(fn));
  }
  uint64_t one = 1;
  ssize_t ignored = ::write(wake_fd_.get(), &one, sizeof(one));
  (void)ignored;  // EAGAIN means the counter is already non-zero: a wake is pending.
}

void EventLoop::DrainPosted() {
  std::vector<Callback<void()>> batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    batch.swap(posted_);
  }
  for (auto& fn : batch) fn();
}

IoWatcher::IoWatcher(EventLoop& loop, int fd, short what, std::function<void(short)> cb)
    : ev_(event_new(loop.base(), fd, static_cast<short>(what | EV_PERSIST), &Trampoline, this)),
      cb_(std::move(cb)) {}

IoWatcher::~IoWatcher() { event_free(ev_); }

void IoWatcher::Start() { event_add(ev_, nullptr); }
void IoWatcher::Stop() { event_del(ev_); }

void IoWatcher::Trampoline(int, short what, void* arg) noexcept {
  static_cast<IoWatcher*>(arg)->cb_(what);
}

namespace {
Status ChangeSignalMask(int how, int signo) {
  sigset_t set;
  sigemptyset(&set);
  if (sigaddset(&set, signo) != 0) return Status::InvalidArgument(StrCat("no signal ", signo));
  int err = ::pthread_sigmask(how, &set, nullptr);
  return err == 0 ? Status::Ok() : PosixError("pthread_sigmask", err);
}
}  // namespace

Status BlockSignal(int signo) { return ChangeSignalMask(SIG_BLOCK, signo); }
Status UnblockSignal(int signo) { return ChangeSignalMask(SIG_UNBLOCK, signo); }

SignalWatcher::SignalWatcher(EventLoop& loop, int signo, std::function<void()> cb)
    : ev_(evsignal_new(loop.base(), signo, &Trampoline, this)), cb_(std::move(cb)) {
  event_add(ev_, nullptr);
}

SignalWatcher::~SignalWatcher() { event_free(ev_); }

void SignalWatcher::Trampoline(int, short, void* arg) noexcept {
  static_cast<SignalWatcher*>(arg)->cb_();
}

struct LoopScheduler::Timer {
  LoopScheduler* owner;
  TimerId id;
  event* ev;
  std::function<void()> fn;
};

LoopScheduler::LoopScheduler(EventLoop& loop) : loop_(loop) {}

LoopScheduler::~LoopScheduler() {
  for (auto& [id, t] : timers_) event_free(t->ev);
}

TimePoint LoopScheduler::Now() const { return std::chrono::steady_clock::now(); }

Scheduler::TimerId LoopScheduler::RunAfter(Duration delay, std::function<void()> fn) {
  TimerId id = next_id_++;
  auto t = std::make_unique<Timer>();
  t->owner = this;
  t->id = id;
  t->fn = std::move(fn);
  t->ev = evtimer_new(loop_.base(), &Trampoline, t.get());
  if (delay < Duration::zero()) delay = Duration::zero();
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(delay).count();
  timeval tv{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
  evtimer_add(t->ev, &tv);
  timers_.emplace(id, std::move(t));
  return id;
}

void LoopScheduler::Cancel(TimerId id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  event_free(it->second->ev);
  timers_.erase(it);
}

void LoopScheduler::Trampoline(int, short, void* arg) noexcept {
  auto* t = static_cast<Timer*>(arg);
  LoopScheduler* self = t->owner;
  auto it = self->timers_.find(t->id);
  std::function<void()> fn = std::move(t->fn);
  event_free(t->ev);
  self->timers_.erase(it);  // t is gone from here on
  fn();
}

}  // namespace nfsrec
