#include "daemon/status_report.h"

#include <time.h>

#include <chrono>
#include <cstdio>
#include <sstream>

#include "common/base/logging.h"

namespace nfsrec {
namespace {

using nlohmann::json;

double Seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

bool PrintableAscii(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// Design §3: bytes that may not be UTF-8.
json Bytes(const std::string& s) {
  json j = {{"hex", HexBytes(s.data(), s.size())}};
  if (PrintableAscii(s)) j["text"] = s;
  return j;
}

json Time(int64_t t) { return t > 0 ? json(t) : json(nullptr); }
json TimeUtc(int64_t t) { return t > 0 ? json(Rfc3339Utc(t)) : json(nullptr); }

json Optional(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

json GroupSize(const LiveStatus::Store& s) {
  return {{"mean", s.transactions == 0
                       ? 0.0
                       : static_cast<double>(s.units) / static_cast<double>(s.transactions)},
          {"max", s.max_group}};
}

json NsmJson(const LiveStatus::Nsm& n) {
  json procedures = json::array();
  for (const auto& p : n.procedures) {
    procedures.push_back({{"procedure", p.name},
                          {"calls", p.calls},
                          {"garbage", p.garbage},
                          {"refused", p.refused}});
  }
  json peers = json::array();
  for (const auto& p : n.peers) {
    peers.push_back({{"host", Bytes(p.host)},
                     {"state", p.state},
                     {"attempts", p.attempts},
                     {"next_retry", Time(p.next_retry)},
                     {"next_retry_utc", TimeUtc(p.next_retry)}});
  }
  const LiveStatus::Nsm::BootRun& b = n.boot;
  json boot = {{"runs", b.runs},
               {"running", b.running},
               {"new_boot", b.new_boot},
               {"state", b.state},
               {"peers", b.peers},
               {"answered", b.answered},
               {"unreachable", b.unreachable},
               {"started", Time(b.started)},
               {"started_utc", TimeUtc(b.started)},
               {"finished", Time(b.finished)},
               {"finished_utc", TimeUtc(b.finished)}};
  return {
      {"state", n.state},
      {"monitors", n.monitors},
      {"notify_list", n.notify_list},
      {"requests", procedures},
      {"in_flight",
       {{"replies_awaited", n.replies_awaited},
        {"calls_waiting_for_load", n.calls_waiting_for_load},
        {"callbacks", n.callbacks_in_progress},
        {"peers_queued", n.peers_queued},
        {"peers_pending", n.peers_pending}}},
      {"callbacks", {{"delivered", n.callbacks_delivered}, {"failed", n.callbacks_failed}}},
      {"notify",
       {{"answered", n.peers_answered},
        {"given_up", n.peers_given_up},
        {"peers_total", n.peers_total},
        {"peers", peers},
        {"boot", boot}}},
  };
}

json GraceJson(const LiveStatus::Grace& g) {
  json last = nullptr;
  if (g.last_end) {
    const LiveStatus::GraceEnd& e = *g.last_end;
    last = {{"reason", e.reason},
            {"duration_seconds", Optional(e.duration_seconds)},
            {"recovery_epoch", e.recovery_epoch},
            {"may_reclaim_known", e.may_reclaim_known},
            {"may_reclaim", e.may_reclaim},
            {"reclaimed", e.reclaimed},
            {"reclaimed_without_create", e.reclaimed_without_create},
            {"not_returned", e.not_returned},
            {"not_offered", e.not_offered},
            {"at", Time(e.at)},
            {"at_utc", TimeUtc(e.at)}};
  }
  return {{"in_grace", g.in_grace},
          {"current_epoch", g.current_epoch},
          {"recovery_epoch", g.recovery_epoch},
          {"may_reclaim_known", g.may_reclaim_known},
          {"may_reclaim", g.may_reclaim},
          {"reclaimed", g.reclaimed},
          {"not_offered", g.not_offered},
          {"since", Time(g.since)},
          {"since_utc", TimeUtc(g.since)},
          {"kernel_grace_seconds", Optional(g.kernel_grace_seconds)},
          {"last_end", last}};
}

json Nfs4Json(const LiveStatus::Nfs4& n) {
  json by_command = json::object();
  for (const auto& [command, count] : n.upcalls) by_command[command] = count;
  return {{"upcalls", {{"total", n.upcalls_total}, {"by_command", by_command}}},
          {"in_flight", n.in_flight},
          {"store_errors", n.store_errors},
          {"pipe",
           {{"open", n.pipe_open},
            {"path", n.pipe_path},
            {"opens", n.pipe_opens},
            {"last_upcall", Time(n.last_upcall)},
            {"last_upcall_utc", TimeUtc(n.last_upcall)}}},
          {"grace", GraceJson(n.grace)}};
}

// Label values: backslash, double quote and newline escaped (the text
// format's rule), after Printable() made any other byte visible.
std::string LabelValue(const std::string& s) {
  std::string out;
  for (char c : Printable(s)) {
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  return out;
}

// A number as the text format writes it: integers without a point.
std::string Number(double v) {
  if (v == static_cast<double>(static_cast<int64_t>(v))) {
    return std::to_string(static_cast<int64_t>(v));
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

class Exposition {
 public:
  // Starts a metric family: HELP and TYPE lines.
  void Family(const std::string& name, const char* type, const std::string& help) {
    os_ << "# HELP " << name << ' ' << help << '\n' << "# TYPE " << name << ' ' << type << '\n';
  }
  void Sample(const std::string& name, double value, const std::string& labels = "") {
    os_ << name;
    if (!labels.empty()) os_ << '{' << labels << '}';
    os_ << ' ' << Number(value) << '\n';
  }
  // A family with one unlabelled sample.
  void One(const std::string& name, const char* type, const std::string& help, double value) {
    Family(name, type, help);
    Sample(name, value);
  }
  std::string str() const { return os_.str(); }

 private:
  std::ostringstream os_;
};

void NsmMetrics(const LiveStatus::Nsm& n, Exposition& e) {
  e.One("nfsrecd_nsm_state", "gauge", "The NSM state number this host announces.", n.state);
  e.One("nfsrecd_nsm_monitors", "gauge", "Monitor records (SM_MON registrations) held.",
        static_cast<double>(n.monitors));
  e.One("nfsrecd_nsm_notify_list", "gauge", "Peers still owed an SM_NOTIFY of this host's reboot.",
        static_cast<double>(n.notify_list));
  struct Column {
    const char* name;
    const char* help;
    uint64_t LiveStatus::Procedure::*field;
  };
  for (const Column& c : {
           Column{"nfsrecd_nsm_requests_total", "NSM calls received, by procedure.",
                  &LiveStatus::Procedure::calls},
           Column{"nfsrecd_nsm_garbage_requests_total",
                  "NSM calls whose arguments did not decode (GARBAGE_ARGS), by procedure.",
                  &LiveStatus::Procedure::garbage},
           Column{"nfsrecd_nsm_refused_requests_total",
                  "NSM calls refused because of who made them, by procedure.",
                  &LiveStatus::Procedure::refused},
       }) {
    e.Family(c.name, "counter", c.help);
    for (const auto& p : n.procedures) {
      e.Sample(c.name, static_cast<double>(p.*c.field),
               StrCat("procedure=\"", LabelValue(p.name), "\""));
    }
  }
  e.One("nfsrecd_nsm_replies_awaited", "gauge",
        "NSM calls waiting for DNS, a commit or an HA callout before their reply.",
        static_cast<double>(n.replies_awaited));
  e.One("nfsrecd_nsm_calls_waiting_for_load", "gauge",
        "NSM calls held while the lists are (re)loaded.",
        static_cast<double>(n.calls_waiting_for_load));
  e.One("nfsrecd_nsm_callbacks_in_progress", "gauge",
        "Reboot callbacks to the local lock manager not yet delivered.",
        static_cast<double>(n.callbacks_in_progress));
  e.Family("nfsrecd_nsm_callbacks_total", "counter",
           "Reboot callbacks to the local lock manager finished, by outcome.");
  e.Sample("nfsrecd_nsm_callbacks_total", static_cast<double>(n.callbacks_delivered),
           "outcome=\"delivered\"");
  e.Sample("nfsrecd_nsm_callbacks_total", static_cast<double>(n.callbacks_failed),
           "outcome=\"failed\"");
  e.Family("nfsrecd_notify_peers", "gauge",
           "Peers being notified of this host's reboot, by state.");
  e.Sample("nfsrecd_notify_peers", static_cast<double>(n.peers_queued), "state=\"queued\"");
  e.Sample("nfsrecd_notify_peers", static_cast<double>(n.peers_pending), "state=\"pending\"");
  e.Family("nfsrecd_notify_peers_finished_total", "counter",
           "Peers whose reboot notification ended, by outcome.");
  e.Sample("nfsrecd_notify_peers_finished_total", static_cast<double>(n.peers_answered),
           "outcome=\"answered\"");
  e.Sample("nfsrecd_notify_peers_finished_total", static_cast<double>(n.peers_given_up),
           "outcome=\"given_up\"");
  e.One("nfsrecd_notify_boot_runs_total", "counter",
        "Boot notification runs started by this process.", static_cast<double>(n.boot.runs));
  e.One("nfsrecd_notify_boot_running", "gauge", "1 while a boot notification run is in progress.",
        n.boot.running ? 1 : 0);
  e.One("nfsrecd_notify_boot_start_time_seconds", "gauge",
        "Unix time the current or last boot notification run started; 0 if none.",
        static_cast<double>(n.boot.started));
  e.Family("nfsrecd_notify_peer_attempts", "gauge",
           "Calls made to each listed peer (rpcbind and SM_NOTIFY), by host and state.");
  for (const auto& p : n.peers) {
    e.Sample("nfsrecd_notify_peer_attempts", static_cast<double>(p.attempts),
             StrCat("host=\"", LabelValue(p.host), "\",state=\"", p.state, "\""));
  }
}

void StoreMetrics(const LiveStatus::Store& s, Exposition& e) {
  e.One("nfsrecd_store_units_total", "counter", "Units of work committed or failed.",
        static_cast<double>(s.units));
  e.One("nfsrecd_store_transactions_total", "counter", "COMMITs issued (one fsync each).",
        static_cast<double>(s.transactions));
  e.One("nfsrecd_store_units_queued", "gauge", "Units waiting for the commit thread.",
        static_cast<double>(s.queued));
  e.One("nfsrecd_store_units_running", "gauge", "Units in the group being committed.",
        static_cast<double>(s.running));
  e.One("nfsrecd_store_group_size_max", "gauge", "Most units committed in one transaction.",
        static_cast<double>(s.max_group));
  const LatencyHistogram& h = s.commit_time;
  const std::string name = "nfsrecd_store_commit_duration_seconds";
  e.Family(name, "histogram", "Wall time of each COMMIT, fsync included.");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < LatencyHistogram::kBounds; ++i) {
    cumulative += h.buckets()[i];
    e.Sample(name + "_bucket", static_cast<double>(cumulative),
             StrCat("le=\"", Number(Seconds(LatencyHistogram::UpperBound(i))), "\""));
  }
  e.Sample(name + "_bucket", static_cast<double>(h.count()), "le=\"+Inf\"");
  e.Sample(name + "_sum", Seconds(h.sum()));
  e.Sample(name + "_count", static_cast<double>(h.count()));
  // Plain gauges, not a summary: `quantile` is a summary's reserved label, and
  // the histogram above already gives scrapers exact aggregation.
  e.One("nfsrecd_store_commit_p50_seconds", "gauge",
        "Median COMMIT wall time, from the histogram's buckets.", Seconds(h.Percentile(0.5)));
  e.One("nfsrecd_store_commit_p99_seconds", "gauge",
        "99th percentile COMMIT wall time, from the histogram's buckets.",
        Seconds(h.Percentile(0.99)));
}

void Nfs4Metrics(const LiveStatus::Nfs4& n, Exposition& e) {
  e.Family("nfsrecd_cld_upcalls_total", "counter", "cld upcalls from nfsd, by command.");
  for (const auto& [command, count] : n.upcalls) {
    e.Sample("nfsrecd_cld_upcalls_total", static_cast<double>(count),
             StrCat("command=\"", LabelValue(command), "\""));
  }
  e.One("nfsrecd_cld_upcalls_in_flight", "gauge", "cld upcalls read and not answered yet.",
        static_cast<double>(n.in_flight));
  e.One("nfsrecd_cld_store_errors_total", "counter", "cld upcalls answered with a store error.",
        static_cast<double>(n.store_errors));
  e.One("nfsrecd_cld_pipe_open", "gauge", "1 while the cld pipe is held open.",
        n.pipe_open ? 1 : 0);
  e.One("nfsrecd_cld_pipe_opens_total", "counter", "Times the cld pipe was opened.",
        static_cast<double>(n.pipe_opens));
  e.One("nfsrecd_cld_last_upcall_time_seconds", "gauge",
        "Unix time of the last cld upcall; 0 if none.", static_cast<double>(n.last_upcall));
  const LiveStatus::Grace& g = n.grace;
  e.One("nfsrecd_grace_active", "gauge", "1 while an NFSv4 grace period is open.",
        g.in_grace ? 1 : 0);
  e.One("nfsrecd_grace_current_epoch", "gauge", "The current NFSv4 client-tracking epoch.",
        static_cast<double>(g.current_epoch));
  e.One("nfsrecd_grace_recovery_epoch", "gauge", "The epoch clients reclaim from; 0 out of grace.",
        static_cast<double>(g.recovery_epoch));
  e.One("nfsrecd_grace_clients_may_reclaim", "gauge",
        "Clients that may reclaim in the open grace period.", static_cast<double>(g.may_reclaim));
  e.One("nfsrecd_grace_clients_reclaimed", "gauge", "Of those, clients that have reclaimed so far.",
        static_cast<double>(g.reclaimed));
  e.One("nfsrecd_grace_clients_not_offered", "gauge",
        "Clients left out of the open grace period: their lease had expired before the reboot.",
        static_cast<double>(g.not_offered));
  e.One("nfsrecd_grace_start_time_seconds", "gauge",
        "Unix time the open grace period started; 0 if none or unknown.",
        static_cast<double>(g.since));
  if (g.last_end) {
    const LiveStatus::GraceEnd& end = *g.last_end;
    e.Family("nfsrecd_grace_last_end_time_seconds", "gauge",
             "Unix time the last grace period ended, with why (docs/events.md).");
    e.Sample("nfsrecd_grace_last_end_time_seconds", static_cast<double>(end.at),
             StrCat("reason=\"", LabelValue(end.reason), "\""));
    e.One("nfsrecd_grace_last_not_returned", "gauge",
          "Clients that could have reclaimed in the last grace period and did not.",
          static_cast<double>(end.not_returned));
    e.One("nfsrecd_grace_last_not_offered", "gauge",
          "Clients left out of the last grace period: their lease had expired before the reboot.",
          static_cast<double>(end.not_offered));
    if (end.duration_seconds) {
      e.One("nfsrecd_grace_last_duration_seconds", "gauge", "How long the last grace period ran.",
            *end.duration_seconds);
    }
  }
}

}  // namespace

int64_t UnixSecondsOf(TimePoint t, TimePoint mono_now, std::chrono::system_clock::time_point now) {
  if (t == TimePoint{}) return 0;
  auto wall = now - std::chrono::duration_cast<std::chrono::system_clock::duration>(mono_now - t);
  return std::chrono::duration_cast<std::chrono::seconds>(wall.time_since_epoch()).count();
}

std::string Rfc3339Utc(int64_t unix_seconds) {
  if (unix_seconds <= 0) return "";
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm;
  if (gmtime_r(&t, &tm) == nullptr) return "";
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {

json BatcherJson(const std::optional<LiveStatus::Cluster::Batcher>& b) {
  if (!b) return nullptr;
  return {{"units", b->units},
          {"transactions", b->transactions},
          {"reruns", b->reruns},
          {"group_size",
           {{"mean", b->transactions == 0
                         ? 0.0
                         : static_cast<double>(b->units) / static_cast<double>(b->transactions)},
            {"max", b->max_group}}}};
}

json ClusterJson(const LiveStatus::Cluster& c) {
  return {{"cluster", c.cluster},
          {"instance", c.instance},
          {"node", c.node},
          {"etcd_available", c.etcd_available},
          {"etcd_endpoint", c.etcd_endpoint},
          {"held", c.held},
          {"token", c.token},
          {"grace", {{"current", c.grace_current}, {"recovery", c.grace_recovery}}},
          {"need", c.need},
          {"enforcing", c.enforcing},
          {"stores", {{"nsm", BatcherJson(c.nsm_store)}, {"nfs4", BatcherJson(c.nfs4_store)}}}};
}

void ClusterMetrics(const LiveStatus::Cluster& c, Exposition& e) {
  e.One("nfsrecd_cluster_etcd_up", "gauge", "1 if the last etcd call reached a member.",
        c.etcd_available ? 1 : 0);
  e.One("nfsrecd_cluster_instance_held", "gauge", "1 while this process serves its instance.",
        c.held ? 1 : 0);
  e.One("nfsrecd_cluster_grace_recovery_epoch", "gauge",
        "The cluster grace's recovery epoch; 0: no cluster grace.",
        static_cast<double>(c.grace_recovery));
  e.One("nfsrecd_cluster_need_grace", "gauge", "1 while this instance has clients to recover.",
        c.need ? 1 : 0);
  struct Column {
    const char* name;
    const char* type;
    const char* help;
    uint64_t LiveStatus::Cluster::Batcher::*field;
  };
  if (!c.nsm_store && !c.nfs4_store) return;
  const std::pair<const char*, const std::optional<LiveStatus::Cluster::Batcher>*> stores[] = {
      {"nsm", &c.nsm_store}, {"nfs4", &c.nfs4_store}};
  for (const Column& col : {
           Column{"nfsrecd_cluster_store_units_total", "counter",
                  "Units the store's etcd group commit completed, committed or failed.",
                  &LiveStatus::Cluster::Batcher::units},
           Column{"nfsrecd_cluster_store_transactions_total", "counter",
                  "Write Txns sent to etcd (one raft entry each), re-runs included.",
                  &LiveStatus::Cluster::Batcher::transactions},
           Column{"nfsrecd_cluster_store_reruns_total", "counter",
                  "Units sent again alone after their group failed a compare or was refused.",
                  &LiveStatus::Cluster::Batcher::reruns},
           Column{"nfsrecd_cluster_store_group_size_max", "gauge", "Most units in one Txn.",
                  &LiveStatus::Cluster::Batcher::max_group},
       }) {
    e.Family(col.name, col.type, col.help);
    for (const auto& [name, b] : stores) {
      if (!*b) continue;
      e.Sample(col.name, static_cast<double>((**b).*col.field), StrCat("store=\"", name, "\""));
    }
  }
}

json StoreJson(const LiveStatus::Store& st) {
  return {{"units", st.units},
          {"transactions", st.transactions},
          {"queued", st.queued},
          {"running", st.running},
          {"group_size", GroupSize(st)},
          {"commits_timed", st.commit_time.count()},
          {"commit_seconds",
           {{"p50", Seconds(st.commit_time.Percentile(0.5))},
            {"p99", Seconds(st.commit_time.Percentile(0.99))},
            {"max", Seconds(st.commit_time.max())}}}};
}

}  // namespace

nlohmann::json StatusToJson(const LiveStatus& s) {
  return {{"version", s.version},
          {"pid", s.pid},
          {"uid", s.uid},
          {"time", s.now},
          {"time_utc", Rfc3339Utc(s.now)},
          {"started", Time(s.started)},
          {"started_utc", TimeUtc(s.started)},
          {"nsm", s.nsm ? NsmJson(*s.nsm) : json(nullptr)},
          {"store", s.store ? StoreJson(*s.store) : json(nullptr)},
          {"nfs4", s.nfs4 ? Nfs4Json(*s.nfs4) : json(nullptr)},
          {"cluster", s.cluster ? ClusterJson(*s.cluster) : json(nullptr)}};
}

std::string StatusToPrometheus(const LiveStatus& s) {
  Exposition e;
  e.Family("nfsrecd_info", "gauge", "Always 1; the version in a label.");
  e.Sample("nfsrecd_info", 1, StrCat("version=\"", LabelValue(s.version), "\""));
  e.One("nfsrecd_start_time_seconds", "gauge", "Unix time the daemon became ready.",
        static_cast<double>(s.started));
  if (s.nsm) NsmMetrics(*s.nsm, e);
  if (s.store) StoreMetrics(*s.store, e);
  if (s.nfs4) Nfs4Metrics(*s.nfs4, e);
  if (s.cluster) ClusterMetrics(*s.cluster, e);
  return e.str();
}

}  // namespace nfsrec
