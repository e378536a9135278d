// I/O fault injection under the NFSv4 client tracking service:
// TrackingService over SqliteClientStore over a FaultVfs.  For each kind of
// fault (open, write, sync or truncate failing, once or for good, with EIO
// or ENOSPC) and for N = 1, 2, ... the Nth such operation fails while a
// fixed workload of upcalls runs: reopen and load, GraceStart (a new
// epoch), Create (a reclaim and a new client), Remove, GraceDone (the
// recovery epoch dropped), Create; until a run completes without reaching
// the Nth operation.  Each run checks:
//  - every upcall is answered, and a failure is a clean one: one downcall
//    with a negative status (-EREMOTEIO), never a 0 for a change that failed;
//    a failed open or load is an error;
//  - never a false success: with the fault cleared, a second connection
//    sees every acknowledged change in the current epoch (a failed change
//    may or may not be there: a failed fsync does not undo the write), and
//    an acknowledged GraceDone left no recovery epoch;
//  - the service goes on: after Disarm(), without a restart, Create,
//    Remove, GraceStart and GraceDone succeed, and reopened the file passes
//    integrity_check and holds what they made.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/os/event_loop.h"
#include "common/os/executor.h"
#include "nfs4rec/grace.h"
#include "nfs4rec/sqlite_client_store.h"
#include "nfs4rec/tracking_service.h"
#include "tests/support/fake_file_system.h"
#include "tests/support/fake_grace_control.h"
#include "tests/support/store_harness.h"
#include <gtest/gtest.h>

namespace nfsrec::nfs4rec {
namespace {

using sqlite::FaultVfs;
using test_support::FaultCase;
using test_support::StoreHarness;
using test_support::SweepNthFault;

constexpr int kMaxN = 300;  // far above the operations of the workload
constexpr std::chrono::seconds kBudget{60};
const std::string kHash(32, 'h');

// "X'6330'" for "c0": an id as an SQL blob literal.
std::string Blob(const std::string& id) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out = "X'";
  for (unsigned char ch : id) {
    out += kHex[ch >> 4];
    out += kHex[ch & 15];
  }
  return out + "'";
}

class TrackingFaultTest : private test_support::OnTmpfs,
                          public ::testing::TestWithParam<FaultCase> {
 protected:
  TrackingFaultTest() : scheduler_(h_.loop()) {}

  int RunOnce(int n);
  Status Start();
  // Sends one upcall and waits for its final downcall; returns its status
  // (for GraceStart, the status after the -EINPROGRESS record downcalls).
  std::optional<int16_t> Upcall(CldCommand cmd, const std::string& name = "");
  // Whether a second connection sees `id` in the current epoch.
  bool InCurrent(const std::string& id);

  StoreHarness<SqliteClientStore> h_;
  LoopScheduler scheduler_;
  FakeGraceControl grace_;
  CapturingLogger log_;
  std::unique_ptr<TrackingService> service_;
  uint32_t xid_ = 1;
};

Status TrackingFaultTest::Start() {
  TrackingServiceOptions opts;
  opts.end_grace_early = false;  // /proc is not what this test is about
  service_ = std::make_unique<TrackingService>(h_.store(), grace_, scheduler_, log_, opts);
  std::optional<Status> st;
  service_->Start([&st](Status s) { st = s; });
  if (!h_.settle()([&] { return st.has_value(); })) return Status::TimedOut("start");
  return *st;
}

std::optional<int16_t> TrackingFaultTest::Upcall(CldCommand cmd, const std::string& name) {
  CldMessage up;
  up.version = 2;
  up.command = static_cast<uint8_t>(cmd);
  up.xid = xid_++;
  up.name = name;
  if (cmd == CldCommand::kCreate) up.princhash = kHash;
  std::optional<int16_t> final_status;
  service_->Handle(up, [&final_status, xid = up.xid](const CldMessage& down) {
    EXPECT_EQ(down.xid, xid);
    if (down.status != kCldEInProgress) final_status = down.status;
  });
  h_.settle()([&] { return final_status.has_value(); });
  return final_status;
}

bool TrackingFaultTest::InCurrent(const std::string& id) {
  Result<int64_t> n = h_.PeekInt(
      "SELECT count(*) FROM cld_clients AS c, cld_grace AS g WHERE c.epoch = g.current AND c.id "
      "= " +
      Blob(id));
  EXPECT_OK(n);
  return n.ok() && *n == 1;
}

int TrackingFaultTest::RunOnce(int n) {
  const FaultCase fc = GetParam();
  service_.reset();
  h_.RemoveDatabase();
  EXPECT_OK(h_.OpenFaulty(test_support::kCheckpointEveryCommit));
  if (!h_.is_open()) return 0;
  FaultVfs& vfs = h_.fault_vfs();
  // A first life: two clients, then a clean stop.
  EXPECT_OK(Start());
  EXPECT_EQ(Upcall(CldCommand::kCreate, "c0"), 0);
  EXPECT_EQ(Upcall(CldCommand::kCreate, "c1"), 0);
  service_.reset();
  h_.Close();

  // Per id: in the current epoch (true), not (false), or either (absent).
  std::map<std::string, bool> want{{"c0", true}, {"c1", true}};
  auto unknown_if_present = [&want] {
    for (auto it = want.begin(); it != want.end();) {
      it = it->second ? want.erase(it) : std::next(it);
    }
  };
  // A clean failure is one negative downcall; 0 is an acknowledgement.
  auto clean = [](std::optional<int16_t> st, const char* what) {
    EXPECT_TRUE(st.has_value()) << what << " not answered";
    if (st && *st != 0) {
      EXPECT_EQ(*st, kCldERemoteIo) << what;
    }
    return st && *st == 0;
  };

  vfs.Arm(fc.op, n, fc.persistent, fc.flavour);
  Status opened = h_.OpenFaulty(test_support::kCheckpointEveryCommit);
  if (opened.ok()) opened = Start();
  if (!opened.ok()) {
    EXPECT_FALSE(opened.IsTimedOut()) << opened.ToString();
    service_.reset();
    h_.Close();
    vfs.Disarm();
    EXPECT_GT(vfs.injected(), 0);
    EXPECT_OK(h_.OpenFaulty(test_support::kCheckpointEveryCommit));
    EXPECT_OK(Start());
    if (!h_.is_open() || !service_) return vfs.injected();
  }

  if (clean(Upcall(CldCommand::kGraceStart), "GraceStart")) {
    for (auto& [id, present] : want) present = false;  // now in the recovery epoch
  } else {
    unknown_if_present();
  }
  for (const char* id : {"c0", "c2"}) {  // a reclaim, a new client
    if (clean(Upcall(CldCommand::kCreate, id), "Create")) {
      want[id] = true;
    } else {
      want.erase(id);
    }
  }
  if (clean(Upcall(CldCommand::kRemove, "c1"), "Remove")) {
    want["c1"] = false;
  } else {
    want.erase("c1");
  }
  const bool grace_done = clean(Upcall(CldCommand::kGraceDone), "GraceDone");
  if (clean(Upcall(CldCommand::kCreate, "c3"), "Create")) {
    want["c3"] = true;
  } else {
    want.erase("c3");
  }
  const int injected = vfs.injected();

  // The fault clears: what was acknowledged is there.
  vfs.Disarm();
  for (const auto& [id, present] : want) EXPECT_EQ(InCurrent(id), present) << id;
  if (grace_done) {
    Result<int64_t> recovery = h_.PeekInt("SELECT recovery FROM cld_grace");
    EXPECT_OK(recovery);
    if (recovery.ok()) {
      EXPECT_EQ(*recovery, 0) << "GraceDone was acknowledged";
    }
  }

  // The same service, without a restart, works again.
  EXPECT_EQ(Upcall(CldCommand::kCreate, "r"), 0);
  EXPECT_EQ(Upcall(CldCommand::kRemove, "r"), 0);
  EXPECT_EQ(Upcall(CldCommand::kGraceStart), 0);
  EXPECT_EQ(Upcall(CldCommand::kCreate, "r2"), 0);
  EXPECT_EQ(Upcall(CldCommand::kGraceDone), 0);
  EXPECT_FALSE(service_->epochs().in_grace());

  service_.reset();
  h_.Close();
  EXPECT_OK(h_.CheckIntegrity());
  EXPECT_TRUE(InCurrent("r2"));
  EXPECT_FALSE(InCurrent("r"));
  Result<int64_t> rows = h_.PeekInt("SELECT count(*) FROM cld_clients");
  EXPECT_OK(rows);
  if (rows.ok()) {
    EXPECT_EQ(*rows, 1) << "only r2 reclaimed in the last grace";
  }
  return injected;
}

TEST_P(TrackingFaultTest, NthOperationFails) {
  SweepNthFault(kMaxN, kBudget, [this](int n) { return RunOnce(n); });
}

INSTANTIATE_TEST_SUITE_P(Faults, TrackingFaultTest, test_support::EveryFaultCase(),
                         test_support::FaultCaseName);

// knfsd's v4_end_grace refusing the early end of grace (EIO, EACCES): the
// failure is logged, the kernel's own GraceDone is still answered 0, and
// once the fault clears the next early end reaches the file.
TEST(TrackingProcFaultTest, FailingV4EndGraceWriteIsLoggedAndGraceDoneStillAnswered) {
  StoreHarness<SqliteClientStore> h;
  ASSERT_OK(h.Open());
  LoopScheduler scheduler(h.loop());
  Executor executor(h.loop());
  auto fs = std::make_shared<FakeFileSystem>();
  fs->SetFile(kV4EndGracePath, "");
  ProcGraceControl grace(executor, fs);
  CapturingLogger log;
  TrackingService service(h.store(), grace, scheduler, log, TrackingServiceOptions{});
  std::optional<Status> started;
  service.Start([&started](Status st) { started = st; });
  ASSERT_TRUE(h.settle()([&] { return started.has_value(); }));
  ASSERT_OK(*started);
  uint32_t xid = 1;
  auto upcall = [&](CldCommand cmd, const std::string& name = "") {
    CldMessage up;
    up.version = 2;
    up.command = static_cast<uint8_t>(cmd);
    up.xid = xid++;
    up.name = name;
    std::optional<int16_t> status;
    service.Handle(up, [&status](const CldMessage& down) {
      if (down.status != kCldEInProgress) status = down.status;
    });
    h.settle()([&] { return status.has_value(); });
    return status;
  };
  ASSERT_EQ(upcall(CldCommand::kCreate, "c0"), 0);

  for (Status err : {Status::IOError("write: Input/output error"),
                     Status::PermissionDenied("write: Permission denied")}) {
    fs->FailWrites(kV4EndGracePath, err);
    // A reboot: c0 is uploaded, re-creates its record, and we ask the
    // kernel to end grace early; the write fails.
    EXPECT_EQ(upcall(CldCommand::kGraceStart), 0);
    EXPECT_EQ(upcall(CldCommand::kCreate, "c0"), 0);
    const std::string logged = "could not end the grace period early: " + err.ToString();
    EXPECT_TRUE(h.settle()([&] { return log.Contains(logged); })) << logged;
    // The kernel ends grace by itself later: its GraceDone is answered.
    EXPECT_EQ(upcall(CldCommand::kGraceDone), 0);
    EXPECT_FALSE(service.epochs().in_grace());
  }
  EXPECT_TRUE(fs->writes().empty());

  fs->FailWrites(kV4EndGracePath, Status::Ok());
  EXPECT_EQ(upcall(CldCommand::kGraceStart), 0);
  EXPECT_EQ(upcall(CldCommand::kCreate, "c0"), 0);
  EXPECT_TRUE(h.settle()([&] { return log.Contains("the kernel ended the grace period"); }));
  EXPECT_EQ(fs->writes(), (std::vector<FakeFileSystem::Write>{{kV4EndGracePath, "Y"}}));
  EXPECT_EQ(upcall(CldCommand::kGraceDone), 0);
}

}  // namespace
}  // namespace nfsrec::nfs4rec
