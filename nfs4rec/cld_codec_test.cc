#include "nfs4rec/cld_codec.h"

#include <cstring>
#include <vector>

#include "tests/support/status_matchers.h"
#include <gtest/gtest.h>

namespace nfsrec::nfs4rec {
namespace {

// An independent transcription of include/uapi/linux/nfsd/cld.h, used only to
// check the codec's byte layout against what the compiler makes of the ABI.
struct __attribute__((packed)) UName {
  uint16_t cn_len;
  unsigned char cn_id[1024];
};
struct __attribute__((packed)) UPrincHash {
  uint8_t cp_len;
  unsigned char cp_data[32];
};
struct __attribute__((packed)) UClntInfo {
  UName cc_name;
  UPrincHash cc_princhash;
};
struct __attribute__((packed)) UMsgV1 {
  uint8_t cm_vers;
  uint8_t cm_cmd;
  int16_t cm_status;
  uint32_t cm_xid;
  union __attribute__((packed)) {
    int64_t cm_gracetime;
    UName cm_name;
    uint8_t cm_version;
  } cm_u;
};
struct __attribute__((packed)) UMsgV2 {
  uint8_t cm_vers;
  uint8_t cm_cmd;
  int16_t cm_status;
  uint32_t cm_xid;
  union __attribute__((packed)) {
    UName cm_name;
    uint8_t cm_version;
    UClntInfo cm_clntinfo;
  } cm_u;
};
static_assert(sizeof(UMsgV1) == 1034);
static_assert(sizeof(UMsgV2) == 1067);
static_assert(kCldMsgV1Size == sizeof(UMsgV1));
static_assert(kCldMsgV2Size == sizeof(UMsgV2));
static_assert(offsetof(UMsgV2, cm_u) + offsetof(UClntInfo, cc_princhash) == 1034);

template <typename T>
std::vector<uint8_t> Bytes(const T& t) {
  std::vector<uint8_t> v(sizeof(T));
  std::memcpy(v.data(), &t, sizeof(T));
  return v;
}

const std::string kHash(32, '\xab');

CldMessage Msg(uint8_t vers, CldCommand cmd, uint32_t xid, int16_t status = 0) {
  CldMessage m;
  m.version = vers;
  m.command = static_cast<uint8_t>(cmd);
  m.xid = xid;
  m.status = status;
  return m;
}

TEST(CldCodec, SizesPerVersion) {
  EXPECT_EQ(CldMessageSize(1).value(), 1034u);
  EXPECT_EQ(CldMessageSize(2).value(), 1067u);
  EXPECT_FALSE(CldMessageSize(0).ok());
  EXPECT_FALSE(CldMessageSize(3).ok());
}

TEST(CldCodec, V1CreateUpcallMatchesAbi) {
  UMsgV1 u{};
  u.cm_vers = 1;
  u.cm_cmd = 0;
  u.cm_xid = 0x01020304;
  u.cm_u.cm_name.cn_len = 5;
  std::memcpy(u.cm_u.cm_name.cn_id, "hello", 5);
  CldMessage m = Msg(1, CldCommand::kCreate, 0x01020304);
  m.name = "hello";
  auto enc = EncodeCldUpcall(m);
  ASSERT_OK(enc);
  EXPECT_EQ(enc.value(), Bytes(u));
  auto dec = DecodeCldUpcall(Bytes(u));
  ASSERT_OK(dec);
  EXPECT_EQ(dec.value(), m);
}

TEST(CldCodec, V2CreateUpcallCarriesPrincHash) {
  UMsgV2 u{};
  u.cm_vers = 2;
  u.cm_cmd = 0;
  u.cm_xid = 77;
  u.cm_u.cm_clntinfo.cc_name.cn_len = 3;
  std::memcpy(u.cm_u.cm_clntinfo.cc_name.cn_id, "abc", 3);
  u.cm_u.cm_clntinfo.cc_princhash.cp_len = 32;
  std::memset(u.cm_u.cm_clntinfo.cc_princhash.cp_data, 0xab, 32);
  CldMessage m = Msg(2, CldCommand::kCreate, 77);
  m.name = "abc";
  m.princhash = kHash;
  EXPECT_EQ(EncodeCldUpcall(m).value(), Bytes(u));
  auto dec = DecodeCldUpcall(Bytes(u));
  ASSERT_OK(dec);
  EXPECT_EQ(dec.value(), m);
}

TEST(CldCodec, EveryCommandRoundTripsBothDirectionsAndVersions) {
  for (uint8_t v : {kCldVersion1, kCldVersion2}) {
    const size_t size = CldMessageSize(v).value();
    for (uint8_t cmd = 0; cmd <= 6; ++cmd) {
      CldMessage up;
      up.version = v;
      up.command = cmd;
      up.xid = 1000u + cmd;
      if (cmd <= 2) up.name = std::string("client-\x00\xff", 9);
      if (cmd == 0 && v == 2) up.princhash = kHash;
      if (cmd == 3 && v == 1) up.gracetime = 1700000000;
      auto bytes = EncodeCldUpcall(up);
      ASSERT_OK(bytes);
      EXPECT_EQ(bytes->size(), size) << "cmd " << int{cmd} << " v" << int{v};
      auto back = DecodeCldUpcall(*bytes);
      ASSERT_OK(back);
      EXPECT_EQ(back.value(), up) << "cmd " << int{cmd} << " v" << int{v};

      CldMessage down;
      down.version = v;
      down.command = cmd;
      down.xid = 2000u + cmd;
      down.status = cmd == 6 ? kCldEOpNotSupp : 0;
      if (cmd == 5) down.max_version = kCldMaxVersion;
      auto dbytes = EncodeCldDowncall(down);
      ASSERT_OK(dbytes);
      EXPECT_EQ(dbytes->size(), size);
      auto dback = DecodeCldDowncall(*dbytes, v);
      ASSERT_OK(dback);
      EXPECT_EQ(dback.value(), down);
    }
  }
}

TEST(CldCodec, GetVersionReplyLayout) {
  CldMessage m = Msg(1, CldCommand::kGetVersion, 9);
  m.max_version = 2;
  auto b = EncodeCldDowncall(m).value();
  UMsgV1 u{};
  std::memcpy(&u, b.data(), sizeof(u));
  EXPECT_EQ(u.cm_vers, 1);
  EXPECT_EQ(u.cm_cmd, 5);
  EXPECT_EQ(u.cm_status, 0);
  EXPECT_EQ(u.cm_xid, 9u);
  EXPECT_EQ(u.cm_u.cm_version, 2);
}

TEST(CldCodec, InProgressRecordV2Layout) {
  CldMessage m = Msg(2, CldCommand::kGraceStart, 4, kCldEInProgress);
  m.name = "n";
  m.princhash = kHash;
  auto b = EncodeCldDowncall(m).value();
  ASSERT_EQ(b.size(), 1067u);
  UMsgV2 u{};
  std::memcpy(&u, b.data(), sizeof(u));
  EXPECT_EQ(u.cm_status, -115);
  EXPECT_EQ(u.cm_u.cm_clntinfo.cc_name.cn_len, 1);
  EXPECT_EQ(u.cm_u.cm_clntinfo.cc_name.cn_id[0], 'n');
  EXPECT_EQ(u.cm_u.cm_clntinfo.cc_princhash.cp_len, 32);
  EXPECT_EQ(b[1034], 32);
  EXPECT_EQ(b[1035], 0xab);
  EXPECT_EQ(DecodeCldDowncall(b, 2).value(), m);
}

TEST(CldCodec, InProgressRecordV1DropsPrincHash) {
  CldMessage m = Msg(1, CldCommand::kGraceStart, 4, kCldEInProgress);
  m.name = "n";
  m.princhash = kHash;
  auto b = EncodeCldDowncall(m);
  ASSERT_OK(b);
  ASSERT_EQ(b->size(), 1034u);
  auto back = DecodeCldDowncall(*b, 1).value();
  EXPECT_EQ(back.name, "n");
  EXPECT_TRUE(back.princhash.empty());
}

TEST(CldCodec, MaximumNameRoundTrips) {
  CldMessage m = Msg(2, CldCommand::kGraceStart, 1, kCldEInProgress);
  m.name = std::string(1024, 'x');
  auto b = EncodeCldDowncall(m);
  ASSERT_OK(b);
  EXPECT_EQ(DecodeCldDowncall(*b, 2).value().name.size(), 1024u);
}

TEST(CldCodec, RejectsEmptyAndOversizedRecordNames) {
  CldMessage m = Msg(2, CldCommand::kGraceStart, 1, kCldEInProgress);
  EXPECT_TRUE(EncodeCldDowncall(m).status().IsInvalidArgument());
  m.name = std::string(1025, 'x');
  EXPECT_TRUE(EncodeCldDowncall(m).status().IsInvalidArgument());
  m.name = "ok";
  m.princhash = std::string(33, 'h');
  EXPECT_TRUE(EncodeCldDowncall(m).status().IsInvalidArgument());
}

TEST(CldCodec, RejectsUnknownVersionAndWrongSizes) {
  std::vector<uint8_t> b(1034, 0);
  b[0] = 3;
  auto r = DecodeCldUpcall(b);
  EXPECT_TRUE(r.status().IsInvalidArgument());
  EXPECT_NE(r.status().message().find("version 3"), std::string::npos);
  b[0] = 2;  // v2 header in a v1-sized buffer
  EXPECT_TRUE(DecodeCldUpcall(b).status().IsInvalidArgument());
  b.resize(1067);
  b[0] = 1;  // v1 header in a v2-sized buffer
  EXPECT_TRUE(DecodeCldUpcall(b).status().IsInvalidArgument());
  EXPECT_TRUE(DecodeCldUpcall(std::vector<uint8_t>(7, 1)).status().IsInvalidArgument());
  CldMessage m = Msg(4, CldCommand::kGetVersion, 1);
  EXPECT_FALSE(EncodeCldDowncall(m).ok());
}

TEST(CldCodec, RejectsOversizedLengthsOnTheWire) {
  UMsgV2 u{};
  u.cm_vers = 2;
  u.cm_cmd = 0;
  u.cm_u.cm_clntinfo.cc_name.cn_len = 1025;
  EXPECT_TRUE(DecodeCldUpcall(Bytes(u)).status().IsInvalidArgument());
  u.cm_u.cm_clntinfo.cc_name.cn_len = 1;
  u.cm_u.cm_clntinfo.cc_princhash.cp_len = 33;
  EXPECT_TRUE(DecodeCldUpcall(Bytes(u)).status().IsInvalidArgument());
}

TEST(CldCodec, UnknownCommandDecodesHeaderOnly) {
  UMsgV1 u{};
  u.cm_vers = 1;
  u.cm_cmd = 42;
  u.cm_xid = 5;
  u.cm_u.cm_name.cn_len = 0xffff;  // garbage in the union is not looked at
  auto dec = DecodeCldUpcall(Bytes(u));
  ASSERT_OK(dec);
  EXPECT_EQ(dec->command, 42);
  EXPECT_EQ(dec->xid, 5u);
  EXPECT_EQ(CldCommandName(42), "cmd#42");
}

TEST(CldCodec, V2RemoveUsesNameOnly) {
  UMsgV2 u{};
  u.cm_vers = 2;
  u.cm_cmd = 1;
  u.cm_u.cm_name.cn_len = 2;
  std::memcpy(u.cm_u.cm_name.cn_id, "ab", 2);
  auto dec = DecodeCldUpcall(Bytes(u)).value();
  EXPECT_EQ(dec.name, "ab");
  EXPECT_TRUE(dec.princhash.empty());
}

TEST(CldCodec, HeaderDecode) {
  std::vector<uint8_t> b = EncodeCldUpcall(Msg(2, CldCommand::kGraceStart, 0xdeadbeef)).value();
  auto h = DecodeCldHeader(std::span<const uint8_t>(b.data(), 8)).value();
  EXPECT_EQ(h.version, 2);
  EXPECT_EQ(h.command, 4);
  EXPECT_EQ(h.xid, 0xdeadbeefu);
}

}  // namespace
}  // namespace nfsrec::nfs4rec
