#include "daemon/nfsrecctl_cluster.h"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>

#include "common/base/logging.h"
#include "common/os/event_loop.h"
#include "common/store/etcd_client.h"

namespace nfsrec {

namespace {

using cluster::ClusterStatus;
using cluster::GraceValue;
using cluster::InstanceStatus;

constexpr Duration kCommandTimeout = std::chrono::seconds(30);

std::string Joined(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

std::string GraceLine(const ClusterStatus& s) {
  const GraceValue& g = s.grace;
  if (!g.in_grace()) {
    return StrCat("cluster ", s.cluster, ": no cluster grace (current epoch ", g.current, ")");
  }
  std::vector<std::string> needing;
  for (const InstanceStatus& is : s.instances) {
    if (is.flags && is.flags->need) needing.push_back(is.name);
  }
  return StrCat("cluster ", s.cluster, ": cluster grace ", g.current, " running (recovery epoch ",
                g.recovery, "), ",
                needing.empty() ? std::string("no instance needs it")
                                : StrCat("waiting for ", Joined(needing, ", ")));
}

const char* YesNo(bool b) { return b ? "yes" : "no"; }

std::string InstanceTable(const ClusterStatus& s) {
  std::vector<std::vector<std::string>> rows;
  for (const InstanceStatus& is : s.instances) {
    std::vector<std::string> row{is.name};
    if (is.owner) {
      row.insert(row.end(),
                 {is.owner->node, std::to_string(is.owner->pid), RecordTimeUtc(is.owner->since)});
    } else {
      row.insert(row.end(), {"-", "-", "-"});
    }
    row.push_back(is.flags ? YesNo(is.flags->need) : "-");
    row.push_back(is.flags ? YesNo(is.flags->enforcing) : "-");
    row.push_back(is.params ? StrCat(is.params->lease_time, "/", is.params->grace_time) : "-");
    const bool any = is.owner && !is.owner->addresses.empty();
    row.push_back(
        StrCat(any ? Joined(is.owner->addresses, ",") : std::string("-"),
               is.problems.empty() ? std::string() : StrCat(" (", Joined(is.problems, "; "), ")")));
    rows.push_back(std::move(row));
  }
  return FormatTable(
      {"INSTANCE", "NODE", "PID", "SINCE", "NEED", "ENFORCING", "LEASE/GRACE", "ADDRESSES"}, rows);
}

CtlJson GraceJson(const GraceValue& g) {
  CtlJson j;
  j["current"] = g.current;
  j["recovery"] = g.recovery;
  j["in_grace"] = g.in_grace();
  return j;
}

CtlJson InstanceJson(const InstanceStatus& is) {
  CtlJson j;
  j["name"] = is.name;
  if (is.owner) {
    CtlJson o;
    o["node"] = is.owner->node;
    o["pid"] = is.owner->pid;
    o["since"] = is.owner->since;
    o["addresses"] = is.owner->addresses;
    o["lease"] = is.owner_lease;
    j["owner"] = o;
  } else {
    j["owner"] = nullptr;
  }
  if (is.params) {
    CtlJson p;
    p["scope"] = is.params->scope;
    p["lease_time"] = is.params->lease_time;
    p["grace_time"] = is.params->grace_time;
    j["params"] = p;
  } else {
    j["params"] = nullptr;
  }
  if (is.flags) {
    CtlJson f;
    f["need"] = is.flags->need;
    f["enforcing"] = is.flags->enforcing;
    f["node"] = is.flags->node;
    j["flags"] = f;
  } else {
    j["flags"] = nullptr;
  }
  j["problems"] = is.problems;
  return j;
}

// Runs the loop until `start`'s completion, at most kCommandTimeout.
template <typename T>
Result<T> RunOne(EventLoop& loop, const std::function<void(Callback<void(Result<T>)>)>& start) {
  std::optional<Result<T>> out;
  start([&out](Result<T> r) { out.emplace(std::move(r)); });
  if (!loop.RunUntil([&] { return out.has_value(); }, kCommandTimeout)) {
    return Status::TimedOut("no answer from etcd in 30 s");
  }
  return std::move(*out);
}

int Failed(FILE* err, const CtlCommandLine& cl, const CtlCluster& where, const Status& why) {
  const std::string& what = cl.operands[0];
  if (why.IsUnavailable() || why.IsTimedOut()) {
    std::fprintf(err, "nfsrecctl: cluster %s: etcd unreachable at %s: %s\n", what.c_str(),
                 Joined(where.endpoints, ",").c_str(), why.message().c_str());
  } else {
    std::fprintf(err, "nfsrecctl: cluster %s: %s\n", what.c_str(), why.ToString().c_str());
  }
  return kCtlExitFailure;
}

void Print(FILE* out, const std::string& text) { std::fputs(text.c_str(), out); }
void PrintJson(FILE* out, const CtlJson& j) { Print(out, j.dump(2) + "\n"); }

}  // namespace

std::string ClusterText(const ClusterStatus& s, const std::string& what) {
  if (what == "instances") return InstanceTable(s);
  std::string text = GraceLine(s) + "\n";
  if (!s.awaiting.empty()) {
    text += StrCat("awaiting members not started yet: ", Joined(s.awaiting, ", "), "\n");
  }
  for (const std::string& p : s.problems) text += StrCat("problem: ", p, "\n");
  if (what == "grace") {
    std::vector<std::vector<std::string>> rows;
    for (const InstanceStatus& is : s.instances) {
      if (!is.flags) continue;
      rows.push_back({is.name, is.flags->node, YesNo(is.flags->need), YesNo(is.flags->enforcing)});
    }
    if (!rows.empty()) text += FormatTable({"INSTANCE", "NODE", "NEED", "ENFORCING"}, rows);
    return text;
  }
  text += InstanceTable(s);
  std::vector<std::string> nodes;
  for (const cluster::NodeStatus& n : s.nodes) {
    nodes.push_back(StrCat(n.node, " (", Joined(n.instances, ", "), ")"));
  }
  text += StrCat("nodes: ", nodes.empty() ? std::string("none") : Joined(nodes, "; "), "\n");
  return text;
}

CtlJson ClusterJson(const ClusterStatus& s, const std::string& what) {
  CtlJson j;
  j["cluster"] = s.cluster;
  j["revision"] = s.revision;
  if (what != "instances") {
    j["grace"] = GraceJson(s.grace);
    j["awaiting"] = s.awaiting;
  }
  CtlJson instances = CtlJson::array();
  for (const InstanceStatus& is : s.instances) {
    if (what == "grace" && !is.flags) continue;
    instances.push_back(InstanceJson(is));
  }
  j["instances"] = instances;
  if (what == "status") {
    CtlJson nodes = CtlJson::array();
    for (const cluster::NodeStatus& n : s.nodes) {
      CtlJson node;
      node["node"] = n.node;
      node["instances"] = n.instances;
      nodes.push_back(node);
    }
    j["nodes"] = nodes;
    j["problems"] = s.problems;
  }
  return j;
}

std::string LiftText(const std::string& cluster, const cluster::LiftResult& r) {
  std::string text = r.cleared.empty() ? std::string("no need to clear")
                                       : StrCat("cleared the need of ", Joined(r.cleared, ", "));
  if (!r.released.empty()) {
    text += StrCat("; no longer awaiting ", Joined(r.released, ", "));
  }
  if (r.lifted) {
    text += StrCat("; cluster grace ", r.lifted_epoch, " of ", cluster, " lifted");
  } else if (r.grace.in_grace()) {
    text += StrCat("; cluster grace ", r.grace.current, " still running: other instances need it");
  } else {
    text += "; no cluster grace running";
  }
  return text + "\n";
}

CtlJson LiftJson(const std::string& cluster, const cluster::LiftResult& r) {
  CtlJson j;
  j["cluster"] = cluster;
  j["cleared"] = r.cleared;
  j["released"] = r.released;
  j["lifted"] = r.lifted;
  j["grace"] = GraceJson(r.grace);
  return j;
}

std::string RemoveNodeText(const std::string& node, const cluster::RemoveNodeResult& r) {
  return StrCat(
      "node ", node, ": revoked ", r.revoked, r.revoked == 1 ? " lease" : " leases", " of ",
      r.instances.empty() ? std::string("no instance") : Joined(r.instances, ", "),
      r.members.empty() ? "" : StrCat("; forgot members ", Joined(r.members, ", ")),
      r.lift.lifted ? StrCat("; cluster grace ", r.lift.lifted_epoch, " lifted") : "", "\n");
}

CtlJson RemoveNodeJson(const std::string& cluster, const std::string& node,
                       const cluster::RemoveNodeResult& r) {
  CtlJson j;
  j["cluster"] = cluster;
  j["node"] = node;
  j["instances"] = r.instances;
  j["revoked"] = r.revoked;
  j["members_forgotten"] = r.members;
  j["lifted"] = r.lift.lifted;
  j["grace"] = GraceJson(r.lift.grace);
  return j;
}

int RunClusterCommand(const CtlCommandLine& cl, const CtlCluster& where, FILE* out, FILE* err) {
  Result<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
  if (!loop.ok()) return Failed(err, cl, where, loop.status());
  LoopScheduler scheduler(**loop);
  // The client's own outage lines would repeat what Failed says in one.
  CapturingLogger quiet;
  etcd::ClientOptions options;
  options.endpoints = where.endpoints;
  options.tls = etcd::TlsFiles{where.ca_file, where.cert_file, where.key_file};
  options.read_retry_time = std::chrono::seconds(3);
  options.watch_probe_interval = Duration::zero();
  Result<std::unique_ptr<etcd::Client>> client =
      etcd::Client::Create(**loop, scheduler, quiet, std::move(options));
  if (!client.ok()) return Failed(err, cl, where, client.status());
  cluster::ClusterAdmin admin(**client, where.cluster);
  const std::string& what = cl.operands[0];
  if (what == "lift") {
    std::vector<std::string> names(cl.operands.begin() + 1, cl.operands.end());
    auto r = RunOne<cluster::LiftResult>(
        **loop, [&](auto done) { admin.Lift(std::move(names), std::move(done)); });
    if (!r.ok()) return Failed(err, cl, where, r.status());
    cl.json ? PrintJson(out, LiftJson(where.cluster, *r)) : Print(out, LiftText(where.cluster, *r));
    return kCtlExitOk;
  }
  if (what == "remove-node") {
    const std::string& node = cl.operands[1];
    auto r = RunOne<cluster::RemoveNodeResult>(
        **loop, [&](auto done) { admin.RemoveNode(node, std::move(done)); });
    if (!r.ok()) return Failed(err, cl, where, r.status());
    cl.json ? PrintJson(out, RemoveNodeJson(where.cluster, node, *r))
            : Print(out, RemoveNodeText(node, *r));
    return kCtlExitOk;
  }
  auto s = RunOne<ClusterStatus>(**loop, [&](auto done) { admin.ReadStatus(std::move(done)); });
  if (!s.ok()) return Failed(err, cl, where, s.status());
  cl.json ? PrintJson(out, ClusterJson(*s, what)) : Print(out, ClusterText(*s, what));
  return kCtlExitOk;
}

}  // namespace nfsrec
