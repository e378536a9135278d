// nfsrecctl cluster: cluster mode's state in etcd, for the administrator
// (man/nfsrecctl.8; --json shapes: docs/nfsrecctl-json.md).
//
//   status        the cluster grace, every instance (owner, params, flags)
//                 and the nodes
//   instances     the instance table alone
//   grace         the cluster grace and the flags of the instances in it
//   lift [I...]   clear the need of the named instances (all if none); the
//                 grace is lifted when no need remains
//   remove-node N revoke the leases of node N's instances, for a node gone
//                 for good; the grace is lifted if no need remains
//
// Exit statuses: 0 done; 1 etcd unreachable (one line on stderr) or the
// command failed (an unknown instance or node); 2 usage (the parser's).
#pragma once

#include <cstdio>
#include <string>

#include "cluster/cluster_admin.h"
#include "daemon/nfsrecctl_config.h"
#include "daemon/nfsrecctl_format.h"

namespace nfsrec {

int RunClusterCommand(const CtlCommandLine& cl, const CtlCluster& where, FILE* out, FILE* err);

// The renderings, for `what` = status, instances or grace.
std::string ClusterText(const cluster::ClusterStatus& s, const std::string& what);
CtlJson ClusterJson(const cluster::ClusterStatus& s, const std::string& what);
std::string LiftText(const std::string& cluster, const cluster::LiftResult& r);
CtlJson LiftJson(const std::string& cluster, const cluster::LiftResult& r);
std::string RemoveNodeText(const std::string& node, const cluster::RemoveNodeResult& r);
CtlJson RemoveNodeJson(const std::string& cluster, const std::string& node,
                       const cluster::RemoveNodeResult& r);

}  // namespace nfsrec
