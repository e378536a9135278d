// TrackingDaemon over a real loop, Executor, CommitQueue and SQLite
// database, with virtual time (FakeScheduler) and a fake /proc tree
// (FakeFileSystem): reconciliation reads the tree on an Executor worker and
// the records it adds are in the database after the daemon is gone.  No
// test waits for a timer in real time.
#include "nfs4rec/tracking_daemon.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>

#include "common/store/sqlite.h"
#include "nfs4rec/cld_codec.h"
#include "nfs4rec/sqlite_client_store.h"
#include "tests/support/fake_file_system.h"
#include "tests/support/fake_scheduler.h"
#include "tests/support/mem_client_store.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include <gtest/gtest.h>

namespace nfsrec::nfs4rec {
namespace {

ClientRecord Rec(const std::string& id) {
  ClientRecord r;
  r.id = id;
  return r;
}

using std::chrono::seconds;

// Starts the daemon and runs the loop until its records are loaded.
Status StartAndWait(TrackingDaemon& d, EventLoop& loop) {
  auto started = std::make_shared<std::optional<Status>>();
  d.Start([started](Status s) { *started = std::move(s); });
  if (!loop.RunUntil([&] { return started->has_value(); }, std::chrono::seconds(10))) {
    return Status::TimedOut("start did not complete");
  }
  return **started;
}

class TrackingDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(tmp_.ok());
    fs_->MakeDir(kNfsdClientsDir);
  }

  void Client(int id, const std::string& status, const std::string& quoted, bool states) {
    const std::string dir = StrCat(kNfsdClientsDir, "/", id);
    fs_->SetFile(dir + "/info", StrCat("clientid: 0x", id, "\naddress: \"127.0.0.1:800\"\nstatus: ",
                                       status, "\nname: ", quoted, "\nminor version: 0\n"));
    fs_->SetFile(dir + "/states", states ? "- 0x1: { type: lock, superblock: \"00:19:2\" }\n" : "");
  }
  // Current-epoch ids, read through a fresh connection.
  std::vector<std::string> StoredIds() {
    auto loop = EventLoop::Create().value();
    auto queue = std::make_unique<CommitQueue>(sqlite::Db::Open(db()).value(), *loop);
    auto store = SqliteClientStore::Open(*queue).value();
    std::vector<std::string> ids;
    std::optional<Result<ClientSnapshot>> snap;
    store->Load([&snap](Result<ClientSnapshot> r) { snap.emplace(std::move(r)); });
    EXPECT_TRUE(loop->RunUntil([&] { return snap.has_value(); }, std::chrono::seconds(10)));
    EXPECT_TRUE(snap && snap->ok());
    if (snap && snap->ok()) {
      for (const ClientRecord& r : (*snap)->current) ids.push_back(r.id);
    }
    std::sort(ids.begin(), ids.end());
    return ids;
  }
  // Writes current-epoch records through a fresh connection.
  void PutRecords(const std::vector<std::string>& ids) {
    auto loop = EventLoop::Create().value();
    auto queue = std::make_unique<CommitQueue>(sqlite::Db::Open(db()).value(), *loop);
    auto store = SqliteClientStore::Open(*queue).value();
    size_t done = 0;
    for (const std::string& id : ids) {
      store->PutClient(Rec(id), [&done](Status st) {
        EXPECT_TRUE(st.ok()) << st.ToString();
        ++done;
      });
    }
    EXPECT_TRUE(loop->RunUntil([&] { return done == ids.size(); }, std::chrono::seconds(10)));
  }
  TrackingOptions NoReconcile() const {
    TrackingOptions opts = Options();
    opts.reconcile_interval = 0;
    return opts;
  }
  std::string db() const { return tmp_.File("nfsrecd.sqlite"); }
  TrackingOptions Options() const {
    TrackingOptions opts;
    opts.pipe_path = tmp_.File("cld");  // never appears: the pipe just waits
    return opts;
  }

  // A started daemon over a real loop, executor and queue; members are
  // destroyed in reverse order, the daemon first and the loop last.
  struct Running {
    std::unique_ptr<EventLoop> loop;
    std::unique_ptr<Executor> executor;
    std::unique_ptr<CommitQueue> queue;
    std::unique_ptr<TrackingDaemon> daemon;
  };
  // Destroys in dependency order: the daemon first, the loop last.
  static void Stop(Running& r) {
    r.daemon.reset();
    r.queue.reset();
    r.executor.reset();
    r.loop.reset();
  }
  // Runs ExpireClient to its answer.
  Result<TrackingDaemon::ExpireOutcome> Expire(Running& r, const std::string& id) {
    auto out = std::make_shared<std::optional<Result<TrackingDaemon::ExpireOutcome>>>();
    r.daemon->ExpireClient(
        id, [out](Result<TrackingDaemon::ExpireOutcome> x) { out->emplace(std::move(x)); });
    EXPECT_FALSE(out->has_value()) << "answered inline";
    for (int i = 0; i < 1000 && !out->has_value(); ++i) {
      r.loop->RunUntil([&] { return out->has_value(); }, std::chrono::milliseconds(10));
      sched_.Advance(Duration::zero());
    }
    if (!out->has_value()) return Status::TimedOut("ExpireClient did not answer");
    return std::move(**out);
  }
  void Run(Running& r, Logger& log, const TrackingOptions& opts) {
    r.loop = EventLoop::Create().value();
    r.executor = std::make_unique<Executor>(*r.loop);
    r.queue = std::make_unique<CommitQueue>(sqlite::Db::Open(db()).value(), *r.loop);
    auto d = TrackingDaemon::Create(*r.loop, sched_, *r.executor, fs_, log, *r.queue, opts);
    ASSERT_OK(d);
    r.daemon = std::move(d).value();
    ASSERT_OK(StartAndWait(*r.daemon, *r.loop));
  }

  test_support::TempDir tmp_;
  std::shared_ptr<FakeFileSystem> fs_ = std::make_shared<FakeFileSystem>();
  FakeScheduler sched_;
};

// A bound for the loop to deliver worker results and commits; never reached
// when the test passes.  (CldPipe's inotify watcher stays registered, so the
// loop never runs out of events; nothing here waits for it to go idle.)
constexpr auto kSettle = seconds(10);

TEST_F(TrackingDaemonTest, ReconcilesOnceLoadedThenOnTheLeaseTimerAndRecordsDurably) {
  fs_->SetFile(kNfsdLeaseTimePath, "90\n");  // the default interval is the lease
  Client(1, "confirmed", "\"Linux NFSv4.0 a \\x22x\\x22\"", true);
  Client(2, "unconfirmed", "\"unconfirmed\"", true);
  Client(3, "confirmed", "\"no-state\"", false);
  Client(4, "confirmed", "\"bad\\x4\"", true);
  StderrLogger log("tracking_daemon_test", true);
  {
    Running r;
    ASSERT_NO_FATAL_FAILURE(Run(r, log, Options()));
    const TrackingService& s = r.daemon->service();
    // The first run needs no timer: clients live when the daemon takes over
    // are recorded before any lease has passed.
    ASSERT_TRUE(r.loop->RunUntil([&] { return s.stats().reconcile_added >= 1; }, kSettle));
    EXPECT_EQ(s.stats().reconcile_runs, 1u);
    Client(5, "confirmed", "\"later\"", true);
    sched_.Advance(seconds(89));
    EXPECT_FALSE(r.loop->RunUntil([&] { return s.stats().reconcile_runs >= 2; },
                                  std::chrono::milliseconds(200)));  // not before the lease
    sched_.Advance(seconds(1));
    ASSERT_TRUE(r.loop->RunUntil([&] { return s.stats().reconcile_added >= 2; }, kSettle));
    // A further period adds nothing more.
    sched_.Advance(seconds(90));
    ASSERT_TRUE(r.loop->RunUntil([&] { return s.stats().reconcile_runs >= 3; }, kSettle));
    EXPECT_EQ(s.stats().reconcile_added, 2u);
    EXPECT_NE(r.daemon->StatusReport().find("clients added 2"), std::string::npos)
        << r.daemon->StatusReport();
  }
  EXPECT_EQ(StoredIds(), (std::vector<std::string>{"Linux NFSv4.0 a \"x\"", "later"}));
}

TEST_F(TrackingDaemonTest, WithoutALeaseFileTheIntervalIsNinetySeconds) {
  StderrLogger log("tracking_daemon_test", false);
  Running r;
  ASSERT_NO_FATAL_FAILURE(Run(r, log, Options()));
  const TrackingService& s = r.daemon->service();
  ASSERT_TRUE(r.loop->RunUntil([&] { return s.stats().reconcile_runs >= 1; }, kSettle));
  Client(1, "confirmed", "\"c\"", true);  // appears after the first run
  sched_.Advance(seconds(90));
  ASSERT_TRUE(r.loop->RunUntil([&] { return s.stats().reconcile_added >= 1; }, kSettle));
}

// While nfsd starts it holds its mutex until the cld daemon has answered
// its first upcall, and every read under /proc/fs/nfsd waits for that
// mutex: creating the daemon reads nothing there (the lease comes with the
// first scan, on a worker, after Start).
TEST_F(TrackingDaemonTest, CreatingTheDaemonReadsNothingUnderProc) {
  fs_->SetFile(kNfsdLeaseTimePath, "45\n");
  StderrLogger log("tracking_daemon_test", false);
  auto loop = EventLoop::Create().value();
  Executor executor(*loop);
  auto queue = std::make_unique<CommitQueue>(sqlite::Db::Open(db()).value(), *loop);
  auto d = TrackingDaemon::Create(*loop, sched_, executor, fs_, log, *queue, Options());
  ASSERT_OK(d);
  EXPECT_EQ(fs_->reads(), 0);
  d->reset();
}

TEST_F(TrackingDaemonTest, ZeroIntervalTurnsItOff) {
  Client(1, "confirmed", "\"c\"", true);
  StderrLogger log("tracking_daemon_test", false);
  TrackingOptions opts = Options();
  opts.reconcile_interval = 0;
  Running r;
  ASSERT_NO_FATAL_FAILURE(Run(r, log, opts));
  EXPECT_NE(r.daemon->StatusReport().find("reconciliation off"), std::string::npos);
  sched_.Advance(seconds(3600));
  EXPECT_EQ(r.executor->threads(), 0u);  // no scan was ever started
  EXPECT_EQ(fs_->reads(), 0);            // and the lease was not read
}

TEST_F(TrackingDaemonTest, DrainAnswersOnTheNextTurnAndNotAfterDestruction) {
  StderrLogger log("tracking_daemon_test", false);
  Running r;
  ASSERT_NO_FATAL_FAILURE(Run(r, log, Options()));
  int drained = 0;
  r.daemon->Drain([&] { ++drained; });
  EXPECT_EQ(drained, 0);  // never inline
  sched_.Advance(Duration::zero());
  EXPECT_EQ(drained, 1);

  r.daemon->Drain([&] { ++drained; });
  r.daemon.reset();
  sched_.Advance(seconds(1));  // the pending turn finds the daemon gone
  EXPECT_EQ(drained, 1);
}

TEST_F(TrackingDaemonTest, ScanStillRunningWhenTheDaemonGoesIsDropped) {
  fs_->SetFile(kNfsdLeaseTimePath, "5\n");
  Client(1, "confirmed", "\"late\"", true);
  StderrLogger log("tracking_daemon_test", false);
  Running r;
  ASSERT_NO_FATAL_FAILURE(Run(r, log, Options()));
  sched_.Advance(seconds(5));  // the scan starts on a worker
  r.daemon.reset();
  // Its answer reaches a loop where nobody waits for it.
  r.loop->RunUntil([] { return false; }, std::chrono::milliseconds(100));
  r.queue.reset();
  EXPECT_TRUE(StoredIds().empty());
}

TEST_F(TrackingDaemonTest, ClientKnownToNfsdIsExpiredThroughItsCtl) {
  Client(7, "confirmed", "\"Linux NFSv4.2 k\"", true);
  Client(8, "confirmed", "\"other\"", true);
  fs_->SetFile(StrCat(kNfsdClientsDir, "/7/ctl"), "");
  fs_->SetFile(StrCat(kNfsdClientsDir, "/8/ctl"), "");
  PutRecords({"Linux NFSv4.2 k", "other"});
  CapturingLogger log;
  Running r;
  ASSERT_NO_FATAL_FAILURE(Run(r, log, NoReconcile()));
  Result<TrackingDaemon::ExpireOutcome> out = Expire(r, "Linux NFSv4.2 k");
  ASSERT_OK(out);
  EXPECT_EQ(*out, TrackingDaemon::ExpireOutcome::kExpiredThroughNfsd);
  EXPECT_STREQ(TrackingDaemon::ExpireOutcomeText(*out), "expired through nfsd");
  EXPECT_EQ(fs_->writes(),
            (std::vector<FakeFileSystem::Write>{{StrCat(kNfsdClientsDir, "/7/ctl"), "expire\n"}}));
  EXPECT_TRUE(log.Contains("cld: client \"Linux NFSv4.2 k\" expired through nfsd"));
  Stop(r);
  // This fake nfsd sends no Remove upcall, as nfsd does for a client it
  // never marked as recorded: the record goes after the write.
  EXPECT_EQ(StoredIds(), (std::vector<std::string>{"other"}));
}

TEST_F(TrackingDaemonTest, KnownToNfsdWithoutARecordIsStillExpired) {
  Client(3, "confirmed", "\"fresh\"", true);
  fs_->SetFile(StrCat(kNfsdClientsDir, "/3/ctl"), "");
  CapturingLogger log;
  Running r;
  ASSERT_NO_FATAL_FAILURE(Run(r, log, NoReconcile()));
  Result<TrackingDaemon::ExpireOutcome> out = Expire(r, "fresh");
  ASSERT_OK(out);
  EXPECT_EQ(*out, TrackingDaemon::ExpireOutcome::kExpiredThroughNfsd);
  EXPECT_EQ(fs_->writes().size(), 1u);
}

TEST_F(TrackingDaemonTest, ClientOnlyInTheStoreIsRemovedFromTheStore) {
  Client(1, "confirmed", "\"someone else\"", true);
  PutRecords({"gone", "stays"});
  CapturingLogger log;
  Running r;
  ASSERT_NO_FATAL_FAILURE(Run(r, log, NoReconcile()));
  Result<TrackingDaemon::ExpireOutcome> out = Expire(r, "gone");
  ASSERT_OK(out);
  EXPECT_EQ(*out, TrackingDaemon::ExpireOutcome::kRemovedFromStore);
  EXPECT_STREQ(TrackingDaemon::ExpireOutcomeText(*out), "removed from the store");
  EXPECT_TRUE(fs_->writes().empty());
  EXPECT_TRUE(log.Contains("cld: client \"gone\": record removed from the store"));
  Stop(r);
  EXPECT_EQ(StoredIds(), (std::vector<std::string>{"stays"}));
}

TEST_F(TrackingDaemonTest, WithoutAKernelClientListTheStoreIsUsed) {
  fs_->Remove(kNfsdClientsDir);
  PutRecords({"gone"});
  CapturingLogger log;
  Running r;
  ASSERT_NO_FATAL_FAILURE(Run(r, log, NoReconcile()));
  Result<TrackingDaemon::ExpireOutcome> out = Expire(r, "gone");
  ASSERT_OK(out);
  EXPECT_EQ(*out, TrackingDaemon::ExpireOutcome::kRemovedFromStore);
}

TEST_F(TrackingDaemonTest, ClientKnownNowhereIsNotFound) {
  Client(1, "confirmed", "\"someone else\"", true);
  PutRecords({"stays"});
  CapturingLogger log;
  Running r;
  ASSERT_NO_FATAL_FAILURE(Run(r, log, NoReconcile()));
  Result<TrackingDaemon::ExpireOutcome> out = Expire(r, std::string("\x01nobody", 7));
  ASSERT_FALSE(out.ok());
  EXPECT_TRUE(out.status().IsNotFound()) << out.status().ToString();
  EXPECT_NE(out.status().message().find("hex:016e6f626f6479"), std::string::npos)
      << out.status().ToString();
  EXPECT_TRUE(fs_->writes().empty());
  Stop(r);
  EXPECT_EQ(StoredIds(), (std::vector<std::string>{"stays"}));
}

TEST_F(TrackingDaemonTest, FailedCtlWriteIsReportedAndTheRecordStays) {
  Client(7, "confirmed", "\"k\"", true);
  fs_->SetFile(StrCat(kNfsdClientsDir, "/7/ctl"), "");
  fs_->FailWrites(StrCat(kNfsdClientsDir, "/7/ctl"), Status::IOError("write: Invalid argument"));
  PutRecords({"k"});
  CapturingLogger log;
  Running r;
  ASSERT_NO_FATAL_FAILURE(Run(r, log, NoReconcile()));
  Result<TrackingDaemon::ExpireOutcome> out = Expire(r, "k");
  ASSERT_FALSE(out.ok());
  EXPECT_TRUE(out.status().IsIOError()) << out.status().ToString();
  EXPECT_TRUE(log.Contains("cld: cannot expire client \"k\" through nfsd"));
  Stop(r);
  EXPECT_EQ(StoredIds(), (std::vector<std::string>{"k"}));
}

// A pipe stand-in: hands out one end of a stream socket pair, once.
class SocketPairOpener final : public PipeOpener {
 public:
  explicit SocketPairOpener(UniqueFd fd) : fd_(std::move(fd)) {}
  Result<UniqueFd> Open(const std::string&) override {
    if (!fd_) return Status::NotFound("already handed out");
    return std::move(fd_);
  }

 private:
  UniqueFd fd_;
};

// The figures behind `nfsrecctl status`: decoded upcalls by their command
// byte, undecodable ones apart.
TEST_F(TrackingDaemonTest, UpcallsAreCountedByCommandAndUndecodableOnesApart) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd kernel(sv[1]);
  CapturingLogger log;
  Running r;
  r.loop = EventLoop::Create().value();
  r.executor = std::make_unique<Executor>(*r.loop);
  r.queue = std::make_unique<CommitQueue>(sqlite::Db::Open(db()).value(), *r.loop);
  auto d = TrackingDaemon::Create(*r.loop, sched_, *r.executor, fs_, log, *r.queue, NoReconcile(),
                                  std::make_shared<SocketPairOpener>(UniqueFd(sv[0])));
  ASSERT_OK(d);
  r.daemon = std::move(d).value();
  ASSERT_OK(StartAndWait(*r.daemon, *r.loop));
  auto send = [&](const std::vector<uint8_t>& bytes) {
    ASSERT_EQ(::write(kernel.get(), bytes.data(), bytes.size()),
              static_cast<ssize_t>(bytes.size()));
  };
  sched_.Advance(seconds(3));  // the fake clock's epoch means "never"
  CldMessage up;
  up.command = static_cast<uint8_t>(CldCommand::kGetVersion);
  up.xid = 1;
  send(EncodeCldUpcall(up).value());
  up.xid = 2;
  send(EncodeCldUpcall(up).value());
  up.command = static_cast<uint8_t>(CldCommand::kCreate);
  up.xid = 3;
  up.name = "client-a";
  send(EncodeCldUpcall(up).value());
  auto counted = [&] {
    uint64_t n = 0;
    for (const auto& [command, count] : r.daemon->upcalls_by_command()) n += count;
    return n;
  };
  ASSERT_TRUE(r.loop->RunUntil([&] { return counted() == 3; }, std::chrono::seconds(10)));
  // A header of an unknown version: read, answered, counted apart.
  send({9, 0, 0, 0, 0, 0, 0, 4});
  ASSERT_TRUE(
      r.loop->RunUntil([&] { return r.daemon->bad_upcalls() == 1; }, std::chrono::seconds(10)));
  EXPECT_EQ(r.daemon->upcalls_by_command().at(static_cast<uint8_t>(CldCommand::kGetVersion)), 2u);
  EXPECT_EQ(r.daemon->upcalls_by_command().at(static_cast<uint8_t>(CldCommand::kCreate)), 1u);
  EXPECT_EQ(r.daemon->upcalls_by_command().size(), 2u);
  EXPECT_EQ(r.daemon->pipe().stats().last_message, sched_.Now());
  Stop(r);
}

// An opener that counts its calls and hands out one socket end, once.
class CountingOpener final : public PipeOpener {
 public:
  explicit CountingOpener(UniqueFd fd) : fd_(std::move(fd)) {}
  Result<UniqueFd> Open(const std::string&) override {
    ++calls;
    if (!fd_) return Status::NotFound("already handed out");
    return std::move(fd_);
  }
  int calls = 0;

 private:
  UniqueFd fd_;
};

// Start-up order (daemon/nfsrecd_main.cc): the cld pipe is opened first,
// before any store exists, and read only once a daemon adopts it; upcalls
// the kernel sent meanwhile are read then, wait while the store's Load is
// held, and are answered in order once it completes.
TEST_F(TrackingDaemonTest, PipeOpenedBeforeTheLoadAndUpcallsAnsweredOnceLoaded) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd kernel(sv[1]);
  CapturingLogger log;
  auto loop = EventLoop::Create().value();
  Executor executor(*loop);
  auto opener = std::make_shared<CountingOpener>(UniqueFd(sv[0]));
  Result<std::unique_ptr<CldPipe>> pipe =
      TrackingDaemon::OpenPipeEarly(*loop, sched_, log, NoReconcile(), opener);
  ASSERT_OK(pipe);
  EXPECT_EQ(opener->calls, 1);
  EXPECT_TRUE((*pipe)->is_open());

  // The kernel's first upcalls, before the store exists.
  auto send = [&](const CldMessage& up) {
    std::vector<uint8_t> bytes = EncodeCldUpcall(up).value();
    ASSERT_EQ(::write(kernel.get(), bytes.data(), bytes.size()),
              static_cast<ssize_t>(bytes.size()));
  };
  CldMessage version;
  version.command = static_cast<uint8_t>(CldCommand::kGetVersion);
  version.xid = 1;
  send(version);
  CldMessage create;
  create.command = static_cast<uint8_t>(CldCommand::kCreate);
  create.xid = 2;
  create.name = "client-a";
  send(create);
  // Not read while no daemon has adopted the pipe.
  EXPECT_FALSE(loop->RunUntil([&] { return (*pipe)->stats().messages != 0; },
                              std::chrono::milliseconds(50)));

  auto mem = std::make_unique<MemClientStore>();
  MemClientStore* store = mem.get();
  auto d = TrackingDaemon::CreateWithStore(*loop, sched_, executor, fs_, log, std::move(mem),
                                           NoReconcile(), nullptr, std::move(pipe).value());
  ASSERT_OK(d);
  bool started = false;
  (*d)->Start([&started](Status st) {
    EXPECT_TRUE(st.ok()) << st.ToString();
    started = true;
  });
  EXPECT_EQ(opener->calls, 1);  // adopted, not opened again
  // Read now, but held: the Load has not completed.
  ASSERT_TRUE(loop->RunUntil([&] { return (*d)->service().stats().upcalls == 2; },
                             std::chrono::seconds(10)));
  EXPECT_EQ((*d)->service().in_flight(), 2u);
  uint8_t byte;
  EXPECT_EQ(::recv(kernel.get(), &byte, 1, MSG_DONTWAIT | MSG_PEEK), -1);
  EXPECT_FALSE(store->Has(1, "client-a"));
  EXPECT_FALSE(started);

  // The Load completes (then the Create's write): both are answered, in order.
  std::vector<uint8_t> got;
  auto replies_read = [&] {
    store->RunPending();
    uint8_t buf[4096];
    ssize_t n = ::recv(kernel.get(), buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) got.insert(got.end(), buf, buf + n);
    return got.size() >= 2 * kCldMsgV1Size;
  };
  ASSERT_TRUE(loop->RunUntil(replies_read, std::chrono::seconds(10)));
  EXPECT_TRUE(started);
  ASSERT_EQ(got.size(), 2 * kCldMsgV1Size);
  Result<CldMessage> first =
      DecodeCldDowncall(std::span<const uint8_t>(got.data(), kCldMsgV1Size), kCldVersion1);
  Result<CldMessage> second = DecodeCldDowncall(
      std::span<const uint8_t>(got.data() + kCldMsgV1Size, kCldMsgV1Size), kCldVersion1);
  ASSERT_OK(first);
  ASSERT_OK(second);
  EXPECT_EQ(first->xid, 1u);
  EXPECT_EQ(first->status, 0);
  EXPECT_EQ(second->xid, 2u);
  EXPECT_EQ(second->status, 0);
  EXPECT_TRUE(store->Has(1, "client-a"));
  d->reset();
}

}  // namespace
}  // namespace nfsrec::nfs4rec
