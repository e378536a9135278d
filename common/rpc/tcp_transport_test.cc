// Tests for the TCP transport behind RpcServer (common/rpc/tcp_transport.h):
// record marking, limits, idle timeout, half-close, accept back-off.  Timer
// driven behaviour runs on a FakeScheduler.
#include "common/rpc/tcp_transport.h"

#include <sys/resource.h>

#include <algorithm>

#include "common/rpc/rpc_test_harness.h"
#include <gtest/gtest.h>

namespace nfsrec::rpc {
namespace {

using namespace rpctest;  // NOLINT(build/namespaces)

class RpcTcpTest : public ::testing::TestWithParam<Family> {
 protected:
  void SetUp() override {
    if (GetParam().v6 && !HaveIpv6Loopback()) GTEST_SKIP() << "no IPv6 loopback on this host";
  }
  void StartServer(RpcServer::Options opt = LoopbackOptions(), Clock clock = Clock::kReal) {
    harness_ = ServerHarness::Start(std::move(opt), clock);
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
  ASSERT_OK(c);
  std::vector<uint8_t> args(1000);
  for (size_t i = 0; i < args.size(); ++i) args[i] = static_cast<uint8_t>(i * 7);
  std::vector<uint8_t> call = EncodeCall(42, kProg, 2, kProcEcho, args);
  // 7-byte fragments split every field, including the record marks'
  // neighbours; send them in uneven writes too.
  std::vector<uint8_t> framed = test::RecordMark(call, 7);
  for (size_t off = 0; off < framed.size(); off += 333) {
    size_t n = std::min<size_t>(333, framed.size() - off);
    ASSERT_OK((*c)->SendRaw(std::span(framed).subspan(off, n)));
    std::this_thread::sleep_for(milliseconds(2));
  }
  auto r = (*c)->ReadReply(kTimeout);
  ASSERT_OK(r);
  EXPECT_EQ(r->info.xid, 42u);
  EXPECT_EQ(r->results, args);
  // Zero-length fragments are legal.
  std::vector<uint8_t> empty_first = U32s({0});
  std::vector<uint8_t> rest = test::RecordMark(EncodeCall(43, kProg, 2, 0, {}));
  empty_first.insert(empty_first.end(), rest.begin(), rest.end());
  ASSERT_OK((*c)->SendRaw(empty_first));
  r = (*c)->ReadReply(kTimeout);
  ASSERT_OK(r);
  EXPECT_EQ(r->info.xid, 43u);
}

TEST_P(RpcTcpTest, OversizeRecordClosesTheConnection) {
  StartServer();
  // One fragment announcing more than max_record_bytes (4096): closed on the
  // header alone.
  auto raw = test::RawSend(GetParam().addr, harness_->Port(GetParam(), Proto::kTcp), Proto::kTcp,
                           U32s({0x80000000u | 5000, 0, 0}), kTimeout);
  ASSERT_OK(raw);
  EXPECT_TRUE(raw->closed);
  // Fragments that only add up to too much.
  auto c = Connect();
  ASSERT_OK(c);
  std::vector<uint8_t> call = EncodeCall(1, kProg, 2, kProcEcho, std::vector<uint8_t>(5000, 1));
  (void)(*c)->SendRaw(test::RecordMark(call, 1000));
  EXPECT_TRUE((*c)->WaitClosed(kTimeout));
  // Exactly at the limit is fine.
  auto c2 = Connect();
  ASSERT_OK(c2);
  std::vector<uint8_t> max_args(4096 - 40, 3);
  auto r = (*c2)->Call(kProg, 2, kProcEcho, max_args, kTimeout);
  ASSERT_OK(r);
  EXPECT_EQ(r->results, max_args);
}

TEST_P(RpcTcpTest, OutOfOrderRepliesOnOneConnection) {
  StartServer(LoopbackOptions(), Clock::kFake);
  auto c = Connect();
  ASSERT_OK(c);
  ASSERT_OK((*c)->SendCall(100, kProg, 2, kProcDeferred, U32s({400, 1})));
  ASSERT_OK((*c)->SendCall(101, kProg, 2, kProcDeferred, U32s({200, 2})));
  ASSERT_OK((*c)->SendCall(102, kProg, 2, kProcEcho, U32s({3})));
  std::vector<uint32_t> order;
  auto r = (*c)->ReadReply(kTimeout);
  ASSERT_OK(r);
  order.push_back(r->info.xid);
  ASSERT_TRUE(harness_->WaitFor([&] { return harness_->handled.load() == 3; }));
  for (auto step : {milliseconds(200), milliseconds(200)}) {
    harness_->Advance(step);
    r = (*c)->ReadReply(kTimeout);
    ASSERT_OK(r);
    order.push_back(r->info.xid);
  }
  EXPECT_EQ(order, (std::vector<uint32_t>{102, 101, 100}));
}

TEST_P(RpcTcpTest, InFlightLimitPausesReading) {
  RpcServer::Options opt = LoopbackOptions();
  opt.max_calls_per_connection = 2;
  StartServer(opt, Clock::kFake);
  auto c = Connect();
  ASSERT_OK(c);
  // All five calls in one write: the server must keep the buffered ones and
  // dispatch them as earlier calls complete.
  std::vector<uint8_t> batch;
  for (uint32_t i = 0; i < 5; ++i) {
    auto rec = test::RecordMark(EncodeCall(200 + i, kProg, 2, kProcDeferred, U32s({100, i})));
    batch.insert(batch.end(), rec.begin(), rec.end());
  }
  ASSERT_OK((*c)->SendRaw(batch));
  std::vector<uint32_t> xids;
  for (int handled : {2, 4, 5}) {
    // Only as many calls reach the handler as the limit lets in.
    ASSERT_TRUE(harness_->WaitFor([&] { return harness_->handled.load() == handled; }));
    harness_->Advance(milliseconds(100));
    while (xids.size() < static_cast<size_t>(handled)) {
      auto r = (*c)->ReadReply(kTimeout);
      ASSERT_OK(r);
      xids.push_back(r->info.xid);
    }
  }
  std::sort(xids.begin(), xids.end());
  EXPECT_EQ(xids, (std::vector<uint32_t>{200, 201, 202, 203, 204}));
  EXPECT_EQ(harness_->max_active_deferred.load(), 2);
}

TEST_P(RpcTcpTest, FullLoopbackBudgetEvictsTheIdlestConnection) {
  RpcServer::Options opt = LoopbackOptions();
  opt.max_loopback_connections = 2;
  StartServer(opt);
  auto a = Connect();
  auto b = Connect();
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_OK((*a)->Call(kProg, 2, 0, {}, kTimeout));
  std::this_thread::sleep_for(milliseconds(2));
  ASSERT_OK((*b)->Call(kProg, 2, 0, {}, kTimeout));
  EXPECT_EQ(harness_->Connections(), 2u);
  // A third one is served; the connection quiet the longest (a) goes.
  auto c = Connect();
  ASSERT_OK(c);
  EXPECT_OK((*c)->Call(kProg, 2, 0, {}, kTimeout));
  EXPECT_TRUE((*a)->WaitClosed(kTimeout));
  EXPECT_OK((*b)->Call(kProg, 2, 0, {}, kTimeout));
  EXPECT_EQ(harness_->Connections(), 2u);
  EXPECT_EQ(harness_->LogCount("closing the idlest"), 1u);
}

TEST_P(RpcTcpTest, FullBudgetOfBusyConnectionsRefusesTheNewOne) {
  RpcServer::Options opt = LoopbackOptions();
  opt.max_loopback_connections = 1;
  StartServer(opt, Clock::kFake);
  auto busy = Connect();
  ASSERT_OK(busy);
  ASSERT_OK((*busy)->SendCall(9, kProg, 2, kProcDeferred, U32s({100, 9})));
  ASSERT_TRUE(harness_->WaitFor([&] { return harness_->handled.load() == 1; }));
  auto c = Connect();  // the kernel completes the handshake; the server closes it
  ASSERT_OK(c);
  EXPECT_TRUE((*c)->WaitClosed(kTimeout));
  EXPECT_EQ(harness_->LogCount("loopback connections busy"), 1u);
  harness_->Advance(milliseconds(100));
  auto r = (*busy)->ReadReply(kTimeout);
  ASSERT_OK(r);
  EXPECT_EQ(r->results, U32s({9}));
}

TEST_P(RpcTcpTest, IdleTimeoutSparesBusyConnections) {
  RpcServer::Options opt = LoopbackOptions();
  opt.idle_timeout = milliseconds(200);
  StartServer(opt, Clock::kFake);
  auto idle = Connect();
  ASSERT_OK(idle);
  ASSERT_OK((*idle)->Call(kProg, 2, 0, {}, kTimeout));
  // A call that takes longer than the idle timeout keeps its connection.
  auto busy = Connect();
  ASSERT_OK(busy);
  ASSERT_OK((*busy)->SendCall(9, kProg, 2, kProcDeferred, U32s({700, 9})));
  ASSERT_TRUE(harness_->WaitFor([&] { return harness_->handled.load() == 1; }));
  harness_->Advance(milliseconds(300));
  EXPECT_TRUE((*idle)->WaitClosed(kTimeout));
  EXPECT_EQ(harness_->Connections(), 1u);
  harness_->Advance(milliseconds(400));
  auto r = (*busy)->ReadReply(kTimeout);
  ASSERT_OK(r);
  EXPECT_EQ(r->results, U32s({9}));
  // Idle from the reply on.
  harness_->Advance(milliseconds(100));
  EXPECT_EQ(harness_->Connections(), 1u);
  harness_->Advance(milliseconds(200));
  EXPECT_TRUE((*busy)->WaitClosed(kTimeout));
  EXPECT_TRUE(harness_->WaitConnections(0));
}

TEST_P(RpcTcpTest, ReplyAfterHalfCloseAndDroppedAfterClose) {
  StartServer(LoopbackOptions(), Clock::kFake);
  {
    auto c = Connect();
    ASSERT_OK(c);
    ASSERT_OK((*c)->SendCall(7, kProg, 2, kProcDeferred, U32s({150, 77})));
    // Half-close: the server still answers what it has read, then closes.
    ASSERT_OK((*c)->ShutdownWrite());
    ASSERT_TRUE(harness_->WaitFor([&] { return harness_->handled.load() == 1; }));
    harness_->Advance(milliseconds(150));
    auto r = (*c)->ReadReply(kTimeout);
    ASSERT_OK(r);
    EXPECT_EQ(r->results, U32s({77}));
    EXPECT_TRUE((*c)->WaitClosed(kTimeout));
  }
  {
    // The client goes away before a deferred reply: the reply is dropped
    // and the server carries on.
    auto c = Connect();
    ASSERT_OK(c);
    ASSERT_OK((*c)->SendCall(8, kProg, 2, kProcDeferred, U32s({150, 88})));
    ASSERT_TRUE(harness_->WaitFor([&] { return harness_->handled.load() == 2; }));
  }
  harness_->Advance(milliseconds(150));
  EXPECT_EQ(harness_->active_deferred.load(), 0);
  EXPECT_TRUE(harness_->WaitConnections(0));
  auto c = Connect();
  ASSERT_OK(c);
  EXPECT_OK((*c)->Call(kProg, 2, 0, {}, kTimeout));
}

// Holds every free descriptor of this process (under a lowered soft
// limit) until released, so that accept() fails with EMFILE.
class DescriptorHog {
 public:
  DescriptorHog() {
    getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit low = saved_;
    low.rlim_cur = std::min<rlim_t>(saved_.rlim_cur, 512);
    setrlimit(RLIMIT_NOFILE, &low);
    for (int fd; (fd = ::dup(0)) >= 0;) fds_.push_back(fd);
  }
  ~DescriptorHog() { Release(); }
  void Release() {
    for (int fd : fds_) ::close(fd);
    fds_.clear();
    setrlimit(RLIMIT_NOFILE, &saved_);
  }
  bool exhausted() const { return errno == EMFILE && !fds_.empty(); }

 private:
  rlimit saved_{};
  std::vector<int> fds_;
};

TEST_P(RpcTcpTest, AcceptBacksOffWhenOutOfDescriptors) {
  StartServer(LoopbackOptions(), Clock::kFake);
  auto to = Endpoint::FromNumeric(GetParam().addr, harness_->Port(GetParam(), Proto::kTcp));
  ASSERT_OK(to);
  UniqueFd client(::socket(to->family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(client);
  {
    DescriptorHog hog;
    ASSERT_TRUE(hog.exhausted());
    // The kernel completes the handshake; the server cannot accept it.
    ASSERT_EQ(::connect(client.get(), to->sa(), to->len), 0);
    ASSERT_TRUE(harness_->WaitFor([&] { return harness_->LogCount("accept: ") == 1; }));
  }
  // Descriptors are free again, but the listener stays paused (and quiet)
  // until the back-off has passed.
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(harness_->Connections(), 0u);
  EXPECT_EQ(harness_->LogCount("accept: "), 1u);
  harness_->Advance(milliseconds(100));
  EXPECT_TRUE(harness_->WaitConnections(1));
}

INSTANTIATE_TEST_SUITE_P(Families, RpcTcpTest, ::testing::Values(kV4, kV6),
                         [](const auto& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace nfsrec::rpc

namespace nfsrec::rpc {
namespace {

using namespace rpctest;  // NOLINT(build/namespaces)

// The connection budgets, driven through TcpTransport::Adopt with
// socketpairs and made-up addresses (remote peers need no network), on the
// test thread's loop and a FakeScheduler.
class TcpBudgetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = EventLoop::Create();
    ASSERT_OK(loop);
    loop_ = std::move(loop).value();
    std::map<uint32_t, Handler> procs;
    procs[kProcEcho] = [](const CallContext&, std::span<const uint8_t> args, Responder r) {
      r.Reply(std::vector<uint8_t>(args.begin(), args.end()));
    };
    procs[kProcDrop] = [this](const CallContext&, std::span<const uint8_t>, Responder r) {
      held_.push_back(std::move(r));
    };
    procs[kProcContext] = [this](const CallContext& ctx, std::span<const uint8_t>, Responder r) {
      last_loopback_ = ctx.IsLoopback();
      r.ReplyVoid();
    };
    ASSERT_OK(dispatcher_.AddProgram(kProg, 2, procs));
  }
  void TearDown() override {
    held_.clear();
    transport_.reset();
  }

  void Make(TcpTransport::Limits limits) {
    transport_ =
        std::make_unique<TcpTransport>(*loop_, scheduler_, dispatcher_, log_, std::move(limits));
  }

  // A connection as if accepted from `peer` on `local`; returns the
  // client's end.
  UniqueFd Open(const std::string& peer, const std::string& local, uint16_t port = 40000) {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    auto p = Endpoint::FromNumeric(peer, port);
    auto l = Endpoint::FromNumeric(local, 111);
    EXPECT_TRUE(p.ok() && l.ok());
    transport_->Adopt(p->IsV6() ? Netid::kTcp6 : Netid::kTcp, UniqueFd(sv[1]), *p, *l, false);
    return UniqueFd(sv[0]);
  }
  UniqueFd Remote(const std::string& peer) { return Open(peer, "192.0.2.1"); }
  UniqueFd Local(uint16_t port = 40000) { return Open("127.0.0.1", "127.0.0.1", port); }

  // Sends one call and runs the loop until its reply (true) or the
  // connection's end (false).
  bool Served(const UniqueFd& fd, uint32_t proc = kProcEcho) {
    std::vector<uint8_t> rec = test::RecordMark(EncodeCall(++xid_, kProg, 2, proc, {}));
    if (::send(fd.get(), rec.data(), rec.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(rec.size())) {
      return false;
    }
    if (proc == kProcDrop) {
      return loop_->RunUntil([&] { return !held_.empty() && held_.back().xid() == xid_; },
                             kTimeout);
    }
    bool replied = false;
    bool closed = false;
    loop_->RunUntil(
        [&] {
          uint8_t buf[512];
          ssize_t n = ::recv(fd.get(), buf, sizeof(buf), MSG_DONTWAIT);
          if (n > 0) replied = true;
          if (n == 0 || (n < 0 && errno != EAGAIN)) closed = true;
          return replied || closed;
        },
        kTimeout);
    return replied;
  }
  // Runs the loop until the server closed the connection.
  bool Closed(const UniqueFd& fd) {
    return loop_->RunUntil(
        [&] {
          uint8_t buf[512];
          ssize_t n = ::recv(fd.get(), buf, sizeof(buf), MSG_DONTWAIT);
          return n == 0 || (n < 0 && errno != EAGAIN);
        },
        kTimeout);
  }
  size_t LogCount(const std::string& needle) const {
    size_t n = 0;
    for (const auto& l : log_.lines()) n += l.second.find(needle) != std::string::npos;
    return n;
  }

  std::unique_ptr<EventLoop> loop_;
  FakeScheduler scheduler_;
  CapturingLogger log_;
  Dispatcher dispatcher_{log_};
  std::unique_ptr<TcpTransport> transport_;
  std::vector<Responder> held_;
  bool last_loopback_ = false;
  uint32_t xid_ = 0;
};

TEST_F(TcpBudgetTest, FullRemoteBudgetLeavesLoopbackServed) {
  TcpTransport::Limits limits;
  limits.max_remote_connections = 8;
  limits.max_loopback_connections = 2;
  Make(limits);
  // Every remote slot holds a call that is never answered: nothing to evict.
  std::vector<UniqueFd> remote;
  for (int i = 0; i < 8; ++i) {
    remote.push_back(Remote(StrCat("10.0.0.", i + 1)));
    ASSERT_TRUE(Served(remote.back(), kProcDrop));
  }
  UniqueFd extra = Remote("10.0.1.1");
  EXPECT_TRUE(Closed(extra));
  EXPECT_EQ(transport_->remote_connection_count(), 8u);
  // lockd's connection is of the other budget.
  UniqueFd lockd = Local();
  EXPECT_TRUE(Served(lockd, kProcContext));
  EXPECT_TRUE(last_loopback_);
  EXPECT_EQ(transport_->loopback_connection_count(), 1u);
}

TEST_F(TcpBudgetTest, LoopbackPeerOnANonLoopbackAddressIsRemote) {
  Make(TcpTransport::Limits{});
  // A peer claiming 127.0.0.1 on a connection to our public address did
  // not come over loopback.
  UniqueFd fd = Open("127.0.0.1", "192.0.2.1");
  EXPECT_TRUE(Served(fd, kProcContext));
  EXPECT_FALSE(last_loopback_);
  EXPECT_EQ(transport_->remote_connection_count(), 1u);
  UniqueFd mapped = Open("::ffff:127.0.0.1", "::1");
  EXPECT_TRUE(Served(mapped, kProcContext));
  EXPECT_FALSE(last_loopback_);
  UniqueFd v6 = Open("::1", "::1");
  EXPECT_TRUE(Served(v6, kProcContext));
  EXPECT_TRUE(last_loopback_);
}

TEST_F(TcpBudgetTest, PerRemoteAddressLimitRefusesMoreFromThatAddress) {
  TcpTransport::Limits limits;
  limits.max_connections_per_remote_address = 3;
  Make(limits);
  std::vector<UniqueFd> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(Remote("10.0.0.7"));
    ASSERT_TRUE(Served(held.back()));
  }
  UniqueFd fourth = Remote("10.0.0.7");
  EXPECT_TRUE(Closed(fourth));
  // Another address and loopback are not affected; the first three still work.
  UniqueFd other = Remote("10.0.0.8");
  EXPECT_TRUE(Served(other));
  EXPECT_TRUE(Served(held[0]));
  // A slot of 10.0.0.7 freed is usable again.
  held[1].reset();
  ASSERT_TRUE(
      loop_->RunUntil([&] { return transport_->remote_connection_count() == 3; }, kTimeout));
  UniqueFd again = Remote("10.0.0.7");
  EXPECT_TRUE(Served(again));
}

TEST_F(TcpBudgetTest, FullRemoteBudgetEvictsTheIdlestRemote) {
  TcpTransport::Limits limits;
  limits.max_remote_connections = 3;
  Make(limits);
  UniqueFd a = Remote("10.0.0.1");
  ASSERT_TRUE(Served(a));
  scheduler_.Advance(std::chrono::seconds(1));
  UniqueFd b = Remote("10.0.0.2");
  ASSERT_TRUE(Served(b));
  scheduler_.Advance(std::chrono::seconds(1));
  UniqueFd c = Remote("10.0.0.3");
  ASSERT_TRUE(Served(c));
  scheduler_.Advance(std::chrono::seconds(1));
  // a is the idlest, but it talks now: b becomes the idlest.
  ASSERT_TRUE(Served(a));
  UniqueFd d = Remote("10.0.0.4");
  EXPECT_TRUE(Served(d));
  EXPECT_TRUE(Closed(b));
  EXPECT_TRUE(Served(a));
  EXPECT_TRUE(Served(c));
  EXPECT_EQ(transport_->remote_connection_count(), 3u);
  EXPECT_EQ(LogCount("closing the idlest, tcp 10.0.0.2"), 1u);
}

TEST_F(TcpBudgetTest, UnprivilegedLocalConnectionsCannotEvictLockds) {
  TcpTransport::Limits limits;
  limits.max_loopback_connections = 2;
  Make(limits);
  UniqueFd lockd = Local(800);  // the idlest from here on
  ASSERT_TRUE(Served(lockd));
  scheduler_.Advance(std::chrono::seconds(1));
  UniqueFd user1 = Local(40001);
  ASSERT_TRUE(Served(user1));
  scheduler_.Advance(std::chrono::seconds(1));
  // A local user's new connection evicts the other unprivileged one.
  UniqueFd user2 = Local(40002);
  EXPECT_TRUE(Served(user2));
  EXPECT_TRUE(Closed(user1));
  EXPECT_TRUE(Served(lockd));
  scheduler_.Advance(std::chrono::seconds(1));
  // A privileged newcomer also takes the unprivileged one first.
  UniqueFd root1 = Local(801);
  EXPECT_TRUE(Served(root1));
  EXPECT_TRUE(Closed(user2));
  // Only privileged connections left: an unprivileged one is refused ...
  UniqueFd user3 = Local(40003);
  EXPECT_TRUE(Closed(user3));
  scheduler_.Advance(std::chrono::seconds(1));
  EXPECT_TRUE(Served(lockd));
  // ... a privileged one evicts the idlest privileged (root1: lockd spoke last).
  scheduler_.Advance(std::chrono::seconds(1));
  UniqueFd root2 = Local(802);
  EXPECT_TRUE(Served(root2));
  EXPECT_TRUE(Closed(root1));
  EXPECT_TRUE(Served(lockd));
  EXPECT_EQ(transport_->loopback_connection_count(), 2u);
}

TEST_F(TcpBudgetTest, RemotePrivilegedPortGivesNoProtection) {
  TcpTransport::Limits limits;
  limits.max_remote_connections = 1;
  Make(limits);
  UniqueFd root = Open("10.0.0.1", "192.0.2.1", 800);
  ASSERT_TRUE(Served(root));
  scheduler_.Advance(std::chrono::seconds(1));
  UniqueFd user = Remote("10.0.0.2");
  EXPECT_TRUE(Served(user));
  EXPECT_TRUE(Closed(root));
}

TEST_F(TcpBudgetTest, RemoteIdleTimeoutShortensUnderPressure) {
  TcpTransport::Limits limits;
  limits.max_remote_connections = 4;
  limits.idle_timeout = std::chrono::minutes(6);
  limits.remote_idle_timeout_under_pressure = std::chrono::seconds(30);
  Make(limits);
  UniqueFd lockd = Local();
  ASSERT_TRUE(Served(lockd));
  std::vector<UniqueFd> remote;
  for (int i = 0; i < 2; ++i) {
    remote.push_back(Remote(StrCat("10.0.0.", i + 1)));
    ASSERT_TRUE(Served(remote.back()));
  }
  // Half full: the normal time-out.
  scheduler_.Advance(std::chrono::seconds(60));
  loop_->RunOnce();
  EXPECT_EQ(transport_->remote_connection_count(), 2u);
  // Three-quarters full: remote connections quiet for 30 s go; loopback,
  // quiet for longer, stays.
  ASSERT_TRUE(Served(remote[0]));
  ASSERT_TRUE(Served(remote[1]));
  remote.push_back(Remote("10.0.0.3"));
  ASSERT_TRUE(Served(remote.back()));
  scheduler_.Advance(std::chrono::seconds(29));
  loop_->RunOnce();
  EXPECT_EQ(transport_->remote_connection_count(), 3u);
  scheduler_.Advance(std::chrono::seconds(2));
  for (const UniqueFd& fd : remote) EXPECT_TRUE(Closed(fd));
  EXPECT_EQ(transport_->remote_connection_count(), 0u);
  EXPECT_EQ(transport_->loopback_connection_count(), 1u);
  EXPECT_TRUE(Served(lockd));
}

TEST_F(TcpBudgetTest, LockManagersLoopbackConnectionIsNeverClosedForBeingIdle) {
  TcpTransport::Limits limits;
  limits.idle_timeout = std::chrono::minutes(6);
  Make(limits);
  UniqueFd ganesha = Local(636);  // a lock manager running as root
  UniqueFd user = Local(40000);
  ASSERT_TRUE(Served(ganesha));
  ASSERT_TRUE(Served(user));
  scheduler_.Advance(std::chrono::minutes(7));
  loop_->RunOnce();
  EXPECT_TRUE(Closed(user));
  EXPECT_EQ(transport_->loopback_connection_count(), 1u);
  // Hours later its next SM_MON is answered at once on the same connection.
  scheduler_.Advance(std::chrono::hours(3));
  loop_->RunOnce();
  EXPECT_TRUE(Served(ganesha));
}

TEST_F(TcpBudgetTest, RefusalWarningsAreRateLimited) {
  TcpTransport::Limits limits;
  limits.max_connections_per_remote_address = 1;
  Make(limits);
  UniqueFd first = Remote("10.0.0.9");
  ASSERT_TRUE(Served(first));
  for (int i = 0; i < 50; ++i) {
    UniqueFd refused = Remote("10.0.0.9");
    EXPECT_TRUE(Closed(refused));
  }
  const std::string warning = "rpc: refused tcp connection from 10.0.0.9:40000";
  EXPECT_EQ(LogCount(warning), 5u);
  EXPECT_EQ(LogCount("suppressed"), 0u);
  // The idle sweep reports what was left out once the interval is over.
  scheduler_.Advance(std::chrono::seconds(16));
  EXPECT_EQ(LogCount("rpc: refused TCP connections: 45 similar messages suppressed"), 1u);
  UniqueFd later = Remote("10.0.0.9");
  EXPECT_TRUE(Closed(later));
  EXPECT_EQ(LogCount(warning), 6u);
}

}  // namespace
}  // namespace nfsrec::rpc
