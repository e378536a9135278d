#include "daemon/daemon_config.h"

#include <gtest/gtest.h>

namespace nfsrec {
namespace {

using options::ErrorKind;
using options::ParseResult;

struct Parsed {
  ParseResult<CommandLine> result;
  std::string conf_path;  // the path the loader was asked for
};

Parsed ParseWith(std::vector<std::string> args, const std::string& conf_text = "",
                 const std::string& env = "") {
  args.insert(args.begin(), "nfsrecd");
  std::string path = "(not loaded)";
  ParseResult<CommandLine> r = ParseCommandLine(args, env, [&](const std::string& p) {
    path = p;
    return NfsConf::FromText(conf_text);
  });
  return {std::move(r), path};
}

ParseResult<CommandLine> Parse(std::vector<std::string> args, const std::string& conf_text = "",
                               const std::string& env = "") {
  return ParseWith(std::move(args), conf_text, env).result;
}

// The kind of the error, or nullopt when the parse succeeded.
std::optional<ErrorKind> KindOf(std::vector<std::string> args, const std::string& conf = "") {
  ParseResult<CommandLine> r = Parse(std::move(args), conf);
  if (r.ok()) return std::nullopt;
  return r.status().kind;
}

TEST(DaemonConfigTest, Defaults) {
  ParseResult<CommandLine> cl = Parse({});
  ASSERT_TRUE(cl.ok()) << cl.status().message;
  const DaemonConfig& c = cl->config;
  EXPECT_EQ(cl->action, CommandLine::Action::kRun);
  EXPECT_EQ(c.nsm.port, 0);
  EXPECT_EQ(c.nsm.state_dir, "/var/lib/nfs");
  EXPECT_EQ(c.tracking.pipe_path, "/var/lib/nfs/rpc_pipefs/nfsd/cld");
  EXPECT_EQ(c.process.config_file, "/etc/nfs.conf");
  EXPECT_EQ(c.process.pidfile, "/run/rpc.statd.pid");
  EXPECT_FALSE(c.process.foreground);
  EXPECT_FALSE(c.process.log_stderr);
  EXPECT_FALSE(c.nsm.no_notify);
  EXPECT_TRUE(c.nfs4);
  EXPECT_EQ(c.tracking.reconcile_interval, -1);
}

TEST(DaemonConfigTest, BundledShortOptions) {
  ParseResult<CommandLine> cl = Parse({"-FdL", "-p662", "-o", "2020", "-FdP/srv/nfs"});
  ASSERT_TRUE(cl.ok()) << cl.status().message;
  const DaemonConfig& c = cl->config;
  EXPECT_TRUE(c.process.foreground);
  EXPECT_TRUE(c.process.log_stderr);
  EXPECT_TRUE(c.process.debug);
  EXPECT_TRUE(c.nsm.no_notify);
  EXPECT_EQ(c.nsm.port, 662);
  EXPECT_EQ(c.nsm.outgoing_port, 2020);
  EXPECT_EQ(c.nsm.state_dir, "/srv/nfs");

  ParseResult<CommandLine> fd = Parse({"-Fd"});
  ASSERT_TRUE(fd.ok()) << fd.status().message;
  EXPECT_TRUE(fd->config.process.foreground);
  EXPECT_TRUE(fd->config.process.log_stderr);
  EXPECT_FALSE(fd->config.nsm.no_notify);
}

TEST(DaemonConfigTest, EveryOptionLongAndShort) {
  ParseResult<CommandLine> s = Parse({"-F", "-d", "-L", "-p", "1", "-o", "2", "-P", "/s", "-n",
                                      "me", "-H", "/ha", "-T", "3", "-U", "4"});
  ParseResult<CommandLine> l = Parse({"--foreground",
                                      "--no-syslog",
                                      "--no-notify",
                                      "--port",
                                      "1",
                                      "--outgoing-port=2",
                                      "--state-directory-path",
                                      "/s",
                                      "--name=me",
                                      "--ha-callout",
                                      "/ha",
                                      "--nlm-port=3",
                                      "--nlm-udp-port",
                                      "4",
                                      "--pidfile",
                                      "/p",
                                      "--proc-root=/r",
                                      "--cld-pipe",
                                      "/c",
                                      "--no-nfs4",
                                      "--no-end-grace-early",
                                      "--reconcile-interval=30"});
  ASSERT_TRUE(s.ok()) << s.status().message;
  ASSERT_TRUE(l.ok()) << l.status().message;
  for (const DaemonConfig* c : {&s->config, &l->config}) {
    EXPECT_TRUE(c->process.foreground);
    EXPECT_TRUE(c->process.log_stderr);
    EXPECT_TRUE(c->nsm.no_notify);
    EXPECT_EQ(c->nsm.port, 1);
    EXPECT_EQ(c->nsm.outgoing_port, 2);
    EXPECT_EQ(c->nsm.state_dir, "/s");
    EXPECT_EQ(c->nsm.my_name, "me");
    EXPECT_EQ(c->nsm.ha_callout, "/ha");
    EXPECT_EQ(c->nsm.nlm_tcp_port, 3);
    EXPECT_EQ(c->nsm.nlm_udp_port, 4);
  }
  const DaemonConfig& c = l->config;
  EXPECT_EQ(c.process.pidfile, "/p");
  EXPECT_EQ(c.process.proc_root, "/r");
  EXPECT_EQ(c.tracking.pipe_path, "/c");
  EXPECT_FALSE(c.nfs4);
  EXPECT_FALSE(c.tracking.end_grace_early);
  EXPECT_EQ(c.tracking.reconcile_interval, 30);
}

TEST(DaemonConfigTest, Actions) {
  for (const char* help : {"-h", "-?", "--help", "-Fh"}) {
    ParseResult<CommandLine> cl = Parse({help});
    ASSERT_TRUE(cl.ok()) << help;
    EXPECT_EQ(cl->action, CommandLine::Action::kHelp) << help;
  }
  for (const char* version : {"-v", "-V", "--version"}) {
    ParseResult<CommandLine> cl = Parse({version});
    ASSERT_TRUE(cl.ok()) << version;
    EXPECT_EQ(cl->action, CommandLine::Action::kVersion) << version;
  }
  ParseResult<CommandLine> dump = Parse({"--port=662", "--dump-config"});
  ASSERT_TRUE(dump.ok());
  EXPECT_EQ(dump->action, CommandLine::Action::kDumpConfig);
  EXPECT_NE(dump->config.Dump().find("port = 662\n"), std::string::npos);
}

TEST(DaemonConfigTest, NfsConfSettingsApply) {
  ParseResult<CommandLine> cl = Parse({},
                                      "[statd]\nport = 662\noutgoing-port = 2020\nname = srv\n"
                                      "state-directory-path = /srv/nfs\nha-callout = /bin/ha\n"
                                      "no-notify = yes\ndebug = all\n"
                                      "[lockd]\nport = 4045\n"
                                      "[general]\npipefs-directory = /run/pipefs/\n"
                                      "[nfsrecd]\nnfs4 = off\nend-grace-early = no\n"
                                      "reconcile-interval = 30\n");
  ASSERT_TRUE(cl.ok()) << cl.status().message;
  const DaemonConfig& c = cl->config;
  EXPECT_EQ(c.nsm.port, 662);
  EXPECT_EQ(c.nsm.outgoing_port, 2020);
  EXPECT_EQ(c.nsm.my_name, "srv");
  EXPECT_EQ(c.nsm.state_dir, "/srv/nfs");
  EXPECT_EQ(c.DbPath(), "/srv/nfs/nfsrecd/nfsrecd.sqlite");
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
  ParseResult<CommandLine> cl = Parse({"-p", "700", "-P/tmp/x", "--cld-pipe", "/p/cld"},
                                      "[statd]\nport = 662\nstate-directory-path = /srv/nfs\n"
                                      "[general]\npipefs-directory = /run/pipefs\n");
  ASSERT_TRUE(cl.ok()) << cl.status().message;
  EXPECT_EQ(cl->config.nsm.port, 700);
  EXPECT_EQ(cl->config.nsm.state_dir, "/tmp/x");
  EXPECT_EQ(cl->config.tracking.pipe_path, "/p/cld");
}

TEST(DaemonConfigTest, NoNotifyFromTheEnvironment) {
  ParseResult<CommandLine> on = Parse({}, "", "1");
  ASSERT_TRUE(on.ok());
  EXPECT_TRUE(on->config.nsm.no_notify);  // RPC_STATD_NO_NOTIFY=1
  ParseResult<CommandLine> off = Parse({}, "", "0");
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->config.nsm.no_notify);
  // The environment applies after nfs.conf, as rpc.statd's does.
  ParseResult<CommandLine> over = Parse({}, "[statd]\nno-notify = no\n", "2");
  ASSERT_TRUE(over.ok());
  EXPECT_TRUE(over->config.nsm.no_notify);
}

TEST(DaemonConfigTest, ConfigOptionNamesTheFileToLoad) {
  EXPECT_EQ(ParseWith({"--config", "/a.conf"}).conf_path, "/a.conf");
  EXPECT_EQ(ParseWith({"--config=/b.conf", "-F"}).conf_path, "/b.conf");
  EXPECT_EQ(ParseWith({"--config=/a", "--config", "/c"}).conf_path, "/c");
  EXPECT_EQ(ParseWith({"-F"}).conf_path, "/etc/nfs.conf");
  ParseResult<CommandLine> cl = Parse({"--config", "/a.conf"});
  ASSERT_TRUE(cl.ok()) << cl.status().message;
  EXPECT_EQ(cl->config.process.config_file, "/a.conf");
  // A command line that does not scan loads nothing.
  EXPECT_EQ(ParseWith({"--config", "/a.conf", "--bogus"}).conf_path, "(not loaded)");
  EXPECT_EQ(KindOf({"--config"}), ErrorKind::kUsage);
  EXPECT_EQ(KindOf({"--config="}), ErrorKind::kBadValue);
}

TEST(DaemonConfigTest, ErrorKinds) {
  EXPECT_EQ(KindOf({"--bogus"}), ErrorKind::kUsage);
  EXPECT_EQ(KindOf({"-x"}), ErrorKind::kUsage);
  EXPECT_EQ(KindOf({"-Fx"}), ErrorKind::kUsage);
  EXPECT_EQ(KindOf({"stray"}), ErrorKind::kUsage);
  EXPECT_EQ(KindOf({"-p"}), ErrorKind::kUsage);
  EXPECT_EQ(KindOf({"-Fp"}), ErrorKind::kUsage);
  EXPECT_EQ(KindOf({"--port"}), ErrorKind::kUsage);
  EXPECT_EQ(KindOf({"--foreground=1"}), ErrorKind::kUsage);
  EXPECT_EQ(KindOf({"--no"}), ErrorKind::kUsage);  // ambiguous
  EXPECT_EQ(KindOf({"-p", "0"}), ErrorKind::kBadPort);
  EXPECT_EQ(KindOf({"-p65536"}), ErrorKind::kBadPort);
  EXPECT_EQ(KindOf({"--outgoing-port=x"}), ErrorKind::kBadPort);
  EXPECT_EQ(KindOf({"-T", "0"}), ErrorKind::kBadPort);
  EXPECT_EQ(KindOf({"-U", "0"}), ErrorKind::kBadPort);
  EXPECT_EQ(KindOf({"-P", ""}), ErrorKind::kBadValue);
  EXPECT_EQ(KindOf({"--reconcile-interval", "x"}), ErrorKind::kBadValue);
  EXPECT_EQ(KindOf({"-p", "662", "-o", "662"}), ErrorKind::kBadValue);
  // The same port for listening and sending is refused wherever it comes from.
  EXPECT_EQ(KindOf({"-o", "662"}, "[statd]\nport = 662\n"), ErrorKind::kBadValue);
  // A usage error is reported before the nfs.conf that was not read.
  EXPECT_EQ(KindOf({"--bogus"}, "[statd]\nport = http\n"), ErrorKind::kUsage);
}

TEST(DaemonConfigTest, BadNfsConfValueIsAnErrorNamingTheSetting) {
  for (const char* text : {"[statd]\nport = http\n", "[statd]\nno-notify = perhaps\n",
                           "[lockd]\nudp-port = 0\n", "[nfsrecd]\nreconcile-interval = -5\n"}) {
    ParseResult<CommandLine> cl = Parse({}, text);
    ASSERT_FALSE(cl.ok()) << text;
    EXPECT_EQ(cl.status().kind, ErrorKind::kBadNfsConf);
    EXPECT_NE(cl.status().message.find("nfs.conf ["), std::string::npos) << cl.status().message;
  }
  // nfs.conf is applied before the command line's values are.
  ParseResult<CommandLine> both = Parse({"-p", "0"}, "[statd]\nport = http\n");
  ASSERT_FALSE(both.ok());
  EXPECT_EQ(both.status().kind, ErrorKind::kBadNfsConf);
}

TEST(DaemonConfigTest, ExitStatusesAreRpcStatds) {
  EXPECT_EQ(DaemonErrorReply(ErrorKind::kUsage).exit_status, 255);
  EXPECT_TRUE(DaemonErrorReply(ErrorKind::kUsage).usage);
  EXPECT_EQ(DaemonErrorReply(ErrorKind::kBadValue).exit_status, 255);
  EXPECT_TRUE(DaemonErrorReply(ErrorKind::kBadValue).usage);
  EXPECT_EQ(DaemonErrorReply(ErrorKind::kBadPort).exit_status, 1);
  EXPECT_TRUE(DaemonErrorReply(ErrorKind::kBadPort).usage);
  EXPECT_EQ(DaemonErrorReply(ErrorKind::kBadNfsConf).exit_status, 1);
  EXPECT_FALSE(DaemonErrorReply(ErrorKind::kBadNfsConf).usage);
}

}  // namespace
}  // namespace nfsrec
