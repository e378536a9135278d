// CldPipe on a real directory with real inotify: while the pipe (or its
// directory) is missing, the daemon must stay idle between re-checks; once
// the pipe is back it is opened and nothing more happens.
#include "nfs4rec/cld_pipe.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "nfs4rec/cld_codec.h"
#include "tests/support/fake_scheduler.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include <gtest/gtest.h>

namespace nfsrec::nfs4rec {
namespace {

using namespace std::chrono_literals;

// Inotify events arrive within milliseconds; a busy loop makes thousands
// of wake-ups in this time.
constexpr auto kIdle = 300ms;
constexpr auto kWait = 10s;

class CldPipeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(tmp_.ok());
    loop_ = EventLoop::Create().value();
  }

  void Create(Scheduler& scheduler) {
    // (A scheduler other than sched_ must outlive pipe_: reset it first.)
    auto p = CldPipe::Create(*loop_, scheduler, log_, {pipe_path_},
                             [](std::span<const uint8_t>, uint64_t) {});
    ASSERT_OK(p);
    pipe_ = std::move(p).value();
    ASSERT_OK(pipe_->Start());
  }
  // Runs the loop for `d` of real time.
  void RunFor(Duration d) {
    loop_->RunUntil([] { return false; }, d);
  }
  // Runs the loop, with the fake clock at rest, and returns how many watch
  // set-ups and inotify wake-ups happened meanwhile.
  std::pair<uint64_t, uint64_t> IdleCounts() {
    const CldPipe::Stats before = pipe_->stats();
    RunFor(kIdle);
    return {pipe_->stats().rearms - before.rearms,
            pipe_->stats().inotify_wakeups - before.inotify_wakeups};
  }
  // Fires the fake re-check timers for `d` in 100 ms steps, running the
  // loop (inotify) after each.
  void AdvanceInSteps(FakeScheduler& sched, Duration d) {
    for (Duration done{}; done < d; done += 100ms) {
      sched.Advance(100ms);
      loop_->RunOnce();
    }
  }
  void MakeFifo() { ASSERT_EQ(::mkfifo(pipe_path_.c_str(), 0600), 0) << pipe_path_; }

  test_support::TempDir tmp_;
  const std::string pipefs_ = tmp_.File("rpc_pipefs");
  const std::string nfsd_dir_ = pipefs_ + "/nfsd";
  const std::string pipe_path_ = nfsd_dir_ + "/cld";
  StderrLogger log_{"cld_pipe_test", false};
  std::unique_ptr<EventLoop> loop_;
  FakeScheduler sched_;
  std::unique_ptr<CldPipe> pipe_;  // ORDER: after loop_ and sched_, destroyed first
};

// Removing and re-adding the watches queues IN_IGNORED for the old ones;
// treating that as a change re-armed for ever (a core at 100%).
TEST_F(CldPipeTest, CldPipeWaitingForMissingDirectoryStaysIdle) {
  FakeScheduler& sched = sched_;
  ASSERT_NO_FATAL_FAILURE(Create(sched));  // nothing of rpc_pipefs exists
  EXPECT_FALSE(pipe_->is_open());
  EXPECT_EQ(pipe_->stats().rearms, 1u);
  // The first re-check replaces the watch: one IN_IGNORED, one wake-up.
  sched.Advance(100ms);
  auto [rearms, wakeups] = IdleCounts();
  EXPECT_EQ(rearms, 0u);
  EXPECT_LE(wakeups, 1u);
  // 20 s of re-checks: 100 ms apart for 10 s, then a second apart.  Each
  // costs one watch set-up and at most one wake-up, nothing in between.
  const CldPipe::Stats before = pipe_->stats();
  AdvanceInSteps(sched, 20s);
  const uint64_t rechecks = pipe_->stats().rearms - before.rearms;
  EXPECT_GE(rechecks, 100u);
  EXPECT_LE(rechecks, 115u);
  EXPECT_LE(pipe_->stats().inotify_wakeups - before.inotify_wakeups, rechecks);
  std::tie(rearms, wakeups) = IdleCounts();
  EXPECT_EQ(rearms, 0u);
  EXPECT_LE(wakeups, 1u);
  EXPECT_EQ(sched.pending(), 1u);  // the next re-check, nothing else
}

TEST_F(CldPipeTest, CldPipeWaitingForMissingPipeInPresentDirectoryStaysIdle) {
  std::filesystem::create_directories(nfsd_dir_);
  FakeScheduler& sched = sched_;
  ASSERT_NO_FATAL_FAILURE(Create(sched));
  EXPECT_FALSE(pipe_->is_open());
  const CldPipe::Stats before = pipe_->stats();
  AdvanceInSteps(sched, 12s);
  const uint64_t rechecks = pipe_->stats().rearms - before.rearms;
  EXPECT_GE(rechecks, 100u);
  EXPECT_LE(rechecks, 105u);
  EXPECT_LE(pipe_->stats().inotify_wakeups - before.inotify_wakeups, rechecks);
  auto [rearms, wakeups] = IdleCounts();
  EXPECT_EQ(rearms, 0u);
  EXPECT_LE(wakeups, 1u);
}

// nfsd stops (the pipe, then its directory, go), and starts again: the new
// pipe is opened at once from inotify, and afterwards all is quiet.
TEST_F(CldPipeTest, PipeRemovedAndRecreatedIsReopenedAndThenIdle) {
  std::filesystem::create_directories(nfsd_dir_);
  MakeFifo();
  FakeScheduler& sched = sched_;
  ASSERT_NO_FATAL_FAILURE(Create(sched));
  ASSERT_TRUE(pipe_->is_open());
  EXPECT_EQ(pipe_->stats().opens, 1u);
  EXPECT_EQ(IdleCounts(), std::make_pair(uint64_t{0}, uint64_t{0}));

  ASSERT_EQ(::unlink(pipe_path_.c_str()), 0);
  ASSERT_TRUE(loop_->RunUntil([&] { return !pipe_->is_open(); }, kWait));
  std::filesystem::remove(nfsd_dir_);
  AdvanceInSteps(sched, 2s);
  auto [rearms, wakeups] = IdleCounts();
  EXPECT_EQ(rearms, 0u);
  EXPECT_LE(wakeups, 1u);

  std::filesystem::create_directories(nfsd_dir_);
  MakeFifo();
  // No timer fires here: inotify alone finds the new pipe.
  ASSERT_TRUE(loop_->RunUntil([&] { return pipe_->is_open(); }, kWait));
  EXPECT_EQ(pipe_->stats().opens, 2u);
  EXPECT_EQ(sched.pending(), 0u);  // no re-check while the pipe is open
  RunFor(50ms);                    // the events of the re-arm itself
  EXPECT_EQ(IdleCounts(), std::make_pair(uint64_t{0}, uint64_t{0}));
}

// The same on the real clock: a few re-checks a second while the pipe is
// missing (100 ms apart just after start), not thousands of wake-ups.
TEST_F(CldPipeTest, WaitingOnTheRealClockWakesAFewTimesASecond) {
  LoopScheduler sched(*loop_);
  ASSERT_NO_FATAL_FAILURE(Create(sched));
  RunFor(1s);
  EXPECT_LE(pipe_->stats().rearms, 15u);
  EXPECT_LE(pipe_->stats().inotify_wakeups, 15u);
  pipe_.reset();  // cancels its timer while the scheduler is alive
}

// A PipeOpener that records what it was asked and answers as told.
class ScriptedOpener final : public PipeOpener {
 public:
  explicit ScriptedOpener(std::function<Result<UniqueFd>(const std::string&)> answer)
      : answer_(std::move(answer)) {}
  Result<UniqueFd> Open(const std::string& path) override {
    asked.push_back(path);
    return answer_(path);
  }
  std::vector<std::string> asked;

 private:
  std::function<Result<UniqueFd>(const std::string&)> answer_;
};

// The daemon, once it has dropped root, opens the pipe through the
// privileged helper: the pipe must use the opener it was given, for every
// path in order, and read from the descriptor it hands back.
TEST_F(CldPipeTest, ThePipeIsOpenedThroughTheGivenOpener) {
  std::filesystem::create_directories(nfsd_dir_);
  MakeFifo();
  const std::string other = tmp_.File("elsewhere/cld");
  auto opener = std::make_shared<ScriptedOpener>([&](const std::string& path) -> Result<UniqueFd> {
    if (path == other) return Status::NotFound("absent");
    return RealPipeOpener().Open(path);
  });
  CapturingLogger log;
  auto p = CldPipe::Create(
      *loop_, sched_, log, {other, pipe_path_}, [](std::span<const uint8_t>, uint64_t) {}, opener);
  ASSERT_OK(p);
  pipe_ = std::move(p).value();
  ASSERT_OK(pipe_->Start());
  EXPECT_TRUE(pipe_->is_open());
  EXPECT_EQ(pipe_->open_path(), pipe_path_);
  EXPECT_EQ(opener->asked, (std::vector<std::string>{other, pipe_path_}));
  EXPECT_FALSE(log.Contains("cannot open"));  // absent is not worth a warning
  pipe_.reset();                              // before `log` goes
}

TEST_F(CldPipeTest, AnUpcallReadIsCountedWithTheTimeItWasRead) {
  std::filesystem::create_directories(nfsd_dir_);
  // A stream socket stands in for the pipe: the kernel's end is ours.
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd kernel(sv[1]);
  auto daemon_end = std::make_shared<UniqueFd>(sv[0]);
  auto opener = std::make_shared<ScriptedOpener>(
      [daemon_end](const std::string&) -> Result<UniqueFd> { return std::move(*daemon_end); });
  size_t read = 0;
  auto p = CldPipe::Create(
      *loop_, sched_, log_, {pipe_path_}, [&read](std::span<const uint8_t>, uint64_t) { ++read; },
      opener);
  ASSERT_OK(p);
  pipe_ = std::move(p).value();
  ASSERT_OK(pipe_->Start());
  ASSERT_TRUE(pipe_->is_open());
  EXPECT_EQ(pipe_->stats().last_message, TimePoint{});  // none yet
  sched_.Advance(7s);
  CldMessage up;
  up.command = static_cast<uint8_t>(CldCommand::kGetVersion);
  up.xid = 9;
  std::vector<uint8_t> bytes = EncodeCldUpcall(up).value();
  ASSERT_EQ(::write(kernel.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  ASSERT_TRUE(loop_->RunUntil([&] { return read == 1; }, kWait));
  EXPECT_EQ(pipe_->stats().messages, 1u);
  EXPECT_EQ(pipe_->stats().last_message, sched_.Now());
}

TEST_F(CldPipeTest, AnOpenerRefusalOtherThanAbsenceIsLoggedAndRetried) {
  std::filesystem::create_directories(nfsd_dir_);
  MakeFifo();
  bool refuse = true;
  auto opener = std::make_shared<ScriptedOpener>([&](const std::string& path) -> Result<UniqueFd> {
    if (refuse) return Status::PermissionDenied("privileged helper: path not allowed");
    return RealPipeOpener().Open(path);
  });
  CapturingLogger log;
  auto p = CldPipe::Create(
      *loop_, sched_, log, {pipe_path_}, [](std::span<const uint8_t>, uint64_t) {}, opener);
  ASSERT_OK(p);
  pipe_ = std::move(p).value();
  ASSERT_OK(pipe_->Start());
  EXPECT_FALSE(pipe_->is_open());
  EXPECT_TRUE(log.Contains("cld: cannot open " + pipe_path_ + ": "));
  EXPECT_TRUE(log.Contains("privileged helper: path not allowed"));
  refuse = false;
  AdvanceInSteps(sched_, 200ms);
  EXPECT_TRUE(pipe_->is_open());
  pipe_.reset();  // before `log` goes
}

// The daemon's start-up holds the loop between steps: a pipe nfsd made
// meanwhile is opened by OpenIfAppeared, with no loop turn and no timer.
TEST_F(CldPipeTest, APipeThatAppearedIsOpenedWithoutTheLoop) {
  std::filesystem::create_directories(nfsd_dir_);
  auto p = CldPipe::Create(*loop_, sched_, log_, {pipe_path_},
                           [](std::span<const uint8_t>, uint64_t) {});
  ASSERT_OK(p);
  pipe_ = std::move(p).value();
  pipe_->PauseReading();
  ASSERT_OK(pipe_->Start());
  EXPECT_FALSE(pipe_->is_open());
  pipe_->OpenIfAppeared();
  EXPECT_FALSE(pipe_->is_open());
  MakeFifo();
  pipe_->OpenIfAppeared();
  EXPECT_TRUE(pipe_->is_open());
  EXPECT_EQ(pipe_->stats().opens, 1u);
  pipe_->OpenIfAppeared();  // already open: nothing more
  EXPECT_EQ(pipe_->stats().opens, 1u);
}

TEST(RealPipeOpenerTest, AbsentPipeIsNotFound) {
  RealPipeOpener opener;
  EXPECT_TRUE(opener.Open("/nonexistent-dir/nfsd/cld").status().IsNotFound());
  EXPECT_TRUE(opener.Open("/etc/hostname/cld").status().IsNotFound());  // ENOTDIR
}

}  // namespace
}  // namespace nfsrec::nfs4rec
