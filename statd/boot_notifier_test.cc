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
    return BootNotifier(service_, engine_, kernel_, log_,
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

}  // namespace
}  // namespace nfsrec::statd
