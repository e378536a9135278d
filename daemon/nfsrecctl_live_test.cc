#include "daemon/nfsrecctl_live.h"

#include "daemon/nfsrecctl_config.h"
#include "daemon/status_report.h"
#include <gtest/gtest.h>

namespace nfsrec {
namespace {

using nlohmann::json;

const char kSocket[] = "/var/lib/nfs/nfsrecd/control";

json SampleStatus() {
  LiveStatus s;
  s.version = "1.0";
  s.pid = 10;
  s.uid = 105;
  s.now = 1800000000;
  s.started = 1799999000;
  LiveStatus::Nsm n;
  n.state = 7;
  n.monitors = 1;
  n.procedures = {{"SM_MON", 2, 0, 1}, {"SM_UNMON", 1, 1, 0}, {"SM_STAT", 0, 0, 0}};
  n.peers = {{"peer-a", "pending", 4, 1800000120}};
  n.peers_pending = 1;
  n.peers_total = 3;
  s.nsm = n;
  LiveStatus::Store& st = s.store.emplace();
  st.units = 3;
  st.transactions = 2;
  st.max_group = 2;
  LiveStatus::Nfs4 f;
  f.upcalls = {{"create", 1}, {"check", 0}};
  f.upcalls_total = 1;
  f.pipe_open = false;
  f.grace.in_grace = true;
  f.grace.current_epoch = 4;
  f.grace.recovery_epoch = 3;
  f.grace.may_reclaim = 5;
  f.grace.reclaimed = 2;
  f.grace.since = 1799999900;
  LiveStatus::GraceEnd end;
  end.reason = "all-reclaimed";
  end.duration_seconds = 12;
  end.recovery_epoch = 2;
  end.at = 1799990000;
  f.grace.last_end = end;
  s.nfs4 = f;
  s.nsm->boot = {1, true, true, 7, 3, 1, 0, 1799999001, 0};
  return StatusToJson(s);
}

TEST(StatusOutput, NoSocketIsExit3AndSaysTheDaemonIsNotRunning) {
  LiveOutput o = StatusOutput(kSocket, Status::NotFound("connect: ENOENT"), false);
  EXPECT_EQ(o.exit_code, kCtlExitNotRunning);
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(o.err, "nfsrecd is not running (no control socket at /var/lib/nfs/nfsrecd/control)\n");
  o = StatusOutput(kSocket, Status::Unavailable("connect: ECONNREFUSED"), true);
  EXPECT_EQ(o.exit_code, kCtlExitNotRunning);
  EXPECT_EQ(o.out, "");
  o = StatusOutput("", json::object(), false);
  EXPECT_EQ(o.exit_code, kCtlExitNotRunning);
  EXPECT_NE(o.err.find("turned off"), std::string::npos);
}

TEST(StatusOutput, RefusedIsExit4WithTheReasonAndNoFigures) {
  LiveOutput o = StatusOutput(
      kSocket,
      Status::PermissionDenied("permission denied: uid 65534 may not use the control socket"),
      false);
  EXPECT_EQ(o.exit_code, kCtlExitRefused);
  EXPECT_EQ(o.out, "");
  EXPECT_NE(o.err.find("refused: permission denied: uid 65534"), std::string::npos) << o.err;
}

TEST(StatusOutput, JsonIsTheDaemonsObject) {
  LiveOutput o = StatusOutput(kSocket, SampleStatus(), true);
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(json::parse(o.out), SampleStatus());
}

TEST(StatusOutput, HumanSummaryNamesTheFigures) {
  LiveOutput o = StatusOutput(kSocket, SampleStatus(), false);
  ASSERT_EQ(o.exit_code, 0) << o.err;
  for (const char* s :
       {"nfsrecd 1.0, pid 10, uid 105, ready since 2027-01-15T07:43:20Z",
        "NSM: state 7, 1 monitors", "requests: SM_MON 2 (1 refused), SM_UNMON 1 (1 garbage)\n",
        "peer-a", "pending", "2027-01-15T08:02:00Z", "(1 of 3 peers listed)",
        "Store: 3 units in 2 commits", "NFSv4: cld pipe closed", "upcalls: 1 (create 1)",
        "in grace since 2027-01-15T07:58:20Z, epoch 4 (reclaiming from 3), 2 of 5",
        "boot notification: new boot, state 7, 3 peers, 1 answered, 0 unreachable; "
        "started 2027-01-15T07:43:21Z, running",
        "last grace ended 2027-01-15T05:13:20Z (all-reclaimed, after 12 s, epoch 2 "
        "dropped, 0 clients did not come back)"}) {
    EXPECT_NE(o.out.find(s), std::string::npos) << s << "\nin:\n" << o.out;
  }
}

TEST(StatusOutput, HumanSummaryInClusterModeShowsEachEtcdStoresGroupCommit) {
  json j = SampleStatus();
  LiveStatus::Cluster c;
  c.cluster = "c1";
  c.instance = "i1";
  c.node = "n1";
  c.nsm_store = LiveStatus::Cluster::Batcher{12, 4, 0, 6};
  c.nfs4_store = LiveStatus::Cluster::Batcher{40, 10, 2, 9};
  LiveStatus s;
  s.cluster = c;
  j["cluster"] = StatusToJson(s)["cluster"];
  j["store"] = nullptr;  // no SQLite database in cluster mode
  LiveOutput o = StatusOutput(kSocket, j, false);
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const char* want =
      "Store on etcd (cluster c1, instance i1): NSM 12 units in 4 Txns (group size mean 3.0, max "
      "6; 0 re-run alone); NFSv4 40 units in 10 Txns (group size mean 4.0, max 9; 2 re-run "
      "alone)\n";
  EXPECT_NE(o.out.find(want), std::string::npos) << want << "\nin:\n" << o.out;
  EXPECT_EQ(o.out.find("Store: "), std::string::npos) << "SQLite's queue shown in cluster mode";
  EXPECT_EQ(StatusOutput(kSocket, SampleStatus(), false).out.find("on etcd"), std::string::npos);
}

// Clients left out of the upload and NFSv4.0 clients that came back without
// a Create are named, as in the "grace ended" event (docs/events.md).
TEST(StatusOutput, HumanSummaryNamesClientsNotOfferedAndReclaimedWithoutCreate) {
  json s = SampleStatus();
  s["nfs4"]["grace"]["not_offered"] = 3;
  s["nfs4"]["grace"]["last_end"]["reclaimed_without_create"] = 2;
  s["nfs4"]["grace"]["last_end"]["not_offered"] = 1;
  LiveOutput o = StatusOutput(kSocket, s, false);
  ASSERT_EQ(o.exit_code, 0) << o.err;
  for (const char* line :
       {"2 of 5 clients reclaimed, 3 not offered (expired before the reboot)\n",
        "dropped, 0 clients did not come back, 2 reclaimed without a Create (NFSv4.0), 1 not "
        "offered (expired before the reboot))\n"}) {
    EXPECT_NE(o.out.find(line), std::string::npos) << line << "\nin:\n" << o.out;
  }
  // Zero counts say nothing.
  EXPECT_EQ(StatusOutput(kSocket, SampleStatus(), false).out.find("not offered"),
            std::string::npos);
}

TEST(StatusOutput, AnObjectOfAnotherShapeIsAnErrorNotACrash) {
  json odd = SampleStatus();
  odd["nsm"].erase("requests");
  LiveOutput o = StatusOutput(kSocket, odd, false);
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("unexpected status object"), std::string::npos);
}

TEST(MetricsOutput, PrintsTheTextAsIs) {
  LiveOutput o = MetricsOutput(kSocket, json{{"text", "nfsrecd_nsm_state 3\n"}});
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.out, "nfsrecd_nsm_state 3\n");
  o = MetricsOutput(kSocket, Status::NotFound("no socket"));
  EXPECT_EQ(o.exit_code, kCtlExitNotRunning);
  EXPECT_EQ(o.out, "");
}

TEST(NfsrecctlLiveCommandLine, StatusTakesJsonMetricsTakesNothing) {
  auto parse = [](std::vector<std::string> args) {
    args.insert(args.begin(), "nfsrecctl");
    return ParseCtlCommandLine(args);
  };
  auto status = parse({"status", "--json"});
  ASSERT_TRUE(status.ok()) << status.status().message;
  EXPECT_EQ(status->command, "status");
  EXPECT_TRUE(status->json);
  auto human = parse({"status"});
  ASSERT_TRUE(human.ok());
  EXPECT_FALSE(human->json);
  auto metrics = parse({"metrics"});
  ASSERT_TRUE(metrics.ok());
  EXPECT_EQ(metrics->command, "metrics");
  EXPECT_FALSE(parse({"metrics", "--json"}).ok());
  EXPECT_FALSE(parse({"status", "extra"}).ok());
  EXPECT_NE(CtlUsage("nfsrecctl").find("status [--json]"), std::string::npos);
  EXPECT_NE(CtlUsage("nfsrecctl").find("metrics"), std::string::npos);
}

TEST(NfsrecctlLiveCommandLine, ControlSocketFollowsTheDaemonsConfiguration) {
  auto cl = ParseCtlCommandLine({"nfsrecctl", "--state-dir", "/t", "status"});
  ASSERT_TRUE(cl.ok());
  auto conf = [](std::string text) {
    return [text](const std::string& path) { return NfsConf::FromText(text, path); };
  };
  auto def = ResolveCtlStore(*cl, conf(""));
  ASSERT_TRUE(def.ok());
  EXPECT_EQ(def->control_socket, "/t/nfsrecd/control");
  auto moved = ResolveCtlStore(*cl, conf("[nfsrecd]\ncontrol-socket = /run/x.ctl\n"));
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(moved->control_socket, "/run/x.ctl");
  auto off = ResolveCtlStore(*cl, conf("[nfsrecd]\ncontrol-socket = none\n"));
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(off->control_socket, "");
}

}  // namespace
}  // namespace nfsrec
