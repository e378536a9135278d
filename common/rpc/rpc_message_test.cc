// Tests for the RPC message codec and the XDR helpers.
#include "common/rpc/rpc_message.h"

#include <cstring>
#include <random>

#include "tests/support/status_matchers.h"
#include <gtest/gtest.h>

extern "C" {
#include "sm_inter.h"
}

namespace nfsrec::rpc {
namespace {

std::vector<uint8_t> U32s(std::initializer_list<uint32_t> words) {
  XdrWriter w;
  for (uint32_t v : words) w.PutUint32(v);
  return std::move(w).Take();
}

// ---------------------------------------------------------------------------
// Codec

TEST(RpcMessageTest, CallRoundTrip) {
  OpaqueAuth cred{kAuthSys, {1, 2, 3, 4, 5}};
  std::vector<uint8_t> args = {9, 8, 7, 6, 5, 4, 3, 2};
  std::vector<uint8_t> msg = EncodeCall(0xdeadbeef, 100024, 1, 2, args, cred);
  Result<CallHeader> h = DecodeCall(msg);
  ASSERT_OK(h);
  EXPECT_EQ(h->xid, 0xdeadbeefu);
  EXPECT_EQ(h->rpcvers, 2u);
  EXPECT_EQ(h->prog, 100024u);
  EXPECT_EQ(h->vers, 1u);
  EXPECT_EQ(h->proc, 2u);
  EXPECT_EQ(h->cred.flavor, kAuthSys);
  EXPECT_EQ(h->cred.body, (std::vector<uint8_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(h->verf.flavor, kAuthNone);
  EXPECT_TRUE(h->verf.body.empty());
  EXPECT_EQ(std::vector<uint8_t>(h->args.begin(), h->args.end()), args);
  // 10 words of header, the 5-byte body padded to 8.
  EXPECT_EQ(h->args_offset, 10 * 4 + 8u);
}

TEST(RpcMessageTest, CallWireBytes) {
  std::vector<uint8_t> msg = EncodeCall(1, 100021, 3, 16, U32s({7}));
  EXPECT_EQ(msg, U32s({1, 0, 2, 100021, 3, 16, 0, 0, 0, 0, 7}));
}

TEST(RpcMessageTest, EveryTruncationOfACallHeaderFails) {
  std::vector<uint8_t> msg = EncodeCall(5, 1, 2, 3, {}, OpaqueAuth{kAuthSys, {1, 2, 3, 4}});
  for (size_t n = 0; n < msg.size(); ++n) {
    EXPECT_FALSE(DecodeCall(std::span(msg.data(), n)).ok()) << "prefix " << n;
  }
  EXPECT_OK(DecodeCall(msg));
}

TEST(RpcMessageTest, CallRejectsReplyTypeAndOversizeAuth) {
  EXPECT_FALSE(DecodeCall(U32s({1, 1, 2, 1, 1, 0, 0, 0, 0, 0})).ok());
  std::vector<uint8_t> body400(400, 0xaa);
  EXPECT_OK(DecodeCall(EncodeCall(1, 1, 1, 0, {}, OpaqueAuth{kAuthSys, body400})));
  std::vector<uint8_t> body401(401, 0xaa);
  EXPECT_FALSE(DecodeCall(EncodeCall(1, 1, 1, 0, {}, OpaqueAuth{kAuthSys, body401})).ok());
  // A length near 2^32 must not wrap the bounds check.
  EXPECT_FALSE(DecodeCall(U32s({1, 0, 2, 1, 1, 0, 1, 0xfffffffd})).ok());
}

TEST(RpcMessageTest, OtherRpcVersionDecodesXidOnly) {
  Result<CallHeader> h = DecodeCall(U32s({77, 0, 3}));
  ASSERT_OK(h);
  EXPECT_EQ(h->xid, 77u);
  EXPECT_EQ(h->rpcvers, 3u);
  EXPECT_EQ(h->prog, 0u);
}

TEST(RpcMessageTest, AcceptedReplyRoundTrips) {
  std::vector<uint8_t> results = U32s({0, 42});
  std::vector<uint8_t> msg = EncodeAcceptedReply(0x01020304, AcceptStat::kSuccess, results);
  EXPECT_EQ(msg, U32s({0x01020304, 1, 0, 0, 0, 0, 0, 42}));
  Result<ReplyInfo> r = DecodeReply(msg);
  ASSERT_OK(r);
  EXPECT_EQ(r->xid, 0x01020304u);
  EXPECT_TRUE(r->accepted);
  EXPECT_EQ(r->accept_stat, AcceptStat::kSuccess);
  EXPECT_EQ(std::vector<uint8_t>(r->results.begin(), r->results.end()), results);

  r = DecodeReply(EncodeAcceptedReply(9, AcceptStat::kProgMismatch, VersionRange{3, 4}));
  ASSERT_OK(r);
  EXPECT_EQ(r->accept_stat, AcceptStat::kProgMismatch);
  EXPECT_EQ(r->mismatch.low, 3u);
  EXPECT_EQ(r->mismatch.high, 4u);
  EXPECT_TRUE(r->results.empty());

  for (AcceptStat s : {AcceptStat::kProgUnavail, AcceptStat::kProcUnavail, AcceptStat::kGarbageArgs,
                       AcceptStat::kSystemErr}) {
    r = DecodeReply(EncodeAcceptedReply(9, s));
    ASSERT_OK(r);
    EXPECT_EQ(r->accept_stat, s);
  }
}

TEST(RpcMessageTest, RejectedReplyRoundTrips) {
  std::vector<uint8_t> msg = EncodeRejectedReply(5, RejectStat::kRpcMismatch);
  EXPECT_EQ(msg, U32s({5, 1, 1, 0, 2, 2}));
  Result<ReplyInfo> r = DecodeReply(msg);
  ASSERT_OK(r);
  EXPECT_FALSE(r->accepted);
  EXPECT_EQ(r->reject_stat, RejectStat::kRpcMismatch);
  EXPECT_EQ(r->mismatch.low, 2u);
  EXPECT_EQ(r->mismatch.high, 2u);

  msg = EncodeRejectedReply(6, RejectStat::kAuthError, {}, AuthStat::kTooWeak);
  EXPECT_EQ(msg, U32s({6, 1, 1, 1, 5}));
  r = DecodeReply(msg);
  ASSERT_OK(r);
  EXPECT_EQ(r->reject_stat, RejectStat::kAuthError);
  EXPECT_EQ(r->auth_stat, AuthStat::kTooWeak);
}

TEST(RpcMessageTest, MalformedRepliesFail) {
  EXPECT_FALSE(DecodeReply(U32s({1, 0, 0, 0, 0, 0})).ok());     // a CALL
  EXPECT_FALSE(DecodeReply(U32s({1, 1, 2})).ok());              // reply_stat 2
  EXPECT_FALSE(DecodeReply(U32s({1, 1, 0, 0, 0, 6})).ok());     // accept_stat 6
  EXPECT_FALSE(DecodeReply(U32s({1, 1, 1, 2})).ok());           // reject_stat 2
  EXPECT_FALSE(DecodeReply(U32s({1, 1, 1, 1, 8})).ok());        // auth_stat 8
  EXPECT_FALSE(DecodeReply(U32s({1, 1, 0, 0, 0, 2, 1})).ok());  // short mismatch
  std::vector<uint8_t> ok = EncodeAcceptedReply(3, AcceptStat::kProgMismatch, VersionRange{1, 2});
  for (size_t n = 0; n < ok.size(); ++n) {
    EXPECT_FALSE(DecodeReply(std::span(ok.data(), n)).ok()) << "prefix " << n;
  }
}

TEST(RpcMessageTest, PeekMessageKind) {
  auto k = PeekMessageKind(EncodeCall(4, 1, 1, 0, {}));
  ASSERT_OK(k);
  EXPECT_TRUE(k->is_call);
  EXPECT_EQ(k->xid, 4u);
  k = PeekMessageKind(EncodeAcceptedReply(5, AcceptStat::kSuccess));
  ASSERT_OK(k);
  EXPECT_FALSE(k->is_call);
  EXPECT_FALSE(PeekMessageKind(U32s({1, 7})).ok());
  EXPECT_FALSE(PeekMessageKind(U32s({1})).ok());
}

TEST(RpcMessageTest, RandomBytesNeverCrashTheDecoders) {
  std::mt19937 rng(12345);
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> buf(rng() % 96);
    for (auto& b : buf) b = static_cast<uint8_t>(rng());
    // Bias towards plausible headers so the deeper paths run too.
    if (buf.size() >= 12 && (i & 1)) {
      buf[4] = buf[5] = buf[6] = 0;
      buf[7] = static_cast<uint8_t>(i & 2 ? 0 : 1);
      buf[8] = buf[9] = buf[10] = 0;
    }
    auto c = DecodeCall(buf);
    if (c.ok()) {
      ASSERT_LE(c->args_offset, buf.size());
      ASSERT_LE(c->cred.body.size(), kMaxAuthBodyBytes);
    }
    auto r = DecodeReply(buf);
    if (r.ok()) {
      ASSERT_LE(r->results_offset, buf.size());
    }
  }
}

TEST(RpcMessageTest, XdrReaderWriter) {
  XdrWriter w;
  w.PutString("abcde");
  w.PutInt32(-2);
  std::vector<uint8_t> fixed = {1, 2, 3};
  w.PutFixedOpaque(fixed);
  EXPECT_EQ(w.bytes().size(), 4 + 8 + 4 + 4u);
  XdrReader r(w.bytes());
  std::string s;
  int32_t i;
  std::vector<uint8_t> f;
  ASSERT_TRUE(r.GetString(5, &s));
  EXPECT_EQ(s, "abcde");
  ASSERT_TRUE(r.GetInt32(&i));
  EXPECT_EQ(i, -2);
  ASSERT_TRUE(r.GetFixedOpaque(3, &f));
  EXPECT_EQ(f, fixed);
  EXPECT_EQ(r.remaining(), 0u);
  XdrReader r2(w.bytes());
  EXPECT_FALSE(r2.GetString(4, &s));  // over the limit
}

// ---------------------------------------------------------------------------
// Generated XDR helpers, with the NSM callback argument.

TEST(XdrHelpersTest, StatusRoundTrip) {
  char name[] = "client.example";
  status st{};
  st.mon_name.mon_name_len = static_cast<u_int>(std::strlen(name));
  st.mon_name.mon_name_val = name;
  st.state = 7;
  for (int i = 0; i < SM_PRIV_SIZE; ++i) st.priv[i] = static_cast<char>(0xf0 + i);
  Result<std::vector<uint8_t>> bytes = XdrEncode(AsXdrProc(xdr_status), &st);
  ASSERT_OK(bytes);
  // 4 (len) + 16 (name padded) + 4 (state) + 16 (priv).
  EXPECT_EQ(bytes->size(), 40u);

  auto decoded = XdrDecoded<status>::Decode(AsXdrProc(xdr_status), *bytes);
  ASSERT_OK(decoded);
  const status& d = **decoded;
  EXPECT_EQ(std::string(d.mon_name.mon_name_val, d.mon_name.mon_name_len), "client.example");
  EXPECT_EQ(d.state, 7);
  EXPECT_EQ(std::memcmp(d.priv, st.priv, SM_PRIV_SIZE), 0);

  // Moving keeps exactly one owner of the decoded allocations.
  XdrDecoded<status> moved = std::move(decoded).value();
  EXPECT_EQ(moved->state, 7);
}

TEST(XdrHelpersTest, DecodeFailureIsAnError) {
  std::vector<uint8_t> bytes = U32s({3, 0x41424300});  // name "ABC", then nothing
  auto decoded = XdrDecoded<status>::Decode(AsXdrProc(xdr_status), bytes);
  EXPECT_FALSE(decoded.ok());
  // A name longer than SM_MAXSTRLEN neither encodes nor decodes.
  std::string big(SM_MAXSTRLEN + 1, 'x');
  status st{};
  st.mon_name.mon_name_len = static_cast<u_int>(big.size());
  st.mon_name.mon_name_val = big.data();
  EXPECT_FALSE(XdrEncode(AsXdrProc(xdr_status), &st).ok());
  XdrWriter w;
  w.PutString(big);
  w.PutUint32(1);
  w.PutFixedOpaque(std::vector<uint8_t>(16, 0));
  EXPECT_FALSE(XdrDecoded<status>::Decode(AsXdrProc(xdr_status), w.bytes()).ok());
}

TEST(XdrHelpersTest, VoidEncodesEmpty) {
  Result<std::vector<uint8_t>> bytes = XdrEncode(AsXdrProc(xdr_void), nullptr);
  ASSERT_OK(bytes);
  EXPECT_TRUE(bytes->empty());
}

}  // namespace
}  // namespace nfsrec::rpc
