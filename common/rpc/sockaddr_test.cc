// Tests for the address helpers (common/rpc/sockaddr.h).
#include "common/rpc/sockaddr.h"

#include <arpa/inet.h>

#include "common/base/unique_fd.h"
#include "common/rpc/dispatcher.h"
#include "tests/support/status_matchers.h"
#include <gtest/gtest.h>

namespace nfsrec::rpc {
namespace {

TEST(AddressTest, LoopbackAndPorts) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(999);
  inet_pton(AF_INET, "127.3.2.1", &sin.sin_addr);
  EXPECT_TRUE(IsLoopbackAddress(reinterpret_cast<sockaddr*>(&sin)));
  EXPECT_EQ(SockaddrPort(reinterpret_cast<sockaddr*>(&sin)), 999);
  EXPECT_EQ(NumericAddress(reinterpret_cast<sockaddr*>(&sin)), "127.3.2.1");
  inet_pton(AF_INET, "10.0.0.1", &sin.sin_addr);
  EXPECT_FALSE(IsLoopbackAddress(reinterpret_cast<sockaddr*>(&sin)));

  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  inet_pton(AF_INET6, "::1", &sin6.sin6_addr);
  EXPECT_TRUE(IsLoopbackAddress(reinterpret_cast<sockaddr*>(&sin6)));
  for (const char* a :
       {"::2", "::ffff:10.0.0.1", "fe80::1", "::", "::ffff:127.0.0.1", "::ffff:127.255.0.9"}) {
    inet_pton(AF_INET6, a, &sin6.sin6_addr);
    EXPECT_FALSE(IsLoopbackAddress(reinterpret_cast<sockaddr*>(&sin6))) << a;
  }
  sockaddr unknown{};
  unknown.sa_family = AF_UNIX;
  EXPECT_EQ(NumericAddress(&unknown), "?");
  EXPECT_EQ(SockaddrPort(&unknown), 0);
}

TEST(EndpointTest, FromNumericEitherFamily) {
  Result<Endpoint> v4 = Endpoint::FromNumeric("10.1.2.3", 111);
  ASSERT_OK(v4);
  EXPECT_EQ(v4->family(), AF_INET);
  EXPECT_EQ(v4->len, sizeof(sockaddr_in));
  EXPECT_EQ(v4->port(), 111);
  EXPECT_EQ(v4->Numeric(), "10.1.2.3");
  EXPECT_EQ(v4->ToString(), "10.1.2.3:111");
  EXPECT_FALSE(v4->IsV6());

  Result<Endpoint> v6 = Endpoint::FromNumeric("::1", 2049);
  ASSERT_OK(v6);
  EXPECT_TRUE(v6->IsV6());
  EXPECT_EQ(v6->len, sizeof(sockaddr_in6));
  EXPECT_EQ(v6->ToString(), "[::1]:2049");
  EXPECT_EQ(v6->WithPort(7).port(), 7);
  EXPECT_TRUE(IsLoopbackAddress(v6->sa()));

  EXPECT_TRUE(Endpoint::FromNumeric("host.example", 1).status().IsInvalidArgument());
  EXPECT_TRUE(Endpoint::FromNumeric("", 1).status().IsInvalidArgument());
}

TEST(EndpointTest, FromNumericOfOneFamily) {
  EXPECT_OK(Endpoint::FromNumeric(AF_INET, "0.0.0.0", 0));
  EXPECT_OK(Endpoint::FromNumeric(AF_INET6, "::", 0));
  EXPECT_TRUE(Endpoint::FromNumeric(AF_INET6, "0.0.0.0", 0).status().IsInvalidArgument());
  EXPECT_TRUE(Endpoint::FromNumeric(AF_INET, "::1", 0).status().IsInvalidArgument());
}

TEST(EndpointTest, V4MappedAndLocal) {
  Endpoint v4 = Endpoint::FromNumeric("127.0.0.5", 900).value();
  Endpoint mapped = v4.V4Mapped();
  EXPECT_TRUE(mapped.IsV6());
  EXPECT_EQ(mapped.Numeric(), "::ffff:127.0.0.5");
  EXPECT_EQ(mapped.port(), 900);
  EXPECT_FALSE(IsLoopbackAddress(mapped.sa()));
  EXPECT_EQ(mapped.V4Mapped().Numeric(), "::ffff:127.0.0.5");  // already IPv6

  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(fd);
  Endpoint any = Endpoint::FromNumeric("127.0.0.1", 0).value();
  ASSERT_EQ(::bind(fd.get(), any.sa(), any.len), 0);
  Result<Endpoint> local = Endpoint::Local(fd.get());
  ASSERT_OK(local);
  EXPECT_EQ(local->Numeric(), "127.0.0.1");
  EXPECT_NE(local->port(), 0);
  EXPECT_EQ(Endpoint::FromSockaddr(local->sa(), local->len).port(), local->port());
}

Endpoint Ep(const char* address) { return Endpoint::FromNumeric(address, 1000).value(); }

TEST(LoopbackTest, V4MappedLoopbackIsIpv4LoopbackOnlyOnADualStackSocket) {
  EXPECT_EQ(LoopbackFamily(Ep("127.0.0.1").sa(), false), AF_INET);
  EXPECT_EQ(LoopbackFamily(Ep("::1").sa(), false), AF_INET6);
  EXPECT_EQ(LoopbackFamily(Ep("::ffff:127.0.0.1").sa(), false), AF_UNSPEC);
  EXPECT_EQ(LoopbackFamily(Ep("::ffff:127.0.0.1").sa(), true), AF_INET);
  EXPECT_EQ(LoopbackFamily(Ep("::ffff:10.0.0.1").sa(), true), AF_UNSPEC);
  EXPECT_EQ(LoopbackFamily(Ep("10.0.0.1").sa(), true), AF_UNSPEC);
}

TEST(LoopbackTest, DatagramIsLocalOnlyIfItCameInOnTheLoopbackInterface) {
  const unsigned lo = 1;
  EXPECT_TRUE(DatagramFromLoopback(Ep("::1").sa(), Ep("::1").sa(), lo, lo, false));
  EXPECT_TRUE(DatagramFromLoopback(Ep("127.0.0.1").sa(), Ep("127.0.0.2").sa(), lo, lo, false));
  // The same addresses from another interface (a forged source).
  EXPECT_FALSE(DatagramFromLoopback(Ep("::1").sa(), Ep("::1").sa(), 2, lo, false));
  EXPECT_FALSE(DatagramFromLoopback(Ep("127.0.0.1").sa(), Ep("127.0.0.1").sa(), 2, lo, false));
  // No IP_PKTINFO at all.
  EXPECT_FALSE(DatagramFromLoopback(Ep("127.0.0.1").sa(), Ep("127.0.0.1").sa(), 0, lo, false));
  // An IPv6 packet from ::ffff:127.0.0.1 on an IPV6_V6ONLY socket, even on lo.
  EXPECT_FALSE(DatagramFromLoopback(Ep("::ffff:127.0.0.1").sa(), Ep("::1").sa(), lo, lo, false));
  EXPECT_FALSE(
      DatagramFromLoopback(Ep("::ffff:127.0.0.1").sa(), Ep("2001:db8::1").sa(), 2, lo, false));
  // Real IPv4 loopback traffic on a dual-stack socket.
  EXPECT_TRUE(
      DatagramFromLoopback(Ep("::ffff:127.0.0.1").sa(), Ep("::ffff:127.0.0.1").sa(), lo, lo, true));
  EXPECT_FALSE(
      DatagramFromLoopback(Ep("::ffff:127.0.0.1").sa(), Ep("::ffff:127.0.0.1").sa(), 3, lo, true));
  // Sent to a non-loopback address, or across families.
  EXPECT_FALSE(DatagramFromLoopback(Ep("127.0.0.1").sa(), Ep("10.0.0.1").sa(), lo, lo, false));
  EXPECT_FALSE(DatagramFromLoopback(Ep("::1").sa(), Ep("127.0.0.1").sa(), lo, lo, false));
}

TEST(LoopbackTest, StreamIsLocalOnlyIfItsOwnAddressIsLoopback) {
  EXPECT_TRUE(StreamFromLoopback(Ep("::1").sa(), Ep("::1").sa(), false));
  EXPECT_TRUE(StreamFromLoopback(Ep("127.0.0.1").sa(), Ep("127.0.0.1").sa(), false));
  EXPECT_FALSE(StreamFromLoopback(Ep("127.0.0.1").sa(), Ep("192.0.2.1").sa(), false));
  EXPECT_FALSE(StreamFromLoopback(Ep("::ffff:127.0.0.1").sa(), Ep("2001:db8::1").sa(), false));
  EXPECT_FALSE(StreamFromLoopback(Ep("::ffff:127.0.0.1").sa(), Ep("::1").sa(), false));
  EXPECT_TRUE(StreamFromLoopback(Ep("::ffff:127.0.0.1").sa(), Ep("::ffff:127.0.0.1").sa(), true));
}

TEST(LoopbackTest, CallFromAV4MappedPeerOnAV6OnlySocketIsNotLoopback) {
  CallContext ctx;
  Endpoint peer = Ep("::ffff:127.0.0.1");
  ctx.peer = peer.addr;
  ctx.peer_len = peer.len;
  ctx.netid = Netid::kUdp6;
  ctx.dual_stack = false;
  // What the UDP transport decides for it, on lo or not.
  for (unsigned ifindex : {LoopbackInterfaceIndex(), LoopbackInterfaceIndex() + 1}) {
    ctx.arrived_on_loopback =
        DatagramFromLoopback(peer.sa(), Ep("::1").sa(), ifindex, LoopbackInterfaceIndex(), false);
    EXPECT_FALSE(ctx.IsLoopback()) << ifindex;
  }
  // Even a transport that got "arrived on loopback" wrong cannot make it local.
  ctx.arrived_on_loopback = true;
  EXPECT_FALSE(ctx.IsLoopback());
  // ::1 that came in on lo is.
  Endpoint one = Ep("::1");
  ctx.peer = one.addr;
  ctx.peer_len = one.len;
  ctx.arrived_on_loopback = DatagramFromLoopback(one.sa(), one.sa(), LoopbackInterfaceIndex(),
                                                 LoopbackInterfaceIndex(), false);
  EXPECT_TRUE(ctx.IsLoopback());
}

}  // namespace
}  // namespace nfsrec::rpc
