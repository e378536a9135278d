// Cluster mode's settings: where the records live (SQLite, the default, or
// etcd) and, on etcd, which cluster and instance this daemon serves
// (docs/cluster.md).  From nfs.conf's [nfsrecd] section:
//
//   backend             sqlite | etcd                      (default sqlite)
//   etcd-endpoints      URLs, blank or comma separated: http://h:p, https://h:p
//   etcd-cacert, etcd-cert, etcd-key   PEM files for https endpoints
//                       (a client certificate needs its key, and the other way round)
//   cluster             the cluster's name                 (default "nfs")
//   instance            the server instance served here    (default: the host name)
//   node                this host's name in the cluster    (default: the host name)
//   cluster-addresses   the instance's service addresses, blank or comma
//                       separated; the first is the boot notification's
//                       source unless [statd] name / -n says otherwise
//   cluster-lease-time  seconds a dead node holds its instance (2..300; default 10)
//   cluster-preflight   strict | warn: what a failed start-up check does
//                       (daemon/cluster_preflight.h; default strict)
//
// Names are [A-Za-z0-9._-], 1 to 64 characters, because they are parts of
// etcd keys; a host name with other characters (or longer) must be given
// explicitly.  Unlike the other keys, a bad value here stops the daemon:
// serving from the wrong store or under the wrong instance would hand one
// instance's clients to another.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"
#include "common/store/etcd_http.h"
#include "daemon/nfs_conf.h"

namespace nfsrec {

struct ClusterOptions {
  enum class Backend { kSqlite, kEtcd };
  Backend backend = Backend::kSqlite;
  std::vector<std::string> endpoints;
  etcd::TlsFiles tls;
  std::string cluster = "nfs";
  std::string instance;
  std::string node;
  std::vector<std::string> addresses;
  std::chrono::seconds lease_time{10};
  bool strict_preflight = true;

  bool on_etcd() const { return backend == Backend::kEtcd; }
  // "etcd cluster nfs, instance i1 on node n1 (http://...)" or "sqlite".
  std::string Describe() const;
};

// True if `name` may be a cluster, instance or node name.
bool IsClusterName(std::string_view name);

// Reads the keys above.  `host_name` is the default of instance and node.
// InvalidArgument, naming the key, for a bad value; also for backend=etcd
// without endpoints.
Result<ClusterOptions> ReadClusterConf(const NfsConf& conf, std::string_view host_name);

// The keys ReadClusterConf reads, for NfsConf's unknown-key warning.
const std::vector<std::string_view>& ClusterConfKeys();

// uname's node name (the default instance and node name).
std::string LocalHostName();

}  // namespace nfsrec
