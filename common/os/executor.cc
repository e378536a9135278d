#include "common/os/executor.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>

#include "common/os/signals.h"

namespace nfsrec {

struct Executor::Shared {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Job> jobs;       // not yet started
  EventLoop* loop = nullptr;  // null once the Executor is gone
  size_t threads = 0;         // workers alive
  size_t idle = 0;            // workers waiting for a job
};

Executor::Executor(EventLoop& loop, Options options)
    : loop_(loop), options_(options), shared_(std::make_shared<Shared>()) {
  if (options_.max_threads == 0) options_.max_threads = 1;
  shared_->loop = &loop_;
}

Executor::~Executor() {
  std::deque<Job> dropped;
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->loop = nullptr;
    dropped.swap(shared_->jobs);
  }
  shared_->cv.notify_all();
  // `dropped` dies here, on the loop thread, with whatever its jobs hold.
}

size_t Executor::threads() const {
  std::lock_guard<std::mutex> lock(shared_->mu);
  return shared_->threads;
}

void Executor::Submit(Job job) {
  std::lock_guard<std::mutex> lock(shared_->mu);
  shared_->jobs.push_back(std::move(job));
  if (shared_->jobs.size() > shared_->idle && shared_->threads < options_.max_threads) {
    // Detached: a worker may be held in the kernel for ever; it keeps
    // `shared` alive and reaches the loop only through it, under its mutex.
    try {
      // Signals stay with the thread that unblocked them (the loop's).
      AllSignalsBlocked blocked;
      std::thread(&Executor::WorkerMain, shared_).detach();
      ++shared_->threads;
    } catch (const std::system_error&) {
      // No thread now (EAGAIN): the job waits for a running worker or for
      // the next Submit to try again.
    }
  }
  shared_->cv.notify_one();
}

void Executor::WorkerMain(std::shared_ptr<Shared> shared) {
  std::unique_lock<std::mutex> lock(shared->mu);
  while (true) {
    ++shared->idle;
    shared->cv.wait(lock, [&] { return shared->loop == nullptr || !shared->jobs.empty(); });
    --shared->idle;
    if (shared->loop == nullptr) break;
    Job job = std::move(shared->jobs.front());
    shared->jobs.pop_front();
    lock.unlock();
    Callback<void()> deliver = job();
    job = nullptr;  // work's captures die here, off the lock
    lock.lock();
    if (shared->loop != nullptr) {
      // Posting under the lock keeps the loop pointer valid: the Executor
      // clears it under the same lock, and the loop outlives the Executor.
      shared->loop->Post(std::move(deliver));
    } else {
      lock.unlock();
      deliver = nullptr;
      lock.lock();
    }
  }
  --shared->threads;
}

}  // namespace nfsrec
