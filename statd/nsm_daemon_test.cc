// NsmDaemon on a real loop with fake ports: start, an asynchronous reload
// that leaves the loop free, drain, the handler table and the status line.
#include "statd/nsm_daemon.h"

#include <sys/stat.h>

#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "statd/nsm_codec.h"
#include "tests/support/fake_datagram_port.h"
#include "tests/support/fake_file_system.h"
#include "tests/support/fake_kernel_nsm.h"
#include "tests/support/fake_resolver.h"
#include "tests/support/mem_nsm_store.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include <gtest/gtest.h>

namespace nfsrec::statd {
namespace {

using namespace std::chrono_literals;

class NsmDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    auto loop = EventLoop::Create();
    ASSERT_OK(loop);
    loop_ = std::move(loop).value();
    scheduler_ = std::make_unique<LoopScheduler>(*loop_);
  }

  // `store` commits only when the test flushes it: a store that answers later.
  void Create(NsmOptions options = {}) {
    options.state_dir = dir_.path();
    NsmDaemon::Ports ports;
    auto store = std::make_unique<MemNsmStore>();
    store_ = store.get();
    ports.store = std::move(store);
    auto resolver = std::make_unique<FakeResolver>(scheduler_.get());
    resolver->Add("client2", HostInfo{"client2.example", {"10.0.0.2"}});
    ports.resolver = std::move(resolver);
    auto kernel = std::make_unique<FakeKernelNsm>();
    kernel_ = kernel.get();
    ports.kernel = std::move(kernel);
    ports.callback_port = std::make_unique<FakeDatagramPort>(*scheduler_);
    ports.notify_port = std::make_unique<FakeDatagramPort>(*scheduler_);
    options.nlm_tcp_port = 4045;  // applied by the composition root, not here
    daemon_ =
        NsmDaemon::CreateWithPorts(*loop_, *scheduler_, files_, log_, std::move(ports), options);
  }

  void Start() {
    std::optional<Status> st;
    daemon_->Start([&](Status s) { st = s; });
    EXPECT_FALSE(st.has_value());
    store_->Flush();
    ASSERT_TRUE(st.has_value());
    ASSERT_OK(*st);
  }

  // Runs the loop and the store until `pred` holds.
  bool Settle(const std::function<bool()>& pred) {
    for (int i = 0; i < 100 && !pred(); ++i) {
      store_->Flush();
      loop_->RunUntil([] { return false; }, 2ms);
    }
    return pred();
  }

  test_support::TempDir dir_;
  FakeFileSystem files_;
  CapturingLogger log_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<LoopScheduler> scheduler_;
  MemNsmStore* store_ = nullptr;
  FakeKernelNsm* kernel_ = nullptr;
  std::unique_ptr<NsmDaemon> daemon_;
};

TEST_F(NsmDaemonTest, StartPublishesTheStateAndLeavesNlmPortsToTheCaller) {
  Create();
  Start();
  EXPECT_EQ(kernel_->published, std::vector<int32_t>{3});
  EXPECT_TRUE(kernel_->nlm_ports.empty());
  EXPECT_EQ(daemon_->StatusReport(),
            "nsm: state 3, 0 monitor(s), 0 to notify; callbacks in progress 0 (ok 0, failed 0); "
            "peers in progress 0 (notified 0, failed 0); reloads 0 (failed 0)");
}

// The load of a reload is in flight (the store has not answered): timers
// and SM_STAT still run on the loop; the new state arrives with the load.
TEST_F(NsmDaemonTest, ReloadLeavesTheLoopFree) {
  NsmOptions options;
  options.no_notify = true;
  Create(options);
  Start();
  store_->SeedLocalState(5);  // another process bumped it
  std::optional<Status> reloaded;
  daemon_->Reload([&](Status s) { reloaded = s; });
  EXPECT_TRUE(daemon_->service().loading());

  bool timer = false;
  scheduler_->RunAfter(1ms, [&] { timer = true; });
  std::optional<StatRes> stat;
  daemon_->service().Stat(Caller{false, false, "10.0.0.9"}, "client2",
                          [&](StatRes r) { stat = r; });
  ASSERT_TRUE(loop_->RunUntil([&] { return timer && stat.has_value(); }, 5s));
  EXPECT_EQ(stat, (StatRes{true, 3}));
  EXPECT_FALSE(reloaded.has_value());
  EXPECT_EQ(store_->pending(), 1u);

  store_->Flush();
  ASSERT_TRUE(reloaded.has_value());
  EXPECT_OK(*reloaded);
  EXPECT_EQ(daemon_->service().local_state(), 5);
  EXPECT_EQ(kernel_->published.back(), 5);
  EXPECT_NE(daemon_->StatusReport().find("nsm: state 5,"), std::string::npos);
  EXPECT_NE(daemon_->StatusReport().find("reloads 1 (failed 0)"), std::string::npos);
}

TEST_F(NsmDaemonTest, ReloadThenResumesNotification) {
  Create();
  Start();
  std::optional<Status> reloaded;
  daemon_->Reload([&](Status s) { reloaded = s; });
  ASSERT_TRUE(Settle([&] { return reloaded.has_value(); }));
  EXPECT_OK(*reloaded);
  // Boot notification ran: a new boot (no boot id here), nobody to notify.
  ASSERT_TRUE(Settle([&] { return log_.Contains("No hosts to notify"); }));
  EXPECT_EQ(kernel_->end_grace, 1);
}

TEST_F(NsmDaemonTest, FailedReloadIsCountedAndLogged) {
  NsmOptions options;
  options.no_notify = true;
  Create(options);
  Start();
  store_->FailNextLoad(Status::Corruption("damaged"));
  std::optional<Status> reloaded;
  daemon_->Reload([&](Status s) { reloaded = s; });
  store_->Flush();
  ASSERT_TRUE(reloaded.has_value());
  EXPECT_TRUE(reloaded->IsCorruption());
  EXPECT_TRUE(log_.Contains("SIGUSR1: reload failed"));
  EXPECT_NE(daemon_->StatusReport().find("reloads 1 (failed 1)"), std::string::npos);
}

TEST_F(NsmDaemonTest, DrainWaitsForRepliesOwedByWritesInFlight) {
  Create();
  Start();
  std::vector<std::string> order;
  Cookie c{};
  daemon_->service().Mon(Caller{true, true, "127.0.0.1"},
                         MonArgs{MonitorKey{"client2", "server", 100021, 3, 16}, c},
                         [&](StatRes r) {
                           EXPECT_TRUE(r.success);
                           order.push_back("mon");
                         });
  ASSERT_TRUE(loop_->RunUntil([&] { return store_->pending() == 1; }, 5s));  // DNS answered
  daemon_->Drain([&] { order.push_back("drained"); });
  EXPECT_TRUE(order.empty());
  ASSERT_TRUE(Settle([&] { return order.size() == 2; }));
  EXPECT_EQ(order, (std::vector<std::string>{"mon", "drained"}));
}

TEST_F(NsmDaemonTest, DrainWaitsForTheAddClientCalloutAReplyWaitsFor) {
  const std::string out = dir_.File("callouts");
  dir_.Write("ha", "#!/bin/sh\nsleep 0.3\necho \"$@\" >> " + out + "\n");
  ASSERT_EQ(chmod(dir_.File("ha").c_str(), 0755), 0);
  NsmOptions o;
  o.ha_callout = dir_.File("ha");
  Create(o);
  Start();
  std::vector<std::string> order;
  daemon_->service().Mon(Caller{true, true, "127.0.0.1"},
                         MonArgs{MonitorKey{"client2", "server", 100021, 3, 16}, Cookie{}},
                         [&](StatRes r) {
                           EXPECT_TRUE(r.success);
                           order.push_back("mon");
                         });
  ASSERT_TRUE(loop_->RunUntil([&] { return store_->pending() == 1; }, 5s));  // DNS answered
  daemon_->Drain([&] { order.push_back("drained"); });
  store_->Flush();  // committed: the callout starts, the reply waits for it
  ASSERT_TRUE(loop_->RunUntil([&] { return order.size() == 2; }, 10s));
  EXPECT_EQ(order, (std::vector<std::string>{"mon", "drained"}));
  std::ifstream f(out);
  std::string line;
  std::getline(f, line);
  EXPECT_EQ(line, "add-client client2 server");
}

TEST_F(NsmDaemonTest, HandlersCoverEveryProcedure) {
  Create();
  std::map<uint32_t, rpc::Handler> h = daemon_->Handlers();
  for (NsmProc p : {NsmProc::kNull, NsmProc::kStat, NsmProc::kMon, NsmProc::kUnmon,
                    NsmProc::kUnmonAll, NsmProc::kSimuCrash, NsmProc::kNotify}) {
    EXPECT_EQ(h.count(static_cast<uint32_t>(p)), 1u) << static_cast<int>(p);
  }
}

// nfsrecctl remove monitor reaches the service's list and the store, and
// waits for a reload in flight like SM_UNMON does.
TEST_F(NsmDaemonTest, RemoveMonitorsRemovesTheHostsRecordsAfterAReloadInFlight) {
  NsmOptions options;
  options.no_notify = true;  // the reload would otherwise start a boot notification
  Create(options);
  MonitorRecord r;
  r.key = MonitorKey{"client2", "server", 100021, 4, 16};
  r.canonical_name = "client2.example";
  store_->Seed(r);
  r.key.mon_name = "client3";
  r.canonical_name = "client3";
  store_->Seed(r);
  Start();
  ASSERT_EQ(daemon_->service().monitor_count(), 2u);
  daemon_->Reload([](Status) {});
  std::optional<Result<size_t>> removed;
  daemon_->RemoveMonitors("CLIENT2.example", {}, [&](Result<size_t> n) { removed = std::move(n); });
  EXPECT_FALSE(removed.has_value());
  ASSERT_TRUE(Settle([&] { return removed.has_value(); }));
  ASSERT_OK(*removed);
  EXPECT_EQ(**removed, 1u);
  EXPECT_EQ(daemon_->service().monitor_count(), 1u);
  ASSERT_EQ(store_->monitors().size(), 1u);
  EXPECT_EQ(store_->monitors().begin()->first.mon_name, "client3");
}

}  // namespace
}  // namespace nfsrec::statd
