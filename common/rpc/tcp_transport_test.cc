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

TEST_P(RpcTcpTest, ConnectionCap) {
  RpcServer::Options opt = LoopbackOptions();
  opt.max_connections = 2;
  StartServer(opt);
  auto a = Connect();
  auto b = Connect();
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_OK((*a)->Call(kProg, 2, 0, {}, kTimeout));
  ASSERT_OK((*b)->Call(kProg, 2, 0, {}, kTimeout));
  EXPECT_EQ(harness_->Connections(), 2u);
  auto c = Connect();  // the kernel completes the handshake; the server closes it
  ASSERT_OK(c);
  EXPECT_TRUE((*c)->WaitClosed(kTimeout));
  // Earlier connections are unaffected.
  EXPECT_OK((*a)->Call(kProg, 2, 0, {}, kTimeout));
  // Closing one frees a slot.
  a->reset();
  ASSERT_TRUE(harness_->WaitConnections(1));
  auto d = Connect();
  ASSERT_OK(d);
  auto r = (*d)->Call(kProg, 2, 0, {}, kTimeout);
  EXPECT_OK(r);
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

TEST_P(RpcTcpTest, RefusalWarningsAreRateLimited) {
  RpcServer::Options opt = LoopbackOptions();
  opt.max_connections = 1;
  StartServer(opt, Clock::kFake);
  auto a = Connect();
  ASSERT_OK(a);
  ASSERT_OK((*a)->Call(kProg, 2, 0, {}, kTimeout));
  const std::string warning = "TCP connections open; refusing more";
  for (int i = 0; i < 3; ++i) {
    auto c = Connect();
    ASSERT_OK(c);
    EXPECT_TRUE((*c)->WaitClosed(kTimeout));
  }
  EXPECT_EQ(harness_->LogCount(warning), 1u);
  harness_->Advance(std::chrono::seconds(10));
  auto c = Connect();
  ASSERT_OK(c);
  EXPECT_TRUE((*c)->WaitClosed(kTimeout));
  EXPECT_EQ(harness_->LogCount(warning), 2u);
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
