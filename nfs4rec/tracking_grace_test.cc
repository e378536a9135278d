// Grace bookkeeping (TrackingService::grace_report) and the recovery events
// in the log: grace started, each reclaim, grace ended and why.
#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "nfs4rec/tracking_service.h"
#include "tests/support/fake_file_system.h"
#include "tests/support/fake_grace_control.h"
#include "tests/support/fake_live_client_source.h"
#include "tests/support/fake_scheduler.h"
#include "tests/support/mem_client_store.h"
#include "tests/support/status_matchers.h"
#include <gtest/gtest.h>

namespace nfsrec::nfs4rec {
namespace {

ClientRecord Rec(const std::string& id, bool lease_expired = false) {
  ClientRecord r;
  r.id = id;
  r.lease_expired = lease_expired;
  return r;
}

using std::chrono::seconds;

class TrackingGraceTest : public ::testing::Test {
 protected:
  void MakeService(TrackingServiceOptions opts = {}) {
    service_ = std::make_unique<TrackingService>(store_, grace_, sched_, log_, opts);
    std::optional<Status> started;
    service_->Start([&started](Status st) { started = st; });
    Settle();
    ASSERT_TRUE(started.has_value());
    ASSERT_OK(*started);
  }
  void Settle() {
    for (int i = 0; i < 100 && store_.pending() > 0; ++i) {
      store_.RunPending();
      sched_.Advance(Duration::zero());
    }
    sched_.Advance(Duration::zero());
  }
  std::vector<CldMessage> Call(CldCommand cmd, std::string name = "", uint8_t version = 2) {
    CldMessage m;
    m.version = version;
    m.command = static_cast<uint8_t>(cmd);
    m.xid = next_xid_++;
    m.name = std::move(name);
    std::vector<CldMessage> out;
    service_->Handle(m, [&out](const CldMessage& r) { out.push_back(r); });
    Settle();
    return out;
  }
  // Records in the current epoch, then a GraceStart that uploads them.
  void StartGraceWith(const std::vector<std::string>& ids, Duration kernel_grace = seconds(90),
                      const std::vector<std::string>& expired = {}) {
    for (const std::string& id : ids) store_.Insert(store_.epochs().current, Rec(id));
    for (const std::string& id : expired) store_.Insert(store_.epochs().current, Rec(id, true));
    uploads_.clear();
    auto r = Call(CldCommand::kGraceStart);
    ASSERT_FALSE(r.empty());
    EXPECT_EQ(r.back().status, 0);
    for (const CldMessage& m : r) {
      if (m.status == kCldEInProgress) uploads_.push_back(m.name);
    }
    ASSERT_TRUE(grace_.AnswerGraceTime(kernel_grace));
  }
  std::vector<std::string> Lines(LogLevel level, const std::string& needle) const {
    std::vector<std::string> out;
    for (const auto& [l, text] : log_.lines()) {
      if (l == level && text.find(needle) != std::string::npos) out.push_back(text);
    }
    return out;
  }
  size_t NoticeCount() const {
    return std::count_if(log_.lines().begin(), log_.lines().end(),
                         [](const auto& l) { return l.first == LogLevel::kNotice; });
  }

  MemClientStore store_;
  FakeGraceControl grace_;
  FakeScheduler sched_;
  CapturingLogger log_;
  std::unique_ptr<TrackingService> service_;
  uint32_t next_xid_ = 1;
  std::vector<std::string> uploads_;  // names sent by the last StartGraceWith
};

TEST_F(TrackingGraceTest, GraceStartLogsOneNoticeWithCountsAndEpochs) {
  MakeService();
  StartGraceWith({"a", "b", "c"});
  auto lines = Lines(LogLevel::kNotice, "cld: grace started");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "cld: grace started: 3 clients may reclaim from epoch 1; current epoch 2");
  GraceReport g = service_->grace_report();
  EXPECT_TRUE(g.in_grace);
  EXPECT_EQ(g.recovery_epoch, 1u);
  EXPECT_EQ(g.current_epoch, 2u);
  EXPECT_EQ(g.may_reclaim, 3u);
  EXPECT_EQ(g.reclaimed, 0u);
  ASSERT_TRUE(g.started_at.has_value());
  EXPECT_EQ(*g.started_at, sched_.Now());
  ASSERT_TRUE(g.kernel_grace_time.has_value());
  EXPECT_EQ(*g.kernel_grace_time, seconds(90));
  EXPECT_FALSE(g.last_ended.has_value());
}

TEST_F(TrackingGraceTest, EachReclaimIsOneDebugLineAndCounted) {
  MakeService();
  StartGraceWith({"Linux NFSv4.2 host1", std::string("\x01\x02\xff", 3), "c"});
  EXPECT_EQ(Call(CldCommand::kCreate, "Linux NFSv4.2 host1").back().status, 0);
  EXPECT_EQ(Call(CldCommand::kCreate, std::string("\x01\x02\xff", 3)).back().status, 0);
  // A client that was not uploaded is no reclaim.
  EXPECT_EQ(Call(CldCommand::kCreate, "new").back().status, 0);
  auto lines = Lines(LogLevel::kDebug, "cld: reclaim:");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "cld: reclaim: client \"Linux NFSv4.2 host1\" (1 of 3)");
  EXPECT_EQ(lines[1], "cld: reclaim: client hex:0102ff (2 of 3)");
  EXPECT_EQ(service_->grace_report().reclaimed, 2u);
  EXPECT_EQ(service_->grace_report().may_reclaim, 3u);
}

TEST_F(TrackingGraceTest, ReclaimLineTruncatesLongIds) {
  MakeService();
  const std::string text(100, 'x');
  const std::string binary(100, '\0');
  StartGraceWith({text, binary});
  Call(CldCommand::kCreate, text);
  Call(CldCommand::kCreate, binary);
  auto lines = Lines(LogLevel::kDebug, "cld: reclaim:");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], StrCat("cld: reclaim: client \"", std::string(64, 'x'), "...\" (1 of 2)"));
  EXPECT_EQ(lines[1], StrCat("cld: reclaim: client hex:", std::string(96, '0'), "... (2 of 2)"));
}

TEST_F(TrackingGraceTest, AllReclaimedEndsEarlyAndSaysSo) {
  MakeService();
  StartGraceWith({"a", "b"});
  sched_.Advance(seconds(14));
  Call(CldCommand::kCreate, "a");
  Call(CldCommand::kCreate, "b");
  ASSERT_EQ(grace_.calls, 1);  // the early end was asked for
  ASSERT_TRUE(grace_.Finish(Status::Ok()));
  const size_t notices = NoticeCount();
  Call(CldCommand::kGraceDone);
  EXPECT_EQ(NoticeCount(), notices + 1);
  auto lines = Lines(LogLevel::kNotice, "cld: grace ended");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0],
            "cld: grace ended (all reclaimed) after 14 s: 0 of 2 clients that may reclaim did not "
            "come back; recovery epoch 1 dropped (2 records)");
  GraceReport g = service_->grace_report();
  EXPECT_FALSE(g.in_grace);
  EXPECT_EQ(g.recovery_epoch, 0u);
  ASSERT_TRUE(g.last_ended.has_value());
  EXPECT_EQ(g.last_ended->reason, GraceEndReason::kAllReclaimed);
  EXPECT_STREQ(GraceEndReasonName(g.last_ended->reason), "all-reclaimed");
  ASSERT_TRUE(g.last_ended->duration.has_value());
  EXPECT_EQ(*g.last_ended->duration, seconds(14));
  EXPECT_EQ(g.last_ended->may_reclaim, 2u);
  EXPECT_EQ(g.last_ended->reclaimed, 2u);
  EXPECT_EQ(g.last_ended->not_returned, 0u);
  EXPECT_EQ(g.last_ended->recovery_epoch, 1u);
}

TEST_F(TrackingGraceTest, KernelsOwnEarlyEndWithoutOursIsAllReclaimed) {
  TrackingServiceOptions opts;
  opts.end_grace_early = false;
  MakeService(opts);
  StartGraceWith({"a"});
  Call(CldCommand::kCreate, "a");
  EXPECT_EQ(grace_.calls, 0);
  Call(CldCommand::kGraceDone);
  EXPECT_EQ(service_->grace_report().last_ended->reason, GraceEndReason::kAllReclaimed);
}

TEST_F(TrackingGraceTest, EmptyUploadEndIsAllReclaimed) {
  MakeService();
  StartGraceWith({});
  Call(CldCommand::kGraceDone);
  auto lines = Lines(LogLevel::kNotice, "cld: grace ended");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0],
            "cld: grace ended (all reclaimed) after 0 s: 0 of 0 clients that may reclaim did not "
            "come back; recovery epoch 1 dropped (0 records)");
}

TEST_F(TrackingGraceTest, GraceDoneAfterTheKernelsGraceTimeIsTheTimer) {
  MakeService();
  StartGraceWith({"a", "b", "c"}, seconds(90));
  Call(CldCommand::kCreate, "a");
  sched_.Advance(seconds(90));
  Call(CldCommand::kGraceDone);
  auto lines = Lines(LogLevel::kNotice, "cld: grace ended");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0],
            "cld: grace ended (timer) after 90 s: 2 of 3 clients that may reclaim did not come "
            "back; recovery epoch 1 dropped (3 records)");
  GraceReport g = service_->grace_report();
  EXPECT_EQ(g.last_ended->reason, GraceEndReason::kTimer);
  EXPECT_EQ(g.last_ended->not_returned, 2u);
  EXPECT_EQ(g.last_ended->reclaimed, 1u);
}

TEST_F(TrackingGraceTest, TimerEndWithinOneSecondOfTheGraceTimeIsStillTheTimer) {
  MakeService();
  StartGraceWith({"a"}, seconds(10));
  sched_.Advance(std::chrono::milliseconds(9200));
  Call(CldCommand::kGraceDone);
  EXPECT_EQ(service_->grace_report().last_ended->reason, GraceEndReason::kTimer);
}

TEST_F(TrackingGraceTest, GraceDoneBeforeTheGraceTimeWithClientsMissingIsAdmin) {
  MakeService();
  StartGraceWith({"a", "b"}, seconds(90));
  sched_.Advance(seconds(30));
  Call(CldCommand::kGraceDone);
  EXPECT_EQ(grace_.calls, 0);  // not ours
  auto lines = Lines(LogLevel::kNotice, "cld: grace ended");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0],
            "cld: grace ended (admin) after 30 s: 2 of 2 clients that may reclaim did not come "
            "back; recovery epoch 1 dropped (2 records)");
  EXPECT_STREQ(GraceEndReasonName(service_->grace_report().last_ended->reason), "admin");
}

TEST_F(TrackingGraceTest, UnknownGraceTimeCannotTellTimerFromAdmin) {
  MakeService();
  StartGraceWith({"a"});
  // A second GraceStart (nfsd restarted during grace) forgets the first
  // one's grace time; this one's cannot be read.
  Call(CldCommand::kGraceStart);
  ASSERT_TRUE(grace_.AnswerGraceTime(Status::NotFound("no nfsv4gracetime")));
  sched_.Advance(seconds(200));
  Call(CldCommand::kGraceDone);
  auto lines = Lines(LogLevel::kNotice, "cld: grace ended");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0],
            "cld: grace ended (timer or admin) after 200 s: 1 of 1 clients that may reclaim did "
            "not come back; recovery epoch 1 dropped (1 records)");
  EXPECT_EQ(service_->grace_report().last_ended->reason, GraceEndReason::kUnknown);
}

TEST_F(TrackingGraceTest, SecondGraceStartDuringGraceSaysSoAndRestartsTheClock) {
  MakeService();
  StartGraceWith({"a", "b"});
  sched_.Advance(seconds(5));
  Call(CldCommand::kGraceStart);
  grace_.AnswerGraceTime(Duration(seconds(90)));
  auto lines = Lines(LogLevel::kNotice, "cld: grace started");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1],
            "cld: grace started: 2 clients may reclaim from epoch 1; current epoch 2 (grace still "
            "open from the previous start)");
  EXPECT_EQ(*service_->grace_report().started_at, sched_.Now());
}

TEST_F(TrackingGraceTest, SecondGraceDoneLogsNoNewNotice) {
  MakeService();
  StartGraceWith({"a"});
  Call(CldCommand::kGraceDone);
  const size_t notices = NoticeCount();
  const GraceReport before = service_->grace_report();
  sched_.Advance(seconds(1));
  auto r = Call(CldCommand::kGraceDone);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 0);
  EXPECT_EQ(NoticeCount(), notices);
  EXPECT_EQ(Lines(LogLevel::kNotice, "cld: grace ended").size(), 1u);
  // The last ended grace is still the first one.
  GraceReport after = service_->grace_report();
  ASSERT_TRUE(after.last_ended.has_value());
  EXPECT_EQ(after.last_ended->ended_at, before.last_ended->ended_at);
}

TEST_F(TrackingGraceTest, RestartDuringGraceKnowsCountsButNotTheStart) {
  store_.SetEpochs(Epochs{5, 4});
  store_.Insert(4, Rec("a"));
  store_.Insert(4, Rec("b"));
  store_.Insert(5, Rec("a"));
  MakeService();
  GraceReport g = service_->grace_report();
  EXPECT_TRUE(g.in_grace);
  EXPECT_FALSE(g.started_at.has_value());
  EXPECT_EQ(g.may_reclaim, 2u);
  EXPECT_EQ(g.reclaimed, 1u);
  sched_.Advance(seconds(30));
  Call(CldCommand::kGraceDone);
  auto lines = Lines(LogLevel::kNotice, "cld: grace ended");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0],
            "cld: grace ended (timer or admin) after an unknown time (grace began before this "
            "start): 1 of 2 clients that may reclaim did not come back; recovery epoch 4 dropped "
            "(2 records)");
  EXPECT_FALSE(service_->grace_report().last_ended->duration.has_value());
}

TEST_F(TrackingGraceTest, V0CheckOpensGraceAndCountsReclaims) {
  store_.Insert(1, Rec("a"));
  store_.Insert(1, Rec("b"));
  MakeService();
  EXPECT_EQ(Call(CldCommand::kCheck, "a", 1).back().status, 0);
  auto started = Lines(LogLevel::kNotice, "cld: grace started");
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0],
            "cld: grace started: clients may reclaim from epoch 1; current epoch 2 (kernel "
            "without GraceStart: opened by a Check)");
  EXPECT_EQ(Call(CldCommand::kCheck, "a", 1).back().status, 0);  // already current: no reclaim
  EXPECT_EQ(Lines(LogLevel::kDebug, "cld: reclaim:").size(), 1u);
  GraceReport g = service_->grace_report();
  EXPECT_FALSE(g.may_reclaim_known);
  EXPECT_EQ(g.reclaimed, 1u);
  Call(CldCommand::kGraceDone, "", 1);
  auto ended = Lines(LogLevel::kNotice, "cld: grace ended");
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0],
            "cld: grace ended (timer or admin) after 0 s: 1 clients reclaimed (the kernel did not "
            "say how many may); recovery epoch 1 dropped (2 records)");
}

// ---------------------------------------------------------------- hooks
// GraceControl::GraceStarted / GraceEnded: when TrackingService calls them.

TEST_F(TrackingGraceTest, GraceStartedHookComesAfterTheAnswerWithTheOfferedCount) {
  MakeService();
  for (const char* id : {"a", "b", "c"}) store_.Insert(store_.epochs().current, Rec(id));
  store_.Insert(store_.epochs().current, Rec("gone", true));
  CldMessage m;
  m.version = 2;
  m.command = static_cast<uint8_t>(CldCommand::kGraceStart);
  m.xid = 77;
  std::vector<std::string> seen;
  service_->Handle(m, [&](const CldMessage& r) {
    if (r.status != kCldEInProgress) seen = grace_.events;  // at the final answer
  });
  Settle();
  EXPECT_TRUE(seen.empty());  // not yet when the answer was sent
  EXPECT_EQ(grace_.events, (std::vector<std::string>{"started 3"}));
  Call(CldCommand::kCreate, "a");
  EXPECT_EQ(grace_.events.size(), 1u);  // a reclaim is no notice
}

TEST_F(TrackingGraceTest, EmptyUploadReportsZeroOffered) {
  MakeService();
  StartGraceWith({});
  EXPECT_EQ(grace_.events, (std::vector<std::string>{"started 0"}));
}

TEST_F(TrackingGraceTest, GraceEndedHookOnEveryGraceDoneEvenOutsideGrace) {
  MakeService();
  StartGraceWith({"a"});
  Call(CldCommand::kCreate, "a");
  ASSERT_TRUE(grace_.Finish(Status::Ok()));
  EXPECT_EQ(grace_.events, (std::vector<std::string>{"started 1"}));  // EndGrace is no end yet
  Call(CldCommand::kGraceDone);
  Call(CldCommand::kGraceDone);  // an older kernel's second one
  EXPECT_EQ(grace_.events, (std::vector<std::string>{"started 1", "ended", "ended"}));
}

TEST_F(TrackingGraceTest, GraceEndedHookEvenWhenTheStoreFailsGraceDone) {
  MakeService();
  StartGraceWith({"a"});
  store_.FailNext(Status::IOError("disk gone"));
  auto r = Call(CldCommand::kGraceDone);
  ASSERT_FALSE(r.empty());
  EXPECT_NE(r.back().status, 0);
  EXPECT_EQ(grace_.events, (std::vector<std::string>{"started 1", "ended"}));
}

TEST_F(TrackingGraceTest, GraceOpenedByACheckReportsAnUnknownOfferedCount) {
  store_.Insert(1, Rec("a"));
  MakeService();
  EXPECT_EQ(Call(CldCommand::kCheck, "a", 1).back().status, 0);
  EXPECT_EQ(grace_.events, (std::vector<std::string>{"started unknown"}));
}

TEST_F(TrackingGraceTest, SecondGraceStartReportsStartedAgain) {
  MakeService();
  StartGraceWith({"a", "b"});
  StartGraceWith({});
  ASSERT_EQ(grace_.events.size(), 2u);
  EXPECT_EQ(grace_.events[0], "started 2");
  EXPECT_EQ(grace_.events[1].substr(0, 8), "started ");
}

// ---------------------------------------------------------------- grace length
// Who is offered at GraceStart (ClientRecord::lease_expired), GraceDone
// idempotence, EBUSY from v4_end_grace, and the counts of "grace ended".

TEST_F(TrackingGraceTest, GraceStartLeavesOutRecordsWhoseLeaseHadExpired) {
  MakeService();
  StartGraceWith({"a"}, seconds(90), {"gone1", "gone2"});
  EXPECT_EQ(uploads_, std::vector<std::string>{"a"});
  auto lines = Lines(LogLevel::kNotice, "cld: grace started");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0],
            "cld: grace started: 1 clients may reclaim from epoch 1, 2 not offered (expired "
            "before the reboot); current epoch 2");
  GraceReport g = service_->grace_report();
  EXPECT_EQ(g.may_reclaim, 1u);
  EXPECT_EQ(g.not_offered, 2u);
  // They stay in the recovery epoch until grace ends.
  EXPECT_TRUE(store_.Has(1, "gone1"));
  EXPECT_TRUE(store_.Has(1, "gone2"));
  // The one offered client is all grace waits for.
  Call(CldCommand::kCreate, "a");
  EXPECT_EQ(grace_.calls, 1);
  ASSERT_TRUE(grace_.Finish(Status::Ok()));
  Call(CldCommand::kGraceDone);
  lines = Lines(LogLevel::kNotice, "cld: grace ended");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0],
            "cld: grace ended (all reclaimed) after 0 s: 0 of 1 clients that may reclaim did not "
            "come back, 2 not offered (expired before the reboot); recovery epoch 1 dropped (3 "
            "records)");
  g = service_->grace_report();
  EXPECT_EQ(g.not_offered, 0u);
  ASSERT_TRUE(g.last_ended.has_value());
  EXPECT_EQ(g.last_ended->reason, GraceEndReason::kAllReclaimed);
  EXPECT_EQ(g.last_ended->not_offered, 2u);
  EXPECT_EQ(g.last_ended->not_returned, 0u);
}

TEST_F(TrackingGraceTest, GraceUploadExpiredOffersEveryRecordAsBefore) {
  TrackingServiceOptions opts;
  opts.upload_expired = true;
  MakeService(opts);
  StartGraceWith({"a"}, seconds(90), {"gone"});
  std::sort(uploads_.begin(), uploads_.end());
  EXPECT_EQ(uploads_, (std::vector<std::string>{"a", "gone"}));
  EXPECT_EQ(service_->grace_report().not_offered, 0u);
  Call(CldCommand::kCreate, "a");
  EXPECT_EQ(grace_.calls, 0);  // "gone" may still come back
  EXPECT_EQ(service_->awaiting_reclaim(), 1u);
}

TEST_F(TrackingGraceTest, OnlyOfferedClientsHoldGraceOpen) {
  MakeService();
  StartGraceWith({}, seconds(90), {"gone"});
  EXPECT_TRUE(uploads_.empty());
  // nfsd skips grace on an empty upload; its GraceDone follows.
  Call(CldCommand::kGraceDone);
  auto lines = Lines(LogLevel::kNotice, "cld: grace ended");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0],
            "cld: grace ended (all reclaimed) after 0 s: 0 of 0 clients that may reclaim did not "
            "come back, 1 not offered (expired before the reboot); recovery epoch 1 dropped (1 "
            "records)");
}

TEST_F(TrackingGraceTest, RestartDuringGraceKnowsWhoWasNotOffered) {
  store_.SetEpochs(Epochs{5, 4});
  store_.Insert(4, Rec("a"));
  store_.Insert(4, Rec("gone", true));
  MakeService();
  GraceReport g = service_->grace_report();
  EXPECT_EQ(g.may_reclaim, 1u);
  EXPECT_EQ(g.not_offered, 1u);
  EXPECT_EQ(service_->awaiting_reclaim(), 1u);
  Call(CldCommand::kCreate, "a");
  EXPECT_EQ(grace_.calls, 1);  // the early end does not wait for "gone"
}

TEST_F(TrackingGraceTest, ACreateClearsTheMarkSoTheNextGraceStartOffersIt) {
  store_.Insert(1, Rec("back", true));
  MakeService();
  Call(CldCommand::kCreate, "back");  // a courtesy client that came back
  ASSERT_EQ(store_.Records(1).size(), 1u);
  EXPECT_FALSE(store_.Records(1)[0].lease_expired);
  StartGraceWith({});
  EXPECT_EQ(uploads_, std::vector<std::string>{"back"});
}

TEST_F(TrackingGraceTest, SecondGraceDoneChangesNothingAndSucceeds) {
  MakeService();
  StartGraceWith({"a", "b"});
  Call(CldCommand::kCreate, "a");
  sched_.Advance(seconds(90));
  ASSERT_EQ(Call(CldCommand::kGraceDone).back().status, 0);
  const std::vector<ClientRecord> records = store_.Records(2);
  const Epochs epochs = store_.epochs();
  const TrackingService::Stats stats = service_->stats();
  const GraceReport before = service_->grace_report();
  const size_t lines = log_.lines().size();
  sched_.Advance(seconds(1));
  auto r = Call(CldCommand::kGraceDone);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 0);
  EXPECT_EQ(store_.Records(2), records);
  EXPECT_EQ(store_.epochs(), epochs);
  EXPECT_EQ(service_->stats().grace_dones, stats.grace_dones + 1);
  EXPECT_EQ(service_->stats().store_errors, stats.store_errors);
  GraceReport after = service_->grace_report();
  ASSERT_TRUE(after.last_ended.has_value());
  EXPECT_EQ(after.last_ended->ended_at, before.last_ended->ended_at);
  EXPECT_EQ(after.last_ended->not_returned, 1u);
  EXPECT_EQ(after.current_epoch, before.current_epoch);
  // One info line (and the upcall's debug line), nothing louder.
  std::vector<std::pair<LogLevel, std::string>> since(log_.lines().begin() + lines,
                                                      log_.lines().end());
  int louder = 0;
  for (const auto& [level, text] : since) {
    if (level == LogLevel::kDebug) continue;
    ++louder;
    EXPECT_EQ(level, LogLevel::kInfo) << text;
    EXPECT_EQ(text, "cld: GraceDone outside grace; nothing to do");
  }
  EXPECT_EQ(louder, 1);
}

TEST_F(TrackingGraceTest, EndGraceBusyAfterTheKernelsOwnEndIsNoWarning) {
  MakeService();
  StartGraceWith({"a"});
  Call(CldCommand::kCreate, "a");
  ASSERT_EQ(grace_.calls, 1);
  // nfsd counted the same RECLAIM_COMPLETE and ended grace itself; newer
  // kernels answer our write with EBUSY.
  ASSERT_TRUE(grace_.Finish(Status::Busy("write /proc/fs/nfsd/v4_end_grace: busy")));
  Settle();
  EXPECT_TRUE(Lines(LogLevel::kWarning, "").empty());
  EXPECT_EQ(Lines(LogLevel::kDebug, "cld: v4_end_grace: grace already over").size(), 1u);
  Call(CldCommand::kGraceDone);
  EXPECT_EQ(service_->grace_report().last_ended->reason, GraceEndReason::kAllReclaimed);
}

TEST_F(TrackingGraceTest, EndGraceFailureOtherThanBusyStillWarns) {
  MakeService();
  StartGraceWith({"a"});
  Call(CldCommand::kCreate, "a");
  ASSERT_TRUE(grace_.Finish(Status::IOError("write /proc/fs/nfsd/v4_end_grace: EIO")));
  Settle();
  EXPECT_EQ(Lines(LogLevel::kWarning, "cld: could not end the grace period early").size(), 1u);
}

// With the kernel's client list: leases seen expired mark the records, and
// the "grace ended" counts use a list read after GraceDone.
class GraceWithClientListTest : public TrackingGraceTest {
 protected:
  void SetUp() override { fs_.MakeDir(kNfsdClientsDir); }
  void TearDown() override { service_.reset(); }
  void MakeListeningService(TrackingServiceOptions opts = {}) {
    MakeService(opts);
    service_->EnableReconcile(source_, Duration::zero());
    SettleAll();
  }
  void Client(int id, const std::string& status, const std::string& name, bool states,
              int minor = 1) {
    const std::string dir = StrCat(kNfsdClientsDir, "/", id);
    fs_.SetFile(dir + "/info", StrCat("clientid: 0x", id, "\nstatus: ", status, "\nname: \"", name,
                                      "\"\nminor version: ", minor, "\n"));
    fs_.SetFile(dir + "/states", states ? "- 0x1: { type: lock }\n" : "");
  }
  void SettleAll() {
    for (int i = 0; i < 20; ++i) {
      store_.RunPending();
      sched_.Advance(Duration::zero());
    }
  }
  void Reconcile() {
    service_->ReconcileNow();
    SettleAll();
  }
  bool Marked(uint64_t epoch, const std::string& id) const {
    for (const ClientRecord& r : store_.Records(epoch)) {
      if (r.id == id) return r.lease_expired;
    }
    ADD_FAILURE() << "no record of " << id << " in epoch " << epoch;
    return false;
  }

  FakeFileSystem fs_;
  FakeLiveClientSource source_{sched_, fs_};
};

TEST_F(GraceWithClientListTest, ReconciliationMarksExpiredLeasesAndClearsThemWhenActive) {
  MakeListeningService();
  Call(CldCommand::kCreate, "live");
  Call(CldCommand::kCreate, "quiet");
  Call(CldCommand::kCreate, "expiring");
  Call(CldCommand::kCreate, "unlisted");
  Client(1, "confirmed", "live", true);
  Client(2, "courtesy", "quiet", true);
  Client(3, "expirable", "expiring", true);
  Client(4, "courtesy", "courtesy-new", true);  // no record yet: written marked
  Reconcile();
  EXPECT_FALSE(Marked(1, "live"));
  EXPECT_TRUE(Marked(1, "quiet"));
  EXPECT_TRUE(Marked(1, "expiring"));
  EXPECT_TRUE(Marked(1, "courtesy-new"));
  EXPECT_FALSE(Marked(1, "unlisted"));
  // A run that sees nothing new writes nothing.
  const uint64_t writes = store_.mutations();
  Reconcile();
  EXPECT_EQ(store_.mutations(), writes);
  // "quiet" renews its lease: the mark goes; the record keeps its princhash.
  Client(2, "confirmed", "quiet", true);
  Reconcile();
  EXPECT_FALSE(Marked(1, "quiet"));
  EXPECT_EQ(store_.mutations(), writes + 1);

  StartGraceWith({});
  std::sort(uploads_.begin(), uploads_.end());
  EXPECT_EQ(uploads_, (std::vector<std::string>{"live", "quiet", "unlisted"}));
  EXPECT_EQ(service_->grace_report().not_offered, 2u);
}

TEST_F(GraceWithClientListTest, AMarkFailingInTheStoreIsCountedAndTriedAgain) {
  MakeListeningService();
  Call(CldCommand::kCreate, "quiet");
  Client(1, "courtesy", "quiet", true);
  store_.FailNext(Status::IOError("disk"));
  Reconcile();
  EXPECT_FALSE(Marked(1, "quiet"));
  EXPECT_EQ(service_->stats().store_errors, 1u);
  Reconcile();
  EXPECT_TRUE(Marked(1, "quiet"));
}

// NFSv4.0 clients reclaim with OPEN CLAIM_PREVIOUS and send no Create: the
// list read right after GraceDone shows them back, holding state.
TEST_F(GraceWithClientListTest, GraceEndedCountsNfsv40ClientsFoundInTheListAsBack) {
  MakeListeningService();
  StartGraceWith({"v40-back", "v41-back", "v40-gone", "v40-nostate"}, seconds(30));
  Call(CldCommand::kCreate, "v41-back");
  Client(1, "confirmed", "v40-back", true, 0);
  Client(2, "confirmed", "v41-back", true, 1);
  Client(3, "confirmed", "v40-nostate", false, 0);
  sched_.Advance(seconds(30));
  const int scans = source_.scans;
  Call(CldCommand::kGraceDone);
  SettleAll();
  EXPECT_EQ(source_.scans, scans + 1);
  auto lines = Lines(LogLevel::kNotice, "cld: grace ended");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0],
            "cld: grace ended (timer) after 30 s: 2 of 4 clients that may reclaim did not come "
            "back (1 reclaimed without a Create: NFSv4.0); recovery epoch 1 dropped (4 records)");
  GraceReport g = service_->grace_report();
  ASSERT_TRUE(g.last_ended.has_value());
  EXPECT_EQ(g.last_ended->may_reclaim, 4u);
  EXPECT_EQ(g.last_ended->reclaimed, 2u);
  EXPECT_EQ(g.last_ended->reclaimed_without_create, 1u);
  EXPECT_EQ(g.last_ended->not_returned, 2u);
  // The same run recorded the v4.0 client (docs/nfs4rec.md).
  EXPECT_TRUE(store_.Has(store_.epochs().current, "v40-back"));
}

TEST_F(GraceWithClientListTest, AScanStartedBeforeGraceDoneDoesNotCount) {
  MakeListeningService();
  StartGraceWith({"v40"}, seconds(30));
  sched_.Advance(seconds(30));
  service_->ReconcileNow();  // reads the list now, before the reclaim
  Client(1, "confirmed", "v40", true, 0);
  CldMessage done;
  done.version = 2;
  done.command = static_cast<uint8_t>(CldCommand::kGraceDone);
  done.xid = 99;
  service_->Handle(done, [](const CldMessage&) {});
  store_.RunPending();  // GraceDone is durable; the early scan is still running
  EXPECT_TRUE(Lines(LogLevel::kNotice, "cld: grace ended").empty());
  SettleAll();
  auto lines = Lines(LogLevel::kNotice, "cld: grace ended");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("0 of 1 clients that may reclaim did not come back (1 reclaimed"),
            std::string::npos)
      << lines[0];
}

TEST_F(GraceWithClientListTest, AnUnreadableListCountsTheMissingAsNotBack) {
  MakeListeningService();
  StartGraceWith({"v40"}, seconds(30));
  fs_.Remove(kNfsdClientsDir);
  sched_.Advance(seconds(30));
  Call(CldCommand::kGraceDone);
  SettleAll();
  auto lines = Lines(LogLevel::kNotice, "cld: grace ended");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find(": 1 of 1 clients that may reclaim did not come back;"),
            std::string::npos)
      << lines[0];
}

TEST_F(GraceWithClientListTest, ANewGraceStartLogsTheWaitingEndFirst) {
  MakeListeningService();
  StartGraceWith({"a"}, seconds(30));
  CldMessage done;
  done.version = 2;
  done.command = static_cast<uint8_t>(CldCommand::kGraceDone);
  done.xid = 98;
  service_->Handle(done, [](const CldMessage&) {});
  store_.RunPending();  // the list read after GraceDone has not come back
  Call(CldCommand::kGraceStart);
  std::vector<std::string> order;
  for (const auto& [level, text] : log_.lines()) {
    if (level == LogLevel::kNotice) order.push_back(text.substr(0, 17));
  }
  EXPECT_EQ(order, (std::vector<std::string>{"cld: grace starte", "cld: grace ended ",
                                             "cld: grace starte"}));
}

}  // namespace
}  // namespace nfsrec::nfs4rec
