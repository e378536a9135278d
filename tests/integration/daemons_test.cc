// Both facades of nfsrecd (statd::NsmDaemon, nfs4rec::TrackingDaemon) in one
// process, on one loop and one database, as daemon/nfsrecd_main.cc wires
// them (tests/integration/daemon_harness.h).  Runs without root: the kernel
// files are fakes, the listeners use ephemeral ports on 127.0.0.1.
//
// Every outcome is checked where a restarted daemon would find it: in the
// fake /proc files, in RPC replies, and in the database read back through a
// fresh connection with fresh stores.
#include <algorithm>
#include <atomic>
#include <functional>
#include <future>
#include <set>
#include <stop_token>
#include <thread>

#include "common/store/sqlite.h"
#include "nfs4rec/clients_info.h"
#include "statd/kernel_nsm.h"
#include "tests/integration/daemon_harness.h"
#include "tests/integration/pty_cld_pipe.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include <gtest/gtest.h>

namespace nfsrec::integration {
namespace {

using namespace std::chrono_literals;
using statd::MonArgs;
using statd::MonitorKey;
using statd::NsmProc;
using statd::StatRes;
using test::Proto;

constexpr char kBoot1[] = "0f3c5ad2-6c1e-4a43-9a57-1b2e3f4a5b61";
constexpr char kBoot2[] = "7d9e0b14-2f3a-4c5d-8e6f-a0b1c2d3e4f5";

std::set<MonitorKey> Keys(const std::vector<statd::MonitorRecord>& records) {
  std::set<MonitorKey> keys;
  for (const statd::MonitorRecord& r : records) keys.insert(r.key);
  return keys;
}

// Holds whoever waits on opened() until Open() or destruction.
class Gate {
 public:
  Gate() : opened_(promise_.get_future().share()) {}
  ~Gate() { Open(); }
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;
  void Open() {
    if (open_) return;
    open_ = true;
    promise_.set_value();
  }
  std::shared_future<void> opened() const { return opened_; }

 private:
  std::promise<void> promise_;
  std::shared_future<void> opened_;
  bool open_ = false;
};

class DaemonsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    SeedKernelFiles(*files_, kBoot1);
    options_.db_path = dir_.File("nfsrecd.sqlite");
    options_.state_dir = dir_.File("statd");
    options_.pipe_path = dir_.File("rpc_pipefs/nfsd/cld");
    options_.reconcile_interval = 1;
    // Peers on TEST-NET-1: nobody answers their SM_NOTIFY.
    options_.hosts["peer-1.test"] = HostInfo{"peer-1.test", {"192.0.2.1"}};
    options_.hosts["peer-2.test"] = HostInfo{"peer-2.test", {"192.0.2.2"}};
  }

  void TearDown() override {
    if (HasFailure() && d_) std::fprintf(stderr, "daemon log:\n%s", d_->log().Dump().c_str());
    d_.reset();
  }

  void Start() {
    Result<std::unique_ptr<DaemonProcess>> d = DaemonProcess::Start(files_, options_);
    ASSERT_OK(d);
    d_ = std::move(d).value();
  }

  StatRes Stat(const std::string& name, Proto proto) {
    Result<test::Reply> r = d_->Call(NsmProc::kStat, statd::EncodeSmName(name).value(), proto);
    EXPECT_OK(r);
    if (!r.ok() || !r->Success()) return StatRes{false, -1};
    Result<StatRes> res = statd::DecodeSmStatRes(r->results);
    EXPECT_OK(res);
    return res.ok() ? *res : StatRes{false, -2};
  }
  StatRes Mon(const MonArgs& args, Proto proto) {
    Result<test::Reply> r = d_->Call(NsmProc::kMon, statd::EncodeMon(args).value(), proto);
    EXPECT_OK(r);
    if (!r.ok() || !r->Success()) return StatRes{false, -1};
    Result<StatRes> res = statd::DecodeSmStatRes(r->results);
    EXPECT_OK(res);
    return res.ok() ? *res : StatRes{false, -2};
  }
  int32_t Unmon(const MonitorKey& id, Proto proto) {
    Result<test::Reply> r = d_->Call(NsmProc::kUnmon, statd::EncodeMonId(id).value(), proto);
    EXPECT_OK(r);
    if (!r.ok() || !r->Success()) return -1;
    Result<int32_t> state = statd::DecodeSmStat(r->results);
    EXPECT_OK(state);
    return state.ok() ? *state : -2;
  }

  StoredState Stored() {
    Result<StoredState> s = ReadStore(options_.db_path);
    EXPECT_OK(s);
    return s.ok() ? std::move(s).value() : StoredState{};
  }

  // Polls pred() on the loop thread until it holds, for at most kWait.
  template <typename F>
  bool Eventually(F pred) {
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (std::chrono::steady_clock::now() < deadline) {
      std::optional<bool> held = d_->OnLoop(pred);
      if (held && *held) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  // Holds the commit thread (a unit that waits for the gate), so that
  // every store call made meanwhile stays in flight until the gate opens.
  void HoldCommits(const Gate& gate) {
    std::optional<bool> held = d_->OnLoop([this, open = gate.opened()] {
      d_->queue().Submit(
          [open](sqlite::Db&) {
            (void)open.wait_for(kWait);
            return Status::Ok();
          },
          [](Status) {});
      return true;
    });
    ASSERT_TRUE(held.has_value());
  }

  std::vector<std::string> StateWrites(size_t from) const {
    std::vector<std::string> out;
    std::vector<FakeFileSystem::Write> w = files_->writes();
    for (size_t i = from; i < w.size(); ++i) {
      if (w[i].path == statd::kNsmLocalStatePath) out.push_back(w[i].data);
    }
    return out;
  }

  test_support::TempDir dir_;
  std::shared_ptr<FakeFileSystem> files_ = std::make_shared<FakeFileSystem>();
  HarnessOptions options_;
  std::unique_ptr<DaemonProcess> d_;
};

// 1. One loop, one database: the NSM state of a fresh store (3) is durable,
//    published to lockd and answered by SM_STAT on both transports; nobody
//    is owed a notification, so lockd's grace is lifted; NFSv4 tracking
//    loaded its epochs from the same file.
TEST_F(DaemonsTest, BothFacadesStartOnOneLoopAndOneDatabase) {
  ASSERT_NO_FATAL_FAILURE(Start());
  EXPECT_EQ(files_->Content(statd::kNsmLocalStatePath), "3");
  EXPECT_EQ(files_->Content(statd::kNlmEndGracePath), "Y");
  EXPECT_TRUE(d_->boot().new_boot);
  EXPECT_EQ(d_->boot().state, 3);
  EXPECT_EQ(d_->boot().peers, 0u);

  EXPECT_EQ(Stat("localhost", Proto::kUdp), (StatRes{true, 3}));
  EXPECT_EQ(Stat("localhost", Proto::kTcp), (StatRes{true, 3}));
  EXPECT_EQ(Stat("peer-1.test", Proto::kTcp), (StatRes{true, 3}));

  std::optional<bool> both = d_->OnLoop([this] {
    return d_->nsm().service().local_state() == 3 && d_->tracking().service().started() &&
           !d_->tracking().pipe().is_open();
  });
  ASSERT_TRUE(both.has_value());
  EXPECT_TRUE(*both);

  ASSERT_OK(d_->Quit());
  StoredState s = Stored();
  EXPECT_EQ(s.nsm.local_state, 3);
  EXPECT_EQ(s.nsm.boot_id, kBoot1);
  EXPECT_TRUE(s.nsm.monitors.empty());
  EXPECT_EQ(s.clients.epochs, (nfs4rec::Epochs{1, 0}));
  EXPECT_TRUE(s.clients.current.empty());
}

// 2. SM_MON over UDP and TCP from loopback, SM_UNMON.  While the commit
//    thread is held, the call reaches the service but no reply leaves; once
//    the commit went through, the reply arrives and a fresh connection sees
//    the change.  After the exit the database holds exactly the monitors
//    that were acknowledged and not removed.
TEST_F(DaemonsTest, MonAndUnmonAreAnsweredAfterTheirCommit) {
  ASSERT_NO_FATAL_FAILURE(Start());
  const MonArgs a = MonFor("localhost", "server-a", 1);
  const MonArgs b = MonFor("127.0.0.1", "server-b", 2);
  const MonArgs c = MonFor("peer-1.test", "server-c", 3);

  // Runs call() with commits held until the service has `monitors` in
  // memory (the write was submitted); the reply must wait for the commit.
  auto after_commit = [this]<typename T>(std::function<T()> call, size_t monitors) {
    Gate gate;
    HoldCommits(gate);
    std::future<T> reply = std::async(std::launch::async, std::move(call));
    EXPECT_TRUE(Eventually([&] { return d_->nsm().service().monitor_count() == monitors; }));
    EXPECT_EQ(reply.wait_for(100ms), std::future_status::timeout) << "answered before the commit";
    gate.Open();
    EXPECT_EQ(reply.wait_for(kWait), std::future_status::ready);
    return reply.get();
  };

  std::set<MonitorKey> acknowledged;
  for (auto [args, proto] : {std::pair{a, Proto::kUdp}, {b, Proto::kTcp}, {c, Proto::kTcp}}) {
    std::function<StatRes()> mon = [&, args = args, proto = proto] { return Mon(args, proto); };
    ASSERT_EQ(after_commit(mon, acknowledged.size() + 1), (StatRes{true, 3})) << args.id.my_name;
    acknowledged.insert(args.id);
    EXPECT_EQ(Keys(Stored().nsm.monitors), acknowledged)
        << "after the reply to " << args.id.my_name;
  }
  std::function<int32_t()> unmon = [&] { return Unmon(c.id, Proto::kUdp); };
  EXPECT_EQ(after_commit(unmon, acknowledged.size() - 1), 3);
  acknowledged.erase(c.id);
  EXPECT_EQ(Keys(Stored().nsm.monitors), acknowledged) << "after the reply to SM_UNMON";
  // Not monitored: answered with our state, nothing changes.
  EXPECT_EQ(Unmon(MonFor("peer-2.test", "server-a", 9).id, Proto::kTcp), 3);

  ASSERT_OK(d_->Quit());
  d_.reset();
  StoredState s = Stored();
  EXPECT_EQ(Keys(s.nsm.monitors), acknowledged);
  for (const statd::MonitorRecord& r : s.nsm.monitors) {
    const MonArgs& sent = r.key == a.id ? a : b;
    EXPECT_EQ(r.priv, sent.priv) << r.key.my_name;
    EXPECT_EQ(r.canonical_name, "localhost") << r.key.my_name;  // 127.0.0.1 reverse-resolves
  }
  EXPECT_TRUE(s.nsm.notify.empty());
}

// 3. Reconciliation (every second) records the kernel's live clients that
//    are confirmed (or courtesy) and hold state into the same database, and
//    ignores the others; a client that shows up later is recorded by the
//    next run.  NSM writes go on in the same file meanwhile.
TEST_F(DaemonsTest, ReconciliationRecordsLiveClientsInTheSharedDatabase) {
  AddNfsdClient(*files_, 1, "confirmed", "Linux NFSv4.2 client-a", 2, true);
  AddNfsdClient(*files_, 2, "confirmed", "Linux NFSv4.0 client-b", 0, true);
  AddNfsdClient(*files_, 3, "confirmed", "idle client-c", 1, false);
  AddNfsdClient(*files_, 4, "unconfirmed", "new client-d", 1, true);
  AddNfsdClient(*files_, 5, "expirable", "expiring client-e", 1, true);
  files_->SetFile(StrCat(nfs4rec::kNfsdClientsDir, "/6/info"), "status: confirmed\n");
  files_->SetFile(StrCat(nfs4rec::kNfsdClientsDir, "/6/states"), "- 0x1: { type: open }\n");
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_EQ(Mon(MonFor("localhost", "server-a", 1), Proto::kUdp), (StatRes{true, 3}));

  ASSERT_TRUE(Eventually([this] { return d_->tracking().service().stats().reconcile_added >= 2; }));
  AddNfsdClient(*files_, 7, "courtesy", "returning client-f", 1, true);
  ASSERT_TRUE(Eventually([this] { return d_->tracking().service().stats().reconcile_added >= 3; }));

  auto expect_recorded = [](const StoredState& s) {
    std::map<std::string, std::optional<bool>> sessions;
    for (const nfs4rec::ClientRecord& r : s.clients.current) sessions[r.id] = r.has_session;
    EXPECT_EQ(sessions,
              (std::map<std::string, std::optional<bool>>{{"Linux NFSv4.0 client-b", false},
                                                          {"Linux NFSv4.2 client-a", true},
                                                          {"returning client-f", true}}));
    EXPECT_EQ(s.nsm.monitors.size(), 1u);
  };
  expect_recorded(Stored());  // committed while the daemon runs
  std::optional<bool> counted = d_->OnLoop([this] {
    const auto& st = d_->tracking().service().stats();
    return st.reconcile_added == 3 && st.reconcile_runs >= 2 && st.reconcile_skipped_in_grace == 0;
  });
  ASSERT_TRUE(counted.has_value());
  EXPECT_TRUE(*counted);
  ASSERT_OK(d_->Quit());
  EXPECT_TRUE(d_->log().Contains("entries of the kernel's client list were unreadable"));
  d_.reset();
  expect_recorded(Stored());
}

// 3b. The cld pipe without root: a pseudo-terminal in raw mode stands in
//     for rpc_pipefs (pty_cld_pipe.h).  A v1 kernel's Create is answered
//     once the record is durable; a v0-style Check opens grace and lets the
//     recorded client reclaim but not a stranger; GraceDone closes grace.
TEST_F(DaemonsTest, CldUpcallsThroughAPseudoTerminal) {
  Result<std::unique_ptr<PtyCldPipe>> opened = PtyCldPipe::Open();
  if (!opened.ok() && opened.status().code() == Status::Code::kUnsupported) {
    GTEST_SKIP() << opened.status().ToString();
  }
  ASSERT_OK(opened);
  PtyCldPipe& kernel = **opened;
  options_.pipe_path = kernel.path();
  options_.reconcile_interval = 0;
  ASSERT_NO_FATAL_FAILURE(Start());
  std::optional<bool> open = d_->OnLoop([this] { return d_->tracking().pipe().is_open(); });
  ASSERT_TRUE(open.has_value());
  ASSERT_TRUE(*open);

  using nfs4rec::CldCommand;
  auto upcall = [&](CldCommand command, uint32_t xid, const std::string& name) {
    nfs4rec::CldMessage m;
    m.version = nfs4rec::kCldVersion1;
    m.command = static_cast<uint8_t>(command);
    m.xid = xid;
    m.name = name;
    Result<nfs4rec::CldMessage> down = kernel.Call(m, kWait);
    EXPECT_OK(down);
    if (!down.ok()) return int16_t{1};
    EXPECT_TRUE(down->Is(command)) << nfs4rec::CldCommandName(down->command);
    return down->status;
  };
  const std::string client = "Linux NFSv4.0 client-x/192.0.2.7 tcp";
  ASSERT_EQ(upcall(CldCommand::kCreate, 1, client), 0);
  std::vector<std::string> ids;
  for (const nfs4rec::ClientRecord& r : Stored().clients.current) ids.push_back(r.id);
  EXPECT_EQ(ids, std::vector<std::string>{client}) << "after the reply to Create";

  EXPECT_EQ(upcall(CldCommand::kCheck, 2, client), 0);
  EXPECT_EQ(upcall(CldCommand::kCheck, 3, "Linux NFSv4.0 stranger"), nfs4rec::kCldEAcces);
  EXPECT_EQ(upcall(CldCommand::kGraceDone, 4, ""), 0);
  std::optional<bool> counted = d_->OnLoop([this] {
    const auto& st = d_->tracking().service().stats();
    return st.creates == 1 && st.checks == 2 && st.grace_dones == 1 && st.store_errors == 0;
  });
  ASSERT_TRUE(counted.has_value());
  EXPECT_TRUE(*counted) << d_->OnLoop([this] {
                               return d_->tracking().StatusReport();
                             }).value_or("");

  ASSERT_OK(d_->Quit());
  d_.reset();
  StoredState s = Stored();
  EXPECT_EQ(s.clients.epochs, (nfs4rec::Epochs{2, 0}));  // Check opened epoch 2
  ASSERT_EQ(s.clients.current.size(), 1u);
  EXPECT_EQ(s.clients.current[0].id, client);
}

// 4. SIGUSR1's work (NsmDaemon::Reload posted to the loop) while SM_STAT
//    traffic goes on: the reload's load is held in flight on the commit
//    thread; meanwhile every SM_STAT is answered, an SM_MON waits for the
//    load and is answered after it; the monitors are intact afterwards.
TEST_F(DaemonsTest, ReloadUnderTrafficKeepsAnsweringAndKeepsTheMonitors) {
  ASSERT_NO_FATAL_FAILURE(Start());
  const MonArgs a = MonFor("localhost", "server-a", 1);
  const MonArgs b = MonFor("127.0.0.1", "server-b", 2);
  const MonArgs c = MonFor("peer-2.test", "server-c", 3);
  ASSERT_EQ(Mon(a, Proto::kUdp), (StatRes{true, 3}));
  ASSERT_EQ(Mon(b, Proto::kTcp), (StatRes{true, 3}));

  std::atomic<int> answered{0};
  std::atomic<int> wrong{0};
  std::jthread traffic([&](std::stop_token stop) {
    for (int i = 0; !stop.stop_requested(); ++i) {
      const StatRes r = Stat("localhost", i % 2 == 0 ? Proto::kUdp : Proto::kTcp);
      (r == StatRes{true, 3} ? answered : wrong)++;
    }
  });
  auto wait_answers = [&](int n) {
    const int target = answered.load() + n;
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (answered.load() < target && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(5ms);
    }
    return answered.load() >= target;
  };
  EXPECT_TRUE(wait_answers(20));

  // The reload's load is a unit queued behind the held one: in flight
  // until the gate opens.
  Gate gate;
  ASSERT_NO_FATAL_FAILURE(HoldCommits(gate));
  auto reloaded = std::make_shared<std::promise<Status>>();
  std::future<Status> reload_done = reloaded->get_future();
  std::optional<bool> loading = d_->OnLoop([this, reloaded] {
    d_->nsm().Reload([reloaded](Status s) { reloaded->set_value(s); });
    return d_->nsm().service().loading();
  });
  ASSERT_TRUE(loading.has_value());
  ASSERT_TRUE(*loading);

  EXPECT_TRUE(wait_answers(50)) << "SM_STAT while the reload's load is in flight";
  for (Proto p : {Proto::kUdp, Proto::kTcp}) EXPECT_EQ(Stat("127.0.0.1", p), (StatRes{true, 3}));
  std::future<StatRes> mon_c = std::async(std::launch::async, [&] { return Mon(c, Proto::kUdp); });
  EXPECT_TRUE(Eventually([this] { return d_->nsm().service().waiting() == 1; }));
  EXPECT_EQ(mon_c.wait_for(100ms), std::future_status::timeout) << "SM_MON ran during the load";
  std::optional<bool> still = d_->OnLoop([this] { return d_->nsm().service().loading(); });
  ASSERT_TRUE(still.has_value());
  EXPECT_TRUE(*still) << "the load finished before the gate opened";

  gate.Open();
  ASSERT_EQ(reload_done.wait_for(kWait), std::future_status::ready);
  EXPECT_OK(reload_done.get());
  ASSERT_EQ(mon_c.wait_for(kWait), std::future_status::ready);
  EXPECT_EQ(mon_c.get(), (StatRes{true, 3}));
  EXPECT_TRUE(wait_answers(20));
  traffic.request_stop();
  traffic.join();
  EXPECT_EQ(wrong.load(), 0);
  RecordProperty("sm_stat_answered", answered.load());

  std::optional<bool> kept = d_->OnLoop([this] {
    return d_->nsm().service().monitor_count() == 3 &&
           d_->nsm().StatusReport().find("reloads 1 (failed 0)") != std::string::npos;
  });
  ASSERT_TRUE(kept.has_value());
  EXPECT_TRUE(*kept);
  ASSERT_OK(d_->Quit());
  d_.reset();
  EXPECT_EQ(Keys(Stored().nsm.monitors), (std::set<MonitorKey>{a.id, b.id, c.id}));
}

// 5. RunDaemon's orderly exit (NSM drain, then tracking drain, then loop
//    stop), then a second start on the same files after a reboot (new boot
//    id): the state goes from 3 to 5 in the same step that moves every
//    monitor to the notify list, is published before the listeners exist,
//    and SM_STAT answers it; the peers (TEST-NET, silent) stay owed.
TEST_F(DaemonsTest, OrderlyExitThenANewBootBumpsTheStateAndMovesTheMonitors) {
  ASSERT_NO_FATAL_FAILURE(Start());
  const MonArgs a = MonFor("peer-1.test", "server-a", 1);
  const MonArgs b = MonFor("peer-1.test", "server-b", 2);
  const MonArgs c = MonFor("peer-2.test", "server-a", 3);
  ASSERT_EQ(Mon(a, Proto::kUdp), (StatRes{true, 3}));
  ASSERT_EQ(Mon(b, Proto::kTcp), (StatRes{true, 3}));
  ASSERT_EQ(Mon(c, Proto::kUdp), (StatRes{true, 3}));
  std::vector<std::string> order;
  ASSERT_OK(d_->Quit(&order));
  EXPECT_EQ(order, (std::vector<std::string>{"nsm drained", "tracking drained"}));
  d_.reset();

  files_->SetFile(kBootIdPath, std::string(kBoot2) + "\n");
  const size_t writes_before = files_->writes().size();
  ASSERT_NO_FATAL_FAILURE(Start());
  EXPECT_TRUE(d_->boot().new_boot);
  EXPECT_EQ(d_->boot().state, 5);
  EXPECT_EQ(d_->boot().peers, 3u);
  // The stored state first, then the bumped one, both before serving.
  EXPECT_EQ(StateWrites(writes_before), (std::vector<std::string>{"3", "5"}));
  EXPECT_EQ(files_->Content(statd::kNsmLocalStatePath), "5");
  // Peers are owed a notification: lockd's grace is not lifted this time.
  const std::vector<FakeFileSystem::Write> writes = files_->writes();
  EXPECT_EQ(std::count_if(writes.begin() + writes_before, writes.end(),
                          [](const auto& w) { return w.path == statd::kNlmEndGracePath; }),
            0);
  EXPECT_EQ(Stat("localhost", Proto::kUdp), (StatRes{true, 5}));
  EXPECT_EQ(Stat("localhost", Proto::kTcp), (StatRes{true, 5}));

  std::optional<bool> owed = d_->OnLoop([this] {
    return d_->nsm().service().monitor_count() == 0 && d_->nsm().service().notify_count() == 3 &&
           d_->nsm().engine().peers_in_progress() == 3;
  });
  ASSERT_TRUE(owed.has_value());
  EXPECT_TRUE(*owed) << d_->OnLoop([this] { return d_->nsm().StatusReport(); }).value_or("");
  ASSERT_OK(d_->Quit());
  d_.reset();

  StoredState s = Stored();
  EXPECT_EQ(s.nsm.local_state, 5);
  EXPECT_EQ(s.nsm.boot_id, kBoot2);
  EXPECT_TRUE(s.nsm.monitors.empty());
  EXPECT_EQ(Keys(s.nsm.notify), (std::set<MonitorKey>{a.id, b.id, c.id}));
}

}  // namespace
}  // namespace nfsrec::integration
