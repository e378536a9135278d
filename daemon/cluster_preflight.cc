#include "daemon/cluster_preflight.h"

#include "common/base/logging.h"

namespace nfsrec {
namespace {

constexpr int64_t kKernelDefaultSeconds = 90;

std::string ScopeFix(const std::string& scope) {
  return StrCat("set \"scope = ", scope,
                "\" in [nfsd] of nfs.conf on every node that may serve it (or give the nodes "
                "one host name in nfsd's UTS namespace), then restart nfsd and nfsrecd");
}

}  // namespace

InstanceParams LocalInstanceParams(const NfsConf& conf, const std::string& host_name,
                                   const std::string& node) {
  InstanceParams p;
  p.scope = conf.Get("nfsd", "scope").value_or(host_name);
  if (p.scope.empty()) p.scope = host_name;
  auto seconds = [&](const char* key) {
    Result<std::optional<int64_t>> v = conf.GetCount("nfsd", key, 3600);
    return v.ok() && *v && **v > 0 ? **v : kKernelDefaultSeconds;
  };
  p.lease_time = seconds("lease-time");
  p.grace_time = seconds("grace-time");
  p.node = node;
  return p;
}

std::vector<PreflightFinding> CheckPreflight(const std::string& instance,
                                             const InstanceParams& mine,
                                             const std::optional<InstanceParams>& last,
                                             const std::map<std::string, InstanceParams>& others) {
  std::vector<PreflightFinding> out;
  if (last && last->scope != mine.scope) {
    out.push_back(
        {true, StrCat("instance ", instance, " ran with server scope \"", last->scope, "\" (node ",
                      last->node, ") and would now have \"", mine.scope,
                      "\": its NFSv4.1 clients could not reclaim; ", ScopeFix(last->scope))});
  }
  for (const auto& [name, p] : others) {
    if (name == instance) continue;
    if (p.scope != mine.scope) {
      out.push_back({true, StrCat("server scope \"", mine.scope, "\" differs from instance ", name,
                                  "'s \"", p.scope, "\" (node ", p.node,
                                  "): NFSv4.1 clients could not reclaim after a failover between "
                                  "them; ",
                                  ScopeFix(p.scope))});
    }
    if (p.lease_time != mine.lease_time || p.grace_time != mine.grace_time) {
      out.push_back({false, StrCat("lease/grace time ", mine.lease_time, "/", mine.grace_time,
                                   " s differ from instance ", name, "'s ", p.lease_time, "/",
                                   p.grace_time, " s (node ", p.node,
                                   "): set [nfsd] lease-time and grace-time alike on every node")});
    }
  }
  if (last && last->scope == mine.scope &&
      (last->lease_time != mine.lease_time || last->grace_time != mine.grace_time)) {
    out.push_back({false, StrCat("instance ", instance, " ran with lease/grace time ",
                                 last->lease_time, "/", last->grace_time, " s (node ", last->node,
                                 ") and now has ", mine.lease_time, "/", mine.grace_time, " s")});
  }
  if (mine.grace_time < mine.lease_time) {
    out.push_back({false, StrCat("grace time ", mine.grace_time,
                                 " s is shorter than the lease time ", mine.lease_time,
                                 " s: clients may not get to reclaim before grace ends; set [nfsd] "
                                 "grace-time to at least lease-time")});
  }
  return out;
}

}  // namespace nfsrec
