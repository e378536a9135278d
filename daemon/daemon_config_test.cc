#include "daemon/daemon_config.h"

#include <gtest/gtest.h>

namespace nfsrec {
namespace {

Result<CommandLine> Parse(std::vector<std::string> args, const std::string& conf_text = "",
                          const std::string& env = "") {
  args.insert(args.begin(), "nfsrecd");
  return ParseCommandLine(args, env, NfsConf::FromText(conf_text));
}

TEST(DaemonConfigTest, Defaults) {
  Result<CommandLine> cl = Parse({});
  ASSERT_TRUE(cl.ok()) << cl.status().ToString();
  const DaemonConfig& c = cl->config;
  EXPECT_EQ(c.nsm.port, 0);
  EXPECT_EQ(c.nsm.state_dir, "/var/lib/nfs");
  EXPECT_EQ(c.tracking.pipe_path, "/var/lib/nfs/rpc_pipefs/nfsd/cld");
  EXPECT_EQ(c.process.config_file, "/etc/nfs.conf");
  EXPECT_FALSE(c.nsm.no_notify);
  EXPECT_TRUE(c.nfs4);
  EXPECT_EQ(c.tracking.reconcile_interval, -1);
}

TEST(DaemonConfigTest, NfsConfSettingsApply) {
  Result<CommandLine> cl = Parse({},
                                 "[statd]\nport = 662\noutgoing-port = 2020\nname = srv\n"
                                 "state-directory-path = /srv/nfs\nha-callout = /bin/ha\n"
                                 "no-notify = yes\ndebug = all\n"
                                 "[lockd]\nport = 4045\n"
                                 "[general]\npipefs-directory = /run/pipefs/\n"
                                 "[nfsrecd]\nnfs4 = off\nend-grace-early = no\n"
                                 "reconcile-interval = 30\n");
  ASSERT_TRUE(cl.ok()) << cl.status().ToString();
  const DaemonConfig& c = cl->config;
  EXPECT_EQ(c.nsm.port, 662);
  EXPECT_EQ(c.nsm.outgoing_port, 2020);
  EXPECT_EQ(c.nsm.my_name, "srv");
  EXPECT_EQ(c.nsm.state_dir, "/srv/nfs");
  EXPECT_EQ(c.DbPath(), "/srv/nfs/nfsrecd.sqlite");
  EXPECT_EQ(c.nsm.ha_callout, "/bin/ha");
  EXPECT_TRUE(c.nsm.no_notify);
  EXPECT_TRUE(c.process.debug);
  EXPECT_FALSE(c.process.log_stderr);  // debug in nfs.conf does not move the log
  EXPECT_EQ(c.nsm.nlm_tcp_port, 4045);
  EXPECT_EQ(c.nsm.nlm_udp_port, 4045);  // [lockd] udp-port defaults to port
  EXPECT_EQ(c.tracking.pipe_path, "/run/pipefs/nfsd/cld");
  EXPECT_FALSE(c.nfs4);
  EXPECT_FALSE(c.tracking.end_grace_early);
  EXPECT_EQ(c.tracking.reconcile_interval, 30);
}

TEST(DaemonConfigTest, CommandLineWinsOverNfsConf) {
  Result<CommandLine> cl = Parse({"-p", "700", "-P/tmp/x", "--cld-pipe", "/p/cld"},
                                 "[statd]\nport = 662\nstate-directory-path = /srv/nfs\n"
                                 "[general]\npipefs-directory = /run/pipefs\n");
  ASSERT_TRUE(cl.ok()) << cl.status().ToString();
  EXPECT_EQ(cl->config.nsm.port, 700);
  EXPECT_EQ(cl->config.nsm.state_dir, "/tmp/x");
  EXPECT_EQ(cl->config.tracking.pipe_path, "/p/cld");
}

TEST(DaemonConfigTest, BadNfsConfValueIsAnErrorNamingTheSetting) {
  for (const char* text : {"[statd]\nport = http\n", "[statd]\nno-notify = perhaps\n",
                           "[lockd]\nudp-port = 0\n", "[nfsrecd]\nreconcile-interval = -5\n"}) {
    Result<CommandLine> cl = Parse({}, text);
    ASSERT_FALSE(cl.ok()) << text;
    EXPECT_EQ(cl.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(cl.status().message().find("nfs.conf ["), std::string::npos)
        << cl.status().message();
  }
  // The same port for listening and sending is refused wherever it comes from.
  EXPECT_FALSE(Parse({"-o", "662"}, "[statd]\nport = 662\n").ok());
}

TEST(DaemonConfigTest, ConfigOption) {
  EXPECT_EQ(ConfigFileFromArgs({"nfsrecd", "--config", "/a.conf"}), "/a.conf");
  EXPECT_EQ(ConfigFileFromArgs({"nfsrecd", "--config=/b.conf", "-F"}), "/b.conf");
  EXPECT_EQ(ConfigFileFromArgs({"nfsrecd", "-F"}), "/etc/nfs.conf");
  Result<CommandLine> cl = Parse({"--config", "/a.conf"});
  ASSERT_TRUE(cl.ok()) << cl.status().ToString();
  EXPECT_EQ(cl->config.process.config_file, "/a.conf");
  EXPECT_FALSE(Parse({"--config"}).ok());
  EXPECT_FALSE(Parse({"--config="}).ok());
}

TEST(DaemonConfigTest, CommandLineErrors) {
  EXPECT_FALSE(Parse({"-p", "0"}).ok());
  EXPECT_FALSE(Parse({"-p", "65536"}).ok());
  EXPECT_FALSE(Parse({"--bogus"}).ok());
  EXPECT_FALSE(Parse({"stray"}).ok());
  EXPECT_FALSE(Parse({"-P", ""}).ok());
  EXPECT_FALSE(Parse({"--reconcile-interval", "x"}).ok());
  Result<CommandLine> env = Parse({}, "", "1");
  ASSERT_TRUE(env.ok());
  EXPECT_TRUE(env->config.nsm.no_notify);  // RPC_STATD_NO_NOTIFY=1
}

}  // namespace
}  // namespace nfsrec
