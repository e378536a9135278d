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
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/os/event_loop.h"
#include "statd/nsm_service.h"
#include "statd/sqlite_nsm_store.h"
#include "tests/support/fake_kernel_nsm.h"
#include "tests/support/fake_lockd_callbacks.h"
#include "tests/support/fake_resolver.h"
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
// A tiny auto-checkpoint threshold makes commits checkpoint into the main
// file, and a zero journal size limit truncates the WAL after each
// checkpoint, so writes, fsyncs and truncates of both files are in the
// fault window.
constexpr char kSetup[] = "PRAGMA wal_autocheckpoint=2; PRAGMA journal_size_limit=0";
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

// The sweeps count fsyncs, they do not need them to reach a disk (power
// loss is tests/crash/'s job): on tmpfs every run takes a few milliseconds
// instead of one disk flush per commit.  Set before the harness makes its
// directory.
struct OnTmpfs {
  OnTmpfs() {
    struct stat st;
    if (::stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && ::access("/dev/shm", W_OK) == 0) {
      ::setenv("TMPDIR", "/dev/shm", 1);
    }
  }
};

class NsmFaultTest : private OnTmpfs, public ::testing::TestWithParam<FaultCase> {
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
    std::string hex;
    for (unsigned char ch : mon_name) hex += "0123456789ABCDEF"[ch >> 4], hex += "0123456789ABCDEF"[ch & 15];
    Result<int64_t> n = h_.PeekInt("SELECT count(*) FROM monitors WHERE mon_name = X'" + hex + "'");
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
  EXPECT_OK(h_.OpenFaulty(kSetup));
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
  Status opened = h_.OpenFaulty(kSetup);
  if (opened.ok()) opened = Start();
  if (!opened.ok()) {
    EXPECT_FALSE(opened.IsTimedOut()) << opened.ToString();
    service_.reset();
    h_.Close();
    vfs.Disarm();
    const int injected = vfs.injected();
    EXPECT_OK(h_.OpenFaulty(kSetup));
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

// The cases swept: every operation, once and for good, EIO and ENOSPC.
auto NsmFaultCases() {
  using Op = FaultVfs::Op;
  using F = FaultVfs::Flavour;
  std::vector<FaultCase> cases;
  for (Op op : {Op::kOpen, Op::kWrite, Op::kSync, Op::kTruncate}) {
    for (bool persistent : {false, true}) {
      for (F flavour : {F::kEio, F::kEnospc}) cases.push_back(FaultCase{op, persistent, flavour});
    }
  }
  return ::testing::ValuesIn(cases);
}

INSTANTIATE_TEST_SUITE_P(Faults, NsmFaultTest, NsmFaultCases(), test_support::FaultCaseName);

}  // namespace
}  // namespace nfsrec::statd
