// Tests for RpcServer::Create: listeners, ports, bad options.
#include "common/rpc/rpc_server.h"

#include "common/rpc/rpc_test_harness.h"
#include <gtest/gtest.h>

namespace nfsrec::rpc {
namespace {

using namespace rpctest;  // NOLINT(build/namespaces)

TEST(RpcServerCreateTest, FixedPortIsSharedAndListenersAreReported) {
  // Find a free port, then ask for it explicitly.
  RpcServer::Options probe_opt = LoopbackOptions();
  auto probe = ServerHarness::Start(probe_opt);
  ASSERT_NE(probe, nullptr);
  uint16_t port = probe->Port("tcp");
  probe.reset();

  RpcServer::Options opt = LoopbackOptions();
  opt.port = port;
  auto h = ServerHarness::Start(opt);
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->Port("udp"), port);
  EXPECT_EQ(h->Port("tcp"), port);
  if (opt.udp6) {
    EXPECT_EQ(h->Port("udp6"), port);
    EXPECT_EQ(h->Port("tcp6"), port);
  }
  auto r = test::Call("127.0.0.1", port, Proto::kUdp, kProg, 2, 0, {}, kTimeout);
  EXPECT_OK(r);
}

TEST(RpcServerCreateTest, EphemeralPortsDifferPerListener) {
  auto loop = EventLoop::Create();
  ASSERT_OK(loop);
  LoopScheduler scheduler(**loop);
  CapturingLogger log;
  RpcServer::Options opt = LoopbackOptions();
  auto server = RpcServer::Create(**loop, scheduler, log, opt);
  ASSERT_OK(server);
  auto ls = (*server)->listeners();
  ASSERT_GE(ls.size(), 2u);
  EXPECT_EQ(ls[0].netid, "udp");
  EXPECT_EQ(ls[0].address, "127.0.0.1");
  EXPECT_EQ(ls[1].netid, "tcp");
  EXPECT_NE(ls[0].port, 0);
  EXPECT_NE(ls[1].port, 0);
  // Both ports are the kernel's choice; they need not match.  What matters
  // is that each listener is usable, checked by the other tests.
}

TEST(RpcServerCreateTest, BadOptions) {
  auto loop = EventLoop::Create();
  ASSERT_OK(loop);
  LoopScheduler scheduler(**loop);
  CapturingLogger log;
  RpcServer::Options opt = LoopbackOptions();
  opt.bind_v4 = "not-an-address";
  EXPECT_TRUE(RpcServer::Create(**loop, scheduler, log, opt).status().IsInvalidArgument());
  opt = LoopbackOptions();
  opt.udp = opt.tcp = opt.udp6 = opt.tcp6 = false;
  EXPECT_FALSE(RpcServer::Create(**loop, scheduler, log, opt).ok());
  // The same fixed port twice is refused.
  auto first = RpcServer::Create(**loop, scheduler, log, LoopbackOptions());
  ASSERT_OK(first);
  opt = LoopbackOptions();
  opt.port = (*first)->listeners()[1].port;  // tcp
  opt.udp = false;
  EXPECT_FALSE(RpcServer::Create(**loop, scheduler, log, opt).ok());
}

}  // namespace
}  // namespace nfsrec::rpc
