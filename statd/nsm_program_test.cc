// The NSM RPC program over a real RpcServer on loopback: each procedure is
// decoded, handed to NsmService and encoded; bad arguments get GARBAGE_ARGS.
// The loop runs on its own thread; the test thread makes blocking calls.
#include "statd/nsm_program.h"

#include <unistd.h>

#include <atomic>
#include <optional>
#include <thread>

#include "statd/nsm_codec.h"
#include "tests/support/dispatch_testutil.h"
#include "tests/support/fake_kernel_nsm.h"
#include "tests/support/fake_lockd_callbacks.h"
#include "tests/support/fake_resolver.h"
#include "tests/support/mem_nsm_store.h"
#include "tests/support/rpc_test_client.h"
#include "tests/support/status_matchers.h"
#include <gtest/gtest.h>

namespace nfsrec::statd {
namespace {

using namespace std::chrono_literals;

class NsmProgramTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = EventLoop::Create();
    ASSERT_OK(loop);
    loop_ = std::move(loop).value();
    scheduler_ = std::make_unique<LoopScheduler>(*loop_);
    store_ = std::make_unique<MemNsmStore>(loop_.get());
    resolver_ = std::make_unique<FakeResolver>(scheduler_.get());
    resolver_->Add("client2", HostInfo{"client2.example", {"10.0.0.2"}});
    resolver_->Add("127.0.0.1", HostInfo{"localhost", {"127.0.0.1"}});
    service_ = std::make_unique<NsmService>(*store_, *resolver_, kernel_, callbacks_, log_);
    std::optional<Status> started;
    service_->Start(LegacyStatd{}, [&](Status s) { started = s; });
    ASSERT_TRUE(loop_->RunUntil([&] { return started.has_value(); }, 10s));
    ASSERT_OK(*started);

    rpc::RpcServer::Options opts;
    opts.udp6 = opts.tcp6 = false;
    opts.bind_v4 = "127.0.0.1";
    auto server = rpc::RpcServer::Create(*loop_, *scheduler_, log_, opts);
    ASSERT_OK(server);
    server_ = std::move(server).value();
    ASSERT_OK(server_->AddProgram(kNsmProgram, kNsmVersion,
                                  NsmHandlers(*service_, log_, [this] { ++simu_crashes_; })));
    for (const auto& l : server_->listeners()) {
      if (l.netid == "udp") udp_port_ = l.port;
      if (l.netid == "tcp") tcp_port_ = l.port;
    }
    thread_ = std::thread([this] { (void)loop_->Run(); });
  }

  void TearDown() override {
    if (thread_.joinable()) {
      loop_->Post([this] { loop_->Stop(); });
      thread_.join();
    }
  }

  Result<test::Reply> Call(NsmProc proc, const std::vector<uint8_t>& args,
                           test::Proto proto = test::Proto::kUdp,
                           const test::CallOptions& options = {}) {
    return test::Call("127.0.0.1", proto == test::Proto::kUdp ? udp_port_ : tcp_port_, proto,
                      kNsmProgram, kNsmVersion, static_cast<uint32_t>(proc), args, 10s, options);
  }

  static MonArgs Mon(const std::string& name) {
    Cookie c{};
    c.fill(7);
    return MonArgs{MonitorKey{name, "server", 100021, 3, 16}, c};
  }

  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<LoopScheduler> scheduler_;
  std::unique_ptr<MemNsmStore> store_;
  std::unique_ptr<FakeResolver> resolver_;
  FakeKernelNsm kernel_;
  FakeLockdCallbacks callbacks_;
  CapturingLogger log_;
  std::unique_ptr<NsmService> service_;
  std::unique_ptr<rpc::RpcServer> server_;
  uint16_t udp_port_ = 0;
  uint16_t tcp_port_ = 0;
  std::atomic<int> simu_crashes_{0};
  std::thread thread_;
};

TEST_F(NsmProgramTest, NullAnswersVoid) {
  auto r = Call(NsmProc::kNull, {});
  ASSERT_OK(r);
  EXPECT_TRUE(r->Success());
  EXPECT_TRUE(r->results.empty());
}

TEST_F(NsmProgramTest, StatDecodesResolvesAndEncodes) {
  auto r = Call(NsmProc::kStat, EncodeSmName("client2").value(), test::Proto::kTcp);
  ASSERT_OK(r);
  ASSERT_TRUE(r->Success());
  EXPECT_EQ(DecodeSmStatRes(r->results).value(), (StatRes{true, 3}));
  r = Call(NsmProc::kStat, EncodeSmName("nope").value());
  ASSERT_OK(r);
  EXPECT_EQ(DecodeSmStatRes(r->results).value(), (StatRes{false, 3}));
}

TEST_F(NsmProgramTest, MonUnmonAndUnmonAllReachTheService) {
  auto r = Call(NsmProc::kMon, EncodeMon(Mon("client2")).value());
  ASSERT_OK(r);
  ASSERT_TRUE(r->Success());
  EXPECT_EQ(DecodeSmStatRes(r->results).value(), (StatRes{true, 3}));
  r = Call(NsmProc::kMon, EncodeMon(Mon("127.0.0.1")).value(), test::Proto::kTcp);
  ASSERT_OK(r);
  EXPECT_TRUE(DecodeSmStatRes(r->results)->success);

  r = Call(NsmProc::kUnmon, EncodeMonId(Mon("client2").id).value());
  ASSERT_OK(r);
  ASSERT_TRUE(r->Success());
  EXPECT_EQ(DecodeSmStat(r->results).value(), 3);

  r = Call(NsmProc::kUnmonAll, EncodeMyId(MyId{"server", 100021, 3, 16}).value());
  ASSERT_OK(r);
  ASSERT_TRUE(r->Success());
  EXPECT_EQ(DecodeSmStat(r->results).value(), 3);
  TearDown();
  EXPECT_TRUE(store_->monitors().empty());
  EXPECT_EQ(store_->puts(), 2);
  EXPECT_EQ(store_->deletes(), 2);
}

// lockd (here a plain RPC client) sees a failed delete as a failed call:
// SYSTEM_ERR, not an sm_stat that reads like success.
TEST_F(NsmProgramTest, UnmonWhoseDeleteFailedIsAnsweredSystemErr) {
  ASSERT_TRUE(Call(NsmProc::kMon, EncodeMon(Mon("client2")).value())->Success());
  for (NsmProc proc : {NsmProc::kUnmon, NsmProc::kUnmonAll}) {
    std::atomic<bool> armed{false};
    loop_->Post([&] {
      store_->FailNext(Status::IOError("database or disk is full"));
      armed = true;
    });
    while (!armed) std::this_thread::sleep_for(1ms);
    auto r = proc == NsmProc::kUnmon
                 ? Call(proc, EncodeMonId(Mon("client2").id).value())
                 : Call(proc, EncodeMyId(MyId{"server", 100021, 3, 16}).value());
    ASSERT_OK(r);
    EXPECT_TRUE(r->info.accepted);
    EXPECT_EQ(r->info.accept_stat, rpc::AcceptStat::kSystemErr) << static_cast<int>(proc);
    EXPECT_TRUE(r->results.empty());
  }
  auto r = Call(NsmProc::kUnmon, EncodeMonId(Mon("client2").id).value());
  ASSERT_OK(r);
  ASSERT_TRUE(r->Success());
  EXPECT_EQ(DecodeSmStat(r->results).value(), 3);
  TearDown();
  EXPECT_TRUE(store_->monitors().empty());
  EXPECT_EQ(store_->failed_writes(), 2);
}

TEST_F(NsmProgramTest, NotifyAnswersVoid) {
  ASSERT_TRUE(Call(NsmProc::kMon, EncodeMon(Mon("client2")).value())->Success());
  auto r = Call(NsmProc::kNotify, EncodeStatChge(NotifyArgs{"client2", 7}).value());
  ASSERT_OK(r);
  EXPECT_TRUE(r->Success());
  EXPECT_TRUE(r->results.empty());
  TearDown();
  ASSERT_EQ(callbacks_.requests.size(), 1u);
  EXPECT_EQ(callbacks_.requests[0].new_state, 7);
}

TEST_F(NsmProgramTest, SimuCrashIsAnsweredAndRunsOnlyWhenAllowed) {
  auto r = Call(NsmProc::kSimuCrash, {});
  ASSERT_OK(r);
  EXPECT_TRUE(r->Success());
  if (::geteuid() == 0) {
    test::CallOptions reserved;
    reserved.reserved_port = true;
    r = Call(NsmProc::kSimuCrash, {}, test::Proto::kUdp, reserved);
    ASSERT_OK(r);
    EXPECT_TRUE(r->Success());
  }
  TearDown();
  EXPECT_EQ(simu_crashes_.load(), ::geteuid() == 0 ? 1 : 0);
  EXPECT_TRUE(log_.Contains("SM_SIMU_CRASH call from unprivileged port"));
}

TEST_F(NsmProgramTest, UndecodableArgumentsGetGarbageArgs) {
  const int writes = store_->writes();  // the fresh state, before the loop thread ran
  const std::vector<uint8_t> truncated = {0, 0, 0, 9, 'a'};
  for (NsmProc proc :
       {NsmProc::kStat, NsmProc::kMon, NsmProc::kUnmon, NsmProc::kUnmonAll, NsmProc::kNotify}) {
    auto r = Call(proc, truncated);
    ASSERT_OK(r);
    EXPECT_TRUE(r->info.accepted) << static_cast<int>(proc);
    EXPECT_EQ(r->info.accept_stat, rpc::AcceptStat::kGarbageArgs) << static_cast<int>(proc);
  }
  TearDown();
  EXPECT_EQ(store_->writes(), writes);
}

// An IPv6 datagram with the source ::ffff:127.0.0.1, sent from another host
// (Linux delivers those from the wire) to the udp6 socket, which is
// IPV6_V6ONLY, as the UDP transport describes it.
rpc::CallContext ForgedV4MappedCall(uint16_t port, TimePoint at) {
  rpc::CallContext ctx = test_support::DatagramContext("::ffff:127.0.0.1", port, "2001:db8::1",
                                                       rpc::Netid::kUdp6, false);
  ctx.received = at;
  return ctx;
}

class ForgedCallerTest : public NsmProgramTest {
 protected:
  // After SetUp's real calls: the loop runs on this thread from here on.
  void Direct() {
    TearDown();
    ASSERT_OK(dispatcher_.AddProgram(kNsmProgram, kNsmVersion,
                                     NsmHandlers(*service_, log_, [this] { ++simu_crashes_; })));
  }
  // Dispatches one call as if it came in with `ctx`; the results, or
  // nullopt if unanswered.
  std::optional<std::vector<uint8_t>> Send(NsmProc proc, const std::vector<uint8_t>& args,
                                           rpc::CallContext ctx) {
    std::vector<std::vector<uint8_t>> replies;
    std::vector<uint8_t> call =
        rpc::EncodeCall(++xid_, kNsmProgram, kNsmVersion, static_cast<uint32_t>(proc), args);
    EXPECT_OK(dispatcher_.Dispatch(
        call, ctx, rpc::Responder(std::make_unique<test_support::CapturedCall>(&replies))));
    loop_->RunUntil([&] { return !replies.empty(); }, 10s);
    if (replies.empty()) return std::nullopt;
    EXPECT_EQ(replies.size(), 1u);
    auto info = rpc::DecodeReply(replies.front());
    EXPECT_OK(info);
    EXPECT_TRUE(info->accepted && info->accept_stat == rpc::AcceptStat::kSuccess);
    return std::vector<uint8_t>(info->results.begin(), info->results.end());
  }
  size_t LogCount(const std::string& needle) const {
    size_t n = 0;
    for (const auto& l : log_.lines()) n += l.second.find(needle) != std::string::npos;
    return n;
  }

  rpc::Dispatcher dispatcher_{log_};
  uint32_t xid_ = 0;
};

TEST_F(ForgedCallerTest, V4MappedLoopbackSourceIsRefusedEveryPrivilegedProcedure) {
  ASSERT_TRUE(Call(NsmProc::kMon, EncodeMon(Mon("client2")).value())->Success());
  Direct();
  const int puts = store_->puts();
  const int deletes = store_->deletes();
  const TimePoint t{};
  // A privileged source port, so SM_SIMU_CRASH fails on the address alone.
  auto r = Send(NsmProc::kMon, EncodeMon(Mon("evil")).value(), ForgedV4MappedCall(700, t));
  ASSERT_TRUE(r);
  EXPECT_EQ(DecodeSmStatRes(*r).value(), (StatRes{false, -1}));
  r = Send(NsmProc::kUnmon, EncodeMonId(Mon("client2").id).value(), ForgedV4MappedCall(700, t));
  ASSERT_TRUE(r);
  EXPECT_EQ(DecodeSmStat(*r).value(), -1);
  r = Send(NsmProc::kUnmonAll, EncodeMyId(MyId{"server", 100021, 3, 16}).value(),
           ForgedV4MappedCall(700, t));
  ASSERT_TRUE(r);
  EXPECT_EQ(DecodeSmStat(*r).value(), -1);
  r = Send(NsmProc::kSimuCrash, {}, ForgedV4MappedCall(700, t));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->empty());

  EXPECT_EQ(simu_crashes_.load(), 0);
  EXPECT_EQ(store_->puts(), puts);
  EXPECT_EQ(store_->deletes(), deletes);
  ASSERT_EQ(store_->monitors().size(), 1u);
  EXPECT_EQ(service_->local_state(), 3);
  for (const char* proc : {"SM_MON", "SM_UNMON", "SM_UNMON_ALL", "SM_SIMU_CRASH"}) {
    EXPECT_EQ(LogCount(StrCat(proc, " call from non-local host [::ffff:127.0.0.1]:700 refused")),
              1u)
        << proc;
  }
  // The real local SM_MON of SetUp was logged as accepted.
  EXPECT_EQ(LogCount("SM_MON call from 127.0.0.1:"), 1u);
  EXPECT_EQ(LogCount(" accepted"), 1u);
}

TEST_F(ForgedCallerTest, StatsCountCallsGarbageRefusalsAndRepliesAwaited) {
  TearDown();
  auto stats = std::make_shared<NsmProgramStats>();
  ASSERT_OK(dispatcher_.AddProgram(kNsmProgram, kNsmVersion,
                                   NsmHandlers(*service_, log_, nullptr, stats)));
  const rpc::CallContext local =
      test_support::DatagramContext("127.0.0.1", 800, "127.0.0.1", rpc::Netid::kUdp, true);
  std::vector<std::vector<uint8_t>> replies;
  auto dispatch = [&](NsmProc proc, const std::vector<uint8_t>& args, rpc::CallContext ctx) {
    std::vector<uint8_t> call =
        rpc::EncodeCall(++xid_, kNsmProgram, kNsmVersion, static_cast<uint32_t>(proc), args);
    ASSERT_OK(dispatcher_.Dispatch(
        call, ctx, rpc::Responder(std::make_unique<test_support::CapturedCall>(&replies))));
  };
  // A local SM_MON waits for DNS, then for its commit: counted as awaited.
  dispatch(NsmProc::kMon, EncodeMon(Mon("client2")).value(), local);
  EXPECT_EQ(stats->awaiting_reply, 1u);
  ASSERT_TRUE(loop_->RunUntil([&] { return replies.size() == 1; }, 10s));
  EXPECT_EQ(stats->awaiting_reply, 0u);
  // A forged caller is refused; a truncated argument is garbage.
  dispatch(NsmProc::kMon, EncodeMon(Mon("evil")).value(), ForgedV4MappedCall(700, {}));
  dispatch(NsmProc::kStat, {0, 0, 0, 9, 'a'}, local);
  ASSERT_TRUE(loop_->RunUntil([&] { return replies.size() == 3; }, 10s));
  EXPECT_EQ(rpc::DecodeReply(replies[2])->accept_stat, rpc::AcceptStat::kGarbageArgs);
  EXPECT_EQ(stats->awaiting_reply, 0u);
  EXPECT_EQ(stats->by_proc[NsmProc::kMon].calls, 2u);
  EXPECT_EQ(stats->by_proc[NsmProc::kMon].garbage, 0u);
  EXPECT_EQ(stats->by_proc[NsmProc::kStat].calls, 1u);
  EXPECT_EQ(stats->by_proc[NsmProc::kStat].garbage, 1u);
  EXPECT_EQ(service_->refused_calls().at("SM_MON"), 1u);
  EXPECT_EQ(service_->refused_calls().count("SM_STAT"), 0u);
}

TEST_F(ForgedCallerTest, RefusalFloodIsRateLimitedInTheLog) {
  Direct();
  const TimePoint t{};
  for (int i = 0; i < 1000; ++i) {
    auto r = Send(NsmProc::kUnmonAll, EncodeMyId(MyId{"server", 100021, 3, 16}).value(),
                  ForgedV4MappedCall(static_cast<uint16_t>(2000 + i), t + 1ms * i));
    ASSERT_TRUE(r);
  }
  EXPECT_EQ(LogCount("SM_UNMON_ALL call from non-local host"), 20u);
  auto r = Send(NsmProc::kUnmon, EncodeMonId(Mon("client2").id).value(),
                ForgedV4MappedCall(5000, t + 20s));
  ASSERT_TRUE(r);
  EXPECT_EQ(LogCount("NSM: refused privileged calls: 980 similar messages suppressed"), 1u);
  EXPECT_EQ(LogCount("SM_UNMON call from non-local host [::ffff:127.0.0.1]:5000 refused"), 1u);
}

}  // namespace
}  // namespace nfsrec::statd
