// RpcbindWatch on a simulated local rpcbind (FakeDatagramPort) and a
// FakeScheduler: a check every interval, re-registration only when rpcbind
// answers "not registered", nothing while rpcbind is down.
#include <chrono>
#include <string_view>
#include <vector>

#include "common/rpc/rpcbind.h"
#include "tests/support/fake_datagram_port.h"
#include "tests/support/fake_scheduler.h"
#include "tests/support/status_matchers.h"
#include <gtest/gtest.h>

namespace nfsrec::rpc {
namespace {

using namespace std::chrono_literals;

constexpr uint32_t kProg = 100024;
constexpr uint32_t kVers = 1;
constexpr Duration kInterval = 30s;
// An interval and the simulated rpcbind's answer (1 ms): the next check is
// scheduled from the answer.
constexpr Duration kStep = kInterval + 10ms;

class RpcbindWatchTest : public ::testing::Test {
 protected:
  RpcbindWatchTest()
      : net_(sched_),
        client_(net_, sched_, log_),
        watch_(client_, sched_, log_, Endpoint::FromNumeric(AF_INET, "127.0.0.1", 111).value(),
               kProg, kVers, kInterval, [this](Callback<void(Status)> done) {
                 ++reregister_calls_;
                 pending_ = std::move(done);
               }) {
    net_.hosts["127.0.0.1"].ports[{kProg, kVers}] = 662;
    watch_.Start();
  }

  // GETPORT calls rpcbind received.
  size_t Checks() const { return net_.SentTo("127.0.0.1").size(); }
  int LogCount(std::string_view needle) const {
    int n = 0;
    for (const auto& [level, line] : log_.lines()) n += line.find(needle) != std::string::npos;
    return n;
  }

  FakeScheduler sched_;
  FakeDatagramPort net_;
  CapturingLogger log_;
  UdpRpcClient client_;
  int reregister_calls_ = 0;
  Callback<void(Status)> pending_;
  RpcbindWatch watch_;
};

TEST_F(RpcbindWatchTest, ChecksEveryIntervalAndLeavesARegistrationAlone) {
  sched_.Advance(kInterval - 1ms);
  EXPECT_EQ(Checks(), 0u);
  sched_.Advance(1ms);
  EXPECT_EQ(Checks(), 1u);
  EXPECT_EQ(net_.sent[0].prog, kRpcbindProgram);
  EXPECT_EQ(net_.sent[0].proc, kPmapProcGetport);
  sched_.Advance(kStep);
  EXPECT_EQ(Checks(), 2u);
  EXPECT_EQ(reregister_calls_, 0);
  EXPECT_EQ(watch_.checks(), 2u);
}

TEST_F(RpcbindWatchTest, RestartedRpcbindGetsOurRegistrationBackOnce) {
  sched_.Advance(kStep);
  net_.hosts["127.0.0.1"].ports.clear();  // rpcbind restarted: empty table
  sched_.Advance(kStep);
  ASSERT_EQ(reregister_calls_, 1);
  // No second re-registration while one is in flight.
  sched_.Advance(3 * kStep);
  EXPECT_EQ(reregister_calls_, 1);
  net_.hosts["127.0.0.1"].ports[{kProg, kVers}] = 662;
  pending_(Status::Ok());
  EXPECT_EQ(watch_.reregistered(), 1u);
  EXPECT_EQ(LogCount("registered it again"), 1);
  sched_.Advance(kStep);
  EXPECT_EQ(reregister_calls_, 1);
}

TEST_F(RpcbindWatchTest, FailedReregistrationIsLoggedAndRetriedAtTheNextCheck) {
  net_.hosts["127.0.0.1"].ports.clear();
  sched_.Advance(kStep);
  ASSERT_EQ(reregister_calls_, 1);
  pending_(Status::Unavailable("rpcbind: cannot register"));
  EXPECT_TRUE(log_.Contains("registering it again failed"));
  EXPECT_EQ(watch_.reregistered(), 0u);
  sched_.Advance(kStep);
  EXPECT_EQ(reregister_calls_, 2);
}

TEST_F(RpcbindWatchTest, RpcbindDownIsNotARegistrationToRedo) {
  net_.hosts["127.0.0.1"].up = false;
  sched_.Advance(kStep);
  sched_.Advance(10s);  // the check's resends time out
  EXPECT_GE(Checks(), 2u);
  EXPECT_EQ(reregister_calls_, 0);
  // Back, without our entry: the next check registers again.
  net_.hosts["127.0.0.1"].up = true;
  net_.hosts["127.0.0.1"].ports.clear();
  sched_.Advance(kStep);
  EXPECT_EQ(reregister_calls_, 1);
}

TEST_F(RpcbindWatchTest, DestroyedWatchIgnoresALateAnswer) {
  net_.hosts["127.0.0.1"].ports.clear();
  sched_.Advance(kStep);
  ASSERT_EQ(reregister_calls_, 1);
  Callback<void(Status)> late = std::move(pending_);
  {
    UdpRpcClient client(net_, sched_, log_);
    RpcbindWatch other(client, sched_, log_,
                       Endpoint::FromNumeric(AF_INET, "127.0.0.1", 111).value(), kProg, kVers,
                       kInterval, [&late](Callback<void(Status)> done) { late = std::move(done); });
    other.Start();
    sched_.Advance(kStep);
  }
  late(Status::Ok());  // its owner is gone: nothing happens
  EXPECT_EQ(LogCount("registered it again"), 0);
  sched_.Advance(kStep);
}

}  // namespace
}  // namespace nfsrec::rpc
