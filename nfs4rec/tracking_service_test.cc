#include "nfs4rec/tracking_service.h"

#include <map>
#include <optional>
#include <vector>

#include "tests/support/fake_file_system.h"
#include "tests/support/fake_grace_control.h"
#include "tests/support/fake_live_client_source.h"
#include "tests/support/mem_client_store.h"
#include "tests/support/status_matchers.h"
#include <gtest/gtest.h>

namespace nfsrec::nfs4rec {
namespace {

ClientRecord Rec(const std::string& id) {
  ClientRecord r;
  r.id = id;
  return r;
}

class ManualScheduler final : public Scheduler {
 public:
  TimePoint Now() const override { return now_; }
  TimerId RunAfter(Duration delay, std::function<void()> fn) override {
    TimerId id = next_++;
    timers_.emplace(id, std::make_pair(now_ + delay, std::move(fn)));
    return id;
  }
  void Cancel(TimerId id) override { timers_.erase(id); }
  // Runs due timers (and ones they add) until none is left.
  // Runs the oldest timer, if any.
  void RunOneForTest() {
    if (timers_.empty()) return;
    auto it = timers_.begin();
    auto fn = std::move(it->second.second);
    timers_.erase(it);
    fn();
  }
  // Delays of the pending timers, relative to now.
  std::vector<Duration> PendingDelays() const {
    std::vector<Duration> out;
    for (const auto& [id, t] : timers_) out.push_back(t.first - now_);
    return out;
  }
  void RunAll() {
    while (!timers_.empty()) {
      auto it = timers_.begin();
      auto fn = std::move(it->second.second);
      timers_.erase(it);
      fn();
    }
  }

 private:
  TimePoint now_{};
  TimerId next_ = 1;
  std::map<TimerId, std::pair<TimePoint, std::function<void()>>> timers_;
};

const std::string kHash(32, 'h');

class TrackingServiceTest : public ::testing::Test {
 protected:
  void MakeService(TrackingServiceOptions opts = {}) {
    service_ = std::make_unique<TrackingService>(store_, grace_, sched_, log_, opts);
    std::optional<Status> started;
    service_->Start([&started](Status st) { started = st; });
    ASSERT_FALSE(started.has_value()) << "Start completed inline";
    store_.RunPending();
    ASSERT_TRUE(started.has_value());
    ASSERT_OK(*started);
    ASSERT_TRUE(service_->started());
  }
  // Sends an upcall; its replies go to *out.
  void Send(const CldMessage& up, std::vector<CldMessage>* out) {
    service_->Handle(up, [out](const CldMessage& r) { out->push_back(r); });
  }
  CldMessage Up(CldCommand cmd, std::string name = "", uint8_t version = 2) {
    CldMessage m;
    m.version = version;
    m.command = static_cast<uint8_t>(cmd);
    m.xid = next_xid_++;
    m.name = std::move(name);
    return m;
  }
  // Sends an upcall and settles the store and the scheduler.
  std::vector<CldMessage> Call(const CldMessage& up) {
    std::vector<CldMessage> out;
    service_->Handle(up, [&out](const CldMessage& r) { out.push_back(r); });
    for (int i = 0; i < 100 && (store_.pending() > 0); ++i) {
      store_.RunPending();
      sched_.RunAll();
    }
    sched_.RunAll();
    return out;
  }
  int16_t Status1(const CldMessage& up) {
    auto r = Call(up);
    EXPECT_EQ(r.size(), 1u);
    EXPECT_EQ(r.back().xid, up.xid);
    EXPECT_EQ(r.back().command, up.command);
    EXPECT_EQ(r.back().version, up.version);
    return r.back().status;
  }
  void Create(const std::string& name, const std::string& hash = "") {
    CldMessage m = Up(CldCommand::kCreate, name);
    m.princhash = hash;
    EXPECT_EQ(Status1(m), 0);
  }

  MemClientStore store_;
  FakeGraceControl grace_;
  ManualScheduler sched_;
  CapturingLogger log_;
  std::unique_ptr<TrackingService> service_;
  uint32_t next_xid_ = 1;
};

TEST_F(TrackingServiceTest, GetVersionAnswersTwo) {
  MakeService();
  auto r = Call(Up(CldCommand::kGetVersion, "", 1));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 0);
  EXPECT_EQ(r[0].max_version, 2);
  EXPECT_EQ(r[0].version, 1);  // sized like the request
}

TEST_F(TrackingServiceTest, FreshGraceStartUploadsNothing) {
  MakeService();
  auto r = Call(Up(CldCommand::kGraceStart));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 0);
  EXPECT_EQ(store_.epochs(), (Epochs{2, 1}));
  EXPECT_EQ(service_->in_flight(), 0u);
}

TEST_F(TrackingServiceTest, CreateIsAnsweredOnlyAfterTheStoreCompletes) {
  MakeService();
  std::vector<CldMessage> out;
  CldMessage up = Up(CldCommand::kCreate, "c1");
  service_->Handle(up, [&out](const CldMessage& r) { out.push_back(r); });
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(service_->in_flight(), 1u);
  store_.RunPending();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].status, 0);
  EXPECT_TRUE(store_.Has(1, "c1"));
  EXPECT_EQ(service_->in_flight(), 0u);
}

TEST_F(TrackingServiceTest, StoreFailureAnswersRemoteIo) {
  MakeService();
  store_.FailNext(Status::IOError("disk"));
  EXPECT_EQ(Status1(Up(CldCommand::kCreate, "c1")), kCldERemoteIo);
  EXPECT_FALSE(store_.Has(1, "c1"));
}

TEST_F(TrackingServiceTest, RebootUploadsRecordsWithPrincHashThenFinalStatus) {
  MakeService();
  Create("a", kHash);
  Create("b");
  Create("gone");
  EXPECT_EQ(Status1(Up(CldCommand::kRemove, "gone")), 0);
  auto r = Call(Up(CldCommand::kGraceStart));
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].status, kCldEInProgress);
  EXPECT_EQ(r[0].name, "a");
  EXPECT_EQ(r[0].princhash, kHash);
  EXPECT_EQ(r[1].name, "b");
  EXPECT_EQ(r[1].princhash, "");
  EXPECT_EQ(r[2].status, 0);
  EXPECT_TRUE(r[2].name.empty());
  for (const auto& m : r) EXPECT_EQ(m.xid, r[0].xid);
}

TEST_F(TrackingServiceTest, V1UploadCarriesNoPrincHash) {
  MakeService();
  Create("a", kHash);
  auto r = Call(Up(CldCommand::kGraceStart, "", 1));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].name, "a");
  EXPECT_TRUE(r[0].princhash.empty());
  EXPECT_EQ(r[0].version, 1);
}

TEST_F(TrackingServiceTest, CorruptRecordsAreSkippedWithALogLine) {
  store_.Insert(1, ClientRecord{"", "", {}, 0});
  store_.Insert(1, ClientRecord{std::string(1025, 'x'), "", {}, 0});
  store_.Insert(1, ClientRecord{"badhash", "short", {}, 0});
  store_.Insert(1, ClientRecord{"good", "", {}, 0});
  MakeService();
  auto r = Call(Up(CldCommand::kGraceStart));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].name, "good");
  EXPECT_EQ(r[1].status, 0);
  EXPECT_EQ(service_->stats().records_skipped, 3u);
  EXPECT_TRUE(log_.Contains("empty name"));
  EXPECT_TRUE(log_.Contains("name of 1025 bytes"));
  EXPECT_TRUE(log_.Contains("princhash of 5 bytes"));
}

TEST_F(TrackingServiceTest, LargeUploadIsBatchedAcrossLoopTurns) {
  for (int i = 0; i < 1000; ++i) store_.Insert(1, ClientRecord{"c" + std::to_string(i), "", {}, 0});
  TrackingServiceOptions opts;
  opts.upload_batch = 100;
  MakeService(opts);
  std::vector<CldMessage> out;
  service_->Handle(Up(CldCommand::kGraceStart), [&out](const CldMessage& r) { out.push_back(r); });
  store_.RunPending();
  EXPECT_EQ(out.size(), 100u);  // first batch only; the rest waits for the loop
  sched_.RunAll();
  ASSERT_EQ(out.size(), 1001u);
  EXPECT_EQ(out.back().status, 0);
}

// The upload reads the recovery epoch a page at a time (4096 records):
// across pages every record goes out once, in id order, and the count of
// clients that may reclaim is known when grace is noted as started.
TEST_F(TrackingServiceTest, UploadOfSeveralPagesSendsEveryRecordOnceInOrder) {
  constexpr int kRecords = 10000;
  for (int i = 0; i < kRecords; ++i) {
    store_.Insert(1, ClientRecord{StrCat("client-", 100000 + i), "", {}, 0});
  }
  MakeService();
  auto r = Call(Up(CldCommand::kGraceStart));
  ASSERT_EQ(r.size(), kRecords + 1u);
  for (int i = 0; i < kRecords; ++i) {
    ASSERT_EQ(r[i].name, StrCat("client-", 100000 + i)) << i;
    ASSERT_EQ(r[i].status, kCldEInProgress);
  }
  EXPECT_EQ(r.back().status, 0);
  EXPECT_EQ(service_->stats().records_uploaded, static_cast<uint64_t>(kRecords));
  EXPECT_EQ(service_->awaiting_reclaim(), static_cast<size_t>(kRecords));
  EXPECT_TRUE(log_.Contains(StrCat("grace started: ", kRecords, " clients may reclaim")));
  Create("client-100000");
  EXPECT_EQ(service_->awaiting_reclaim(), kRecords - 1u);
}

TEST_F(TrackingServiceTest, SecondRebootDuringGraceKeepsUnreclaimedClients) {
  MakeService();
  Create("a");
  Create("b");
  Call(Up(CldCommand::kGraceStart));  // reboot 1: recovery={a,b}
  Create("a");                        // a reclaims
  Create("new");                      // a new client during grace
  EXPECT_EQ(store_.epochs(), (Epochs{2, 1}));
  auto r = Call(Up(CldCommand::kGraceStart));  // reboot 2 during grace
  EXPECT_EQ(store_.epochs(), (Epochs{2, 1}));
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].name, "a");
  EXPECT_EQ(r[1].name, "b");  // b never reclaimed and is still allowed to
  EXPECT_EQ(store_.Count(2), 0u);
}

TEST_F(TrackingServiceTest, GraceDoneDropsUnreclaimedAndIsIdempotent) {
  MakeService();
  Create("a");
  Create("b");
  Call(Up(CldCommand::kGraceStart));
  Create("a");
  EXPECT_EQ(Status1(Up(CldCommand::kGraceDone)), 0);
  EXPECT_EQ(store_.epochs(), (Epochs{2, 0}));
  EXPECT_TRUE(store_.Has(2, "a"));
  EXPECT_EQ(store_.Count(1), 0u);
  EXPECT_EQ(Status1(Up(CldCommand::kGraceDone)), 0);  // second one: no-op
  EXPECT_TRUE(store_.Has(2, "a"));
  auto r = Call(Up(CldCommand::kGraceStart));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].name, "a");
}

TEST_F(TrackingServiceTest, EndsGraceEarlyWhenEveryUploadedClientRecreated) {
  MakeService();
  Create("a");
  Create("b");
  Call(Up(CldCommand::kGraceStart));
  Create("a");
  Create("stranger");  // not uploaded: does not count
  EXPECT_EQ(grace_.calls, 0);
  EXPECT_EQ(service_->awaiting_reclaim(), 1u);
  Create("b");
  EXPECT_EQ(grace_.calls, 1);
  Create("b");  // a repeat does not ask again
  EXPECT_EQ(grace_.calls, 1);
  ASSERT_TRUE(grace_.Finish(Status::Ok()));
  EXPECT_TRUE(log_.Contains("ending the grace period early"));
}

TEST_F(TrackingServiceTest, NoEarlyEndWhenDisabledOrUploadEmpty) {
  TrackingServiceOptions opts;
  opts.end_grace_early = false;
  MakeService(opts);
  Create("a");
  Call(Up(CldCommand::kGraceStart));
  Create("a");
  EXPECT_EQ(grace_.calls, 0);
  service_.reset();
  MakeService();
  Call(Up(CldCommand::kGraceDone));
  Call(Up(CldCommand::kGraceStart));  // empty upload: kernel skips grace itself
  Create("x");
  EXPECT_EQ(grace_.calls, 0);
}

// Cluster mode: the hold record comes last in every upload, is not a
// client, and the end is asked for once the real clients are done (at once
// when there are none), since nfsd itself will not end grace early.
TEST_F(TrackingServiceTest, GraceHoldRecordIsUploadedLastAndNeverAwaited) {
  TrackingServiceOptions opts;
  opts.grace_hold_id = ClusterGraceHoldId();
  MakeService(opts);
  Create("a");
  std::vector<CldMessage> up = Call(Up(CldCommand::kGraceStart));
  ASSERT_EQ(up.size(), 3u);  // a, the hold record, the final status
  EXPECT_EQ(up[0].name, "a");
  EXPECT_EQ(up[1].name, ClusterGraceHoldId());
  EXPECT_EQ(up[1].status, kCldEInProgress);
  EXPECT_EQ(up[2].status, 0);
  EXPECT_EQ(service_->awaiting_reclaim(), 1u);
  EXPECT_EQ(grace_.calls, 0);
  Create("a");
  EXPECT_EQ(grace_.calls, 1);
  ASSERT_TRUE(grace_.Finish(Status::Ok()));
}

TEST_F(TrackingServiceTest, GraceHoldWithNobodyToWaitForAsksForTheEndAfterTheUpload) {
  TrackingServiceOptions opts;
  opts.grace_hold_id = ClusterGraceHoldId();
  MakeService(opts);
  std::vector<CldMessage> up = Call(Up(CldCommand::kGraceStart));
  ASSERT_EQ(up.size(), 2u);
  EXPECT_EQ(up[0].name, ClusterGraceHoldId());
  EXPECT_EQ(grace_.calls, 1);
}

TEST_F(TrackingServiceTest, RestartDuringGraceRemembersWhoIsMissing) {
  store_.SetEpochs(Epochs{5, 4});
  store_.Insert(4, ClientRecord{"a", "", {}, 0});
  store_.Insert(4, ClientRecord{"b", "", {}, 0});
  store_.Insert(5, ClientRecord{"a", "", {}, 0});
  MakeService();
  EXPECT_EQ(service_->awaiting_reclaim(), 1u);
  Create("b");
  EXPECT_EQ(grace_.calls, 1);
}

TEST_F(TrackingServiceTest, UpcallsWaitForTheLoadAndRunInOrder) {
  store_.SetEpochs(Epochs{3, 2});
  store_.Insert(2, ClientRecord{"a", "", {}, 0});
  service_ =
      std::make_unique<TrackingService>(store_, grace_, sched_, log_, TrackingServiceOptions{});
  std::vector<CldMessage> out;
  CldMessage early = Up(CldCommand::kGetVersion);
  Send(early, &out);  // before Start: waits too
  bool started = false;
  service_->Start([&started](Status st) {
    EXPECT_OK(st);
    started = true;
  });
  CldMessage create = Up(CldCommand::kCreate, "a");
  CldMessage remove = Up(CldCommand::kRemove, "gone");
  Send(create, &out);
  Send(remove, &out);
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(started);
  EXPECT_EQ(service_->in_flight(), 3u);
  EXPECT_EQ(store_.mutations(), 0u);  // nothing reached the store yet
  EXPECT_NE(service_->StatusReport().find("loading"), std::string::npos);
  ASSERT_TRUE(store_.RunOne());  // the load
  EXPECT_TRUE(started);
  ASSERT_EQ(out.size(), 1u);  // GetVersion needs no store
  EXPECT_EQ(out[0].xid, early.xid);
  store_.RunPending();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1].xid, create.xid);
  EXPECT_EQ(out[2].xid, remove.xid);
  EXPECT_EQ(service_->in_flight(), 0u);
  // The load saw the open grace period: a's Create was the last reclaim.
  EXPECT_EQ(service_->awaiting_reclaim(), 0u);
  EXPECT_EQ(grace_.calls, 1);
}

TEST_F(TrackingServiceTest, FailedLoadAnswersUpcallsAsStoreFailures) {
  service_ =
      std::make_unique<TrackingService>(store_, grace_, sched_, log_, TrackingServiceOptions{});
  store_.FailNext(Status::Corruption("bad epochs"));  // fails the load
  std::optional<Status> started;
  service_->Start([&started](Status st) { started = st; });
  std::vector<CldMessage> out;
  Send(Up(CldCommand::kCreate, "waiting"), &out);
  store_.RunPending();
  ASSERT_TRUE(started.has_value());
  EXPECT_TRUE(started->IsCorruption()) << started->ToString();
  EXPECT_FALSE(service_->started());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].status, kCldERemoteIo);
  Send(Up(CldCommand::kCheck, "c", 1), &out);
  Send(Up(CldCommand::kGraceStart), &out);
  Send(Up(CldCommand::kGetVersion), &out);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[1].status, kCldEAcces);
  EXPECT_EQ(out[2].status, kCldERemoteIo);
  EXPECT_EQ(out[3].status, 0);
  EXPECT_EQ(out[3].max_version, 2);
  EXPECT_EQ(store_.mutations(), 0u);
  EXPECT_EQ(store_.pending(), 0u);
  EXPECT_EQ(service_->in_flight(), 0u);
  EXPECT_EQ(service_->stats().store_errors, 3u);
  EXPECT_TRUE(log_.Contains("cannot load the client records"));
  EXPECT_NE(service_->StatusReport().find("load failed"), std::string::npos);

  // Started again, it loads and serves.
  service_->Start([&started](Status st) { started = st; });
  store_.RunPending();
  EXPECT_OK(*started);
  EXPECT_EQ(Status1(Up(CldCommand::kCreate, "later")), 0);
}

TEST_F(TrackingServiceTest, CheckV0OpensGraceAndReclaims) {
  MakeService();
  Create("a");
  EXPECT_EQ(Status1(Up(CldCommand::kCheck, "a", 1)), 0);
  EXPECT_EQ(store_.epochs(), (Epochs{2, 1}));
  EXPECT_TRUE(store_.Has(2, "a"));
  EXPECT_EQ(Status1(Up(CldCommand::kCheck, "nobody", 1)), kCldEAcces);
  EXPECT_EQ(Status1(Up(CldCommand::kCheck, "a", 1)), 0);
}

TEST_F(TrackingServiceTest, UnknownCommandAndEmptyNames) {
  MakeService();
  CldMessage m = Up(CldCommand::kCreate);
  m.command = 9;
  EXPECT_EQ(Status1(m), kCldEOpNotSupp);
  EXPECT_TRUE(log_.Contains("unsupported upcall command 9"));
  EXPECT_EQ(Status1(Up(CldCommand::kCreate, "")), kCldEInval);
  EXPECT_EQ(Status1(Up(CldCommand::kRemove, "")), kCldEInval);
  EXPECT_EQ(store_.mutations(), 0u);
}

TEST_F(TrackingServiceTest, ConcurrentCreatesAnswerEachXidOnce) {
  MakeService();
  std::map<uint32_t, int> answers;
  std::vector<uint32_t> order;
  for (int i = 0; i < 50; ++i) {
    service_->Handle(Up(CldCommand::kCreate, "c" + std::to_string(i)), [&](const CldMessage& r) {
      answers[r.xid]++;
      order.push_back(r.xid);
    });
  }
  service_->Handle(Up(CldCommand::kGetVersion), [&](const CldMessage& r) {
    answers[r.xid]++;
    order.push_back(r.xid);
  });
  ASSERT_EQ(order.size(), 1u);  // GetVersion overtakes the pending Creates
  EXPECT_EQ(order[0], 51u);
  store_.RunPending();
  EXPECT_EQ(answers.size(), 51u);
  for (auto& [xid, n] : answers) EXPECT_EQ(n, 1) << xid;
}

TEST_F(TrackingServiceTest, CompletionsAfterDestructionAreDropped) {
  MakeService();
  int replies = 0;
  service_->Handle(Up(CldCommand::kCreate, "a"), [&](const CldMessage&) { ++replies; });
  service_.reset();
  store_.RunPending();
  EXPECT_EQ(replies, 0);
}

// Reconciliation, driven by a fake /proc tree read with the real scanner.
class ReconcileTest : public TrackingServiceTest {
 protected:
  void SetUp() override { fs_.MakeDir(kNfsdClientsDir); }
  // The service (a base member) goes before the source (ours).
  void TearDown() override { service_.reset(); }
  void Client(int id, const std::string& status, const std::string& quoted_name, bool states,
              int minor = 0) {
    std::string dir = StrCat(kNfsdClientsDir, "/", id);
    fs_.SetFile(dir + "/info",
                StrCat("clientid: 0x", id, "\naddress: \"10.0.0.2:700\"\n", "status: ", status,
                       "\nseconds from last renew: 1\n", "name: ", quoted_name,
                       "\nminor version: ", minor, "\ncallback state: UP\n"));
    fs_.SetFile(dir + "/states", states ? "- 0x1: { type: open, access: rw }\n" : "");
  }
  // Runs a reconciliation and settles the store.
  void Reconcile() {
    service_->ReconcileNow();
    for (int i = 0; i < 10; ++i) {
      sched_.RunAll();
      store_.RunPending();
    }
  }
  FakeFileSystem fs_;
  std::unique_ptr<FakeLiveClientSource> source_ =
      std::make_unique<FakeLiveClientSource>(sched_, fs_);
};

TEST_F(ReconcileTest, MissingListBeforeNfsdsFirstUpcallIsNoWarningAfterItIsOne) {
  MakeService();
  service_->EnableReconcile(*source_, Duration::zero());
  fs_.Remove(kNfsdClientsDir);
  Reconcile();
  EXPECT_FALSE(log_.Contains("cannot read the kernel's client list"));
  std::vector<CldMessage> replies;
  Send(Up(CldCommand::kGetVersion), &replies);
  Reconcile();
  EXPECT_EQ(replies.size(), 1u);
  EXPECT_TRUE(log_.Contains("cannot read the kernel's client list (kernel before 5.3?)"));
}

TEST_F(ReconcileTest, RecordsConfirmedAndCourtesyClientsHoldingState) {
  MakeService();
  service_->EnableReconcile(*source_, Duration::zero());
  Client(1, "confirmed", "\"Linux NFSv4.0 a/10.0.0.2 tcp\"", true);
  Client(2, "courtesy", "\"q\\x22uote\\x5c \\xff\"", true, 1);
  Client(3, "unconfirmed", "\"unconf\"", true);
  Client(4, "confirmed", "\"nostate\"", false);
  Client(5, "confirmed", "\"bad\\q\"", true);
  Client(6, "expirable", "\"expiring\"", true);
  Reconcile();
  EXPECT_TRUE(store_.Has(1, "Linux NFSv4.0 a/10.0.0.2 tcp"));
  EXPECT_TRUE(store_.Has(1, "q\"uote\\ \xff"));
  EXPECT_EQ(store_.Count(1), 2u);
  EXPECT_EQ(service_->stats().reconcile_added, 2u);
  EXPECT_EQ(service_->stats().reconcile_last_seen, 5u);  // the bad name is not listed
  for (const ClientRecord& r : store_.Records(1)) {
    EXPECT_EQ(r.has_session, r.id != "Linux NFSv4.0 a/10.0.0.2 tcp");
  }
  EXPECT_NE(service_->StatusReport().find("clients added 2"), std::string::npos)
      << service_->StatusReport();
  EXPECT_TRUE(log_.Contains("reconciliation: 5 live clients, 2 records added"));
}

TEST_F(ReconcileTest, ExistingRecordIsNotWrittenAndNothingIsRemoved) {
  MakeService();
  service_->EnableReconcile(*source_, Duration::zero());
  Create("have", kHash);
  Create("not-live");
  Client(1, "confirmed", "\"have\"", true);
  const uint64_t before = store_.mutations();
  Reconcile();
  EXPECT_EQ(store_.mutations(), before);  // no write at all
  EXPECT_TRUE(store_.Has(1, "not-live"));
  for (const ClientRecord& r : store_.Records(1)) {
    if (r.id == "have") {
      EXPECT_EQ(r.princhash, kHash);  // not overwritten
    }
  }
  // A second run adds nothing either.
  Client(2, "confirmed", "\"new\"", true);
  Reconcile();
  EXPECT_EQ(store_.mutations(), before + 1);
  Reconcile();
  EXPECT_EQ(store_.mutations(), before + 1);
  EXPECT_EQ(service_->stats().reconcile_added, 1u);
}

TEST_F(ReconcileTest, SkippedInGraceAndRunAfterGraceDone) {
  MakeService();
  service_->EnableReconcile(*source_, Duration::zero());
  Create("old");
  ASSERT_EQ(Call(Up(CldCommand::kGraceStart)).back().status, 0);  // uploads "old"
  Client(1, "confirmed", "\"old\"", true);  // reclaimed with CLAIM_PREVIOUS: no Create
  Reconcile();
  EXPECT_EQ(service_->stats().reconcile_skipped_in_grace, 1u);
  EXPECT_FALSE(store_.Has(store_.epochs().current, "old"));
  const int scans = source_->scans;
  EXPECT_EQ(Status1(Up(CldCommand::kGraceDone)), 0);  // starts a run by itself
  for (int i = 0; i < 10; ++i) {
    sched_.RunAll();
    store_.RunPending();
  }
  EXPECT_EQ(source_->scans, scans + 1);
  EXPECT_TRUE(store_.Has(store_.epochs().current, "old"));
  EXPECT_EQ(store_.epochs().recovery, 0u);
}

TEST_F(ReconcileTest, RemoveDuringScanWinsAndStoreFailureIsCounted) {
  MakeService();
  service_->EnableReconcile(*source_, Duration::zero());
  Client(1, "confirmed", "\"leaving\"", true);
  Client(2, "confirmed", "\"stays\"", true);
  service_->ReconcileNow();                                   // scan result waits in the scheduler
  EXPECT_EQ(Status1(Up(CldCommand::kRemove, "leaving")), 0);  // also runs the scan result
  store_.RunPending();
  EXPECT_FALSE(store_.Has(1, "leaving"));
  EXPECT_TRUE(store_.Has(1, "stays"));
  Client(0, "confirmed", "\"fails\"", true);  // listed first: it takes the failure
  store_.FailNext(Status::IOError("disk"));
  Reconcile();
  EXPECT_FALSE(store_.Has(1, "fails"));
  EXPECT_EQ(service_->stats().store_errors, 1u);
  Reconcile();  // tried again next time
  EXPECT_TRUE(store_.Has(1, "fails"));
}

TEST_F(ReconcileTest, WaitsForTheLoad) {
  store_.Insert(1, ClientRecord{"have", kHash, {}, 0});
  service_ =
      std::make_unique<TrackingService>(store_, grace_, sched_, log_, TrackingServiceOptions{});
  service_->EnableReconcile(*source_, Duration::zero());
  Client(1, "confirmed", "\"have\"", true);
  Client(2, "confirmed", "\"new\"", true);
  service_->ReconcileNow();  // before Start: the loaded ids are not known yet
  sched_.RunAll();
  EXPECT_EQ(source_->scans, 0);
  service_->Start([](Status st) { EXPECT_OK(st); });
  for (int i = 0; i < 10; ++i) {
    store_.RunPending();
    sched_.RunAll();
  }
  EXPECT_EQ(source_->scans, 1);
  EXPECT_EQ(service_->stats().reconcile_added, 1u);  // "have" is not rewritten
  EXPECT_EQ(store_.Records(1)[0].princhash, kHash);
  EXPECT_TRUE(store_.Has(1, "new"));
}

// Enabled before Start (as the daemon does): the first run comes once the
// records are loaded, without waiting for the interval.
TEST_F(ReconcileTest, FirstRunOnceLoadedWhenEnabledBeforeStart) {
  store_.Insert(1, ClientRecord{"have", kHash, {}, 0});
  service_ =
      std::make_unique<TrackingService>(store_, grace_, sched_, log_, TrackingServiceOptions{});
  service_->EnableReconcile(*source_, Duration::zero());  // no periodic timer at all
  Client(1, "confirmed", "\"have\"", true);
  Client(2, "confirmed", "\"live at the switch\"", true);
  EXPECT_EQ(source_->scans, 0);  // nothing before the load
  service_->Start([](Status st) { EXPECT_OK(st); });
  store_.RunPending();  // the load completes and starts the first scan
  EXPECT_EQ(source_->scans, 1);
  sched_.RunAll();  // its answer
  store_.RunPending();
  EXPECT_TRUE(store_.Has(1, "live at the switch"));
  EXPECT_EQ(service_->stats().reconcile_added, 1u);  // "have" is not rewritten
  EXPECT_EQ(store_.Records(1)[0].princhash, kHash);
  EXPECT_EQ(source_->scans, 1);  // once, not again
}

// Enabled on a service already started: no extra run, the timer decides.
TEST_F(ReconcileTest, EnabledAfterStartWaitsForTheInterval) {
  MakeService();
  Client(1, "confirmed", "\"c\"", true);
  service_->EnableReconcile(*source_, std::chrono::seconds(90));
  store_.RunPending();
  EXPECT_EQ(source_->scans, 0);
  EXPECT_EQ(sched_.PendingDelays(), std::vector<Duration>{std::chrono::seconds(90)});
}

TEST_F(ReconcileTest, PeriodicTimer) {
  MakeService();
  service_->EnableReconcile(*source_, std::chrono::seconds(90));
  Client(1, "confirmed", "\"p\"", true);
  // ManualScheduler runs timers regardless of time: the first fires, and the
  // run re-arms it, so bound the turns.
  for (int i = 0; i < 3; ++i) {
    sched_.RunOneForTest();
    store_.RunPending();
  }
  EXPECT_GE(source_->scans, 1);
  EXPECT_TRUE(store_.Has(1, "p"));
}

// nfsd's lease is written when nfsd starts, usually after the daemon read
// it: the interval follows what the scans report, only when asked to.
TEST_F(ReconcileTest, IntervalFollowsTheLeaseAScanReports) {
  for (bool follow : {true, false}) {
    SCOPED_TRACE(follow);
    MakeService();
    service_->EnableReconcile(*source_, std::chrono::seconds(90), follow);
    ASSERT_EQ(sched_.PendingDelays(), std::vector<Duration>{std::chrono::seconds(90)});
    source_->lease = 15;
    sched_.RunOneForTest();  // the periodic run starts a scan
    sched_.RunOneForTest();  // its answer arrives and re-arms the timer
    store_.RunPending();
    EXPECT_EQ(source_->scans, 1);
    EXPECT_EQ(sched_.PendingDelays(),
              std::vector<Duration>{std::chrono::seconds(follow ? 15 : 90)});
    source_->lease.reset();
    source_->scans = 0;
    service_.reset();
    sched_.RunAll();
  }
}

// nfsrecctl expire client, store side (RemoveRecord).
std::optional<Status> RemoveRecordOf(TrackingService& s, MemClientStore& store,
                                     ManualScheduler& sched, const std::string& id) {
  std::optional<Status> out;
  s.RemoveRecord(id, [&out](Status st) { out = st; });
  EXPECT_FALSE(out.has_value()) << "answered inline";
  store.RunPending();
  sched.RunAll();
  return out;
}

TEST_F(TrackingServiceTest, RemoveRecordDeletesACurrentRecordDurablyFirst) {
  MakeService();
  Create("c1");
  Create("c2");
  std::optional<Status> out;
  service_->RemoveRecord("c1", [&out](Status st) { out = st; });
  EXPECT_FALSE(out.has_value());
  store_.RunPending();
  ASSERT_TRUE(out.has_value());
  ASSERT_OK(*out);
  EXPECT_FALSE(store_.Has(store_.epochs().current, "c1"));
  EXPECT_TRUE(store_.Has(store_.epochs().current, "c2"));
  EXPECT_TRUE(log_.Contains("cld: client \"c1\": record removed from the store"));
  // Gone now: a second request finds nothing.
  out = RemoveRecordOf(*service_, store_, sched_, "c1");
  ASSERT_TRUE(out.has_value());
  EXPECT_TRUE(out->IsNotFound()) << out->ToString();
}

TEST_F(TrackingServiceTest, RemoveRecordOfAnUnknownClientIsNotFound) {
  MakeService();
  Create("c1");
  const uint64_t mutations = store_.mutations();
  std::optional<Status> out = RemoveRecordOf(*service_, store_, sched_, "nobody");
  ASSERT_TRUE(out.has_value());
  EXPECT_TRUE(out->IsNotFound());
  EXPECT_EQ(store_.mutations(), mutations);
}

TEST_F(TrackingServiceTest, RemoveRecordOfAClientThatMayStillReclaimIsBusy) {
  store_.Insert(1, Rec("old"));
  MakeService();
  Call(Up(CldCommand::kGraceStart));
  std::optional<Status> out = RemoveRecordOf(*service_, store_, sched_, "old");
  ASSERT_TRUE(out.has_value());
  EXPECT_TRUE(out->IsBusy()) << out->ToString();
  EXPECT_TRUE(store_.Has(1, "old"));
}

TEST_F(TrackingServiceTest, RemoveRecordStoreFailureKeepsTheRecordKnown) {
  MakeService();
  Create("c1");
  store_.FailNext(Status::IOError("disk full"));
  std::optional<Status> out = RemoveRecordOf(*service_, store_, sched_, "c1");
  ASSERT_TRUE(out.has_value());
  EXPECT_TRUE(out->IsIOError());
  EXPECT_TRUE(store_.Has(store_.epochs().current, "c1"));
  out = RemoveRecordOf(*service_, store_, sched_, "c1");  // still known: tried again
  ASSERT_TRUE(out.has_value());
  ASSERT_OK(*out);
  EXPECT_FALSE(store_.Has(store_.epochs().current, "c1"));
}

TEST_F(TrackingServiceTest, RemoveRecordBeforeTheLoadIsUnavailable) {
  service_ =
      std::make_unique<TrackingService>(store_, grace_, sched_, log_, TrackingServiceOptions{});
  std::optional<Status> out;
  service_->RemoveRecord("c1", [&out](Status st) { out = st; });
  EXPECT_FALSE(out.has_value());
  sched_.RunAll();
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->code(), Status::Code::kUnavailable);
}

}  // namespace
}  // namespace nfsrec::nfs4rec
