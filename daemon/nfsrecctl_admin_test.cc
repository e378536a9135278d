// nfsrecctl remove monitor / expire client: the offline path on a real
// database (no daemon), and what each outcome prints.
#include "daemon/nfsrecctl_admin.h"

#include <unistd.h>

#include <optional>
#include <string>

#include "common/os/event_loop.h"
#include "common/store/commit_queue.h"
#include "daemon/process.h"
#include "nfs4rec/sqlite_client_store.h"
#include "statd/sqlite_nsm_store.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include <gtest/gtest.h>

namespace nfsrec {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

statd::MonitorRecord Record(const std::string& mon_name, int32_t vers) {
  statd::MonitorRecord r;
  r.key = statd::MonitorKey{mon_name, "server", 100021, vers, 16};
  r.canonical_name = mon_name;
  r.priv.fill(3);
  return r;
}

// A database made through the daemon's own adapters.
class OfflineAdminTest : public ::testing::Test {
 protected:
  void SetUp() override { db_ = dir_.path() + "/nfsrecd.sqlite"; }

  template <typename Fn>
  void WithStores(Fn fn) {
    auto loop = EventLoop::Create();
    ASSERT_OK(loop);
    auto queue = OpenStore(db_, **loop);
    ASSERT_OK(queue);
    auto nsm = statd::SqliteNsmStore::Open(**queue);
    ASSERT_OK(nsm);
    auto clients = nfs4rec::SqliteClientStore::Open(**queue);
    ASSERT_OK(clients);
    fn(**loop, **nsm, **clients);
  }
  static void Wait(EventLoop& loop, std::optional<Status>& st) {
    ASSERT_TRUE(loop.RunUntil([&] { return st.has_value(); }, 10s));
    ASSERT_OK(*st);
  }
  void PutMonitors(const std::vector<statd::MonitorRecord>& records) {
    WithStores([&](EventLoop& loop, statd::SqliteNsmStore& nsm, nfs4rec::SqliteClientStore&) {
      for (const auto& r : records) {
        std::optional<Status> st;
        nsm.PutMonitor(r, [&](Status s) { st = s; });
        Wait(loop, st);
      }
    });
  }
  std::vector<std::string> MonitorNames() {
    std::vector<std::string> out;
    WithStores([&](EventLoop& loop, statd::SqliteNsmStore& nsm, nfs4rec::SqliteClientStore&) {
      std::optional<Result<statd::NsmSnapshot>> snap;
      nsm.Load([&](Result<statd::NsmSnapshot> s) { snap.emplace(std::move(s)); });
      ASSERT_TRUE(loop.RunUntil([&] { return snap.has_value(); }, 10s));
      ASSERT_OK(*snap);
      for (const auto& r : (*snap)->monitors)
        out.push_back(StrCat(r.key.mon_name, "/", r.key.my_vers));
    });
    return out;
  }
  std::vector<std::string> CurrentClients() {
    std::vector<std::string> out;
    WithStores([&](EventLoop& loop, statd::SqliteNsmStore&, nfs4rec::SqliteClientStore& c) {
      std::optional<Result<nfs4rec::ClientSnapshot>> snap;
      c.Load([&](Result<nfs4rec::ClientSnapshot> s) { snap.emplace(std::move(s)); });
      ASSERT_TRUE(loop.RunUntil([&] { return snap.has_value(); }, 10s));
      ASSERT_OK(*snap);
      for (const auto& r : (*snap)->current) out.push_back(r.id);
    });
    return out;
  }

  test_support::TempDir dir_;
  std::string db_;
};

TEST_F(OfflineAdminTest, RemoveMonitorsDeletesTheHostsRecordsMatchingTheFilterOnly) {
  PutMonitors({Record("client1", 3), Record("CLIENT1", 4), Record("client2", 3)});
  CtlCommandLine filter;
  filter.vers = 4;
  Result<size_t> n = RemoveMonitorsOffline(db_, "Client1", filter);
  ASSERT_OK(n);
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ(MonitorNames(), (std::vector<std::string>{"client1/3", "client2/3"}));
  n = RemoveMonitorsOffline(db_, "client1", CtlCommandLine{});
  ASSERT_OK(n);
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ(MonitorNames(), (std::vector<std::string>{"client2/3"}));
}

TEST_F(OfflineAdminTest, RemoveMonitorsOfAnUnknownHostIsNotFoundAndChangesNothing) {
  PutMonitors({Record("client2", 3)});
  EXPECT_TRUE(RemoveMonitorsOffline(db_, "nobody", CtlCommandLine{}).status().IsNotFound());
  EXPECT_EQ(MonitorNames(), (std::vector<std::string>{"client2/3"}));
}

TEST_F(OfflineAdminTest, NoDatabaseIsNotFoundAndNoneIsCreated) {
  EXPECT_TRUE(RemoveMonitorsOffline(db_, "h", CtlCommandLine{}).status().IsNotFound());
  EXPECT_TRUE(ExpireClientOffline(db_, "a").IsNotFound());
  EXPECT_EQ(::access(db_.c_str(), F_OK), -1);
}

TEST_F(OfflineAdminTest, ExpireRemovesACurrentRecordRefusesARecoveryOnlyOne) {
  WithStores([&](EventLoop& loop, statd::SqliteNsmStore&, nfs4rec::SqliteClientStore& c) {
    for (const char* id : {"a", "b"}) {
      std::optional<Status> st;
      c.PutClient(nfs4rec::ClientRecord{id, "", std::nullopt, 0}, [&](Status s) { st = s; });
      Wait(loop, st);
    }
    std::optional<Status> st;
    c.StartGrace([&](auto r) { st = r.status(); });  // a and b may reclaim
    Wait(loop, st);
    st.reset();
    c.PutClient(nfs4rec::ClientRecord{"a", "", std::nullopt, 0}, [&](Status s) { st = s; });
    Wait(loop, st);
  });
  ASSERT_EQ(CurrentClients(), (std::vector<std::string>{"a"}));
  EXPECT_TRUE(ExpireClientOffline(db_, "b").IsBusy());
  EXPECT_TRUE(ExpireClientOffline(db_, "zz").IsNotFound());
  ASSERT_OK(ExpireClientOffline(db_, "a"));
  EXPECT_TRUE(CurrentClients().empty());
}

TEST(AdminOutput, OfflineRemovalSaysTheDaemonIsNotRunning) {
  LiveOutput o =
      RemoveMonitorOutput("client1", json{{"removed", 2}}, AdminVia::kStore, /*as_json=*/false);
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.out, "daemon not running: removed 2 monitor records of client1 from the database\n");
  o = RemoveMonitorOutput("client1", json{{"removed", 1}}, AdminVia::kDaemon, false);
  EXPECT_EQ(o.out, "removed 1 monitor record of client1\n");
}

TEST(AdminOutput, JsonNamesTheCountOrOutcomeAndWhereItWasDone) {
  LiveOutput o = RemoveMonitorOutput("h", json{{"removed", 3}}, AdminVia::kDaemon, true);
  EXPECT_EQ(json::parse(o.out), (json{{"removed", 3}, {"via", "daemon"}}));
  o = ExpireClientOutput("c", json{{"outcome", "removed from the store"}}, AdminVia::kStore, true);
  EXPECT_EQ(json::parse(o.out), (json{{"outcome", "removed from the store"}, {"via", "database"}}));
}

TEST(AdminOutput, OfflineExpireSaysNfsdWasNotTold) {
  LiveOutput o = ExpireClientOutput("Linux a", json{{"outcome", "removed from the store"}},
                                    AdminVia::kStore, false);
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_NE(o.out.find("daemon not running: removed client Linux a from the database; nfsd was "
                       "not told"),
            std::string::npos)
      << o.out;
  o = ExpireClientOutput("Linux a", json{{"outcome", "expired through nfsd"}}, AdminVia::kDaemon,
                         false);
  EXPECT_EQ(o.out, "client Linux a: expired through nfsd\n");
}

TEST(AdminOutput, RefusalExits4NotFoundExits1NothingOnStdout) {
  LiveOutput o = ExpireClientOutput(
      "c", Status::PermissionDenied("permission denied: uid 65534 may not use the control socket"),
      AdminVia::kDaemon, false);
  EXPECT_EQ(o.exit_code, 4);
  EXPECT_EQ(o.out, "");
  o = RemoveMonitorOutput("h", Status::InvalidArgument("Not found: no monitor record for h"),
                          AdminVia::kDaemon, true);
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(o.err, "nfsrecctl: remove monitor h: Not found: no monitor record for h\n");
}

}  // namespace
}  // namespace nfsrec
