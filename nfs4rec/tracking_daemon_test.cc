// TrackingDaemon over a real loop, CommitQueue and SQLite database, with a
// fake /proc tree: reconciliation reads it on its worker thread and the
// records it adds are in the database after the daemon is gone.
#include "nfs4rec/tracking_daemon.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>

#include "common/store/sqlite.h"
#include "nfs4rec/sqlite_client_store.h"
#include "tests/support/temp_dir.h"

namespace nfsrec::nfs4rec {
namespace {

class TrackingDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(tmp_.ok());
    std::filesystem::create_directories(NfsdClientsDir(dir_));
  }

  void Write(const std::string& rel, const std::string& text) { tmp_.Write(rel, text); }
  void Client(int id, const std::string& status, const std::string& quoted, bool states) {
    Write(StrCat("proc/fs/nfsd/clients/", id, "/info"),
          StrCat("clientid: 0x", id, "\naddress: \"127.0.0.1:800\"\nstatus: ", status,
                 "\nname: ", quoted, "\nminor version: 0\n"));
    Write(StrCat("proc/fs/nfsd/clients/", id, "/states"),
          states ? "- 0x1: { type: lock, superblock: \"00:19:2\" }\n" : "");
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
  std::string db() const { return tmp_.File("nfsrecd.sqlite"); }
  test_support::TempDir tmp_;
  const std::string dir_ = tmp_.path();
};

TEST_F(TrackingDaemonTest, ReconcilesOnTheLeaseTimerAndRecordsDurably) {
  Write("proc/fs/nfsd/nfsv4leasetime", "1\n");  // the default interval is the lease
  Client(1, "confirmed", "\"Linux NFSv4.0 a \\x22x\\x22\"", true);
  Client(2, "unconfirmed", "\"unconfirmed\"", true);
  Client(3, "confirmed", "\"no-state\"", false);
  Client(4, "confirmed", "\"bad\\x4\"", true);
  StderrLogger log("tracking_daemon_test", true);
  {
    auto loop = EventLoop::Create().value();
    auto queue = std::make_unique<CommitQueue>(sqlite::Db::Open(db()).value(), *loop);
    TrackingOptions opts;
    opts.pipe_path = dir_ + "/cld";  // never appears: the pipe just waits
    opts.proc_root = dir_;
    auto d = TrackingDaemon::Create(*loop, log, *queue, opts);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    ASSERT_TRUE((*d)->Start().ok());
    const TrackingService& s = (*d)->service();
    ASSERT_TRUE(loop->RunUntil([&] { return s.stats().reconcile_added >= 1; },
                               std::chrono::seconds(10)));
    // A second period adds nothing more.
    ASSERT_TRUE(loop->RunUntil([&] { return s.stats().reconcile_runs >= 2; },
                               std::chrono::seconds(10)));
    EXPECT_EQ(s.stats().reconcile_added, 1u);
    EXPECT_NE((*d)->StatusReport().find("clients added 1"), std::string::npos)
        << (*d)->StatusReport();
  }
  EXPECT_EQ(StoredIds(), std::vector<std::string>{"Linux NFSv4.0 a \"x\""});
}

TEST_F(TrackingDaemonTest, ZeroIntervalTurnsItOff) {
  Client(1, "confirmed", "\"c\"", true);
  StderrLogger log("tracking_daemon_test", false);
  auto loop = EventLoop::Create().value();
  auto queue = std::make_unique<CommitQueue>(sqlite::Db::Open(db()).value(), *loop);
  TrackingOptions opts;
  opts.pipe_path = dir_ + "/cld";
  opts.proc_root = dir_;
  opts.reconcile_interval = 0;
  auto d = TrackingDaemon::Create(*loop, log, *queue, opts);
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE((*d)->Start().ok());
  EXPECT_NE((*d)->StatusReport().find("reconciliation off"), std::string::npos);
}

}  // namespace
}  // namespace nfsrec::nfs4rec
