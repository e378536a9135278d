// Tests for the UDP transport behind RpcServer (common/rpc/udp_transport.h).
#include "common/rpc/udp_transport.h"

#include <optional>

#include "common/rpc/rpc_test_harness.h"
#include <gtest/gtest.h>

namespace nfsrec::rpc {
namespace {

using namespace rpctest;  // NOLINT(build/namespaces)

TEST(RpcUdpTest, ReplyComesFromTheAddressTheCallWentTo) {
  // Bound to the wildcard and called on 127.0.0.2 from 127.0.0.1: left to
  // itself the kernel would answer from 127.0.0.1 (the route's preferred
  // source), which the client's socket, connected to 127.0.0.2, ignores.
  RpcServer::Options opt;
  opt.bind_v4 = "0.0.0.0";
  opt.tcp = opt.udp6 = opt.tcp6 = false;
  auto h = ServerHarness::Start(opt);
  ASSERT_NE(h, nullptr);
  test::CallOptions copt;
  copt.source_address = "127.0.0.1";
  auto r = test::Call("127.0.0.2", h->Port("udp"), Proto::kUdp, kProg, 2, kProcContext, {},
                      kTimeout, copt);
  ASSERT_OK(r);
  EXPECT_TRUE(r->Success());
}

TEST(RpcUdpTest, LargestDatagramIsHandled) {
  RpcServer::Options opt = LoopbackOptions();
  auto h = ServerHarness::Start(opt);
  ASSERT_NE(h, nullptr);
  // 65507 bytes is the largest IPv4 UDP payload: a 40-byte call header and
  // the arguments.  The echo reply (24-byte header) fits as well.
  std::vector<uint8_t> args(65507 - 40, 5);
  auto r =
      test::Call("127.0.0.1", h->Port("udp"), Proto::kUdp, kProg, 2, kProcEcho, args, kTimeout);
  ASSERT_OK(r);
  EXPECT_EQ(r->results, args);
}

// IPv4 traffic on a dual-stack socket shows up as ::ffff:127.0.0.1; it is
// real loopback traffic there (IP_PKTINFO says lo), unlike the same source
// on an IPV6_V6ONLY socket.
TEST(RpcUdpTest, V4MappedPeerOnADualStackSocketIsLoopbackWhenItCameOverLo) {
  if (!HaveIpv6Loopback()) GTEST_SKIP() << "no IPv6 on this host";
  auto loop = EventLoop::Create();
  ASSERT_OK(loop);
  FakeScheduler scheduler;
  CapturingLogger log;
  Dispatcher dispatcher(log);
  std::optional<CallContext> seen;
  std::map<uint32_t, Handler> procs;
  procs[kProcContext] = [&](const CallContext& ctx, std::span<const uint8_t>, Responder r) {
    seen = ctx;
    r.ReplyVoid();
  };
  ASSERT_OK(dispatcher.AddProgram(kProg, 2, procs));

  UniqueFd fd(::socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(fd);
  int zero = 0;
  ASSERT_EQ(setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)), 0);
  Endpoint any = Endpoint::FromNumeric(AF_INET6, "::", 0).value();
  ASSERT_EQ(::bind(fd.get(), any.sa(), any.len), 0);
  uint16_t port = Endpoint::Local(fd.get())->port();
  std::vector<uint8_t> buffer(65536);
  auto udp =
      UdpTransport::Start(**loop, scheduler, dispatcher, log, Netid::kUdp6, std::move(fd), buffer);
  ASSERT_OK(udp);

  UniqueFd client(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  Endpoint to = Endpoint::FromNumeric("127.0.0.1", port).value();
  std::vector<uint8_t> call = EncodeCall(7, kProg, 2, kProcContext, {});
  ASSERT_EQ(::sendto(client.get(), call.data(), call.size(), 0, to.sa(), to.len),
            static_cast<ssize_t>(call.size()));
  ASSERT_TRUE((*loop)->RunUntil([&] { return seen.has_value(); }, kTimeout));
  EXPECT_EQ(seen->PeerAddress(), "::ffff:127.0.0.1");
  EXPECT_TRUE(seen->dual_stack);
  EXPECT_TRUE(seen->arrived_on_loopback);
  EXPECT_TRUE(seen->IsLoopback());
}

}  // namespace
}  // namespace nfsrec::rpc
