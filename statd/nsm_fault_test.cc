// I/O fault injection under the NSM service: NsmService over SqliteNsmStore
// over a FaultVfs.  For each kind of fault (open, write, sync or truncate
// failing, once or for good, with EIO or ENOSPC) and for N = 1, 2, ... the
// Nth such operation fails while a fixed workload runs: reopen the store
// and load it, SM_MON, SM_NOTIFY (a peer state update), SM_UNMON, a reboot
// (the state-number bump), SM_UNMON_ALL and SM_MON again; until a run
// completes without reaching the Nth operation.  Each run checks:
//  - every call is answered, and a failure is a clean one: SM_MON
//    stat_fail with state -1, SM_UNMON[_ALL] an error (SYSTEM_ERR on the
//    wire), SM_NOTIFY no reply (the peer retransmits), a failed open or
//    load an error;
//  - never a false success: reopened without faults, the file passes
//    integrity_check and holds every acknowledged change (a failed change
//    may or may not be there: a failed fsync does not undo the write);
//  - the service goes on: after Disarm(), without a restart, SM_MON,
//    SM_NOTIFY and SM_UNMON succeed, and those too are on disk.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/os/event_loop.h"
#include "statd/boot_notifier.h"
#include "statd/kernel_nsm.h"
#include "statd/notify_engine.h"
#include "statd/nsm_service.h"
#include "statd/sqlite_nsm_store.h"
#include "tests/support/fake_datagram_port.h"
#include "tests/support/fake_file_system.h"
#include "tests/support/fake_kernel_nsm.h"
#include "tests/support/fake_lockd_callbacks.h"
#include "tests/support/fake_resolver.h"
#include "tests/support/fake_scheduler.h"
#include "tests/support/mem_nsm_store.h"
#include "tests/support/store_harness.h"
#include <gtest/gtest.h>

namespace nfsrec::statd {
namespace {

using sqlite::FaultVfs;
using test_support::FaultCase;
using test_support::StoreHarness;
using test_support::SweepNthFault;
using namespace std::chrono_literals;

constexpr int kMaxN = 300;  // far above the operations of the workload
constexpr std::chrono::seconds kBudget{60};
constexpr int32_t kPeerState = 7;
const MyId kLockd{"server", 100021, 3, 16};
const Caller kLocal{true, true, "127.0.0.1"};

MonArgs MonFor(const std::string& name) {
  Cookie c{};
  c.fill(static_cast<uint8_t>(name.size()));
  return MonArgs{MonitorKey{name, "server", 100021, 3, 16}, c};
}

// What the disk must show after the run: per monitor key, present (true),
// absent (false) or either (no entry: the last change to it failed).
struct Expected {
  std::map<MonitorKey, bool> monitors;
  std::map<MonitorKey, int32_t> peer_states;  // for present records
  int32_t min_state = 3;

  void Settled(const MonitorKey& k, bool present) { monitors[k] = present; }
  void Unknown(const MonitorKey& k) {
    monitors.erase(k);
    peer_states.erase(k);
  }
};

class NsmFaultTest : private test_support::OnTmpfs, public ::testing::TestWithParam<FaultCase> {
 protected:
  NsmFaultTest() : scheduler_(h_.loop()), resolver_(&scheduler_) {
    for (const char* name : {"peer-a", "peer-b", "peer-c", "peer-d", "peer-r"}) {
      resolver_.Add(name, HostInfo{name, {}});
    }
  }

  // One run with the fault at the nth operation; returns the faults
  // injected (0: the workload needs fewer than n operations).
  int RunOnce(int n);

  // The workload's calls, each waited for.
  std::optional<StatRes> Mon(const std::string& name);
  Result<int32_t> Unmon(const std::string& name);
  Result<int32_t> UnmonAll();
  // True if SM_NOTIFY was answered.
  bool Notify(const std::string& name, int32_t state);
  Result<NsmService::RebootPlan> Reboot(const std::string& boot_id);
  // Monitor rows for mon_name on a second connection (committed data).
  int64_t Monitored(const std::string& mon_name) {
    Result<int64_t> n = h_.PeekInt("SELECT count(*) FROM monitors WHERE mon_name = CAST('" +
                                   mon_name + "' AS BLOB)");
    EXPECT_OK(n);
    return n.ok() ? *n : -1;
  }
  // Start on the store just opened.
  Status Start();
  // Makes the loop run until every store call submitted so far completed.
  void Barrier();

  StoreHarness<SqliteNsmStore> h_;
  LoopScheduler scheduler_;
  FakeResolver resolver_;
  FakeKernelNsm kernel_;
  FakeLockdCallbacks callbacks_;
  CapturingLogger log_;
  std::unique_ptr<NsmService> service_;
};

std::optional<StatRes> NsmFaultTest::Mon(const std::string& name) {
  std::optional<StatRes> res;
  service_->Mon(kLocal, MonFor(name), [&res](StatRes r) { res = r; });
  h_.settle()([&] { return res.has_value(); });
  return res;
}

Result<int32_t> NsmFaultTest::Unmon(const std::string& name) {
  std::optional<Result<int32_t>> res;
  service_->Unmon(kLocal, MonFor(name).id, [&res](Result<int32_t> r) { res = std::move(r); });
  if (!h_.settle()([&] { return res.has_value(); })) return Status::TimedOut("SM_UNMON");
  return std::move(*res);
}

Result<int32_t> NsmFaultTest::UnmonAll() {
  std::optional<Result<int32_t>> res;
  service_->UnmonAll(kLocal, kLockd, [&res](Result<int32_t> r) { res = std::move(r); });
  if (!h_.settle()([&] { return res.has_value(); })) return Status::TimedOut("SM_UNMON_ALL");
  return std::move(*res);
}

void NsmFaultTest::Barrier() {
  std::optional<bool> loaded;
  h_.store().Load([&loaded](Result<NsmSnapshot> s) { loaded = s.ok(); });
  ASSERT_TRUE(h_.settle()([&] { return loaded.has_value(); }));
}

bool NsmFaultTest::Notify(const std::string& name, int32_t state) {
  bool answered = false;
  service_->Notify(Caller{false, false, "10.0.0.9"}, NotifyArgs{name, state},
                   [&answered] { answered = true; });
  // The two lookups, then the store write; a failed write sends no answer,
  // so wait for a load queued behind it instead.
  h_.settle()([&] { return resolver_.pending() == 0 && !service_->loading(); });
  Barrier();
  return answered;
}

Result<NsmService::RebootPlan> NsmFaultTest::Reboot(const std::string& boot_id) {
  std::optional<Result<NsmService::RebootPlan>> res;
  service_->PrepareReboot(boot_id, false, true,
                          [&res](Result<NsmService::RebootPlan> r) { res = std::move(r); });
  if (!h_.settle()([&] { return res.has_value(); })) return Status::TimedOut("reboot");
  return std::move(*res);
}

Status NsmFaultTest::Start() {
  service_ = std::make_unique<NsmService>(h_.store(), resolver_, kernel_, callbacks_, log_);
  std::optional<Status> st;
  service_->Start(LegacyStatd{}, [&st](Status s) { st = s; });
  if (!h_.settle()([&] { return st.has_value(); })) return Status::TimedOut("start");
  return *st;
}

int NsmFaultTest::RunOnce(int n) {
  const FaultCase fc = GetParam();
  service_.reset();
  h_.RemoveDatabase();
  EXPECT_OK(h_.OpenFaulty(test_support::kCheckpointEveryCommit));
  if (!h_.is_open()) return 0;
  FaultVfs& vfs = h_.fault_vfs();
  // A first boot with two monitors, closed cleanly.
  EXPECT_OK(Start());
  EXPECT_TRUE(Mon("peer-a")->success);
  EXPECT_TRUE(Mon("peer-b")->success);
  service_.reset();
  h_.Close();

  Expected want;
  want.Settled(MonFor("peer-a").id, true);
  want.Settled(MonFor("peer-b").id, true);

  vfs.Arm(fc.op, n, fc.persistent, fc.flavour);
  // Reopen and load: a failed open or load is an error, and the daemon
  // would stop there; the next start succeeds once the fault has cleared.
  Status opened = h_.OpenFaulty(test_support::kCheckpointEveryCommit);
  if (opened.ok()) opened = Start();
  if (!opened.ok()) {
    EXPECT_FALSE(opened.IsTimedOut()) << opened.ToString();
    service_.reset();
    h_.Close();
    vfs.Disarm();
    const int injected = vfs.injected();
    EXPECT_OK(h_.OpenFaulty(test_support::kCheckpointEveryCommit));
    EXPECT_OK(Start());
    EXPECT_GT(injected, 0);
    if (!h_.is_open() || !service_) return injected;
  }

  // The workload.
  const MonitorKey a = MonFor("peer-a").id, b = MonFor("peer-b").id;
  const MonitorKey c = MonFor("peer-c").id, d = MonFor("peer-d").id;
  std::optional<StatRes> mon = Mon("peer-c");
  EXPECT_TRUE(mon.has_value());
  if (mon && mon->success) {
    want.Settled(c, true);
  } else if (mon) {
    EXPECT_EQ(mon->state, -1);
    want.Unknown(c);
  }

  if (Notify("peer-a", kPeerState)) {
    want.peer_states[a] = kPeerState;
  }

  Result<int32_t> unmon = Unmon("peer-b");
  if (unmon.ok()) {
    EXPECT_EQ(*unmon, service_->local_state());
    // Acknowledged: gone from the file now, before the reboot moves the rest.
    EXPECT_EQ(Monitored("peer-b"), 0) << "SM_UNMON acknowledged";
    want.Settled(b, false);
  } else {
    EXPECT_FALSE(unmon.status().IsTimedOut()) << unmon.status().ToString();
    want.Unknown(b);
  }

  Result<NsmService::RebootPlan> reboot = Reboot("boot-2");
  if (reboot.ok()) {
    // Every monitor moved to the notify list, and the state went up by 2.
    EXPECT_TRUE(reboot->new_boot);
    EXPECT_EQ(reboot->state, 5);
    for (const MonitorKey& k : {a, b, c}) want.Settled(k, false);
    want.min_state = 5;
  } else {
    EXPECT_FALSE(reboot.status().IsTimedOut()) << reboot.status().ToString();
    for (const MonitorKey& k : {a, b, c}) want.Unknown(k);
  }

  mon = Mon("peer-d");
  if (mon && mon->success) {
    want.Settled(d, true);
  } else if (mon) {
    EXPECT_EQ(mon->state, -1);
    want.Unknown(d);
  }

  Result<int32_t> all = UnmonAll();
  if (all.ok()) {
    for (const MonitorKey& k : {a, b, c, d}) {
      // Only what the service still listed was deleted; a record whose
      // earlier change failed may or may not be in the file.
      if (want.monitors.count(k) != 0) want.Settled(k, false);
    }
  } else {
    EXPECT_FALSE(all.status().IsTimedOut()) << all.status().ToString();
    for (const MonitorKey& k : {a, b, c, d}) {
      auto it = want.monitors.find(k);
      if (it != want.monitors.end() && it->second) want.Unknown(k);
    }
  }
  const int injected = vfs.injected();

  // The fault clears: the same service, without a restart, works again.
  vfs.Disarm();
  std::optional<StatRes> again = Mon("peer-r");
  EXPECT_TRUE(again && again->success) << "SM_MON after the fault cleared";
  EXPECT_TRUE(Notify("peer-r", kPeerState + 2)) << "SM_NOTIFY after the fault cleared";
  EXPECT_OK(Unmon("peer-r"));
  again = Mon("peer-r");
  EXPECT_TRUE(again && again->success);
  const MonitorKey r = MonFor("peer-r").id;
  want.Settled(r, true);

  // Reopened without faults: every acknowledged change is there.
  service_.reset();
  h_.Close();
  EXPECT_OK(h_.CheckIntegrity());
  EXPECT_OK(h_.Open());
  if (!h_.is_open()) return injected;
  Result<NsmSnapshot> disk = test_support::RunAndWait<Result<NsmSnapshot>>(
      h_.settle(), [this](auto done) { h_.store().Load(std::move(done)); });
  EXPECT_OK(disk);
  if (!disk.ok()) return injected;
  EXPECT_GE(disk->local_state, want.min_state);
  EXPECT_EQ(disk->local_state % 2, 1);
  std::map<MonitorKey, MonitorRecord> on_disk;
  for (const MonitorRecord& rec : disk->monitors) on_disk[rec.key] = rec;
  for (const auto& [k, present] : want.monitors) {
    EXPECT_EQ(on_disk.count(k), present ? 1u : 0u) << k.mon_name;
    auto ps = want.peer_states.find(k);
    if (present && ps != want.peer_states.end() && on_disk.count(k) != 0) {
      EXPECT_EQ(on_disk[k].peer_state, ps->second) << k.mon_name;
    }
  }
  h_.Close();
  return injected;
}

TEST_P(NsmFaultTest, NthOperationFails) {
  SweepNthFault(kMaxN, kBudget, [this](int n) { return RunOnce(n); });
}

INSTANTIATE_TEST_SUITE_P(Faults, NsmFaultTest, test_support::EveryFaultCase(),
                         test_support::FaultCaseName);

// lockd's /proc files refusing writes (EIO, EACCES): each failure is
// logged, nothing else depends on it, and the next write after the fault
// clears goes through.  The monitor lists and the state stay durable.
class NsmProcFaultTest : public ::testing::Test {
 protected:
  NsmProcFaultTest()
      : local_net_(sched_),
        remote_net_(sched_),
        resolver_(&sched_),
        local_(local_net_, sched_, log_),
        remote_(remote_net_, sched_, log_),
        engine_(local_, remote_, resolver_, sched_, log_, {}),
        kernel_(fs_),
        service_(store_, resolver_, kernel_, engine_, log_) {
    fs_.SetFile(kNsmLocalStatePath, "");
    fs_.SetFile(kNlmEndGracePath, "");
    resolver_.Add("peer-a", HostInfo{"peer-a", {"10.0.0.2"}});
  }

  void Settle() {
    for (int i = 0; i < 20; ++i) {
      store_.Flush();
      sched_.Advance(100ms);
    }
  }
  // Runs boot notification and waits for it to be under way.
  Result<BootNotifier::Summary> Reboot(const std::string& boot_id) {
    BootNotifier n(service_, engine_, kernel_, sched_, log_, BootNotifier::Options{});
    std::optional<Result<BootNotifier::Summary>> summary;
    n.Run(boot_id, false, [&](Result<BootNotifier::Summary> s) { summary = std::move(s); });
    Settle();
    return summary.value_or(Status::TimedOut("boot notification"));
  }

  FakeScheduler sched_;
  CapturingLogger log_;
  FakeDatagramPort local_net_;
  FakeDatagramPort remote_net_;
  FakeResolver resolver_;
  rpc::UdpRpcClient local_;
  rpc::UdpRpcClient remote_;
  NotifyEngine engine_;
  FakeFileSystem fs_;
  ProcKernelNsm kernel_;
  MemNsmStore store_;
  NsmService service_;
};

TEST_F(NsmProcFaultTest, FailingNsmLocalStateWriteIsLoggedAndTheServiceGoesOn) {
  fs_.FailWrites(kNsmLocalStatePath, Status::IOError("write: Input/output error"));
  std::optional<Status> started;
  service_.Start(LegacyStatd{}, [&](Status s) { started = s; });
  Settle();
  ASSERT_TRUE(started.has_value());
  ASSERT_OK(*started);
  EXPECT_TRUE(log_.Contains("Failed to publish NSM state to the kernel"));
  EXPECT_EQ(store_.local_state(), 3);

  std::optional<StatRes> mon;
  service_.Mon(kLocal, MonFor("peer-a"), [&](StatRes r) { mon = r; });
  Settle();
  ASSERT_TRUE(mon.has_value());
  EXPECT_EQ(*mon, (StatRes{true, 3}));

  // The bump is durable even though the kernel could not be told.
  fs_.FailWrites(kNsmLocalStatePath, Status::PermissionDenied("write: Permission denied"));
  Result<BootNotifier::Summary> boot = Reboot("boot-2");
  ASSERT_OK(boot);
  EXPECT_EQ(boot->state, 5);
  EXPECT_EQ(store_.local_state(), 5);
  EXPECT_EQ(fs_.Content(kNsmLocalStatePath), "");

  // Cleared: the next state change reaches the kernel.
  fs_.FailWrites(kNsmLocalStatePath, Status::Ok());
  std::optional<Status> set;
  service_.SetLocalState(7, [&](Status s) { set = s; });
  Settle();
  ASSERT_TRUE(set.has_value());
  ASSERT_OK(*set);
  EXPECT_EQ(fs_.Content(kNsmLocalStatePath), "7");
}

TEST_F(NsmProcFaultTest, FailingNlmEndGraceWriteIsLoggedAndNotificationGoesOn) {
  std::optional<Status> started;
  service_.Start(LegacyStatd{}, [&](Status s) { started = s; });
  Settle();
  ASSERT_TRUE(started && started->ok());
  for (Status err : {Status::IOError("write: Input/output error"),
                     Status::PermissionDenied("write: Permission denied")}) {
    fs_.FailWrites(kNlmEndGracePath, err);
    Result<BootNotifier::Summary> boot = Reboot("boot-" + err.ToString());
    ASSERT_OK(boot);  // nobody to notify: grace is lifted, or tried
    EXPECT_TRUE(boot->new_boot);
    EXPECT_TRUE(log_.Contains("Cannot end lockd grace period: " + err.ToString()));
  }
  // The service answers as before.
  std::optional<StatRes> mon;
  service_.Mon(kLocal, MonFor("peer-a"), [&](StatRes r) { mon = r; });
  Settle();
  ASSERT_TRUE(mon.has_value());
  EXPECT_TRUE(mon->success);
  // Cleared: the next boot with nobody to notify lifts lockd's grace.
  std::optional<Result<int32_t>> unmon;
  service_.Unmon(kLocal, MonFor("peer-a").id, [&](Result<int32_t> r) { unmon = std::move(r); });
  Settle();
  ASSERT_TRUE(unmon.has_value());
  ASSERT_OK(*unmon);
  fs_.FailWrites(kNlmEndGracePath, Status::Ok());
  ASSERT_OK(Reboot("boot-clean"));
  EXPECT_EQ(fs_.Content(kNlmEndGracePath), "Y");
}

// A peer whose host is up but runs no rpcbind (the datagram is refused:
// ICMP port unreachable on a connected socket, or no route) is retried
// with back-off and logged when given up, and does not delay another peer.
class RefusingPort final : public rpc::DatagramPort {
 public:
  RefusingPort(rpc::DatagramPort& inner, std::string refused)
      : inner_(inner), refused_(std::move(refused)) {}
  Status SendTo(const rpc::Endpoint& to, std::span<const uint8_t> data) override {
    std::string addr = to.ToString();
    if (addr.substr(0, addr.rfind(':')) == refused_) {
      sent_at.push_back(now_ != nullptr ? now_->Now() : TimePoint{});
      return Status::Unavailable("sendto: Connection refused");
    }
    return inner_.SendTo(to, data);
  }
  void SetReceiver(Receiver r) override { inner_.SetReceiver(std::move(r)); }
  const Scheduler* now_ = nullptr;
  std::vector<TimePoint> sent_at;

 private:
  rpc::DatagramPort& inner_;
  std::string refused_;
};

TEST(NsmPeerFaultTest, PeerWithoutRpcbindIsRetriedWithBackoffAndDoesNotDelayOthers) {
  FakeScheduler sched;
  CapturingLogger log;
  FakeDatagramPort local_net(sched), remote_net(sched);
  RefusingPort refusing(remote_net, "10.0.0.66");
  refusing.now_ = &sched;
  FakeResolver resolver(&sched);
  rpc::UdpRpcClient local(local_net, sched, log), remote(refusing, sched, log);
  NotifyEngine engine(local, remote, resolver, sched, log, {});
  resolver.Add("norpcbind", HostInfo{"norpcbind", {"10.0.0.66"}});
  resolver.Add("live", HostInfo{"live", {"10.0.0.2"}});
  remote_net.hosts["10.0.0.2"].ports[{kNsmProgram, kNsmVersion}] = 1011;
  std::map<std::string, bool> done;
  auto peer = [](const std::string& name) {
    return NotifyEngine::Peer{MonitorKey{name, "server", 100021, 3, 16}, name, "server"};
  };
  engine.NotifyPeers({peer("norpcbind"), peer("live")}, 5,
                     [&done](const NotifyEngine::Peer& p, bool ok) { done[p.host] = ok; });
  sched.Advance(100ms);
  EXPECT_TRUE(done["live"]) << "the refusing peer delayed the other one";
  EXPECT_EQ(done.count("norpcbind"), 0u);
  sched.Advance(20min);
  ASSERT_EQ(done.count("norpcbind"), 1u);
  EXPECT_FALSE(done["norpcbind"]);
  EXPECT_TRUE(log.Contains("Unable to notify norpcbind, giving up"));
  // Retried, with growing gaps, not in a tight loop.
  const std::vector<TimePoint>& at = refusing.sent_at;
  ASSERT_GE(at.size(), 4u);
  EXPECT_LT(at.size(), 60u);
  for (size_t i = 2; i < at.size(); ++i) {
    EXPECT_GE(at[i] - at[i - 1], at[1] - at[0]) << i;
  }
  EXPECT_GE(at.back() - at.front(), 5min);
}

}  // namespace
}  // namespace nfsrec::statd
