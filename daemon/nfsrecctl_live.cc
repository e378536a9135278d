#include "daemon/nfsrecctl_live.h"

#include <cstdio>
#include <optional>
#include <sstream>
#include <utility>

#include "common/base/logging.h"
#include "daemon/control_client.h"

namespace nfsrec {
namespace {

using nlohmann::json;

// A failed call as the exit code and message for `command`; nullopt when
// the call succeeded.
std::optional<LiveOutput> Failure(const std::string& command, const std::string& socket_path,
                                  const Result<json>& reply) {
  if (socket_path.empty()) {
    return LiveOutput{kCtlExitNotRunning, "",
                      "nfsrecctl: " + command +
                          ": the control socket is turned off ([nfsrecd] control-socket = none)\n"};
  }
  if (reply.ok()) return std::nullopt;
  const Status& st = reply.status();
  if (st.IsNotFound() && st.message().rfind("unknown command", 0) != 0) {
    return LiveOutput{kCtlExitNotRunning, "",
                      "nfsrecd is not running (no control socket at " + socket_path + ")\n"};
  }
  if (st.IsUnavailable()) {
    return LiveOutput{
        kCtlExitNotRunning, "",
        "nfsrecd is not running (nobody answers on the control socket " + socket_path + ")\n"};
  }
  if (st.IsPermissionDenied()) {
    return LiveOutput{kCtlExitRefused, "",
                      "nfsrecctl: " + command + ": refused: " + st.message() +
                          " (run it as root or as the daemon's user)\n"};
  }
  return LiveOutput{1, "", "nfsrecctl: " + command + ": " + st.ToString() + "\n"};
}

std::string Text(const json& bytes) {
  if (bytes.contains("text")) return bytes.at("text").get<std::string>();
  return "hex:" + bytes.at("hex").get<std::string>();
}

std::string When(const json& utc) { return utc.is_string() ? utc.get<std::string>() : "never"; }

std::string Millis(const json& seconds) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f ms", seconds.get<double>() * 1000.0);
  return buf;
}

void NsmSummary(const json& n, std::ostringstream& os) {
  os << "NSM: state " << n.at("state") << ", " << n.at("monitors") << " monitors, "
     << n.at("notify_list") << " peers to notify\n";
  std::string calls;
  for (const json& p : n.at("requests")) {
    if (p.at("calls").get<uint64_t>() == 0) continue;
    calls += StrCat(calls.empty() ? "" : ", ", p.at("procedure").get<std::string>(), " ",
                    p.at("calls").get<uint64_t>());
    std::string extra;
    if (p.at("garbage").get<uint64_t>() > 0)
      extra += StrCat(p.at("garbage").get<uint64_t>(), " garbage");
    if (p.at("refused").get<uint64_t>() > 0) {
      extra += StrCat(extra.empty() ? "" : ", ", p.at("refused").get<uint64_t>(), " refused");
    }
    if (!extra.empty()) calls += " (" + extra + ")";
  }
  os << "  requests: " << (calls.empty() ? "none" : calls) << "\n";
  const json& f = n.at("in_flight");
  os << "  in flight: " << f.at("replies_awaited") << " replies awaited, "
     << f.at("calls_waiting_for_load") << " calls waiting for a load, " << f.at("callbacks")
     << " lockd callbacks, " << f.at("peers_pending") << " peers being notified, "
     << f.at("peers_queued") << " queued\n";
  os << "  lockd callbacks: " << n.at("callbacks").at("delivered") << " delivered, "
     << n.at("callbacks").at("failed") << " failed\n";
  const json& notify = n.at("notify");
  os << "  notification: " << notify.at("answered") << " answered, " << notify.at("given_up")
     << " given up, " << notify.at("peers_total") << " peers since start\n";
  const json& boot = notify.at("boot");
  if (boot.at("runs").get<uint64_t>() > 0) {
    os << "  boot notification: " << (boot.at("new_boot").get<bool>() ? "new boot" : "resumed")
       << ", state " << boot.at("state") << ", " << boot.at("peers") << " peers, "
       << boot.at("answered") << " answered, " << boot.at("unreachable") << " unreachable; started "
       << When(boot.at("started_utc"))
       << (boot.at("running").get<bool>() ? ", running"
                                          : ", finished " + When(boot.at("finished_utc")))
       << "\n";
  }
  if (notify.at("peers").empty()) return;
  os << "    HOST                             STATE     ATTEMPTS  NEXT RETRY\n";
  for (const json& p : notify.at("peers")) {
    char line[512];
    std::snprintf(line, sizeof(line), "    %-32s %-9s %-9llu %s\n", Text(p.at("host")).c_str(),
                  p.at("state").get<std::string>().c_str(),
                  static_cast<unsigned long long>(p.at("attempts").get<uint64_t>()),
                  p.at("next_retry_utc").is_string()
                      ? p.at("next_retry_utc").get<std::string>().c_str()
                      : "-");
    os << line;
  }
  const size_t listed = notify.at("peers").size();
  if (notify.at("peers_total").get<size_t>() > listed) {
    os << "    (" << listed << " of " << notify.at("peers_total") << " peers listed)\n";
  }
}

void Nfs4Summary(const json& n, std::ostringstream& os) {
  const json& pipe = n.at("pipe");
  os << "NFSv4: cld pipe " << (pipe.at("open").get<bool>() ? "open" : "closed");
  if (!pipe.at("path").get<std::string>().empty())
    os << " (" << pipe.at("path").get<std::string>() << ")";
  os << ", opened " << pipe.at("opens") << " times, last upcall "
     << When(pipe.at("last_upcall_utc")) << "\n";
  std::string by;
  for (const auto& [command, count] : n.at("upcalls").at("by_command").items()) {
    if (count.get<uint64_t>() > 0) by += StrCat(by.empty() ? "" : ", ", command, " ", count);
  }
  os << "  upcalls: " << n.at("upcalls").at("total") << (by.empty() ? "" : " (" + by + ")") << ", "
     << n.at("in_flight") << " in flight, " << n.at("store_errors") << " store errors\n";
  const json& g = n.at("grace");
  if (g.at("in_grace").get<bool>()) {
    os << "  grace: in grace since " << When(g.at("since_utc")) << ", epoch "
       << g.at("current_epoch") << " (reclaiming from " << g.at("recovery_epoch") << "), "
       << g.at("reclaimed");
    if (g.at("may_reclaim_known").get<bool>()) {
      os << " of " << g.at("may_reclaim") << " clients reclaimed";
      if (g.value("not_offered", uint64_t{0}) > 0) {
        os << ", " << g.at("not_offered") << " not offered (expired before the reboot)";
      }
      os << "\n";
    } else {
      os << " clients reclaimed (who may reclaim is unknown: a Check opened grace)\n";
    }
  } else {
    os << "  grace: not in grace, epoch " << g.at("current_epoch") << "\n";
  }
  if (g.at("last_end").is_object()) {
    const json& e = g.at("last_end");
    std::string after = "an unknown time";
    if (e.at("duration_seconds").is_number()) {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.0f s", e.at("duration_seconds").get<double>());
      after = buf;
    }
    os << "  last grace ended " << When(e.at("at_utc")) << " (" << e.at("reason").get<std::string>()
       << ", after " << after << ", epoch " << e.at("recovery_epoch") << " dropped, "
       << e.at("not_returned") << " clients did not come back";
    if (e.value("reclaimed_without_create", uint64_t{0}) > 0) {
      os << ", " << e.at("reclaimed_without_create") << " reclaimed without a Create (NFSv4.0)";
    }
    if (e.value("not_offered", uint64_t{0}) > 0) {
      os << ", " << e.at("not_offered") << " not offered (expired before the reboot)";
    }
    os << ")\n";
  }
}

// Cluster mode: each store's etcd group commit.
void ClusterStoresSummary(const json& c, std::ostringstream& os) {
  os << "Store on etcd (cluster " << c.at("cluster").get<std::string>() << ", instance "
     << c.at("instance").get<std::string>() << "):";
  const char* sep = " ";
  for (const auto& [key, name] : {std::pair<const char*, const char*>{"nsm", "NSM"},
                                  std::pair<const char*, const char*>{"nfs4", "NFSv4"}}) {
    const json& b = c.at("stores").at(key);
    if (!b.is_object()) continue;
    os << sep << name << " " << b.at("units") << " units in " << b.at("transactions")
       << " Txns (group size mean " << b.at("group_size").at("mean") << ", max "
       << b.at("group_size").at("max") << "; " << b.at("reruns") << " re-run alone)";
    sep = "; ";
  }
  os << "\n";
}

}  // namespace

std::string HumanStatus(const json& s) {
  std::ostringstream os;
  os << "nfsrecd " << s.at("version").get<std::string>() << ", pid " << s.at("pid") << ", uid "
     << s.at("uid") << ", ready since " << When(s.at("started_utc")) << "\n";
  if (s.at("nsm").is_object()) {
    NsmSummary(s.at("nsm"), os);
  } else {
    os << "NSM: not served by this daemon\n";
  }
  const json& st = s.at("store");
  if (st.is_object()) {
    os << "Store: " << st.at("units") << " units in " << st.at("transactions")
       << " commits (group size "
       << "mean " << st.at("group_size").at("mean") << ", max " << st.at("group_size").at("max")
       << "); commit p50 " << Millis(st.at("commit_seconds").at("p50")) << ", p99 "
       << Millis(st.at("commit_seconds").at("p99")) << "; " << st.at("queued") << " queued, "
       << st.at("running") << " running\n";
  }
  if (s.contains("cluster") && s.at("cluster").is_object() && s.at("cluster").contains("stores")) {
    ClusterStoresSummary(s.at("cluster"), os);
  }
  if (s.at("nfs4").is_object()) {
    Nfs4Summary(s.at("nfs4"), os);
  } else {
    os << "NFSv4: client tracking not served by this daemon\n";
  }
  return os.str();
}

LiveOutput StatusOutput(const std::string& socket_path, const Result<json>& reply, bool as_json) {
  if (auto failed = Failure("status", socket_path, reply)) return *failed;
  const json& status = *reply;
  if (!status.is_object() || !status.contains("store")) {
    return LiveOutput{1, "", "nfsrecctl: status: the daemon's answer is not a status object\n"};
  }
  if (as_json) return LiveOutput{0, status.dump(2) + "\n", ""};
  try {
    return LiveOutput{0, HumanStatus(status), ""};
  } catch (const json::exception& e) {
    // A daemon of another version: its object is not the one documented.
    return LiveOutput{
        1, "",
        StrCat("nfsrecctl: status: unexpected status object (", e.what(), "); try --json\n")};
  }
}

LiveOutput MetricsOutput(const std::string& socket_path, const Result<json>& reply) {
  if (auto failed = Failure("metrics", socket_path, reply)) return *failed;
  auto text = reply->find("text");
  if (text == reply->end() || !text->is_string()) {
    return LiveOutput{1, "", "nfsrecctl: metrics: the daemon's answer has no \"text\"\n"};
  }
  return LiveOutput{0, text->get<std::string>(), ""};
}

int RunLiveCommand(const std::string& command, const std::string& socket_path, bool as_json) {
  Result<json> reply = socket_path.empty()
                           ? Result<json>(Status::NotFound("off"))
                           : CallDaemon(socket_path, json{{"command", command}}, kCtlLiveTimeout);
  LiveOutput o = command == "metrics" ? MetricsOutput(socket_path, reply)
                                      : StatusOutput(socket_path, reply, as_json);
  std::fputs(o.out.c_str(), stdout);
  std::fputs(o.err.c_str(), stderr);
  return o.exit_code;
}

}  // namespace nfsrec
