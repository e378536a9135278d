#include "statd/nsm_codec.h"

#include <string>

#include "tests/support/status_matchers.h"
#include <gtest/gtest.h>

namespace nfsrec::statd {
namespace {

Cookie TestCookie() {
  Cookie c;
  for (size_t i = 0; i < c.size(); ++i) c[i] = static_cast<uint8_t>(0xf0 + i);
  return c;
}

// The SM_MON arguments the kernel's lockd sends (reference §B.1), laid out
// by hand: mon_name, my_name, my_prog, my_vers, my_proc, priv[16].
Bytes KernelMonBytes() {
  Bytes b;
  auto u32 = [&](uint32_t v) {
    b.push_back(static_cast<uint8_t>(v >> 24));
    b.push_back(static_cast<uint8_t>(v >> 16));
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
  };
  auto str = [&](const std::string& s) {
    u32(static_cast<uint32_t>(s.size()));
    b.insert(b.end(), s.begin(), s.end());
    while (b.size() % 4 != 0) b.push_back(0);
  };
  str("10.0.0.2");
  str("server");
  u32(100021);
  u32(3);
  u32(16);
  Cookie c = TestCookie();
  b.insert(b.end(), c.begin(), c.end());
  return b;
}

TEST(NsmCodec, DecodesKernelMonLayout) {
  Bytes raw = KernelMonBytes();
  Result<MonArgs> m = DecodeMon(raw);
  ASSERT_OK(m);
  EXPECT_EQ(m->id.mon_name, "10.0.0.2");
  EXPECT_EQ(m->id.my_name, "server");
  EXPECT_EQ(m->id.my_prog, 100021);
  EXPECT_EQ(m->id.my_vers, 3);
  EXPECT_EQ(m->id.my_proc, 16);
  EXPECT_EQ(m->priv, TestCookie());
  // Re-encoding gives the identical bytes.
  Result<Bytes> again = EncodeMon(m.value());
  ASSERT_OK(again);
  EXPECT_EQ(again.value(), raw);
}

TEST(NsmCodec, EveryTypeRoundTrips) {
  MonArgs mon{MonitorKey{"host.example", "me", 100021, 4, 24}, TestCookie()};
  EXPECT_EQ(DecodeMon(EncodeMon(mon).value()).value(), mon);
  EXPECT_EQ(DecodeMonId(EncodeMonId(mon.id).value()).value(), mon.id);
  MyId my{"me", 100021, 3, 16};
  EXPECT_EQ(DecodeMyId(EncodeMyId(my).value()).value(), my);
  EXPECT_EQ(DecodeSmName(EncodeSmName("peer").value()).value(), "peer");
  NotifyArgs n{"peer.example", 7};
  EXPECT_EQ(DecodeStatChge(EncodeStatChge(n).value()).value(), n);
  StatRes r{true, 5};
  EXPECT_EQ(DecodeSmStatRes(EncodeSmStatRes(r)).value(), r);
  EXPECT_EQ(DecodeSmStatRes(EncodeSmStatRes(StatRes{false, -1})).value(), (StatRes{false, -1}));
  EXPECT_EQ(DecodeSmStat(EncodeSmStat(9)).value(), 9);
  CallbackArgs cb{"10.0.0.2", 11, TestCookie()};
  EXPECT_EQ(DecodeStatus(EncodeStatus(cb).value()).value(), cb);
}

TEST(NsmCodec, ReplySizesAreExact) {
  EXPECT_EQ(EncodeSmStatRes(StatRes{true, 3}).size(), 8u);
  EXPECT_EQ(EncodeSmStat(3).size(), 4u);
  // status{mon_name "abc", state, priv[16]}: 4+4 + 4 + 16.
  EXPECT_EQ(EncodeStatus(CallbackArgs{"abc", 3, {}}).value().size(), 28u);
}

TEST(NsmCodec, BinaryNamesAreKeptExactly) {
  std::string name("a\0b\xff", 4);
  Result<Bytes> enc = EncodeSmName(name);
  ASSERT_OK(enc);
  EXPECT_EQ(DecodeSmName(enc.value()).value(), name);
}

TEST(NsmCodec, TruncatedInputIsRejectedAtEveryLength) {
  Bytes raw = KernelMonBytes();
  for (size_t len = 0; len < raw.size(); ++len) {
    Bytes cut(raw.begin(), raw.begin() + static_cast<long>(len));
    EXPECT_FALSE(DecodeMon(cut).ok()) << "length " << len;
  }
}

TEST(NsmCodec, NameLengthLimit) {
  std::string max(kMaxNameLen, 'a');
  ASSERT_OK(EncodeSmName(max));
  EXPECT_EQ(DecodeSmName(EncodeSmName(max).value()).value(), max);
  EXPECT_FALSE(EncodeSmName(max + "a").ok());
  // A 1025-byte name on the wire (hand-built) does not decode.
  Bytes raw = {0, 0, 4, 1};
  raw.resize(4 + 1028, 'a');
  EXPECT_FALSE(DecodeSmName(raw).ok());
}

TEST(NsmCodec, HugeLengthWordDoesNotAllocate) {
  Bytes raw = {0xff, 0xff, 0xff, 0xf0, 'a', 'b', 'c', 'd'};
  EXPECT_FALSE(DecodeSmName(raw).ok());
  EXPECT_FALSE(DecodeStatChge(raw).ok());
}

}  // namespace
}  // namespace nfsrec::statd
