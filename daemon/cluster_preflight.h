// Start-up checks of cluster mode: what would make NFSv4 reclaim fail after
// an instance moves to another node, found before it moves.
//
//  - Server scope.  A v4.1 client reclaims only from a server whose
//    EXCHANGE_ID returns the server scope it saw before (RFC 8881 8.4.2.1;
//    Linux clients log "server_scope mismatch detected").  knfsd's scope is
//    [nfsd] scope (nfsdctl, rpc.nfsd -S) or else the UTS node name, so two
//    nodes with different host names break every failover between them.
//    A scope that differs from another live instance's, or from this
//    instance's own last run, is an error.
//  - Lease and grace time ([nfsd] lease-time, grace-time; the kernel's 90 s
//    when unset).  An instance that moves to a node with a shorter grace
//    ends grace before clients that renew at the old lease can reclaim;
//    differences are warnings, and so is a grace shorter than the lease.
//
// With [nfsrecd] cluster-preflight = warn every error is only a warning.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "daemon/nfs_conf.h"

namespace nfsrec {

// What one instance runs with (stored as P/params/<instance>).
struct InstanceParams {
  std::string scope;
  int64_t lease_time = 90;  // seconds
  int64_t grace_time = 90;  // seconds
  std::string node;         // where it ran when these were written
  bool operator==(const InstanceParams&) const = default;
};

// This host's values: [nfsd] scope (else `host_name`), lease-time and
// grace-time from `conf` (what rpc.nfsd or nfsdctl will give the kernel).
InstanceParams LocalInstanceParams(const NfsConf& conf, const std::string& host_name,
                                   const std::string& node);

struct PreflightFinding {
  bool error = false;  // stops the start unless cluster-preflight = warn
  std::string text;    // the problem and its fix, one line
};

// `last` is what this instance stored at its previous start (any node);
// `others` the other live instances' values, by instance name.
std::vector<PreflightFinding> CheckPreflight(const std::string& instance,
                                             const InstanceParams& mine,
                                             const std::optional<InstanceParams>& last,
                                             const std::map<std::string, InstanceParams>& others);

}  // namespace nfsrec
