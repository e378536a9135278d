// BootNotifier over NsmService, a MemNsmStore (commits on Flush) and a
// NotifyEngine on a simulated network and virtual time.
#include "statd/boot_notifier.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/fake_datagram_port.h"
#include "tests/support/fake_kernel_nsm.h"
#include "tests/support/fake_resolver.h"
#include "tests/support/fake_scheduler.h"
#include "tests/support/mem_nsm_store.h"
#include "tests/support/status_matchers.h"
#include <gtest/gtest.h>

namespace nfsrec::statd {
namespace {

using namespace std::chrono_literals;

MonitorRecord Record(const std::string& peer) {
  MonitorRecord r;
  r.key = MonitorKey{peer, "server", 100021, 3, 16};
  r.priv.fill(1);
  r.canonical_name = peer;
  return r;
}

class BootNotifierTest : public ::testing::Test {
 protected:
  BootNotifierTest()
      : local_net_(sched_),
        remote_net_(sched_),
        resolver_(&sched_),
        local_(local_net_, sched_, log_),
        remote_(remote_net_, sched_, log_),
        engine_(local_, remote_, resolver_, sched_, log_, {}),
        service_(store_, resolver_, kernel_, engine_, log_) {}

  // A peer whose statd answers SM_NOTIFY.
  void AddPeer(const std::string& name, const std::string& addr) {
    resolver_.Add(name, HostInfo{name, {addr}});
    FakeDatagramPort::Host h;
    h.ports[{kNsmProgram, kNsmVersion}] = 1011;
    remote_net_.hosts[addr] = h;
  }

  void StartService() {
    std::optional<Status> st;
    service_.Start(LegacyStatd{}, [&](Status s) { st = s; });
    store_.Flush();
    ASSERT_TRUE(st.has_value());
    ASSERT_OK(*st);
  }

  // Runs the notifier and everything it waits for (commits, DNS, replies).
  void Run(BootNotifier& n, const std::string& boot_id, bool force) {
    summary_.reset();
    n.Run(
        boot_id, force, [this](Result<BootNotifier::Summary> s) { summary_ = std::move(s); },
        [this](size_t ok, size_t failed) {
          finished_ = {ok, failed};
        });
    for (int i = 0; i < 50; ++i) {
      store_.Flush();
      sched_.Advance(100ms);
    }
    store_.Flush();
  }

  BootNotifier Notifier(bool lift_grace = true, bool bump_state = true) {
    return BootNotifier(service_, engine_, kernel_, sched_, log_,
                        BootNotifier::Options{"", lift_grace, bump_state});
  }

  FakeScheduler sched_;
  CapturingLogger log_;
  FakeDatagramPort local_net_;
  FakeDatagramPort remote_net_;
  FakeResolver resolver_;
  rpc::UdpRpcClient local_;
  rpc::UdpRpcClient remote_;
  NotifyEngine engine_;
  MemNsmStore store_;
  FakeKernelNsm kernel_;
  NsmService service_;
  std::optional<Result<BootNotifier::Summary>> summary_;
  std::optional<std::pair<size_t, size_t>> finished_;
};

TEST_F(BootNotifierTest, NobodyToNotifyLiftsGraceAndKeepsTheState) {
  StartService();
  BootNotifier n = Notifier();
  Run(n, "boot-1", false);
  ASSERT_TRUE(summary_.has_value());
  ASSERT_OK(*summary_);
  EXPECT_TRUE((*summary_)->new_boot);
  EXPECT_EQ((*summary_)->state, 3);
  EXPECT_EQ((*summary_)->peers, 0u);
  EXPECT_EQ(store_.local_state(), 3);
  EXPECT_EQ(kernel_.end_grace, 1);
  EXPECT_EQ(store_.boot_id(), "boot-1");
  EXPECT_EQ(finished_, (std::pair<size_t, size_t>{0, 0}));
  EXPECT_TRUE(log_.Contains("No hosts to notify"));
}

TEST_F(BootNotifierTest, SomebodyToNotifyMovesMonitorsAndBumpsStateInOneStep) {
  store_.Seed(Record("peer1"));
  store_.Seed(Record("peer2"));
  AddPeer("peer1", "10.0.0.1");
  AddPeer("peer2", "10.0.0.2");
  StartService();
  const int writes = store_.local_state_writes();
  BootNotifier n = Notifier();
  n.Run("boot-1", false, [this](Result<BootNotifier::Summary> s) { summary_ = std::move(s); });
  ASSERT_TRUE(store_.CommitNext());  // the one transaction
  EXPECT_EQ(store_.local_state_writes(), writes + 1);
  EXPECT_TRUE(store_.monitors().empty());
  EXPECT_EQ(store_.notify_list().size(), 2u);
  EXPECT_EQ(store_.local_state(), 5);
  EXPECT_EQ(kernel_.published.back(), 5);
  ASSERT_TRUE(summary_.has_value());
  ASSERT_OK(*summary_);
  EXPECT_EQ((*summary_)->state, 5);
  EXPECT_EQ((*summary_)->peers, 2u);
  EXPECT_EQ(kernel_.end_grace, 0);
  for (int i = 0; i < 50; ++i) {
    store_.Flush();
    sched_.Advance(100ms);
  }
  store_.Flush();
  EXPECT_EQ(remote_net_.delivered.size(), 2u);
  EXPECT_TRUE(store_.notify_list().empty()) << "answered peers stay on the notify list";
  EXPECT_EQ(n.in_progress(), 0u);
}

TEST_F(BootNotifierTest, SameBootIdChangesNothingForceDoes) {
  store_.Seed(Record("peer1"));
  store_.SeedBootId("boot-1");
  store_.SeedLocalState(7);
  AddPeer("peer1", "10.0.0.1");
  StartService();
  BootNotifier n = Notifier();
  Run(n, "boot-1", false);
  ASSERT_TRUE(summary_.has_value() && summary_->ok());
  EXPECT_FALSE((*summary_)->new_boot);
  EXPECT_EQ(store_.local_state(), 7);
  EXPECT_EQ(store_.monitors().size(), 1u);
  EXPECT_TRUE(remote_net_.delivered.empty());

  Run(n, "boot-1", /*force=*/true);
  ASSERT_TRUE(summary_.has_value() && summary_->ok());
  EXPECT_TRUE((*summary_)->new_boot);
  EXPECT_EQ(store_.local_state(), 9);
  EXPECT_TRUE(store_.monitors().empty());
  EXPECT_EQ(remote_net_.delivered.size(), 1u);

  // A different boot id is a new boot too; nobody is left to notify.
  Run(n, "boot-2", false);
  ASSERT_TRUE(summary_.has_value() && summary_->ok());
  EXPECT_TRUE((*summary_)->new_boot);
  EXPECT_EQ(store_.local_state(), 9);
  EXPECT_EQ(store_.boot_id(), "boot-2");
}

TEST_F(BootNotifierTest, UpdateStateFalseNotifiesWithTheCurrentState) {
  store_.Seed(Record("peer1"));
  AddPeer("peer1", "10.0.0.1");
  StartService();
  BootNotifier n = Notifier(/*lift_grace=*/false, /*bump_state=*/false);
  Run(n, "boot-1", false);
  ASSERT_TRUE(summary_.has_value() && summary_->ok());
  EXPECT_EQ((*summary_)->state, 3);
  EXPECT_EQ(store_.local_state(), 3);
  ASSERT_EQ(remote_net_.delivered.size(), 1u);
  EXPECT_EQ(DecodeStatChge(remote_net_.delivered[0].args)->state, 3);
  EXPECT_EQ(finished_, (std::pair<size_t, size_t>{1, 0}));
}

TEST_F(BootNotifierTest, NoGraceLiftWhenTurnedOff) {
  StartService();
  BootNotifier n = Notifier(/*lift_grace=*/false);
  Run(n, "boot-1", false);
  ASSERT_TRUE(summary_.has_value() && summary_->ok());
  EXPECT_EQ(kernel_.end_grace, 0);
}

TEST_F(BootNotifierTest, StoreFailureIsReported) {
  store_.Seed(Record("peer1"));
  StartService();
  store_.FailNext(Status::IOError("disk gone"));
  BootNotifier n = Notifier();
  Run(n, "boot-1", false);
  ASSERT_TRUE(summary_.has_value());
  EXPECT_TRUE(summary_->status().IsIOError());
  EXPECT_EQ(store_.local_state(), 3);
  EXPECT_EQ(service_.monitor_count(), 1u);
}

// The notice-level lines of the log that contain `needle`.
std::vector<std::string> Notices(const CapturingLogger& log, const std::string& needle) {
  std::vector<std::string> out;
  for (const auto& [level, text] : log.lines()) {
    if (level == LogLevel::kNotice && text.find(needle) != std::string::npos) out.push_back(text);
  }
  return out;
}

TEST_F(BootNotifierTest, StartAndFinishAreOneNoticeEachWithCountsAndTime) {
  store_.Seed(Record("peer1"));
  store_.Seed(Record("peer2"));
  store_.Seed(Record("gone"));
  AddPeer("peer1", "10.0.0.1");
  AddPeer("peer2", "10.0.0.2");
  resolver_.Add("gone", HostInfo{"gone", {"10.0.0.9"}});  // no host answers there
  StartService();
  BootNotifier n = Notifier();
  EXPECT_EQ(n.report().runs, 0u);
  n.Run("boot-1", false, [this](Result<BootNotifier::Summary> s) { summary_ = std::move(s); });
  const TimePoint t0 = sched_.Now();
  for (int i = 0; i < 20; ++i) {
    store_.Flush();
    sched_.Advance(100ms);
  }
  auto started = Notices(log_, "Boot notification started");
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0], "Boot notification started: notifying 3 host(s) of NSM state 5");
  BootNotifier::Report r = n.report();
  EXPECT_EQ(r.runs, 1u);
  EXPECT_TRUE(r.running);
  EXPECT_TRUE(r.new_boot);
  EXPECT_EQ(r.state, 5);
  EXPECT_EQ(r.peers, 3u);
  EXPECT_EQ(r.answered, 2u);
  EXPECT_EQ(r.unreachable, 0u);
  EXPECT_EQ(r.started_at, t0);
  EXPECT_FALSE(r.finished_at.has_value());
  EXPECT_TRUE(Notices(log_, "Boot notification finished").empty());

  sched_.Advance(20min);  // past the notify window: "gone" is given up
  store_.Flush();
  r = n.report();
  EXPECT_FALSE(r.running);
  EXPECT_EQ(r.answered, 2u);
  EXPECT_EQ(r.unreachable, 1u);
  ASSERT_TRUE(r.finished_at.has_value());
  const Duration took = *r.finished_at - r.started_at;
  EXPECT_GE(took, 15min);
  EXPECT_LE(took, 20min);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
  auto finished = Notices(log_, "Boot notification finished");
  ASSERT_EQ(finished.size(), 1u);
  EXPECT_EQ(finished[0], StrCat("Boot notification finished: 2 of 3 host(s) answered, 1 "
                                "unreachable (given up) in ",
                                ms / 1000, ".", ms % 1000 / 100, " s"));
  EXPECT_EQ(store_.notify_list().size(), 1u) << "the unreachable peer stays owed";
}

TEST_F(BootNotifierTest, ResumedRunSaysSoAndCountsAgainFromZero) {
  store_.SeedBootId("boot-1");
  store_.SeedLocalState(7);
  store_.SeedNotify(Record("peer1"));
  AddPeer("peer1", "10.0.0.1");
  StartService();
  BootNotifier n = Notifier();
  Run(n, "boot-1", false);
  auto started = Notices(log_, "Boot notification started");
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0], "Boot notification started: notifying 1 host(s) of NSM state 7 (resumed)");
  EXPECT_FALSE(n.report().new_boot);
  EXPECT_EQ(n.report().answered, 1u);
  EXPECT_EQ(
      Notices(log_, "Boot notification finished: 1 of 1 host(s) answered, 0 unreachable").size(),
      1u);
  // A forced run later is a second run with its own figures.
  store_.Seed(Record("peer1"));
  ASSERT_TRUE(store_.notify_list().empty());
  service_.Reload([](Status) {});
  store_.Flush();
  Run(n, "boot-1", /*force=*/true);
  EXPECT_EQ(n.report().runs, 2u);
  EXPECT_TRUE(n.report().new_boot);
  EXPECT_EQ(n.report().peers, 1u);
  EXPECT_EQ(n.report().answered, 1u);
  EXPECT_EQ(Notices(log_, "Boot notification finished").size(), 2u);
}

TEST_F(BootNotifierTest, NobodyToNotifyIsOneNoticeAndNoRun) {
  StartService();
  BootNotifier n = Notifier();
  Run(n, "boot-1", false);
  EXPECT_EQ(Notices(log_, "No hosts to notify").size(), 1u);
  EXPECT_TRUE(Notices(log_, "Boot notification").empty());
  EXPECT_EQ(n.report().runs, 0u);
}

}  // namespace
}  // namespace nfsrec::statd
