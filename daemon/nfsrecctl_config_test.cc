#include "daemon/nfsrecctl_config.h"

#include <gtest/gtest.h>

namespace nfsrec {
namespace {

using options::ErrorKind;
using options::ParseResult;

ParseResult<CtlCommandLine> Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "nfsrecctl");
  return ParseCtlCommandLine(args);
}

NfsConfLoader Conf(std::string text) {
  return [text](const std::string& path) { return NfsConf::FromText(text, path); };
}

TEST(NfsrecctlCommandLine, ExportWithOptionsBeforeOrAfterTheCommand) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"export", "--nfs-utils", "/out"},
           {"--state-dir", "/s", "export", "--nfs-utils=/out"},
           {"export", "--nfs-utils", "/out", "--config", "/etc/other.conf"}}) {
    ParseResult<CtlCommandLine> cl = Parse(args);
    ASSERT_TRUE(cl.ok()) << cl.status().message;
    EXPECT_EQ(cl->action, CtlCommandLine::Action::kRun);
    EXPECT_EQ(cl->command, "export");
    EXPECT_EQ(cl->nfs_utils_dir, "/out");
  }
  ParseResult<CtlCommandLine> cl =
      Parse({"--state-dir", "/s", "--config", "/c", "export", "--nfs-utils", "/out"});
  ASSERT_TRUE(cl.ok());
  EXPECT_EQ(cl->state_dir, "/s");
  EXPECT_EQ(cl->config_file, "/c");
}

TEST(NfsrecctlCommandLine, HelpAndVersionNeedNoCommand) {
  EXPECT_EQ(Parse({"--help"})->action, CtlCommandLine::Action::kHelp);
  EXPECT_EQ(Parse({"-h"})->action, CtlCommandLine::Action::kHelp);
  EXPECT_EQ(Parse({"--version"})->action, CtlCommandLine::Action::kVersion);
  EXPECT_EQ(Parse({"-V"})->action, CtlCommandLine::Action::kVersion);
}

TEST(NfsrecctlCommandLine, UsageErrorsNameTheProblem) {
  struct Case {
    std::vector<std::string> args;
    std::string message_part;
  };
  for (const Case& c : std::vector<Case>{
           {{}, "no command"},
           {{"frobnicate"}, "unknown command 'frobnicate'"},
           {{"export"}, "--nfs-utils DIR"},
           {{"export", "--nfs-utils", "/o", "extra"}, "unexpected argument 'extra'"},
           {{"export", "--bogus"}, "bogus"},
           {{"export", "--nfs-utils"}, "nfs-utils"},
       }) {
    ParseResult<CtlCommandLine> cl = Parse(c.args);
    ASSERT_FALSE(cl.ok()) << c.message_part;
    EXPECT_EQ(cl.status().kind, ErrorKind::kUsage);
    EXPECT_NE(cl.status().message.find(c.message_part), std::string::npos) << cl.status().message;
    EXPECT_EQ(CtlErrorReply(cl.status().kind).exit_status, kCtlExitUsage);
    EXPECT_TRUE(CtlErrorReply(cl.status().kind).usage);
  }
}

TEST(NfsrecctlCommandLine, ListingsTakeWhatToListAndJson) {
  ParseResult<CtlCommandLine> cl = Parse({"list", "clients", "--epoch", "recovery", "--json"});
  ASSERT_TRUE(cl.ok()) << cl.status().message;
  EXPECT_EQ(cl->command, "list");
  EXPECT_EQ(cl->operands, std::vector<std::string>{"clients"});
  EXPECT_EQ(cl->epoch, CtlEpoch::kRecovery);
  EXPECT_TRUE(cl->json);

  cl = Parse({"--json", "list", "monitors"});
  ASSERT_TRUE(cl.ok()) << cl.status().message;
  EXPECT_TRUE(cl->json);
  EXPECT_EQ(Parse({"list", "clients"})->epoch, CtlEpoch::kCurrent);
  EXPECT_FALSE(Parse({"list", "notify"})->json);

  cl = Parse({"show", "Linux NFSv4.2 a", "--state-dir", "/s"});
  ASSERT_TRUE(cl.ok()) << cl.status().message;
  EXPECT_EQ(cl->operands, std::vector<std::string>{"Linux NFSv4.2 a"});
  EXPECT_TRUE(Parse({"grace", "--json"}).ok());
  EXPECT_TRUE(Parse({"state"}).ok());
}

TEST(NfsrecctlCommandLine, ListingUsageErrorsExitTwo) {
  struct Case {
    std::vector<std::string> args;
    std::string message_part;
  };
  for (const Case& c : std::vector<Case>{
           {{"list"}, "monitors, notify or clients"},
           {{"list", "peers"}, "cannot list 'peers'"},
           {{"list", "monitors", "--epoch", "current"}, "--epoch applies to list clients only"},
           {{"list", "clients", "--epoch", "previous"}, "current or recovery"},
           {{"list", "clients", "extra"}, "unexpected argument 'extra'"},
           {{"show"}, "show needs"},
           {{"show", "a", "b"}, "unexpected argument 'b'"},
           {{"grace", "now"}, "unexpected argument 'now'"},
           {{"state", "--epoch", "current"}, "--epoch does not apply to state"},
           {{"export", "--json", "--nfs-utils", "/o"}, "--json does not apply to export"},
       }) {
    ParseResult<CtlCommandLine> cl = Parse(c.args);
    ASSERT_FALSE(cl.ok()) << c.message_part;
    EXPECT_NE(cl.status().message.find(c.message_part), std::string::npos) << cl.status().message;
    EXPECT_EQ(CtlErrorReply(cl.status().kind).exit_status, kCtlExitUsage) << cl.status().message;
  }
}

TEST(NfsrecctlCommandLine, UsageListsEveryCommand) {
  const std::string usage = CtlUsage("nfsrecctl");
  for (const char* synopsis : {"export --nfs-utils DIR",
                               "list monitors|notify|clients [--epoch current|recovery] [--json]",
                               "show HOST|CLIENT [--json]", "grace [--json]", "state [--json]"}) {
    EXPECT_NE(usage.find(synopsis), std::string::npos) << synopsis;
  }
}

TEST(NfsrecctlStore, DatabaseFollowsTheDaemonsRules) {
  ParseResult<CtlCommandLine> cl = Parse({"export", "--nfs-utils", "/o"});
  ASSERT_TRUE(cl.ok());
  ParseResult<CtlStore> def = ResolveCtlStore(*cl, Conf(""));
  ASSERT_TRUE(def.ok()) << def.status().message;
  EXPECT_EQ(def->state_dir, "/var/lib/nfs");
  EXPECT_EQ(def->database, "/var/lib/nfs/nfsrecd/nfsrecd.sqlite");

  ParseResult<CtlStore> conf =
      ResolveCtlStore(*cl, Conf("[statd]\nstate-directory-path = /srv/nfs\n"));
  ASSERT_TRUE(conf.ok());
  EXPECT_EQ(conf->database, "/srv/nfs/nfsrecd/nfsrecd.sqlite");

  // --state-dir wins over nfs.conf, as -P does for the daemon.
  ParseResult<CtlCommandLine> over = Parse({"--state-dir", "/t", "export", "--nfs-utils", "/o"});
  ASSERT_TRUE(over.ok());
  ParseResult<CtlStore> s =
      ResolveCtlStore(*over, Conf("[statd]\nstate-directory-path = /srv/nfs\n"));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->state_dir, "/t");
  EXPECT_EQ(s->database, "/t/nfsrecd/nfsrecd.sqlite");
}

TEST(NfsrecctlCluster, CommandsOperandsAndOptions) {
  auto cl = Parse({"cluster", "lift", "i1", "i2", "--json", "--etcd-endpoints",
                   "http://a:2379,http://b:2379", "--cluster", "c1"});
  ASSERT_TRUE(cl.ok()) << cl.status().message;
  EXPECT_EQ(cl->operands, (std::vector<std::string>{"lift", "i1", "i2"}));
  EXPECT_TRUE(cl->json);
  EXPECT_EQ(cl->etcd_endpoints, (std::vector<std::string>{"http://a:2379", "http://b:2379"}));
  EXPECT_EQ(cl->cluster, "c1");
  for (const char* what : {"status", "instances", "grace", "lift"}) {
    EXPECT_TRUE(Parse({"cluster", what}).ok()) << what;
  }
  EXPECT_TRUE(Parse({"cluster", "remove-node", "n1"}).ok());
}

TEST(NfsrecctlCluster, UsageErrorsExitTwo) {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"cluster"},
                                             {"cluster", "bogus"},
                                             {"cluster", "remove-node"},
                                             {"cluster", "remove-node", "a", "b"},
                                             {"cluster", "status", "extra"},
                                             {"cluster", "lift", "a/b"},
                                             {"cluster", "status", "--cluster", "a b"},
                                             {"cluster", "status", "--etcd-endpoints", ","},
                                             {"list", "monitors", "--cluster", "c1"}}) {
    auto cl = Parse(args);
    ASSERT_FALSE(cl.ok()) << args.size();
    EXPECT_EQ(CtlErrorReply(cl.status().kind).exit_status, kCtlExitUsage) << cl.status().message;
  }
}

TEST(NfsrecctlCluster, EndpointsAndNameFromNfsConfUnlessGiven) {
  const char* conf =
      "[nfsrecd]\netcd-endpoints = https://e1:2379 https://e2:2379\ncluster = prod\n"
      "etcd-cacert = /etc/ca.pem\netcd-cert = /etc/c.pem\netcd-key = /etc/k.pem\n";
  auto from_conf = ResolveCtlCluster(*Parse({"cluster", "status"}), Conf(conf));
  ASSERT_TRUE(from_conf.ok()) << from_conf.status().message;
  EXPECT_EQ(from_conf->endpoints, (std::vector<std::string>{"https://e1:2379", "https://e2:2379"}));
  EXPECT_EQ(from_conf->cluster, "prod");
  EXPECT_EQ(from_conf->ca_file, "/etc/ca.pem");
  EXPECT_EQ(from_conf->cert_file, "/etc/c.pem");
  EXPECT_EQ(from_conf->key_file, "/etc/k.pem");
  auto given = ResolveCtlCluster(
      *Parse({"cluster", "status", "--etcd-endpoints", "http://x:1", "--cluster", "c2"}),
      Conf(conf));
  ASSERT_TRUE(given.ok());
  EXPECT_EQ(given->endpoints, std::vector<std::string>{"http://x:1"});
  EXPECT_EQ(given->cluster, "c2");
  auto none = ResolveCtlCluster(*Parse({"cluster", "status"}), Conf(""));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(CtlErrorReply(none.status().kind).exit_status, kCtlExitUsage);
  EXPECT_NE(none.status().message.find("etcd-endpoints"), std::string::npos);
  auto bad = ResolveCtlCluster(*Parse({"cluster", "status"}),
                               Conf("[nfsrecd]\netcd-endpoints = http://x:1\ncluster = a/b\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(CtlErrorReply(bad.status().kind).exit_status, kCtlExitUsage);
}

// nfsrecctl reads [nfsrecd] with the daemon's ReadClusterConf: what the
// daemon refuses it refuses with the same words, and it has the daemon's
// defaults.
TEST(NfsrecctlCluster, ReadsNfsConfAsTheDaemonDoes) {
  for (const char* text :
       {"[nfsrecd]\netcd-endpoints = e1:2379\n",
        "[nfsrecd]\netcd-endpoints = http://e1:2379\netcd-cert = /c.pem\n",
        "[nfsrecd]\netcd-endpoints = http://e1:2379\nbackend = etcd\n"
        "instance = a/b\n",
        "[nfsrecd]\netcd-endpoints = http://e1:2379\ncluster-lease-time = 1\n"}) {
    Result<ClusterOptions> daemon = ReadClusterConf(NfsConf::FromText(text), "host1");
    ASSERT_FALSE(daemon.ok()) << text;
    auto ctl = ResolveCtlCluster(*Parse({"cluster", "status"}), Conf(text), "host1");
    ASSERT_FALSE(ctl.ok()) << text;
    EXPECT_EQ(CtlErrorReply(ctl.status().kind).exit_status, kCtlExitUsage);
    EXPECT_NE(ctl.status().message.find(daemon.status().message()), std::string::npos)
        << ctl.status().message;
    // The command line does not make a bad nfs.conf good.
    EXPECT_FALSE(ResolveCtlCluster(*Parse({"cluster", "status", "--etcd-endpoints", "http://x:1"}),
                                   Conf(text), "host1")
                     .ok());
  }
  auto defaults = ResolveCtlCluster(
      *Parse({"cluster", "status"}),
      Conf("[nfsrecd]\netcd-endpoints = http://e1:2379,http://e2:2379\n"), "host1");
  ASSERT_TRUE(defaults.ok()) << defaults.status().message;
  EXPECT_EQ(defaults->cluster, ReadClusterConf(NfsConf::FromText(""), "host1")->cluster);
  EXPECT_EQ(defaults->endpoints, (std::vector<std::string>{"http://e1:2379", "http://e2:2379"}));
}

}  // namespace
}  // namespace nfsrec
