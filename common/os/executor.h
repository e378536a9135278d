// Executor: the one place where blocking work leaves the loop thread --
// getaddrinfo (ThreadResolver), procfs scans (ProcLiveClientSource) and
// /proc writes the kernel may hold (ProcGraceControl: v4_end_grace can wait
// for our own GraceDone answer, see nfs4rec/grace.h).
//
// What runs where:
//   Run(), the destructor and every `done`:  the loop thread.
//   `work`:  a worker thread.  It must own everything it touches (values,
//            shared_ptrs), never refer to its caller: it may outlive both
//            the caller and the Executor.
// `done(work())` is posted to the loop (EventLoop::Post) and runs there only
// if the `owner` token is still alive, so a result that arrives after its
// owner is gone is dropped (common/base/liveness.h).
//
// Threads: at most max_threads workers, started on demand and kept for
// later jobs; jobs beyond that wait in FIFO order.  A caller that must not
// fill the pool (the resolver) limits its own jobs in flight.
//
// Shutdown never waits for a worker.  Destroying the Executor drops the jobs
// not yet started (their work and done are destroyed, never run); a job in
// progress runs to its end on its own thread, however long the kernel holds
// it, and its result is destroyed there, not delivered.  Its thread then
// exits.  The loop must outlive the Executor.
#pragma once

#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>

#include "common/base/callback.h"
#include "common/base/liveness.h"
#include "common/os/event_loop.h"

namespace nfsrec {

class Executor {
 public:
  struct Options {
    size_t max_threads = 4;
  };

  Executor(EventLoop& loop, Options options);
  explicit Executor(EventLoop& loop) : Executor(loop, Options()) {}
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Runs work() on a worker, then done(result) on the loop thread if
  // `owner` is still alive.  Never runs either inline.
  template <typename Work, typename Done>
  void Run(Liveness::Token owner, Work work, Done done) {
    using T = std::invoke_result_t<Work&>;
    static_assert(!std::is_void_v<T>, "work returns the value that done receives");
    static_assert(std::is_invocable_v<Done&, T>, "done takes work's result");
    Submit([owner = std::move(owner), work = std::move(work),
            done = std::move(done)]() mutable -> Callback<void()> {
      T result = work();
      return
          [owner = std::move(owner), done = std::move(done), result = std::move(result)]() mutable {
            if (owner) done(std::move(result));
          };
    });
  }

  EventLoop& loop() const { return loop_; }
  // Worker threads alive (tests).
  size_t threads() const;

 private:
  // Runs on a worker; returns what is to run on the loop thread.
  using Job = Callback<Callback<void()>()>;
  struct Shared;
  static void WorkerMain(std::shared_ptr<Shared> shared);
  void Submit(Job job);

  EventLoop& loop_;
  Options options_;
  std::shared_ptr<Shared> shared_;  // with the workers, which may outlive us
};

}  // namespace nfsrec
