#include "daemon/cluster_config.h"

#include <sys/utsname.h>

#include <algorithm>

#include "common/base/logging.h"

namespace nfsrec {
namespace {

constexpr char kSection[] = "nfsrecd";

Status BadKey(std::string_view key, std::string_view why) {
  return Status::InvalidArgument(StrCat("[nfsrecd] ", key, ": ", why));
}

Result<std::string> ReadName(const NfsConf& conf, std::string_view key, std::string fallback) {
  std::string name = conf.Get(kSection, key).value_or(std::move(fallback));
  if (!IsClusterName(name)) {
    return BadKey(
        key, StrCat("\"", name, "\" is not a name of 1 to 64 letters, digits, '.', '_' or '-'"));
  }
  return name;
}

bool IsEndpoint(std::string_view url) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (url.substr(0, scheme.size()) == scheme && url.size() > scheme.size()) return true;
  }
  return false;
}

}  // namespace

bool IsClusterName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

std::string LocalHostName() {
  struct utsname u {};
  if (::uname(&u) != 0) return "";
  return u.nodename;
}

const std::vector<std::string_view>& ClusterConfKeys() {
  static const std::vector<std::string_view> kKeys = {"backend",           "etcd-endpoints",
                                                      "etcd-cacert",       "etcd-cert",
                                                      "etcd-key",          "cluster",
                                                      "instance",          "node",
                                                      "cluster-addresses", "cluster-lease-time",
                                                      "cluster-preflight"};
  return kKeys;
}

Result<ClusterOptions> ReadClusterConf(const NfsConf& conf, std::string_view host_name) {
  ClusterOptions o;
  if (auto v = conf.Get(kSection, "backend")) {
    if (*v == "sqlite") {
      o.backend = ClusterOptions::Backend::kSqlite;
    } else if (*v == "etcd") {
      o.backend = ClusterOptions::Backend::kEtcd;
    } else {
      return BadKey("backend", StrCat("\"", *v, "\" is neither sqlite nor etcd"));
    }
  }
  o.endpoints = conf.ReadList(kSection, "etcd-endpoints");
  for (const std::string& e : o.endpoints) {
    if (!IsEndpoint(e)) {
      return BadKey("etcd-endpoints", StrCat("\"", e, "\" is not http://HOST:PORT or https://..."));
    }
  }
  if (o.on_etcd() && o.endpoints.empty()) {
    return BadKey("etcd-endpoints", "backend = etcd needs at least one endpoint");
  }
  o.tls.ca_file = conf.Get(kSection, "etcd-cacert").value_or("");
  o.tls.cert_file = conf.Get(kSection, "etcd-cert").value_or("");
  o.tls.key_file = conf.Get(kSection, "etcd-key").value_or("");
  if (o.tls.cert_file.empty() != o.tls.key_file.empty()) {
    return BadKey(o.tls.cert_file.empty() ? "etcd-cert" : "etcd-key",
                  "etcd-cert and etcd-key go together");
  }
  NFSREC_ASSIGN_OR_RETURN(o.cluster, ReadName(conf, "cluster", o.cluster));
  // The defaults are checked only where they are used: a host name that
  // cannot be a key part matters only on etcd.
  std::string host(host_name);
  if (o.on_etcd() || conf.Get(kSection, "instance")) {
    NFSREC_ASSIGN_OR_RETURN(o.instance, ReadName(conf, "instance", host));
  }
  if (o.on_etcd() || conf.Get(kSection, "node")) {
    NFSREC_ASSIGN_OR_RETURN(o.node, ReadName(conf, "node", host));
  }
  o.addresses = conf.ReadList(kSection, "cluster-addresses");
  Result<std::optional<int64_t>> lease = conf.GetCount(kSection, "cluster-lease-time", 300);
  if (!lease.ok()) return lease.status();
  if (*lease) {
    if (**lease < 2) return BadKey("cluster-lease-time", "at least 2 seconds");
    o.lease_time = std::chrono::seconds(**lease);
  }
  if (auto v = conf.Get(kSection, "cluster-preflight")) {
    if (*v == "strict") {
      o.strict_preflight = true;
    } else if (*v == "warn") {
      o.strict_preflight = false;
    } else {
      return BadKey("cluster-preflight", StrCat("\"", *v, "\" is neither strict nor warn"));
    }
  }
  return o;
}

std::string ClusterOptions::Describe() const {
  if (!on_etcd()) return "sqlite";
  std::string eps;
  for (const std::string& e : endpoints) eps += (eps.empty() ? "" : ",") + e;
  return StrCat("etcd cluster ", cluster, ", instance ", instance, " on node ", node, " (", eps,
                ")");
}

}  // namespace nfsrec
