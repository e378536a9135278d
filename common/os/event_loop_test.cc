#include "common/os/event_loop.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>

#include "common/os/signals.h"
#include "tests/support/temp_dir.h"
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
  EXPECT_FALSE(BlockSignals({SIGUSR2, -1}).ok());
  EXPECT_FALSE(UnblockSignals({-1}).ok());
}

bool Blocked(int signo) {
  sigset_t now;
  EXPECT_EQ(::pthread_sigmask(SIG_BLOCK, nullptr, &now), 0);
  return sigismember(&now, signo) == 1;
}

// The daemon's teardown: once UnblockedSignals is gone, a signal stays
// pending (it cannot end the process) instead of being delivered.
TEST(SignalMaskTest, SignalIsBlockedAgainWhenUnblockedSignalsGoes) {
  ASSERT_TRUE(BlockSignals({SIGUSR2, SIGWINCH}).ok());
  {
    UnblockedSignals taken({SIGUSR2, SIGWINCH});
    EXPECT_FALSE(Blocked(SIGUSR2));
    EXPECT_FALSE(Blocked(SIGWINCH));
  }
  EXPECT_TRUE(Blocked(SIGUSR2));
  EXPECT_TRUE(Blocked(SIGWINCH));
  ASSERT_EQ(::raise(SIGUSR2), 0);  // blocked: pending, not fatal
  sigset_t pending;
  ASSERT_EQ(::sigpending(&pending), 0);
  EXPECT_EQ(sigismember(&pending, SIGUSR2), 1);
  sigset_t usr2;
  sigemptyset(&usr2);
  sigaddset(&usr2, SIGUSR2);
  const struct timespec now = {0, 0};
  EXPECT_EQ(::sigtimedwait(&usr2, nullptr, &now), SIGUSR2);  // consumed
  ASSERT_TRUE(UnblockSignals({SIGUSR2, SIGWINCH}).ok());
}

TEST(SignalMaskTest, AllSignalsBlockedRestoresTheMaskItFound) {
  ASSERT_TRUE(BlockSignals({SIGUSR2}).ok());
  ASSERT_TRUE(UnblockSignals({SIGWINCH}).ok());
  {
    AllSignalsBlocked blocked;
    EXPECT_TRUE(Blocked(SIGWINCH));
    EXPECT_TRUE(Blocked(SIGTERM));
  }
  EXPECT_TRUE(Blocked(SIGUSR2));
  EXPECT_FALSE(Blocked(SIGWINCH));
  ASSERT_TRUE(UnblockSignals({SIGUSR2}).ok());
}

// A child spawned by a thread that blocks the quit signals and SIGUSR1,
// and ignores SIGHUP, starts with no signal blocked and those four at their
// default action (what an HA callout or modprobe gets).
TEST(SpawnWithDefaultSignalsTest, ChildStartsWithNoSignalBlockedAndDefaultActions) {
  test_support::TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  const std::string out = tmp.File("status");
  ASSERT_TRUE(BlockSignals({SIGTERM, SIGINT, SIGHUP, SIGUSR1}).ok());
  struct sigaction ignore = {}, old_hup = {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGHUP, &ignore, &old_hup), 0);
  // exec: the mask of the program the shell starts, not of the shell.
  std::string script = "exec cat /proc/self/status > " + out;
  char sh[] = "sh", c[] = "-c";
  char* argv[] = {sh, c, script.data(), nullptr};
  Result<pid_t> pid = SpawnWithDefaultSignals("spawn sh", argv, environ, /*search_path=*/true);
  ASSERT_EQ(::sigaction(SIGHUP, &old_hup, nullptr), 0);
  ASSERT_TRUE(UnblockSignals({SIGTERM, SIGINT, SIGHUP, SIGUSR1}).ok());
  ASSERT_TRUE(pid.ok()) << pid.status().ToString();
  int status = 0;
  ASSERT_EQ(::waitpid(*pid, &status, 0), *pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  std::ifstream f(out);
  std::stringstream text;
  text << f.rdbuf();
  EXPECT_NE(text.str().find("\nSigBlk:\t0000000000000000\n"), std::string::npos) << text.str();
  const size_t at = text.str().find("\nSigIgn:\t");
  ASSERT_NE(at, std::string::npos);
  const unsigned long long ignored = std::stoull(text.str().substr(at + 9, 16), nullptr, 16);
  for (int signo : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) {
    EXPECT_EQ((ignored >> (signo - 1)) & 1, 0u) << "signal " << signo << " ignored";
  }
}

TEST(SpawnWithDefaultSignalsTest, AProgramThatCannotStartIsAnErrorNamedByTheContext) {
  char prog[] = "/nonexistent/program";
  char* argv[] = {prog, nullptr};
  Result<pid_t> pid = SpawnWithDefaultSignals("run the program", argv, environ, false);
  ASSERT_FALSE(pid.ok());
  EXPECT_NE(pid.status().ToString().find("run the program"), std::string::npos)
      << pid.status().ToString();
}

}  // namespace
}  // namespace nfsrec
