#include "common/os/executor.h"

#include <signal.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "common/base/liveness.h"
#include <gtest/gtest.h>

namespace nfsrec {
namespace {

using std::chrono::seconds;

// Blocks workers until Open().
class Gate {
 public:
  void Open() {
    if (!open_) promise_.set_value();
    open_ = true;
  }
  std::shared_future<void> future() const { return future_; }

 private:
  std::promise<void> promise_;
  std::shared_future<void> future_ = promise_.get_future().share();
  bool open_ = false;
};

class ExecutorTest : public ::testing::Test {
 protected:
  std::unique_ptr<EventLoop> loop_ = EventLoop::Create().value();
  Liveness owner_;
};

TEST_F(ExecutorTest, WorkRunsOnAWorkerAndDoneOnTheLoopThread) {
  Executor executor(*loop_);
  const std::thread::id loop_thread = std::this_thread::get_id();
  std::optional<std::thread::id> worker;
  std::optional<std::thread::id> delivered_on;
  executor.Run(
      owner_.token(), [] { return std::this_thread::get_id(); },
      [&](std::thread::id id) {
        worker = id;
        delivered_on = std::this_thread::get_id();
      });
  EXPECT_FALSE(worker.has_value());  // never inline
  ASSERT_TRUE(loop_->RunUntil([&] { return worker.has_value(); }, seconds(10)));
  EXPECT_NE(*worker, loop_thread);
  EXPECT_EQ(*delivered_on, loop_thread);
}

// Signals go to the loop thread (the daemon unblocks its quit signals
// there), never to a worker, even one started after the unblock.
TEST_F(ExecutorTest, WorkersTakeNoSignal) {
  Executor executor(*loop_);
  std::optional<bool> all_blocked;
  executor.Run(
      owner_.token(),
      [] {
        sigset_t mask;
        ::pthread_sigmask(SIG_BLOCK, nullptr, &mask);
        bool all = true;
        for (int signo : {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGCHLD, SIGPIPE}) {
          all = all && sigismember(&mask, signo) == 1;
        }
        return all;
      },
      [&](bool all) { all_blocked = all; });
  ASSERT_TRUE(loop_->RunUntil([&] { return all_blocked.has_value(); }, seconds(10)));
  EXPECT_TRUE(*all_blocked);
  sigset_t mine;
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, nullptr, &mine), 0);
  EXPECT_EQ(sigismember(&mine, SIGCHLD), 0);  // the caller's mask is back
}

TEST_F(ExecutorTest, MoveOnlyResultsAndCallbacks) {
  Executor executor(*loop_);
  int got = 0;
  auto token = std::make_unique<int>(5);
  executor.Run(
      owner_.token(), [] { return std::make_unique<int>(7); },
      [&got, token = std::move(token)](std::unique_ptr<int> v) { got = *v + *token; });
  ASSERT_TRUE(loop_->RunUntil([&] { return got != 0; }, seconds(10)));
  EXPECT_EQ(got, 12);
}

TEST_F(ExecutorTest, AResultForAnOwnerThatIsGoneIsDropped) {
  Executor executor(*loop_);
  Gate gate;
  std::atomic<bool> worked{false};
  bool delivered = false;
  {
    Liveness owner;
    executor.Run(
        owner.token(),
        [f = gate.future(), &worked] {
          f.wait();
          worked = true;
          return 1;
        },
        [&](int) { delivered = true; });
  }
  gate.Open();
  ASSERT_TRUE(loop_->RunUntil([&] { return worked.load(); }, seconds(10)));
  loop_->RunUntil([] { return false; }, std::chrono::milliseconds(50));
  EXPECT_FALSE(delivered);
}

TEST_F(ExecutorTest, ThreadsAreBoundedAndQueuedJobsRunInOrder) {
  Executor executor(*loop_, Executor::Options{.max_threads = 2});
  Gate gate;
  std::atomic<int> running{0};
  std::atomic<int> most{0};
  std::vector<int> order;
  for (int i = 0; i < 8; ++i) {
    executor.Run(
        owner_.token(),
        [i, f = gate.future(), &running, &most] {
          int now = ++running;
          for (int m = most.load(); now > m && !most.compare_exchange_weak(m, now);) {
          }
          f.wait();
          --running;
          return i;
        },
        [&order](int v) { order.push_back(v); });
  }
  EXPECT_LE(executor.threads(), 2u);
  gate.Open();
  ASSERT_TRUE(loop_->RunUntil([&] { return order.size() == 8; }, seconds(10)));
  EXPECT_LE(most.load(), 2);
  EXPECT_EQ(executor.threads(), 2u);  // kept for later jobs
}

TEST_F(ExecutorTest, OneThreadDeliversInSubmissionOrder) {
  Executor executor(*loop_, Executor::Options{.max_threads = 1});
  std::vector<int> order;
  for (int i = 0; i < 20; ++i) {
    executor.Run(
        owner_.token(), [i] { return i; }, [&order](int v) { order.push_back(v); });
  }
  ASSERT_TRUE(loop_->RunUntil([&] { return order.size() == 20; }, seconds(10)));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(order[static_cast<size_t>(i)], i);
}

TEST_F(ExecutorTest, AStuckJobDoesNotHoldUpDestructionAndQueuedJobsAreDropped) {
  Gate stuck;
  std::atomic<bool> started{false};
  std::atomic<bool> finished{false};
  std::atomic<bool> queued_ran{false};
  bool delivered = false;
  auto executor = std::make_unique<Executor>(*loop_, Executor::Options{.max_threads = 1});
  executor->Run(
      owner_.token(),
      [f = stuck.future(), &started, &finished] {
        started = true;
        f.wait();  // like a v4_end_grace write waiting for our own answer
        finished = true;
        return 0;
      },
      [&](int) { delivered = true; });
  executor->Run(
      owner_.token(),
      [&queued_ran] {
        queued_ran = true;
        return 0;
      },
      [&](int) { delivered = true; });
  ASSERT_TRUE(loop_->RunUntil([&] { return started.load(); }, seconds(10)));
  const auto t0 = std::chrono::steady_clock::now();
  executor.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(100));
  stuck.Open();  // the kernel lets go at last
  ASSERT_TRUE(loop_->RunUntil([&] { return finished.load(); }, seconds(10)));
  loop_->RunUntil([] { return false; }, std::chrono::milliseconds(50));
  EXPECT_FALSE(delivered);
  EXPECT_FALSE(queued_ran.load());
}

}  // namespace
}  // namespace nfsrec
