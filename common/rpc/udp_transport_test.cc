// Tests for the UDP transport behind RpcServer (common/rpc/udp_transport.h).
#include "common/rpc/udp_transport.h"

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

}  // namespace
}  // namespace nfsrec::rpc
