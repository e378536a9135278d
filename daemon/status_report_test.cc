#include "daemon/status_report.h"

// GCC 12's -Wmaybe-uninitialized misfires inside libstdc++'s <regex> under
// ASan+UBSan (std::function in _StateT); the warning is about the library.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <regex>
#pragma GCC diagnostic pop
#include <set>
#include <sstream>

#include <gtest/gtest.h>

namespace nfsrec {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

// A known set of figures: NSM with one refused SM_MON and one garbage
// SM_STAT, two peers, a store with three commits, NFSv4 in grace.
LiveStatus Known() {
  LiveStatus s;
  s.version = "1.2.3";
  s.pid = 4242;
  s.uid = 105;
  s.now = 1800000000;
  s.started = 1799999000;
  LiveStatus::Nsm n;
  n.state = 5;
  n.monitors = 2;
  n.notify_list = 1;
  n.procedures = {{"SM_STAT", 4, 1, 0}, {"SM_MON", 3, 0, 1}};
  n.replies_awaited = 1;
  n.callbacks_delivered = 6;
  n.peers_queued = 0;
  n.peers_pending = 1;
  n.peers_answered = 1;
  n.peers_total = 2;
  n.peers = {{"client\"1", "pending", 3, 1800000060},
             {std::string("\xff\x01", 2), "answered", 2, 0}};
  s.nsm = n;
  LiveStatus::Store& st = s.store.emplace();
  st.units = 7;
  st.transactions = 3;
  st.max_group = 4;
  st.commit_time.Record(microseconds(900));
  st.commit_time.Record(microseconds(950));
  st.commit_time.Record(milliseconds(20));
  LiveStatus::Nfs4 f;
  f.upcalls = {{"create", 2}, {"gracestart", 1}};
  f.upcalls_total = 3;
  f.pipe_open = true;
  f.pipe_path = "/run/rpc_pipefs/nfsd/cld";
  f.pipe_opens = 1;
  f.last_upcall = 1799999990;
  f.grace.in_grace = true;
  f.grace.current_epoch = 3;
  f.grace.recovery_epoch = 2;
  f.grace.may_reclaim = 4;
  f.grace.reclaimed = 1;
  f.grace.not_offered = 2;
  f.grace.since = 1799999500;
  f.grace.kernel_grace_seconds = 90;
  LiveStatus::GraceEnd end;
  end.reason = "timer";
  end.duration_seconds = 90.5;
  end.recovery_epoch = 1;
  end.may_reclaim = 3;
  end.reclaimed = 2;
  end.reclaimed_without_create = 1;
  end.not_returned = 1;
  end.not_offered = 3;
  end.at = 1799990000;
  f.grace.last_end = end;
  s.nfs4 = f;
  s.nsm->boot = {1, false, true, 5, 2, 1, 1, 1799999001, 1799999100};
  return s;
}

// Known() in cluster mode: the NSM store's group commit re-ran 3 units,
// the NFSv4 store is not run.
LiveStatus KnownInCluster() {
  LiveStatus s = Known();
  LiveStatus::Cluster c;
  c.cluster = "c1";
  c.instance = "i1";
  c.node = "n1";
  c.etcd_available = true;
  c.held = true;
  c.nsm_store = LiveStatus::Cluster::Batcher{10, 4, 3, 5};
  s.cluster = c;
  s.store.reset();  // no SQLite database in cluster mode
  return s;
}

TEST(StatusToPrometheus, GoldenExpositionOfAKnownSet) {
  std::string text = StatusToPrometheus(Known());
  // Every family in order; the histogram's 21 finite buckets elided below.
  const std::string head =
      "# HELP nfsrecd_info Always 1; the version in a label.\n"
      "# TYPE nfsrecd_info gauge\n"
      "nfsrecd_info{version=\"1.2.3\"} 1\n"
      "# HELP nfsrecd_start_time_seconds Unix time the daemon became ready.\n"
      "# TYPE nfsrecd_start_time_seconds gauge\n"
      "nfsrecd_start_time_seconds 1799999000\n"
      "# HELP nfsrecd_nsm_state The NSM state number this host announces.\n"
      "# TYPE nfsrecd_nsm_state gauge\n"
      "nfsrecd_nsm_state 5\n"
      "# HELP nfsrecd_nsm_monitors Monitor records (SM_MON registrations) held.\n"
      "# TYPE nfsrecd_nsm_monitors gauge\n"
      "nfsrecd_nsm_monitors 2\n"
      "# HELP nfsrecd_nsm_notify_list Peers still owed an SM_NOTIFY of this host's reboot.\n"
      "# TYPE nfsrecd_nsm_notify_list gauge\n"
      "nfsrecd_nsm_notify_list 1\n"
      "# HELP nfsrecd_nsm_requests_total NSM calls received, by procedure.\n"
      "# TYPE nfsrecd_nsm_requests_total counter\n"
      "nfsrecd_nsm_requests_total{procedure=\"SM_STAT\"} 4\n"
      "nfsrecd_nsm_requests_total{procedure=\"SM_MON\"} 3\n"
      "# HELP nfsrecd_nsm_garbage_requests_total NSM calls whose arguments did not decode "
      "(GARBAGE_ARGS), by procedure.\n"
      "# TYPE nfsrecd_nsm_garbage_requests_total counter\n"
      "nfsrecd_nsm_garbage_requests_total{procedure=\"SM_STAT\"} 1\n"
      "nfsrecd_nsm_garbage_requests_total{procedure=\"SM_MON\"} 0\n"
      "# HELP nfsrecd_nsm_refused_requests_total NSM calls refused because of who made them, "
      "by procedure.\n"
      "# TYPE nfsrecd_nsm_refused_requests_total counter\n"
      "nfsrecd_nsm_refused_requests_total{procedure=\"SM_STAT\"} 0\n"
      "nfsrecd_nsm_refused_requests_total{procedure=\"SM_MON\"} 1\n"
      "# HELP nfsrecd_nsm_replies_awaited NSM calls waiting for DNS, a commit or an HA callout "
      "before their reply.\n"
      "# TYPE nfsrecd_nsm_replies_awaited gauge\n"
      "nfsrecd_nsm_replies_awaited 1\n";
  EXPECT_EQ(text.substr(0, head.size()), head);
  for (const char* line : {
           "nfsrecd_nsm_callbacks_total{outcome=\"delivered\"} 6\n",
           "nfsrecd_notify_peers{state=\"pending\"} 1\n",
           "nfsrecd_notify_peers_finished_total{outcome=\"answered\"} 1\n",
           "nfsrecd_notify_peer_attempts{host=\"client\\\"1\",state=\"pending\"} 3\n",
           "nfsrecd_notify_peer_attempts{host=\"\\\\xff\\\\x01\",state=\"answered\"} 2\n",
           "nfsrecd_store_units_total 7\n",
           "nfsrecd_store_transactions_total 3\n",
           "nfsrecd_store_group_size_max 4\n",
           "# TYPE nfsrecd_store_commit_duration_seconds histogram\n",
           "nfsrecd_store_commit_duration_seconds_bucket{le=\"1.6e-05\"} 0\n",
           "nfsrecd_store_commit_duration_seconds_bucket{le=\"0.001024\"} 2\n",
           "nfsrecd_store_commit_duration_seconds_bucket{le=\"0.032768\"} 3\n",
           "nfsrecd_store_commit_duration_seconds_bucket{le=\"+Inf\"} 3\n",
           "nfsrecd_store_commit_duration_seconds_sum 0.02185\n",
           "nfsrecd_store_commit_duration_seconds_count 3\n",
           "nfsrecd_store_commit_p50_seconds 0.001024\n",
           "nfsrecd_store_commit_p99_seconds 0.02\n",
           "nfsrecd_cld_upcalls_total{command=\"create\"} 2\n",
           "nfsrecd_cld_upcalls_total{command=\"gracestart\"} 1\n",
           "nfsrecd_cld_pipe_open 1\n",
           "nfsrecd_cld_last_upcall_time_seconds 1799999990\n",
           "nfsrecd_grace_active 1\n",
           "nfsrecd_grace_recovery_epoch 2\n",
           "nfsrecd_grace_clients_may_reclaim 4\n",
           "nfsrecd_grace_clients_reclaimed 1\n",
           "nfsrecd_grace_clients_not_offered 2\n",
           "nfsrecd_grace_start_time_seconds 1799999500\n",
           "nfsrecd_grace_last_end_time_seconds{reason=\"timer\"} 1799990000\n",
           "nfsrecd_grace_last_not_returned 1\n",
           "nfsrecd_grace_last_not_offered 3\n",
           "nfsrecd_grace_last_duration_seconds 90.5\n",
           "nfsrecd_notify_boot_runs_total 1\n",
           "nfsrecd_notify_boot_running 0\n",
           "nfsrecd_notify_boot_start_time_seconds 1799999001\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\nin:\n" << text;
  }
}

// The text format 0.0.4: comments are HELP or TYPE; a sample is a metric
// name, optional labels with quoted values, one space and a number.
TEST(StatusToPrometheus, EveryLineParsesAsTheTextFormatAndEachFamilyIsTypedOnce) {
  for (const LiveStatus& s : {Known(), LiveStatus{}, KnownInCluster()}) {
    std::string text = StatusToPrometheus(s);
    ASSERT_FALSE(text.empty());
    ASSERT_EQ(text.back(), '\n');
    const std::regex help(R"(# HELP [a-zA-Z_:][a-zA-Z0-9_:]* [^\n]+)");
    const std::regex type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram))");
    const std::regex sample(
        R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*\})? (-?[0-9.e+-]+|\+Inf))");
    std::istringstream in(text);
    std::string line;
    std::set<std::string> typed;
    std::string family;
    while (std::getline(in, line)) {
      std::smatch m;
      if (std::regex_match(line, m, type)) {
        EXPECT_TRUE(typed.insert(m[1]).second) << "typed twice: " << line;
        family = m[1];
      } else if (std::regex_match(line, help)) {
        continue;
      } else {
        ASSERT_TRUE(std::regex_match(line, m, sample)) << line;
        const std::string name = m[1];
        EXPECT_EQ(name.rfind(family, 0), 0u) << name << " outside its family " << family;
        EXPECT_EQ(name.rfind("nfsrecd_", 0), 0u) << name;
      }
    }
    for (const std::string& f : typed) {
      if (f.size() > 6 && f.compare(f.size() - 6, 6, "_total") == 0) {
        EXPECT_NE(text.find("# TYPE " + f + " counter\n"), std::string::npos) << f;
      }
    }
  }
}

TEST(StatusToJson, CarriesTheFiguresWithBytesAsHexAndTimesAsBothForms) {
  nlohmann::json j = StatusToJson(Known());
  EXPECT_EQ(j["version"], "1.2.3");
  EXPECT_EQ(j["time"], 1800000000);
  EXPECT_EQ(j["time_utc"], "2027-01-15T08:00:00Z");
  EXPECT_EQ(j["nsm"]["requests"][1]["procedure"], "SM_MON");
  EXPECT_EQ(j["nsm"]["requests"][1]["refused"], 1);
  EXPECT_EQ(j["nsm"]["in_flight"]["replies_awaited"], 1);
  EXPECT_EQ(j["nsm"]["notify"]["peers"][0]["host"]["text"], "client\"1");
  EXPECT_EQ(j["nsm"]["notify"]["peers"][0]["next_retry_utc"], "2027-01-15T08:01:00Z");
  EXPECT_EQ(j["nsm"]["notify"]["peers"][1]["host"]["hex"], "ff01");
  EXPECT_FALSE(j["nsm"]["notify"]["peers"][1]["host"].contains("text"));
  EXPECT_TRUE(j["nsm"]["notify"]["peers"][1]["next_retry"].is_null());
  EXPECT_DOUBLE_EQ(j["store"]["group_size"]["mean"].get<double>(), 7.0 / 3.0);
  EXPECT_EQ(j["store"]["group_size"]["max"], 4);
  EXPECT_DOUBLE_EQ(j["store"]["commit_seconds"]["p50"].get<double>(), 0.001024);
  EXPECT_DOUBLE_EQ(j["store"]["commit_seconds"]["p99"].get<double>(), 0.02);
  EXPECT_EQ(j["nfs4"]["upcalls"]["by_command"]["create"], 2);
  EXPECT_EQ(j["nfs4"]["pipe"]["open"], true);
  EXPECT_EQ(j["nfs4"]["grace"]["may_reclaim"], 4);
  EXPECT_EQ(j["nfs4"]["grace"]["since_utc"], "2027-01-15T07:51:40Z");
  EXPECT_EQ(j["nfs4"]["grace"]["kernel_grace_seconds"], 90.0);
  EXPECT_EQ(j["nfs4"]["grace"]["last_end"]["reason"], "timer");
  EXPECT_EQ(j["nfs4"]["grace"]["last_end"]["duration_seconds"], 90.5);
  EXPECT_EQ(j["nfs4"]["grace"]["last_end"]["not_returned"], 1);
  EXPECT_EQ(j["nfs4"]["grace"]["not_offered"], 2);
  EXPECT_EQ(j["nfs4"]["grace"]["last_end"]["reclaimed_without_create"], 1);
  EXPECT_EQ(j["nfs4"]["grace"]["last_end"]["not_offered"], 3);
  EXPECT_EQ(j["nsm"]["notify"]["boot"]["unreachable"], 1);
  EXPECT_EQ(j["nsm"]["notify"]["boot"]["finished_utc"], "2027-01-15T07:45:00Z");
}

TEST(StatusToJson, ClusterModeCarriesEachEtcdStoresGroupCommitCounts) {
  nlohmann::json j = StatusToJson(KnownInCluster());
  const nlohmann::json& nsm = j["cluster"]["stores"]["nsm"];
  EXPECT_EQ(nsm["units"], 10);
  EXPECT_EQ(nsm["transactions"], 4);
  EXPECT_EQ(nsm["reruns"], 3);
  EXPECT_DOUBLE_EQ(nsm["group_size"]["mean"].get<double>(), 2.5);
  EXPECT_EQ(nsm["group_size"]["max"], 5);
  EXPECT_TRUE(j["cluster"]["stores"]["nfs4"].is_null());
  EXPECT_TRUE(j["store"].is_null()) << "SQLite's queue shown where there is none";
}

TEST(StatusToPrometheus, ClusterModeExposesEachEtcdStoresGroupCommitCounts) {
  const std::string text = StatusToPrometheus(KnownInCluster());
  for (const char* line : {
           "# TYPE nfsrecd_cluster_store_units_total counter\n"
           "nfsrecd_cluster_store_units_total{store=\"nsm\"} 10\n",
           "# TYPE nfsrecd_cluster_store_transactions_total counter\n"
           "nfsrecd_cluster_store_transactions_total{store=\"nsm\"} 4\n",
           "# TYPE nfsrecd_cluster_store_reruns_total counter\n"
           "nfsrecd_cluster_store_reruns_total{store=\"nsm\"} 3\n",
           "# TYPE nfsrecd_cluster_store_group_size_max gauge\n"
           "nfsrecd_cluster_store_group_size_max{store=\"nsm\"} 5\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\nin:\n" << text;
  }
  EXPECT_EQ(text.find("store=\"nfs4\""), std::string::npos) << "a store not run has samples";
  EXPECT_EQ(StatusToPrometheus(Known()).find("nfsrecd_cluster_store"), std::string::npos);
  EXPECT_EQ(text.find("nfsrecd_store_"), std::string::npos) << "SQLite's queue in cluster mode";
  EXPECT_NE(StatusToPrometheus(Known()).find("nfsrecd_store_units_total 7\n"), std::string::npos);
}

TEST(StatusToJson, UnknownDurationsAndTimesAreNull) {
  LiveStatus s = Known();
  s.nfs4->grace.since = 0;
  s.nfs4->grace.kernel_grace_seconds.reset();
  s.nfs4->grace.last_end->duration_seconds.reset();
  s.nsm->boot = {};
  nlohmann::json j = StatusToJson(s);
  EXPECT_TRUE(j["nfs4"]["grace"]["since"].is_null());
  EXPECT_TRUE(j["nfs4"]["grace"]["kernel_grace_seconds"].is_null());
  EXPECT_TRUE(j["nfs4"]["grace"]["last_end"]["duration_seconds"].is_null());
  EXPECT_TRUE(j["nsm"]["notify"]["boot"]["started"].is_null());
  EXPECT_EQ(StatusToPrometheus(s).find("nfsrecd_grace_last_duration_seconds "), std::string::npos);
}

TEST(StatusToJson, AServiceNotRunIsNull) {
  nlohmann::json j = StatusToJson(LiveStatus{});
  EXPECT_TRUE(j["nsm"].is_null());
  EXPECT_TRUE(j["nfs4"].is_null());
  EXPECT_TRUE(j["started"].is_null());
  EXPECT_TRUE(j["store"].is_null());
  LiveStatus no_commits;
  no_commits.store.emplace();
  EXPECT_EQ(StatusToJson(no_commits)["store"]["group_size"]["mean"], 0.0);
}

TEST(UnixSecondsOf, MonotonicPointsBecomeWallTimeAndTheEpochMeansNever) {
  const TimePoint mono_now = TimePoint{} + std::chrono::hours(5);
  const auto wall_now = std::chrono::system_clock::time_point{} + std::chrono::seconds(1800000000);
  EXPECT_EQ(UnixSecondsOf(mono_now, mono_now, wall_now), 1800000000);
  EXPECT_EQ(UnixSecondsOf(mono_now - std::chrono::seconds(90), mono_now, wall_now), 1799999910);
  EXPECT_EQ(UnixSecondsOf(mono_now + std::chrono::seconds(120), mono_now, wall_now), 1800000120);
  EXPECT_EQ(UnixSecondsOf(TimePoint{}, mono_now, wall_now), 0);
}

TEST(Rfc3339Utc, FormatsUnixSecondsAndLeavesZeroEmpty) {
  EXPECT_EQ(Rfc3339Utc(0), "");
  EXPECT_EQ(Rfc3339Utc(86400 + 3661), "1970-01-02T01:01:01Z");
}

}  // namespace
}  // namespace nfsrec
