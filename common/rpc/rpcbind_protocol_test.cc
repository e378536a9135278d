// Tests for the rpcbind / portmapper codecs (common/rpc/rpcbind_protocol.h).
#include "common/rpc/rpcbind_protocol.h"

#include "common/rpc/rpc_message.h"
#include "tests/support/status_matchers.h"
#include <gtest/gtest.h>

namespace nfsrec::rpc {
namespace {

std::vector<uint8_t> U32s(std::initializer_list<uint32_t> words) {
  XdrWriter w;
  for (uint32_t v : words) w.PutUint32(v);
  return std::move(w).Take();
}

TEST(RpcbindProtocolTest, PmapGetport) {
  EXPECT_EQ(EncodePmapGetport(100024, 1, kPmapProtoUdp), U32s({100024, 1, 17, 0}));
  Result<uint16_t> port = DecodePmapGetportReply(U32s({2049}));
  ASSERT_OK(port);
  EXPECT_EQ(*port, 2049);
  EXPECT_EQ(DecodePmapGetportReply(U32s({0})).value(), 0);
  EXPECT_FALSE(DecodePmapGetportReply(U32s({65536})).ok());
  EXPECT_FALSE(DecodePmapGetportReply({}).ok());
}

TEST(RpcbindProtocolTest, RpcbGetaddr) {
  XdrWriter want;
  want.PutUint32(100021);
  want.PutUint32(4);
  want.PutString("udp6");
  want.PutString("");
  want.PutString("");
  EXPECT_EQ(EncodeRpcbGetaddr(100021, 4, "udp6"), want.bytes());

  XdrWriter reply;
  reply.PutString("::1.3.255");
  EXPECT_EQ(DecodeRpcbGetaddrReply(reply.bytes()).value(), 3 * 256 + 255);
  EXPECT_EQ(DecodeRpcbGetaddrUaddr(reply.bytes()).value(), "::1.3.255");
  XdrWriter none;
  none.PutString("");
  EXPECT_EQ(DecodeRpcbGetaddrReply(none.bytes()).value(), 0);
  EXPECT_FALSE(DecodeRpcbGetaddrReply(U32s({5})).ok());  // length past the end
}

TEST(RpcbindProtocolTest, UniversalAddresses) {
  EXPECT_EQ(UniversalAddress("127.0.0.1", 0x1234), "127.0.0.1.18.52");
  EXPECT_EQ(UniversalAddress("::", 2049), "::.8.1");
  EXPECT_EQ(PortFromUniversalAddress("127.0.0.1.18.52").value(), 0x1234);
  EXPECT_EQ(PortFromUniversalAddress("::.8.1").value(), 2049);
  for (const char* bad : {"", "1", "1.2", ".1", "a.b.c.256.1", "1.2.3.4.x.1", "1.2.3.4.1000.1"}) {
    EXPECT_FALSE(PortFromUniversalAddress(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace nfsrec::rpc
