// Tests for the Dispatcher: directly with a recording transport, then the
// same answers over every transport of a running RpcServer.
#include "common/rpc/dispatcher.h"

#include "common/rpc/rpc_test_harness.h"
#include <gtest/gtest.h>

namespace nfsrec::rpc {
namespace {

using namespace rpctest;  // NOLINT(build/namespaces)

// A transport that keeps what is sent, and counts finished calls.
struct Recorded {
  std::vector<std::vector<uint8_t>> sent;
  int done = 0;
};
class RecordingCall final : public internal::PendingCall {
 public:
  explicit RecordingCall(Recorded& r) : r_(r) {}
  ~RecordingCall() override { ++r_.done; }
  void Send(std::vector<uint8_t> message) override { r_.sent.push_back(std::move(message)); }

 private:
  Recorded& r_;
};

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest() : dispatcher_(log_) {
    std::map<uint32_t, Handler> procs;
    procs[1] = [this](const CallContext& ctx, std::span<const uint8_t> args, Responder r) {
      last_ctx_ = ctx;
      r.Reply(std::vector<uint8_t>(args.begin(), args.end()));
    };
    procs[2] = [this](const CallContext&, std::span<const uint8_t>, Responder r) {
      kept_ = std::move(r);
    };
    EXPECT_OK(dispatcher_.AddProgram(kProg, 3, procs));
    EXPECT_OK(dispatcher_.AddProgram(kProg, 7, procs));
  }
  Status Send(std::span<const uint8_t> message) {
    CallContext ctx;
    ctx.netid = Netid::kTcp6;
    return dispatcher_.Dispatch(message, ctx, Responder(std::make_unique<RecordingCall>(rec_)));
  }
  ReplyInfo LastReply() {
    EXPECT_FALSE(rec_.sent.empty());
    return DecodeReply(rec_.sent.back()).value();
  }

  CapturingLogger log_;
  Dispatcher dispatcher_;
  Recorded rec_;
  CallContext last_ctx_;
  Responder kept_;
};

TEST_F(DispatcherTest, AnswersAndContext) {
  ASSERT_OK(
      Send(EncodeCall(11, kProg, 7, 1, U32s({4, 5}), OpaqueAuth{kAuthSys, U32s({0, 0, 0, 0, 0})})));
  ReplyInfo r = LastReply();
  EXPECT_EQ(r.xid, 11u);
  EXPECT_EQ(r.accept_stat, AcceptStat::kSuccess);
  EXPECT_EQ(std::vector<uint8_t>(r.results.begin(), r.results.end()), U32s({4, 5}));
  EXPECT_EQ(last_ctx_.xid, 11u);
  EXPECT_EQ(last_ctx_.vers, 7u);
  EXPECT_EQ(last_ctx_.proc, 1u);
  EXPECT_EQ(last_ctx_.cred_flavor, kAuthSys);
  EXPECT_EQ(last_ctx_.netid, Netid::kTcp6);
  EXPECT_EQ(rec_.done, 1);

  ASSERT_OK(Send(EncodeCall(12, kProg, 3, 0, {})));
  EXPECT_EQ(LastReply().accept_stat, AcceptStat::kSuccess);
  ASSERT_OK(Send(EncodeCall(13, kProg, 3, 9, {})));
  EXPECT_EQ(LastReply().accept_stat, AcceptStat::kProcUnavail);
  ASSERT_OK(Send(EncodeCall(14, kProg, 5, 1, {})));
  EXPECT_EQ(LastReply().accept_stat, AcceptStat::kProgMismatch);
  EXPECT_EQ(LastReply().mismatch.low, 3u);
  EXPECT_EQ(LastReply().mismatch.high, 7u);
  ASSERT_OK(Send(EncodeCall(15, kProg + 1, 3, 1, {})));
  EXPECT_EQ(LastReply().accept_stat, AcceptStat::kProgUnavail);
  ASSERT_OK(Send(U32s({16, 0, 9, kProg, 3, 0, 0, 0, 0, 0})));
  EXPECT_EQ(LastReply().reject_stat, RejectStat::kRpcMismatch);
  ASSERT_OK(Send(EncodeCall(17, kProg, 3, 1, {}, OpaqueAuth{6, {}})));
  EXPECT_EQ(LastReply().auth_stat, AuthStat::kRejectedCred);
  EXPECT_EQ(rec_.done, 7);
  EXPECT_TRUE(log_.Contains("RPC version 9"));
}

TEST_F(DispatcherTest, UndecodableHeaderIsAnErrorWithNoAnswer) {
  EXPECT_FALSE(Send(U32s({1, 0, 2})).ok());
  EXPECT_FALSE(Send(EncodeAcceptedReply(1, AcceptStat::kSuccess)).ok());
  EXPECT_TRUE(rec_.sent.empty());
  EXPECT_EQ(rec_.done, 2);
}

TEST_F(DispatcherTest, KeptResponderAnswersOnceLater) {
  ASSERT_OK(Send(EncodeCall(21, kProg, 3, 2, {})));
  EXPECT_TRUE(rec_.sent.empty());
  ASSERT_TRUE(kept_.pending());
  EXPECT_EQ(kept_.xid(), 21u);
  kept_.SystemErr();
  kept_.ReplyVoid();  // ignored
  EXPECT_FALSE(kept_.pending());
  ASSERT_EQ(rec_.sent.size(), 1u);
  EXPECT_EQ(LastReply().accept_stat, AcceptStat::kSystemErr);
  EXPECT_EQ(rec_.done, 1);
}

// ---- The same answers over every transport of a running server ----

class RpcServerTest : public ::testing::TestWithParam<std::tuple<Family, Proto>> {
 protected:
  void SetUp() override {
    if (family().v6 && !HaveIpv6Loopback()) GTEST_SKIP() << "no IPv6 loopback on this host";
    harness_ = ServerHarness::Start(LoopbackOptions());
    ASSERT_NE(harness_, nullptr);
  }
  const Family& family() const { return std::get<0>(GetParam()); }
  Proto proto() const { return std::get<1>(GetParam()); }
  uint16_t port() { return harness_->Port(family(), proto()); }
  Result<test::Reply> CallProc(uint32_t vers, uint32_t proc, std::span<const uint8_t> args,
                               const test::CallOptions& opt = {}) {
    return test::Call(family().addr, port(), proto(), kProg, vers, proc, args, kTimeout, opt);
  }
  std::unique_ptr<ServerHarness> harness_;
};

TEST_P(RpcServerTest, NullProcedureAnswersVoid) {
  auto r = CallProc(2, 0, {});
  ASSERT_OK(r);
  EXPECT_TRUE(r->Success());
  EXPECT_TRUE(r->results.empty());
}

TEST_P(RpcServerTest, EchoAndContext) {
  std::vector<uint8_t> args = U32s({1, 2, 3});
  auto r = CallProc(5, kProcEcho, args);
  ASSERT_OK(r);
  EXPECT_TRUE(r->Success());
  EXPECT_EQ(r->results, args);

  test::CallOptions opt;
  opt.xid = 0x5eed;
  opt.cred = OpaqueAuth{kAuthSys, U32s({0, 0, 0, 0, 0})};  // stamp, "", uid 0, gid 0, no gids
  r = CallProc(2, kProcContext, {}, opt);
  ASSERT_OK(r);
  ASSERT_TRUE(r->Success());
  XdrReader rd(r->results);
  uint32_t netid, loopback, privileged, peer_port, flavor, xid;
  std::string peer;
  ASSERT_TRUE(rd.GetUint32(&netid) && rd.GetUint32(&loopback) && rd.GetUint32(&privileged) &&
              rd.GetUint32(&peer_port) && rd.GetString(64, &peer) && rd.GetUint32(&flavor) &&
              rd.GetUint32(&xid));
  Netid want = proto() == Proto::kUdp ? (family().v6 ? Netid::kUdp6 : Netid::kUdp)
                                      : (family().v6 ? Netid::kTcp6 : Netid::kTcp);
  EXPECT_EQ(netid, static_cast<uint32_t>(want));
  EXPECT_EQ(loopback, 1u);
  EXPECT_EQ(peer_port, r->local_port);
  EXPECT_EQ(privileged, r->local_port < 1024 ? 1u : 0u);
  EXPECT_EQ(peer, family().addr);
  EXPECT_EQ(flavor, kAuthSys);
  EXPECT_EQ(xid, 0x5eedu);
}

TEST_P(RpcServerTest, PrivilegedSourcePortIsReported) {
  if (geteuid() != 0) GTEST_SKIP() << "binding a port below 1024 needs root";
  test::CallOptions opt;
  opt.reserved_port = true;
  auto r = CallProc(2, kProcContext, {}, opt);
  ASSERT_OK(r);
  ASSERT_LT(r->local_port, 1024);
  XdrReader rd(r->results);
  uint32_t netid, loopback, privileged;
  ASSERT_TRUE(rd.GetUint32(&netid) && rd.GetUint32(&loopback) && rd.GetUint32(&privileged));
  EXPECT_EQ(privileged, 1u);
}

TEST_P(RpcServerTest, DeferredReply) {
  auto start = std::chrono::steady_clock::now();
  auto r = CallProc(2, kProcDeferred, U32s({150, 0xabc}));
  ASSERT_OK(r);
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(140));
  EXPECT_TRUE(r->Success());
  EXPECT_EQ(r->results, U32s({0xabc}));
}

TEST_P(RpcServerTest, ErrorAnswersFromHandlers) {
  auto r = CallProc(2, kProcGarbage, {});
  ASSERT_OK(r);
  EXPECT_TRUE(r->info.accepted);
  EXPECT_EQ(r->info.accept_stat, AcceptStat::kGarbageArgs);
  r = CallProc(2, kProcSystemErr, {});
  ASSERT_OK(r);
  EXPECT_EQ(r->info.accept_stat, AcceptStat::kSystemErr);
  // A dropped Responder sends nothing.
  r = test::Call(family().addr, port(), proto(), kProg, 2, kProcDrop, {}, kNoReply);
  EXPECT_TRUE(r.status().IsTimedOut()) << r.status().ToString();
}

TEST_P(RpcServerTest, ProcUnavail) {
  auto r = CallProc(2, 99, {});
  ASSERT_OK(r);
  EXPECT_TRUE(r->info.accepted);
  EXPECT_EQ(r->info.accept_stat, AcceptStat::kProcUnavail);
}

TEST_P(RpcServerTest, ProgMismatchReportsRegisteredRange) {
  auto r = CallProc(3, 0, {});
  ASSERT_OK(r);
  EXPECT_EQ(r->info.accept_stat, AcceptStat::kProgMismatch);
  EXPECT_EQ(r->info.mismatch.low, 2u);
  EXPECT_EQ(r->info.mismatch.high, 5u);
}

TEST_P(RpcServerTest, ProgUnavail) {
  auto r = test::Call(family().addr, port(), proto(), kProg + 1, 1, 0, {}, kTimeout);
  ASSERT_OK(r);
  EXPECT_EQ(r->info.accept_stat, AcceptStat::kProgUnavail);
}

TEST_P(RpcServerTest, RpcMismatch) {
  std::vector<uint8_t> call = U32s({0x1234, 0, 3, kProg, 2, 0, 0, 0, 0, 0});
  if (proto() == Proto::kTcp) call = test::RecordMark(call);
  auto raw = test::RawSend(family().addr, port(), proto(), call, kTimeout);
  ASSERT_OK(raw);
  ASSERT_TRUE(raw->reply.has_value());
  auto info = DecodeReply(*raw->reply);
  ASSERT_OK(info);
  EXPECT_EQ(info->xid, 0x1234u);
  EXPECT_FALSE(info->accepted);
  EXPECT_EQ(info->reject_stat, RejectStat::kRpcMismatch);
  EXPECT_EQ(info->mismatch.low, 2u);
  EXPECT_EQ(info->mismatch.high, 2u);
}

TEST_P(RpcServerTest, UnknownCredentialFlavorIsAnAuthError) {
  test::CallOptions opt;
  opt.cred = OpaqueAuth{390003, {}};  // RPCSEC_GSS-like number we do not serve
  auto r = CallProc(2, 0, {}, opt);
  ASSERT_OK(r);
  EXPECT_FALSE(r->info.accepted);
  EXPECT_EQ(r->info.reject_stat, RejectStat::kAuthError);
  EXPECT_EQ(r->info.auth_stat, AuthStat::kRejectedCred);
  opt.cred = OpaqueAuth{kAuthSys, {1, 2, 3, 4}};  // AUTH_SYS body cut short
  r = CallProc(2, 0, {}, opt);
  ASSERT_OK(r);
  EXPECT_EQ(r->info.auth_stat, AuthStat::kBadCred);
}

TEST_P(RpcServerTest, GarbageHeaderIsDropped) {
  std::vector<uint8_t> garbage = {0xde, 0xad, 0xbe, 0xef, 0, 0, 0};
  if (proto() == Proto::kTcp) garbage = test::RecordMark(garbage);
  auto raw = test::RawSend(family().addr, port(), proto(), garbage, kNoReply);
  ASSERT_OK(raw);
  EXPECT_FALSE(raw->reply.has_value());
  if (proto() == Proto::kTcp) {
    EXPECT_TRUE(raw->closed);
  }
  // A reply (not a call) is dropped too.
  std::vector<uint8_t> reply = EncodeAcceptedReply(1, AcceptStat::kSuccess);
  if (proto() == Proto::kTcp) reply = test::RecordMark(reply);
  raw = test::RawSend(family().addr, port(), proto(), reply, kNoReply);
  ASSERT_OK(raw);
  EXPECT_FALSE(raw->reply.has_value());
  // The server is still serving.
  auto r = CallProc(2, 0, {});
  ASSERT_OK(r);
  EXPECT_TRUE(r->Success());
}

INSTANTIATE_TEST_SUITE_P(Transports, RpcServerTest,
                         ::testing::Combine(::testing::Values(kV4, kV6),
                                            ::testing::Values(Proto::kUdp, Proto::kTcp)),
                         [](const auto& p) {
                           return std::string(std::get<0>(p.param).name) +
                                  (std::get<1>(p.param) == Proto::kUdp ? "Udp" : "Tcp");
                         });

}  // namespace
}  // namespace nfsrec::rpc
