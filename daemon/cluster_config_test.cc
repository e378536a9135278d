#include "daemon/cluster_config.h"

#include "daemon/daemon_config.h"
#include "daemon/nfsdcld_config.h"
#include "nfs4rec/tracking_service.h"
#include <gtest/gtest.h>

namespace nfsrec {
namespace {

Result<ClusterOptions> Read(const std::string& text, std::string_view host = "host1") {
  return ReadClusterConf(NfsConf::FromText(text), host);
}

TEST(ClusterConfigTest, DefaultIsSqliteWithoutNames) {
  Result<ClusterOptions> o = Read("");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_FALSE(o->on_etcd());
  EXPECT_EQ(o->Describe(), "sqlite");
  EXPECT_EQ(o->instance, "");
  EXPECT_EQ(o->lease_time, std::chrono::seconds(10));
  EXPECT_TRUE(o->strict_preflight);
}

TEST(ClusterConfigTest, EtcdReadsEveryKeyAndDefaultsNamesToTheHost) {
  Result<ClusterOptions> o = Read(
      "[nfsrecd]\nbackend = etcd\netcd-endpoints = http://10.0.0.1:2379, https://e2:2379\n"
      "etcd-cacert = /etc/ca.pem\netcd-cert = /etc/c.pem\netcd-key = /etc/k.pem\n"
      "cluster = prod\ncluster-addresses = 192.0.2.10 2001:db8::10\ncluster-lease-time = 20\n"
      "cluster-preflight = warn\n",
      "web-3.example");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_TRUE(o->on_etcd());
  EXPECT_EQ(o->endpoints, (std::vector<std::string>{"http://10.0.0.1:2379", "https://e2:2379"}));
  EXPECT_EQ(o->tls.ca_file, "/etc/ca.pem");
  EXPECT_EQ(o->tls.cert_file, "/etc/c.pem");
  EXPECT_EQ(o->tls.key_file, "/etc/k.pem");
  EXPECT_EQ(o->cluster, "prod");
  EXPECT_EQ(o->instance, "web-3.example");
  EXPECT_EQ(o->node, "web-3.example");
  EXPECT_EQ(o->addresses, (std::vector<std::string>{"192.0.2.10", "2001:db8::10"}));
  EXPECT_EQ(o->lease_time, std::chrono::seconds(20));
  EXPECT_FALSE(o->strict_preflight);
  EXPECT_EQ(o->Describe(),
            "etcd cluster prod, instance web-3.example on node web-3.example "
            "(http://10.0.0.1:2379,https://e2:2379)");
}

// Each bad value stops the daemon with the key's name in the message.
TEST(ClusterConfigTest, BadValuesNameTheirKey) {
  const std::pair<const char*, const char*> cases[] = {
      {"backend = postgres\n", "backend"},
      {"backend = etcd\n", "etcd-endpoints"},
      {"backend = etcd\netcd-endpoints = 10.0.0.1:2379\n", "etcd-endpoints"},
      {"backend = etcd\netcd-endpoints = http://e:1\ninstance = a/b\n", "instance"},
      {"backend = etcd\netcd-endpoints = http://e:1\ncluster = a:b\n", "cluster"},
      {"backend = etcd\netcd-endpoints = http://e:1\netcd-cert = /c.pem\n", "etcd-key"},
      {"backend = etcd\netcd-endpoints = http://e:1\ncluster-lease-time = 1\n",
       "cluster-lease-time"},
      {"backend = etcd\netcd-endpoints = http://e:1\ncluster-lease-time = ten\n",
       "cluster-lease-time"},
      {"backend = etcd\netcd-endpoints = http://e:1\ncluster-preflight = maybe\n",
       "cluster-preflight"},
  };
  for (const auto& [text, key] : cases) {
    Result<ClusterOptions> o = Read(std::string("[nfsrecd]\n") + text);
    ASSERT_FALSE(o.ok()) << text;
    EXPECT_NE(o.status().message().find(key), std::string::npos)
        << text << " -> " << o.status().ToString();
  }
}

// A host name that cannot be part of a key matters only on etcd, and is
// refused there with the fix (set instance/node).
TEST(ClusterConfigTest, HostNameDefaultIsCheckedOnlyOnEtcd) {
  const std::string host(70, 'h');
  EXPECT_TRUE(Read("", host).ok());
  Result<ClusterOptions> o = Read("[nfsrecd]\nbackend = etcd\netcd-endpoints = http://e:1\n", host);
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.status().message().find("instance"), std::string::npos);
  EXPECT_TRUE(Read("[nfsrecd]\nbackend = etcd\netcd-endpoints = http://e:1\ninstance = i\n"
                   "node = n\n",
                   host)
                  .ok());
}

TEST(ClusterConfigTest, NamesAreKeyParts) {
  EXPECT_TRUE(IsClusterName("a"));
  EXPECT_TRUE(IsClusterName("Node-1.example_x"));
  EXPECT_TRUE(IsClusterName(std::string(64, 'x')));
  EXPECT_FALSE(IsClusterName(""));
  EXPECT_FALSE(IsClusterName(std::string(65, 'x')));
  EXPECT_FALSE(IsClusterName("a/b"));
  EXPECT_FALSE(IsClusterName("a b"));
  EXPECT_FALSE(IsClusterName(std::string("a\0b", 3)));
}

std::vector<std::string> Args(std::vector<std::string> rest, const char* program) {
  rest.insert(rest.begin(), program);
  return rest;
}

TEST(ClusterConfigTest, DaemonParseStopsOnABadBackendAndDumpsTheGoodOne) {
  auto parse = [](const std::string& text) {
    return ParseCommandLine(Args({}, "nfsrecd"), "",
                            [&](const std::string&) { return NfsConf::FromText(text); });
  };
  options::ParseResult<CommandLine> bad = parse("[nfsrecd]\nbackend = etcd\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().kind, options::ErrorKind::kBadNfsConf);
  EXPECT_NE(bad.status().message.find("etcd-endpoints"), std::string::npos);

  options::ParseResult<CommandLine> good = parse(
      "[nfsrecd]\nbackend = etcd\netcd-endpoints = http://127.0.0.1:2379\ninstance = i1\n"
      "node = n1\n");
  ASSERT_TRUE(good.ok());
  EXPECT_TRUE(good->config.cluster.on_etcd());
  EXPECT_NE(good->config.Dump().find("backend = etcd cluster nfs, instance i1 on node n1"),
            std::string::npos)
      << good->config.Dump();
  EXPECT_TRUE(good->conf.warnings().empty());
  EXPECT_EQ(good->config.tracking.grace_hold_id, nfs4rec::ClusterGraceHoldId());
  EXPECT_EQ(good->config.nsm.my_name, "");

  // The first service address names the boot notification; -n wins.
  const std::string with_addr =
      "[nfsrecd]\nbackend = etcd\netcd-endpoints = http://e:1\ninstance = i1\nnode = n1\n"
      "cluster-addresses = 192.0.2.7, 192.0.2.8\n";
  auto conf = [&](const std::string&) { return NfsConf::FromText(with_addr); };
  options::ParseResult<CommandLine> a = ParseCommandLine(Args({}, "nfsrecd"), "", conf);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->config.nsm.my_name, "192.0.2.7");
  options::ParseResult<CommandLine> n = ParseCommandLine(Args({"-n", "nfs1"}, "nfsrecd"), "", conf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->config.nsm.my_name, "nfs1");
  // On SQLite grace is the kernel's own business.
  options::ParseResult<CommandLine> plain = parse("");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->config.tracking.grace_hold_id, "");
}

// nfsdcld beside rpc.statd would be two processes for one instance.
TEST(ClusterConfigTest, NfsdcldNameRefusesEtcd) {
  options::ParseResult<CommandLine> r =
      ParseNfsdcldCommandLine(Args({}, "nfsdcld"), [](const std::string&) {
        return NfsConf::FromText("[nfsrecd]\nbackend = etcd\netcd-endpoints = http://e:1\n");
      });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().kind, options::ErrorKind::kBadNfsConf);
}

}  // namespace
}  // namespace nfsrec
