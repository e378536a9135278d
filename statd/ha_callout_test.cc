// HaCallout: the two lanes, coalescing, bounds and drain on FakeCalloutProcesses
// and a FakeScheduler; spawning, time-out and a missing program with a real
// tiny script on a real loop.
#include "statd/ha_callout.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "common/os/signals.h"
#include "tests/support/fake_callout_processes.h"
#include "tests/support/fake_scheduler.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include <gtest/gtest.h>

namespace nfsrec::statd {
namespace {

using namespace std::chrono_literals;

// ---- Lanes, bounds and drain, without processes -----------------------------

class HaCalloutLanesTest : public ::testing::Test {
 protected:
  void Build(HaCallout::Options o = {}) {
    o.program = "/ha";
    ha_ = std::make_unique<HaCallout>(procs_, sched_, log_, o);
  }
  // A completion that records its outcome.
  HaEvents::Done Record(std::optional<CalloutOutcome>& slot) {
    return [&slot](CalloutOutcome o) { slot = o; };
  }
  size_t LogLines(const std::string& needle) const {
    return static_cast<size_t>(
        std::count_if(log_.lines().begin(), log_.lines().end(),
                      [&](const auto& l) { return l.second.find(needle) != std::string::npos; }));
  }

  FakeScheduler sched_;
  CapturingLogger log_;
  FakeCalloutProcesses procs_;
  std::unique_ptr<HaCallout> ha_;
};

TEST_F(HaCalloutLanesTest, NotifyFloodDoesNotDelayAddClient) {
  Build();
  for (int i = 0; i < 20000; ++i) {
    ha_->SmNotify(StrCat("peer", i), StrCat("10.1.", i / 256, ".", i % 256), 3);
  }
  EXPECT_LE(ha_->notify_pending(), 1024u) << "the sm-notify queue is bounded";
  std::optional<CalloutOutcome> added;
  ha_->AddClient("client2", "server", Record(added));
  // Started at once, beside the sm-notify callout already running.
  EXPECT_EQ(procs_.started.back(), "add-client client2 server");
  EXPECT_EQ(procs_.running().size(), 2u);
  // It ends first; its reply is free to go, with 1,024 sm-notify still queued.
  ASSERT_EQ(procs_.started.size(), 2u);
  procs_.Exit(1001);
  ASSERT_TRUE(added.has_value());
  EXPECT_EQ(*added, CalloutOutcome::kFinished);
  EXPECT_EQ(ha_->notify_pending(), 1024u);
  EXPECT_EQ(ha_->stats().notify_dropped, 20000u - 1u - 1024u);
}

TEST_F(HaCalloutLanesTest, SmNotifyCalloutsCoalescePerPeer) {
  Build();
  ha_->SmNotify("busy", "10.0.0.1", 1);  // runs at once
  for (int32_t st = 3; st <= 201; st += 2) {
    ha_->SmNotify("client2", "10.0.0.2", st);
    ha_->SmNotify("client3", "10.0.0.3", st + 100);
  }
  ha_->SmNotify("client2", "10.0.0.9", 7);  // another sender: another pair
  EXPECT_EQ(ha_->notify_pending(), 3u);
  EXPECT_EQ(ha_->stats().notify_coalesced, 2u * 99u);
  while (procs_.ExitOldest()) {
  }
  // Only the newest state of each pair, pairs in first-arrival order.
  EXPECT_EQ(procs_.started, (std::vector<std::string>{
                                "sm-notify busy 10.0.0.1 1", "sm-notify client2 10.0.0.2 201",
                                "sm-notify client3 10.0.0.3 301", "sm-notify client2 10.0.0.9 7"}));
}

TEST_F(HaCalloutLanesTest, CalloutQueueIsBounded) {
  HaCallout::Options o;
  o.max_notify_pending = 4;
  o.max_ack_pending = 2;
  o.ack_children = 1;
  Build(o);
  for (int i = 0; i < 1000; ++i) ha_->SmNotify(StrCat("p", i), "10.0.0.2", 3);
  EXPECT_EQ(ha_->notify_pending(), 4u);
  EXPECT_EQ(ha_->stats().notify_dropped, 1000u - 1u - 4u);
  // Drops are logged, rate-limited: one line per minute saying how many.
  EXPECT_EQ(LogLines("dropped: queue full"), 1u);
  sched_.Advance(61s);
  ha_->SmNotify("late", "10.0.0.2", 3);
  EXPECT_EQ(LogLines("dropped: queue full"), 2u);
  EXPECT_TRUE(log_.Contains("994 not logged since the last such line")) << "the suppressed count";

  // The ack lane: one running, two waiting, the next one is refused at
  // once (not acknowledged) instead of growing the queue.
  std::optional<CalloutOutcome> a, b, c, d;
  ha_->AddClient("a", "s", Record(a));
  ha_->AddClient("b", "s", Record(b));
  ha_->AddClient("c", "s", Record(c));
  ha_->AddClient("d", "s", Record(d));
  EXPECT_EQ(ha_->ack_pending(), 2u);
  EXPECT_FALSE(d.has_value()) << "answered inline";
  sched_.Advance(0s);
  EXPECT_EQ(d, CalloutOutcome::kDropped);
  EXPECT_FALSE(a.has_value());
  EXPECT_EQ(ha_->stats().ack_dropped, 1u);
}

TEST_F(HaCalloutLanesTest, CalloutsForOneRecordRunInOrderOthersInParallel) {
  Build();  // two add-client/del-client children at once
  std::optional<CalloutOutcome> add, del, other;
  ha_->AddClient("client2", "server", Record(add));
  ha_->DelClient("client2", "server", Record(del));
  ha_->AddClient("client3", "server", Record(other));
  EXPECT_EQ(procs_.running(),
            (std::vector<std::string>{"add-client client2 server", "add-client client3 server"}));
  procs_.Exit(1000);
  EXPECT_EQ(add, CalloutOutcome::kFinished);
  EXPECT_EQ(procs_.started.back(), "del-client client2 server");
}

TEST_F(HaCalloutLanesTest, HungCalloutTimesOutAndItsReplyGoesOn) {
  Build();
  std::optional<CalloutOutcome> add;
  ha_->AddClient("client2", "server", Record(add));
  sched_.Advance(29s);
  EXPECT_TRUE(procs_.killed.empty());
  sched_.Advance(1s);  // the 30 s kill time-out
  EXPECT_EQ(procs_.killed, std::vector<std::string>{"add-client client2 server"});
  procs_.ReapKilled();
  EXPECT_EQ(add, CalloutOutcome::kTimedOut);
  EXPECT_TRUE(log_.Contains("timed out; killing it"));
}

TEST_F(HaCalloutLanesTest, ProgramThatCannotStartIsLoggedAndAnswered) {
  Build();
  procs_.fail_spawn = true;
  std::optional<CalloutOutcome> add;
  ha_->AddClient("client2", "server", Record(add));
  sched_.Advance(0s);
  EXPECT_EQ(add, CalloutOutcome::kFinished);  // rpc.statd replies regardless
  EXPECT_TRUE(log_.Contains("could not start"));
}

TEST_F(HaCalloutLanesTest, DrainLetsRunningCalloutsFinish) {
  Build();
  std::optional<CalloutOutcome> add;
  ha_->AddClient("client2", "server", Record(add));
  bool drained = false;
  ha_->Drain([&] { drained = true; });
  sched_.Advance(2s);
  EXPECT_FALSE(drained);
  procs_.ExitOldest();
  EXPECT_EQ(add, CalloutOutcome::kFinished);
  sched_.Advance(0s);
  EXPECT_TRUE(drained);
  EXPECT_TRUE(procs_.killed.empty());
}

TEST_F(HaCalloutLanesTest, DrainLogsDroppedCallouts) {
  HaCallout::Options o;
  o.ack_children = 1;
  Build(o);
  std::optional<CalloutOutcome> running, queued1, queued2;
  ha_->AddClient("hung", "server", Record(running));
  ha_->AddClient("a", "server", Record(queued1));
  ha_->DelClient("b", "server", Record(queued2));
  ha_->SmNotify("peer1", "10.0.0.1", 3);  // runs
  ha_->SmNotify("peer2", "10.0.0.2", 3);  // queued
  ha_->SmNotify("peer3", "10.0.0.3", 3);  // queued
  bool drained = false;
  ha_->Drain([&] { drained = true; });
  EXPECT_TRUE(log_.Contains("shutting down; dropping 2 queued sm-notify callout(s)"));
  ha_->SmNotify("peer4", "10.0.0.4", 3);  // refused while draining
  EXPECT_EQ(ha_->notify_pending(), 0u);
  sched_.Advance(4s);
  EXPECT_FALSE(drained) << "the grace is 5 s";
  sched_.Advance(1s);
  EXPECT_EQ(procs_.killed,
            (std::vector<std::string>{"add-client hung server", "sm-notify peer1 10.0.0.1 3"}));
  EXPECT_TRUE(
      log_.Contains("killed 1 add-client/del-client and 1 sm-notify callout(s), dropped 2 queued "
                    "add-client/del-client callout(s)"));
  sched_.Advance(0s);
  EXPECT_TRUE(drained) << "killed children need not be reaped first";
  // None of them ran to the end: their replies are not sent.
  EXPECT_EQ(running, CalloutOutcome::kDropped);
  EXPECT_EQ(queued1, CalloutOutcome::kDropped);
  EXPECT_EQ(queued2, CalloutOutcome::kDropped);
  EXPECT_EQ(procs_.started.size(), 2u);
  // After the drain nothing starts.
  std::optional<CalloutOutcome> late;
  ha_->AddClient("late", "server", Record(late));
  sched_.Advance(0s);
  EXPECT_EQ(late, CalloutOutcome::kDropped);
  EXPECT_EQ(procs_.started.size(), 2u);
  // Everything was accounted for at the drain: the exit (before the killed
  // children were reaped) logs nothing more.
  ha_.reset();
  EXPECT_FALSE(log_.Contains("exiting; dropping"));
}

TEST_F(HaCalloutLanesTest, DestructionLogsWhatItDrops) {
  Build();
  ha_->AddClient("a", "server", nullptr);
  ha_->SmNotify("peer1", "10.0.0.1", 3);
  ha_->SmNotify("peer2", "10.0.0.2", 3);
  ha_.reset();
  EXPECT_TRUE(log_.Contains("dropping 1 add-client/del-client and 2 sm-notify callout(s)"));
  EXPECT_EQ(procs_.killed.size(), 2u);
}

// ---- Real children ------------------------------------------------------------

class HaCalloutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(tmp_.ok());
    script_ = tmp_.File("callout");
    out_ = tmp_.File("out");
  }

  void WriteScript(const std::string& body) {
    tmp_.Write("callout", "#!/bin/sh\n" + body + "\n");
    ASSERT_EQ(chmod(script_.c_str(), 0755), 0);
  }
  std::string Output() {
    std::ifstream f(out_);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }

  test_support::TempDir tmp_;
  std::string script_, out_;
  CapturingLogger log_;
};

TEST_F(HaCalloutTest, RunsEventsWithLiteralArgumentsOneRecordInOrder) {
  // A slow add-client must not let the del-client of the same record
  // overtake it; sm-notify has its own lane.
  WriteScript("[ \"$1\" = add-client ] && sleep 0.2\necho \"$@\" >> " + out_);
  auto loop = EventLoop::Create();
  ASSERT_OK(loop);
  LoopScheduler sched(**loop);
  HaCallout ha(**loop, sched, log_, HaCallout::Options{.program = script_, .timeout = 5s});
  std::vector<CalloutOutcome> outcomes;
  auto record = [&](CalloutOutcome o) { outcomes.push_back(o); };
  ha.AddClient("10.0.0.2", "server", record);
  ha.SmNotify("peer; rm -rf /", "10.0.0.9", 7);
  ha.DelClient("10.0.0.2", "server", record);
  ASSERT_TRUE((*loop)->RunUntil([&] { return ha.completed() == 3; }, 10s));
  EXPECT_EQ(Output(),
            "sm-notify peer; rm -rf / 10.0.0.9 7\n"
            "add-client 10.0.0.2 server\n"
            "del-client 10.0.0.2 server\n");
  EXPECT_EQ(outcomes,
            (std::vector<CalloutOutcome>{CalloutOutcome::kFinished, CalloutOutcome::kFinished}));
}

// The daemon blocks its quit signals and SIGUSR1 from main() on; a
// callout starts with no signal blocked, as rpc.statd's do.
TEST_F(HaCalloutTest, CalloutStartsWithNoSignalBlocked) {
  WriteScript("exec grep '^SigBlk:' /proc/self/status >> " + out_);
  auto loop = EventLoop::Create();
  ASSERT_OK(loop);
  LoopScheduler sched(**loop);
  HaCallout ha(**loop, sched, log_, HaCallout::Options{.program = script_, .timeout = 5s});
  ASSERT_OK(BlockSignals({SIGTERM, SIGINT, SIGHUP, SIGUSR1}));
  std::optional<CalloutOutcome> add;
  ha.AddClient("10.0.0.2", "server", [&](CalloutOutcome o) { add = o; });
  const bool ran = (*loop)->RunUntil([&] { return add.has_value(); }, 10s);
  ASSERT_OK(UnblockSignals({SIGTERM, SIGINT, SIGHUP, SIGUSR1}));
  ASSERT_TRUE(ran);
  EXPECT_EQ(add, CalloutOutcome::kFinished);
  EXPECT_EQ(Output(), "SigBlk:\t0000000000000000\n");
}

TEST_F(HaCalloutTest, HungCalloutIsKilledAndTheQueueMovesOn) {
  WriteScript("[ \"$1\" = add-client ] && exec sleep 60\necho \"$@\" >> " + out_);
  auto loop = EventLoop::Create();
  ASSERT_OK(loop);
  LoopScheduler sched(**loop);
  HaCallout ha(**loop, sched, log_,
               HaCallout::Options{.program = script_, .timeout = 300ms, .ack_children = 1});
  auto start = std::chrono::steady_clock::now();
  std::optional<CalloutOutcome> add;
  ha.AddClient("a", "b", [&](CalloutOutcome o) { add = o; });
  ha.DelClient("a", "b", [](CalloutOutcome) {});
  ASSERT_TRUE((*loop)->RunUntil([&] { return ha.completed() == 2; }, 10s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(Output(), "del-client a b\n");
  EXPECT_EQ(add, CalloutOutcome::kTimedOut);
  EXPECT_TRUE(log_.Contains("timed out"));
}

TEST_F(HaCalloutTest, MissingProgramIsLoggedNotFatal) {
  auto loop = EventLoop::Create();
  ASSERT_OK(loop);
  LoopScheduler sched(**loop);
  HaCallout ha(**loop, sched, log_,
               HaCallout::Options{.program = tmp_.File("nope"), .timeout = 1s});
  std::optional<CalloutOutcome> add;
  ha.AddClient("a", "b", [&](CalloutOutcome o) { add = o; });
  ASSERT_TRUE((*loop)->RunUntil([&] { return add.has_value(); }, 2s));
  EXPECT_EQ(ha.queued(), 0u);
}

TEST_F(HaCalloutTest, DrainWaitsForARunningCalloutThenKillsAtTheGrace) {
  WriteScript("[ \"$1\" = add-client ] && exec sleep 60\necho \"$@\" >> " + out_);
  auto loop = EventLoop::Create();
  ASSERT_OK(loop);
  LoopScheduler sched(**loop);
  HaCallout ha(**loop, sched, log_,
               HaCallout::Options{.program = script_, .drain_grace = 300ms, .ack_children = 1});
  std::optional<CalloutOutcome> hung, quick;
  ha.AddClient("a", "b", [&](CalloutOutcome o) { hung = o; });
  bool drained = false;
  auto start = std::chrono::steady_clock::now();
  ha.Drain([&] { drained = true; });
  ASSERT_TRUE((*loop)->RunUntil([&] { return drained; }, 10s));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 250ms);  // the loop clock is coarse
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(hung, CalloutOutcome::kDropped);
  EXPECT_TRUE(log_.Contains("killed 1 add-client/del-client"));
  // The killed child is reaped (no zombie left for the destructor to wait on).
  ASSERT_TRUE((*loop)->RunUntil([&] { return ha.running() == 0; }, 10s));
}

}  // namespace
}  // namespace nfsrec::statd
