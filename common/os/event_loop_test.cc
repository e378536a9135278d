#include "common/os/event_loop.h"

#include <signal.h>

#include <chrono>

#include <gtest/gtest.h>

namespace nfsrec {
namespace {

// A signal that arrives while blocked, before its watcher exists, reaches
// the watcher once unblocked (the daemon's start-up window for SIGUSR1).
TEST(SignalMaskTest, PendingSignalReachesTheWatcherAfterUnblock) {
  ASSERT_TRUE(BlockSignal(SIGUSR2).ok());
  ASSERT_EQ(::raise(SIGUSR2), 0);  // pending: blocked, and no handler yet
  Result<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
  ASSERT_TRUE(loop.ok()) << loop.status().ToString();
  int fired = 0;
  SignalWatcher watcher(**loop, SIGUSR2, [&] { ++fired; });
  EXPECT_EQ(fired, 0);
  ASSERT_TRUE(UnblockSignal(SIGUSR2).ok());
  EXPECT_TRUE((*loop)->RunUntil([&] { return fired > 0; }, std::chrono::seconds(5)));
  EXPECT_EQ(fired, 1);
  sigset_t now;
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, nullptr, &now), 0);
  EXPECT_EQ(sigismember(&now, SIGUSR2), 0);
}

TEST(SignalMaskTest, BadSignalIsAnError) {
  EXPECT_FALSE(BlockSignal(-1).ok());
  EXPECT_FALSE(UnblockSignal(-1).ok());
}

}  // namespace
}  // namespace nfsrec
