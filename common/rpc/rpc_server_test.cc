// Tests for RpcServer::Create: listeners, ports, bad options.
#include "common/rpc/rpc_server.h"

#include <netinet/in.h>
#include <poll.h>

#include <fstream>
#include <set>

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

// Sends `calls` echo calls over UDP at once while the server's loop is
// busy, then lets the loop run: how many were answered.  What the loop
// could not read meanwhile waited in the listener's receive buffer.
// With `prepared_buffer` > 0 the listener is a socket that
// RpcServer::Prepare sized so, and Create's own options ask for none.
size_t BurstAnswered(int receive_buffer, uint32_t calls, int prepared_buffer = 0) {
  RpcServer::Options opt = LoopbackOptions();
  opt.udp_receive_buffer = receive_buffer;
  RpcServer::Prepared prepared;
  if (prepared_buffer > 0) {
    RpcServer::Options sized = opt;
    sized.udp_receive_buffer = prepared_buffer;
    prepared = RpcServer::Prepare(sized);
  }
  auto h = ServerHarness::Start(opt, Clock::kReal, std::move(prepared));
  if (h == nullptr) return 0;
  const uint16_t port = h->Port("udp");
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return 0;
  // The client's own buffer must hold every reply.
  const int big = 16 << 20;
  (void)setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) return 0;

  std::promise<void> busy, release;
  std::shared_future<void> released = release.get_future().share();
  std::thread blocker([&] {
    h->OnLoop([&] {
      busy.set_value();
      released.wait();
    });
  });
  busy.get_future().wait();
  for (uint32_t i = 0; i < calls; ++i) {
    std::vector<uint8_t> call = EncodeCall(i + 1, kProg, 2, kProcEcho, U32s({i}));
    (void)::send(fd.get(), call.data(), call.size(), 0);
  }
  release.set_value();
  blocker.join();

  std::set<uint32_t> answered;
  std::vector<uint8_t> buf(2048);
  pollfd pfd{fd.get(), POLLIN, 0};
  while (answered.size() < calls && ::poll(&pfd, 1, 1000) > 0) {
    ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 4) continue;
    answered.insert(static_cast<uint32_t>(buf[0]) << 24 | static_cast<uint32_t>(buf[1]) << 16 |
                    static_cast<uint32_t>(buf[2]) << 8 | buf[3]);
  }
  return answered.size();
}

TEST(RpcServerCreateTest, UdpReceiveBufferHoldsABurstWhileTheLoopIsBusy) {
  // Beyond net.core.rmem_max the size takes only with CAP_NET_ADMIN.
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (SO_RCVBUFFORCE)";
  constexpr uint32_t kCalls = 2000;
  EXPECT_EQ(BurstAnswered(4 << 20, kCalls), kCalls);
  // The control: the system's default buffer (about 200 such datagrams as
  // the kernel counts them) loses part of the same burst.
  int rmem_default = 0;
  std::ifstream("/proc/sys/net/core/rmem_default") >> rmem_default;
  if (rmem_default > 0 && rmem_default < (1 << 20)) {
    EXPECT_LT(BurstAnswered(0, kCalls), kCalls);
  }
}

// A daemon sizes its listeners' buffers before it gives up CAP_NET_ADMIN
// and binds them afterwards: Create binds the prepared sockets, whose size
// holds the burst although Create's own options ask for none.
TEST(RpcServerCreateTest, PreparedUdpSocketsAreTheListenersAndKeepTheirBuffer) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (SO_RCVBUFFORCE)";
  constexpr uint32_t kCalls = 2000;
  EXPECT_EQ(BurstAnswered(0, kCalls, 4 << 20), kCalls);
}

}  // namespace
}  // namespace nfsrec::rpc
