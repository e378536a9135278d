// Tests for the RPC message codec, the XDR helpers and RpcServer.
//
// Server tests bind 127.0.0.1 / ::1 on ephemeral ports and talk to the
// server with the blocking client from tests/support while the EventLoop
// runs on a second thread.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <random>
#include <thread>

#include "common/os/event_loop.h"
#include "common/base/logging.h"
#include "common/rpc/rpc_message.h"
#include "common/rpc/rpc_server.h"
#include "common/rpc/rpcbind.h"
#include "tests/support/rpc_test_client.h"

extern "C" {
#include "sm_inter.h"
}

namespace nfsrec::rpc {
namespace {

using std::chrono::milliseconds;
using test::Proto;

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
  ASSERT_TRUE(h.ok()) << h.status().ToString();
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
  EXPECT_TRUE(DecodeCall(msg).ok());
}

TEST(RpcMessageTest, CallRejectsReplyTypeAndOversizeAuth) {
  EXPECT_FALSE(DecodeCall(U32s({1, 1, 2, 1, 1, 0, 0, 0, 0, 0})).ok());
  std::vector<uint8_t> body400(400, 0xaa);
  EXPECT_TRUE(DecodeCall(EncodeCall(1, 1, 1, 0, {}, OpaqueAuth{kAuthSys, body400})).ok());
  std::vector<uint8_t> body401(401, 0xaa);
  EXPECT_FALSE(DecodeCall(EncodeCall(1, 1, 1, 0, {}, OpaqueAuth{kAuthSys, body401})).ok());
  // A length near 2^32 must not wrap the bounds check.
  EXPECT_FALSE(DecodeCall(U32s({1, 0, 2, 1, 1, 0, 1, 0xfffffffd})).ok());
}

TEST(RpcMessageTest, OtherRpcVersionDecodesXidOnly) {
  Result<CallHeader> h = DecodeCall(U32s({77, 0, 3}));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->xid, 77u);
  EXPECT_EQ(h->rpcvers, 3u);
  EXPECT_EQ(h->prog, 0u);
}

TEST(RpcMessageTest, AcceptedReplyRoundTrips) {
  std::vector<uint8_t> results = U32s({0, 42});
  std::vector<uint8_t> msg = EncodeAcceptedReply(0x01020304, AcceptStat::kSuccess, results);
  EXPECT_EQ(msg, U32s({0x01020304, 1, 0, 0, 0, 0, 0, 42}));
  Result<ReplyInfo> r = DecodeReply(msg);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->xid, 0x01020304u);
  EXPECT_TRUE(r->accepted);
  EXPECT_EQ(r->accept_stat, AcceptStat::kSuccess);
  EXPECT_EQ(std::vector<uint8_t>(r->results.begin(), r->results.end()), results);

  r = DecodeReply(EncodeAcceptedReply(9, AcceptStat::kProgMismatch, VersionRange{3, 4}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->accept_stat, AcceptStat::kProgMismatch);
  EXPECT_EQ(r->mismatch.low, 3u);
  EXPECT_EQ(r->mismatch.high, 4u);
  EXPECT_TRUE(r->results.empty());

  for (AcceptStat s : {AcceptStat::kProgUnavail, AcceptStat::kProcUnavail,
                       AcceptStat::kGarbageArgs, AcceptStat::kSystemErr}) {
    r = DecodeReply(EncodeAcceptedReply(9, s));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->accept_stat, s);
  }
}

TEST(RpcMessageTest, RejectedReplyRoundTrips) {
  std::vector<uint8_t> msg = EncodeRejectedReply(5, RejectStat::kRpcMismatch);
  EXPECT_EQ(msg, U32s({5, 1, 1, 0, 2, 2}));
  Result<ReplyInfo> r = DecodeReply(msg);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->accepted);
  EXPECT_EQ(r->reject_stat, RejectStat::kRpcMismatch);
  EXPECT_EQ(r->mismatch.low, 2u);
  EXPECT_EQ(r->mismatch.high, 2u);

  msg = EncodeRejectedReply(6, RejectStat::kAuthError, {}, AuthStat::kTooWeak);
  EXPECT_EQ(msg, U32s({6, 1, 1, 1, 5}));
  r = DecodeReply(msg);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->reject_stat, RejectStat::kAuthError);
  EXPECT_EQ(r->auth_stat, AuthStat::kTooWeak);
}

TEST(RpcMessageTest, MalformedRepliesFail) {
  EXPECT_FALSE(DecodeReply(U32s({1, 0, 0, 0, 0, 0})).ok());        // a CALL
  EXPECT_FALSE(DecodeReply(U32s({1, 1, 2})).ok());                 // reply_stat 2
  EXPECT_FALSE(DecodeReply(U32s({1, 1, 0, 0, 0, 6})).ok());        // accept_stat 6
  EXPECT_FALSE(DecodeReply(U32s({1, 1, 1, 2})).ok());              // reject_stat 2
  EXPECT_FALSE(DecodeReply(U32s({1, 1, 1, 1, 8})).ok());           // auth_stat 8
  EXPECT_FALSE(DecodeReply(U32s({1, 1, 0, 0, 0, 2, 1})).ok());     // short mismatch
  std::vector<uint8_t> ok = EncodeAcceptedReply(3, AcceptStat::kProgMismatch, VersionRange{1, 2});
  for (size_t n = 0; n < ok.size(); ++n) {
    EXPECT_FALSE(DecodeReply(std::span(ok.data(), n)).ok()) << "prefix " << n;
  }
}

TEST(RpcMessageTest, PeekMessageKind) {
  auto k = PeekMessageKind(EncodeCall(4, 1, 1, 0, {}));
  ASSERT_TRUE(k.ok());
  EXPECT_TRUE(k->is_call);
  EXPECT_EQ(k->xid, 4u);
  k = PeekMessageKind(EncodeAcceptedReply(5, AcceptStat::kSuccess));
  ASSERT_TRUE(k.ok());
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
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  // 4 (len) + 16 (name padded) + 4 (state) + 16 (priv).
  EXPECT_EQ(bytes->size(), 40u);

  auto decoded = XdrDecoded<status>::Decode(AsXdrProc(xdr_status), *bytes);
  ASSERT_TRUE(decoded.ok());
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
  ASSERT_TRUE(bytes.ok());
  EXPECT_TRUE(bytes->empty());
}

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
  for (const char* a : {"::1", "::ffff:127.0.0.1", "::ffff:127.255.0.9"}) {
    inet_pton(AF_INET6, a, &sin6.sin6_addr);
    EXPECT_TRUE(IsLoopbackAddress(reinterpret_cast<sockaddr*>(&sin6))) << a;
  }
  for (const char* a : {"::2", "::ffff:10.0.0.1", "fe80::1", "::"}) {
    inet_pton(AF_INET6, a, &sin6.sin6_addr);
    EXPECT_FALSE(IsLoopbackAddress(reinterpret_cast<sockaddr*>(&sin6))) << a;
  }
  EXPECT_EQ(UniversalAddress("127.0.0.1", 0x1234), "127.0.0.1.18.52");
  EXPECT_EQ(UniversalAddress("::", 2049), "::.8.1");
}

// ---------------------------------------------------------------------------
// RpcServer

constexpr uint32_t kProg = 400123;
constexpr uint32_t kProcEcho = 1;        // results = args
constexpr uint32_t kProcDeferred = 2;    // args: delay_ms, tag; results: tag, after the delay
constexpr uint32_t kProcGarbage = 3;     // GARBAGE_ARGS
constexpr uint32_t kProcSystemErr = 4;   // SYSTEM_ERR
constexpr uint32_t kProcDrop = 5;        // Responder dropped unanswered
constexpr uint32_t kProcContext = 6;     // results describe the CallContext
constexpr auto kTimeout = std::chrono::seconds(5);
constexpr auto kNoReply = milliseconds(300);

struct Family {
  const char* name;
  const char* addr;
  bool v6;
};
const Family kV4{"v4", "127.0.0.1", false};
const Family kV6{"v6", "::1", true};

bool HaveIpv6Loopback() {
  int fd = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_addr = in6addr_loopback;
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&sin6), sizeof(sin6)) == 0;
  ::close(fd);
  return ok;
}

// An RpcServer with the test program, its loop on a thread of its own.
class ServerHarness {
 public:
  static std::unique_ptr<ServerHarness> Start(RpcServer::Options opt) {
    auto h = std::unique_ptr<ServerHarness>(new ServerHarness());
    auto loop = EventLoop::Create();
    if (!loop.ok()) return nullptr;
    h->loop_ = std::move(loop).value();
    h->scheduler_ = std::make_unique<LoopScheduler>(*h->loop_);
    auto server = RpcServer::Create(*h->loop_, h->log_, std::move(opt));
    if (!server.ok()) {
      ADD_FAILURE() << server.status().ToString();
      return nullptr;
    }
    h->server_ = std::move(server).value();
    h->AddPrograms();
    h->thread_ = std::thread([hp = h.get()] { (void)hp->loop_->Run(); });
    return h;
  }

  ~ServerHarness() {
    loop_->Post([this] { loop_->Stop(); });
    thread_.join();
    server_.reset();
    scheduler_.reset();
  }

  // Runs fn on the loop thread and waits for it.
  template <typename F>
  auto OnLoop(F fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto fut = task.get_future();
    loop_->Post([&task] { task(); });
    return fut.get();
  }

  uint16_t Port(const std::string& netid) {
    for (const auto& l : server_->listeners()) {
      if (l.netid == netid) return l.port;
    }
    ADD_FAILURE() << "no listener " << netid;
    return 0;
  }
  uint16_t Port(const Family& f, Proto p) {
    std::string netid = p == Proto::kUdp ? "udp" : "tcp";
    if (f.v6) netid += "6";
    return Port(netid);
  }
  size_t Connections() {
    return OnLoop([this] { return server_->connection_count(); });
  }
  bool WaitConnections(size_t n) {
    auto deadline = std::chrono::steady_clock::now() + kTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (Connections() == n) return true;
      std::this_thread::sleep_for(milliseconds(10));
    }
    return false;
  }

  std::atomic<int> active_deferred{0};
  std::atomic<int> max_active_deferred{0};
  std::atomic<int> handled{0};

 private:
  ServerHarness() = default;

  void AddPrograms() {
    std::map<uint32_t, Handler> procs;
    procs[kProcEcho] = [this](const CallContext&, std::span<const uint8_t> args, Responder r) {
      ++handled;
      r.Reply(std::vector<uint8_t>(args.begin(), args.end()));
    };
    procs[kProcDeferred] = [this](const CallContext&, std::span<const uint8_t> args,
                                  Responder r) {
      ++handled;
      XdrReader rd(args);
      uint32_t delay_ms, tag;
      if (!rd.GetUint32(&delay_ms) || !rd.GetUint32(&tag)) {
        r.GarbageArgs();
        return;
      }
      int now_active = ++active_deferred;
      int prev = max_active_deferred.load();
      while (now_active > prev && !max_active_deferred.compare_exchange_weak(prev, now_active)) {
      }
      auto shared = std::make_shared<Responder>(std::move(r));
      scheduler_->RunAfter(milliseconds(delay_ms), [this, shared, tag] {
        --active_deferred;
        shared->Reply(U32s({tag}));
      });
    };
    procs[kProcGarbage] = [](const CallContext&, std::span<const uint8_t>, Responder r) {
      r.GarbageArgs();
    };
    procs[kProcSystemErr] = [](const CallContext&, std::span<const uint8_t>, Responder r) {
      r.SystemErr();
      r.ReplyVoid();  // ignored: only the first answer counts
    };
    procs[kProcDrop] = [](const CallContext&, std::span<const uint8_t>, Responder) {};
    procs[kProcContext] = [](const CallContext& ctx, std::span<const uint8_t>, Responder r) {
      XdrWriter w;
      w.PutUint32(static_cast<uint32_t>(ctx.netid));
      w.PutUint32(ctx.IsLoopback());
      w.PutUint32(ctx.FromPrivilegedPort());
      w.PutUint32(ctx.PeerPort());
      w.PutString(ctx.PeerAddress());
      w.PutUint32(ctx.cred_flavor);
      w.PutUint32(ctx.xid);
      r.Reply(std::move(w).Take());
    };
    ASSERT_TRUE(server_->AddProgram(kProg, 2, procs).ok());
    ASSERT_TRUE(server_->AddProgram(kProg, 5, procs).ok());
    EXPECT_TRUE(server_->AddProgram(kProg, 5, {}).IsAlreadyExists());
  }

  CapturingLogger log_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<LoopScheduler> scheduler_;
  std::unique_ptr<RpcServer> server_;
  std::thread thread_;
};

RpcServer::Options LoopbackOptions() {
  RpcServer::Options opt;
  opt.bind_v4 = "127.0.0.1";
  opt.bind_v6 = "::1";
  opt.ipv6_optional = false;
  opt.max_record_bytes = 4096;
  if (!HaveIpv6Loopback()) opt.udp6 = opt.tcp6 = false;
  return opt;
}

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
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->Success());
  EXPECT_TRUE(r->results.empty());
}

TEST_P(RpcServerTest, EchoAndContext) {
  std::vector<uint8_t> args = U32s({1, 2, 3});
  auto r = CallProc(5, kProcEcho, args);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->Success());
  EXPECT_EQ(r->results, args);

  test::CallOptions opt;
  opt.xid = 0x5eed;
  opt.cred = OpaqueAuth{kAuthSys, U32s({0, 0, 0, 0, 0})};  // stamp, "", uid 0, gid 0, no gids
  r = CallProc(2, kProcContext, {}, opt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
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
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_LT(r->local_port, 1024);
  XdrReader rd(r->results);
  uint32_t netid, loopback, privileged;
  ASSERT_TRUE(rd.GetUint32(&netid) && rd.GetUint32(&loopback) && rd.GetUint32(&privileged));
  EXPECT_EQ(privileged, 1u);
}

TEST_P(RpcServerTest, DeferredReply) {
  auto start = std::chrono::steady_clock::now();
  auto r = CallProc(2, kProcDeferred, U32s({150, 0xabc}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(140));
  EXPECT_TRUE(r->Success());
  EXPECT_EQ(r->results, U32s({0xabc}));
}

TEST_P(RpcServerTest, ErrorAnswersFromHandlers) {
  auto r = CallProc(2, kProcGarbage, {});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->info.accepted);
  EXPECT_EQ(r->info.accept_stat, AcceptStat::kGarbageArgs);
  r = CallProc(2, kProcSystemErr, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->info.accept_stat, AcceptStat::kSystemErr);
  // A dropped Responder sends nothing.
  r = test::Call(family().addr, port(), proto(), kProg, 2, kProcDrop, {}, kNoReply);
  EXPECT_TRUE(r.status().IsTimedOut()) << r.status().ToString();
}

TEST_P(RpcServerTest, ProcUnavail) {
  auto r = CallProc(2, 99, {});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->info.accepted);
  EXPECT_EQ(r->info.accept_stat, AcceptStat::kProcUnavail);
}

TEST_P(RpcServerTest, ProgMismatchReportsRegisteredRange) {
  auto r = CallProc(3, 0, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->info.accept_stat, AcceptStat::kProgMismatch);
  EXPECT_EQ(r->info.mismatch.low, 2u);
  EXPECT_EQ(r->info.mismatch.high, 5u);
}

TEST_P(RpcServerTest, ProgUnavail) {
  auto r = test::Call(family().addr, port(), proto(), kProg + 1, 1, 0, {}, kTimeout);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->info.accept_stat, AcceptStat::kProgUnavail);
}

TEST_P(RpcServerTest, RpcMismatch) {
  std::vector<uint8_t> call = U32s({0x1234, 0, 3, kProg, 2, 0, 0, 0, 0, 0});
  if (proto() == Proto::kTcp) call = test::RecordMark(call);
  auto raw = test::RawSend(family().addr, port(), proto(), call, kTimeout);
  ASSERT_TRUE(raw.ok());
  ASSERT_TRUE(raw->reply.has_value());
  auto info = DecodeReply(*raw->reply);
  ASSERT_TRUE(info.ok());
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
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->info.accepted);
  EXPECT_EQ(r->info.reject_stat, RejectStat::kAuthError);
  EXPECT_EQ(r->info.auth_stat, AuthStat::kRejectedCred);
  opt.cred = OpaqueAuth{kAuthSys, {1, 2, 3, 4}};  // AUTH_SYS body cut short
  r = CallProc(2, 0, {}, opt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->info.auth_stat, AuthStat::kBadCred);
}

TEST_P(RpcServerTest, GarbageHeaderIsDropped) {
  std::vector<uint8_t> garbage = {0xde, 0xad, 0xbe, 0xef, 0, 0, 0};
  if (proto() == Proto::kTcp) garbage = test::RecordMark(garbage);
  auto raw = test::RawSend(family().addr, port(), proto(), garbage, kNoReply);
  ASSERT_TRUE(raw.ok());
  EXPECT_FALSE(raw->reply.has_value());
  if (proto() == Proto::kTcp) {
    EXPECT_TRUE(raw->closed);
  }
  // A reply (not a call) is dropped too.
  std::vector<uint8_t> reply = EncodeAcceptedReply(1, AcceptStat::kSuccess);
  if (proto() == Proto::kTcp) reply = test::RecordMark(reply);
  raw = test::RawSend(family().addr, port(), proto(), reply, kNoReply);
  ASSERT_TRUE(raw.ok());
  EXPECT_FALSE(raw->reply.has_value());
  // The server is still serving.
  auto r = CallProc(2, 0, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->Success());
}

INSTANTIATE_TEST_SUITE_P(Transports, RpcServerTest,
                         ::testing::Combine(::testing::Values(kV4, kV6),
                                            ::testing::Values(Proto::kUdp, Proto::kTcp)),
                         [](const auto& p) {
                           return std::string(std::get<0>(p.param).name) +
                                  (std::get<1>(p.param) == Proto::kUdp ? "Udp" : "Tcp");
                         });

// ---- TCP-only behaviour ----

class RpcTcpTest : public ::testing::TestWithParam<Family> {
 protected:
  void SetUp() override {
    if (GetParam().v6 && !HaveIpv6Loopback()) GTEST_SKIP() << "no IPv6 loopback on this host";
  }
  void StartServer(RpcServer::Options opt = LoopbackOptions()) {
    harness_ = ServerHarness::Start(std::move(opt));
    ASSERT_NE(harness_, nullptr);
  }
  Result<std::unique_ptr<test::TcpClient>> Connect() {
    return test::TcpClient::Connect(GetParam().addr, harness_->Port(GetParam(), Proto::kTcp),
                                    kTimeout);
  }
  std::unique_ptr<ServerHarness> harness_;
};

TEST_P(RpcTcpTest, MultiFragmentRecord) {
  StartServer();
  auto c = Connect();
  ASSERT_TRUE(c.ok());
  std::vector<uint8_t> args(1000);
  for (size_t i = 0; i < args.size(); ++i) args[i] = static_cast<uint8_t>(i * 7);
  std::vector<uint8_t> call = EncodeCall(42, kProg, 2, kProcEcho, args);
  // 7-byte fragments split every field, including the record marks'
  // neighbours; send them in uneven writes too.
  std::vector<uint8_t> framed = test::RecordMark(call, 7);
  for (size_t off = 0; off < framed.size(); off += 333) {
    size_t n = std::min<size_t>(333, framed.size() - off);
    ASSERT_TRUE((*c)->SendRaw(std::span(framed).subspan(off, n)).ok());
    std::this_thread::sleep_for(milliseconds(2));
  }
  auto r = (*c)->ReadReply(kTimeout);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->info.xid, 42u);
  EXPECT_EQ(r->results, args);
  // Zero-length fragments are legal.
  std::vector<uint8_t> empty_first = U32s({0});
  std::vector<uint8_t> rest = test::RecordMark(EncodeCall(43, kProg, 2, 0, {}));
  empty_first.insert(empty_first.end(), rest.begin(), rest.end());
  ASSERT_TRUE((*c)->SendRaw(empty_first).ok());
  r = (*c)->ReadReply(kTimeout);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->info.xid, 43u);
}

TEST_P(RpcTcpTest, OversizeRecordClosesTheConnection) {
  StartServer();
  // One fragment announcing more than max_record_bytes (4096): closed on the
  // header alone.
  auto raw = test::RawSend(GetParam().addr, harness_->Port(GetParam(), Proto::kTcp),
                           Proto::kTcp, U32s({0x80000000u | 5000, 0, 0}), kTimeout);
  ASSERT_TRUE(raw.ok());
  EXPECT_TRUE(raw->closed);
  // Fragments that only add up to too much.
  auto c = Connect();
  ASSERT_TRUE(c.ok());
  std::vector<uint8_t> call = EncodeCall(1, kProg, 2, kProcEcho, std::vector<uint8_t>(5000, 1));
  (void)(*c)->SendRaw(test::RecordMark(call, 1000));
  EXPECT_TRUE((*c)->WaitClosed(kTimeout));
  // Exactly at the limit is fine.
  auto c2 = Connect();
  ASSERT_TRUE(c2.ok());
  std::vector<uint8_t> max_args(4096 - 40, 3);
  auto r = (*c2)->Call(kProg, 2, kProcEcho, max_args, kTimeout);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->results, max_args);
}

TEST_P(RpcTcpTest, OutOfOrderRepliesOnOneConnection) {
  StartServer();
  auto c = Connect();
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->SendCall(100, kProg, 2, kProcDeferred, U32s({400, 1})).ok());
  ASSERT_TRUE((*c)->SendCall(101, kProg, 2, kProcDeferred, U32s({200, 2})).ok());
  ASSERT_TRUE((*c)->SendCall(102, kProg, 2, kProcEcho, U32s({3})).ok());
  std::vector<uint32_t> order;
  for (int i = 0; i < 3; ++i) {
    auto r = (*c)->ReadReply(kTimeout);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    order.push_back(r->info.xid);
  }
  EXPECT_EQ(order, (std::vector<uint32_t>{102, 101, 100}));
}

TEST_P(RpcTcpTest, InFlightLimitPausesReading) {
  RpcServer::Options opt = LoopbackOptions();
  opt.max_calls_per_connection = 2;
  StartServer(opt);
  auto c = Connect();
  ASSERT_TRUE(c.ok());
  // All five calls in one write: the server must keep the buffered ones and
  // dispatch them as earlier calls complete.
  std::vector<uint8_t> batch;
  for (uint32_t i = 0; i < 5; ++i) {
    auto rec = test::RecordMark(EncodeCall(200 + i, kProg, 2, kProcDeferred, U32s({100, i})));
    batch.insert(batch.end(), rec.begin(), rec.end());
  }
  ASSERT_TRUE((*c)->SendRaw(batch).ok());
  std::vector<uint32_t> xids;
  for (int i = 0; i < 5; ++i) {
    auto r = (*c)->ReadReply(kTimeout);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    xids.push_back(r->info.xid);
  }
  std::sort(xids.begin(), xids.end());
  EXPECT_EQ(xids, (std::vector<uint32_t>{200, 201, 202, 203, 204}));
  EXPECT_EQ(harness_->max_active_deferred.load(), 2);
}

TEST_P(RpcTcpTest, ConnectionCap) {
  RpcServer::Options opt = LoopbackOptions();
  opt.max_connections = 2;
  StartServer(opt);
  auto a = Connect();
  auto b = Connect();
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE((*a)->Call(kProg, 2, 0, {}, kTimeout).ok());
  ASSERT_TRUE((*b)->Call(kProg, 2, 0, {}, kTimeout).ok());
  EXPECT_EQ(harness_->Connections(), 2u);
  auto c = Connect();  // the kernel completes the handshake; the server closes it
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE((*c)->WaitClosed(kTimeout));
  // Earlier connections are unaffected.
  EXPECT_TRUE((*a)->Call(kProg, 2, 0, {}, kTimeout).ok());
  // Closing one frees a slot.
  a->reset();
  ASSERT_TRUE(harness_->WaitConnections(1));
  auto d = Connect();
  ASSERT_TRUE(d.ok());
  auto r = (*d)->Call(kProg, 2, 0, {}, kTimeout);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
}

TEST_P(RpcTcpTest, IdleTimeoutSparesBusyConnections) {
  RpcServer::Options opt = LoopbackOptions();
  opt.idle_timeout = milliseconds(200);
  StartServer(opt);
  auto idle = Connect();
  ASSERT_TRUE(idle.ok());
  ASSERT_TRUE((*idle)->Call(kProg, 2, 0, {}, kTimeout).ok());
  // A call that takes longer than the idle timeout keeps its connection.
  auto busy = Connect();
  ASSERT_TRUE(busy.ok());
  auto r = (*busy)->Call(kProg, 2, kProcDeferred, U32s({700, 9}), kTimeout);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->results, U32s({9}));
  EXPECT_TRUE((*idle)->WaitClosed(kTimeout));
  EXPECT_TRUE((*busy)->WaitClosed(kTimeout));
  EXPECT_TRUE(harness_->WaitConnections(0));
}

TEST_P(RpcTcpTest, ReplyAfterHalfCloseAndDroppedAfterClose) {
  StartServer();
  {
    auto c = Connect();
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE((*c)->SendCall(7, kProg, 2, kProcDeferred, U32s({150, 77})).ok());
    // Half-close: the server still answers what it has read, then closes.
    ASSERT_TRUE((*c)->ShutdownWrite().ok());
    auto r = (*c)->ReadReply(kTimeout);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->results, U32s({77}));
    EXPECT_TRUE((*c)->WaitClosed(kTimeout));
  }
  {
    // The client goes away before a deferred reply: the reply is dropped
    // and the server carries on.
    auto c = Connect();
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE((*c)->SendCall(8, kProg, 2, kProcDeferred, U32s({150, 88})).ok());
    std::this_thread::sleep_for(milliseconds(30));
  }
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_TRUE(harness_->WaitConnections(0));
  auto c = Connect();
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE((*c)->Call(kProg, 2, 0, {}, kTimeout).ok());
}

INSTANTIATE_TEST_SUITE_P(Families, RpcTcpTest, ::testing::Values(kV4, kV6),
                         [](const auto& p) { return std::string(p.param.name); });

// ---- UDP-only behaviour ----

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
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->Success());
}

TEST(RpcUdpTest, LargestDatagramIsHandled) {
  RpcServer::Options opt = LoopbackOptions();
  auto h = ServerHarness::Start(opt);
  ASSERT_NE(h, nullptr);
  // 65507 bytes is the largest IPv4 UDP payload: a 40-byte call header and
  // the arguments.  The echo reply (24-byte header) fits as well.
  std::vector<uint8_t> args(65507 - 40, 5);
  auto r = test::Call("127.0.0.1", h->Port("udp"), Proto::kUdp, kProg, 2, kProcEcho, args,
                      kTimeout);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->results, args);
}

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
  EXPECT_TRUE(r.ok());
}

TEST(RpcServerCreateTest, EphemeralPortsDifferPerListener) {
  auto loop = EventLoop::Create();
  ASSERT_TRUE(loop.ok());
  CapturingLogger log;
  RpcServer::Options opt = LoopbackOptions();
  auto server = RpcServer::Create(**loop, log, opt);
  ASSERT_TRUE(server.ok());
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
  ASSERT_TRUE(loop.ok());
  CapturingLogger log;
  RpcServer::Options opt = LoopbackOptions();
  opt.bind_v4 = "not-an-address";
  EXPECT_TRUE(RpcServer::Create(**loop, log, opt).status().IsInvalidArgument());
  opt = LoopbackOptions();
  opt.udp = opt.tcp = opt.udp6 = opt.tcp6 = false;
  EXPECT_FALSE(RpcServer::Create(**loop, log, opt).ok());
  // The same fixed port twice is refused.
  auto first = RpcServer::Create(**loop, log, LoopbackOptions());
  ASSERT_TRUE(first.ok());
  opt = LoopbackOptions();
  opt.port = (*first)->listeners()[1].port;  // tcp
  opt.udp = false;
  EXPECT_FALSE(RpcServer::Create(**loop, log, opt).ok());
}

}  // namespace
}  // namespace nfsrec::rpc
