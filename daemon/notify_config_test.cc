#include "daemon/notify_config.h"

#include <gtest/gtest.h>

namespace nfsrec {
namespace {

using options::ErrorKind;
using options::ParseResult;

ParseResult<NotifyCommandLine> Parse(std::vector<std::string> args,
                                     const std::string& conf_text = "",
                                     std::string* loaded = nullptr) {
  args.insert(args.begin(), "sm-notify");
  return ParseNotifyCommandLine(args, [&](const std::string& path) {
    if (loaded != nullptr) *loaded = path;
    return NfsConf::FromText(conf_text);
  });
}

std::optional<ErrorKind> KindOf(std::vector<std::string> args, const std::string& conf = "") {
  ParseResult<NotifyCommandLine> r = Parse(std::move(args), conf);
  if (r.ok()) return std::nullopt;
  return r.status().kind;
}

TEST(NotifyConfigTest, Defaults) {
  ParseResult<NotifyCommandLine> cl = Parse({});
  ASSERT_TRUE(cl.ok()) << cl.status().message;
  const NotifyCommandConfig& c = cl->config;
  EXPECT_FALSE(c.debug);
  EXPECT_FALSE(c.force);
  EXPECT_EQ(c.guard_file, "/run/sm-notify.pid");
  EXPECT_EQ(c.daemon_pidfile, "/run/rpc.statd.pid");
  EXPECT_EQ(c.proc_root, "");
  EXPECT_EQ(c.config_file, "/etc/nfs.conf");
  EXPECT_EQ(c.nsm.state_dir, "/var/lib/nfs");
  EXPECT_EQ(c.nsm.my_name, "");
  EXPECT_EQ(c.nsm.outgoing_port, 0);
  EXPECT_EQ(c.nsm.notify_window, std::chrono::minutes(15));
  EXPECT_TRUE(c.nsm.update_state);
  EXPECT_TRUE(c.nsm.lift_grace);
}

TEST(NotifyConfigTest, BundledShortOptions) {
  ParseResult<NotifyCommandLine> dfn = Parse({"-dfn"});
  ASSERT_TRUE(dfn.ok()) << dfn.status().message;
  EXPECT_TRUE(dfn->config.debug);
  EXPECT_TRUE(dfn->config.force);
  EXPECT_FALSE(dfn->config.nsm.update_state);

  ParseResult<NotifyCommandLine> dfm = Parse({"-dfm5"});
  ASSERT_TRUE(dfm.ok()) << dfm.status().message;
  EXPECT_TRUE(dfm->config.debug);
  EXPECT_TRUE(dfm->config.force);
  EXPECT_TRUE(dfm->config.nsm.update_state);
  EXPECT_EQ(dfm->config.nsm.notify_window, std::chrono::minutes(5));
}

TEST(NotifyConfigTest, ValuesAttachedAndSeparate) {
  ParseResult<NotifyCommandLine> a = Parse({"-m0", "-p2020", "-vsrv", "-P/s"});
  ParseResult<NotifyCommandLine> b = Parse({"-m", "0", "-p", "2020", "-v", "srv", "-P", "/s"});
  ASSERT_TRUE(a.ok()) << a.status().message;
  ASSERT_TRUE(b.ok()) << b.status().message;
  for (const NotifyCommandConfig* c : {&a->config, &b->config}) {
    EXPECT_EQ(c->nsm.notify_window, std::chrono::minutes(0));
    EXPECT_EQ(c->nsm.outgoing_port, 2020);
    EXPECT_EQ(c->nsm.my_name, "srv");
    EXPECT_EQ(c->nsm.state_dir, "/s");
  }
}

TEST(NotifyConfigTest, LongOptions) {
  std::string loaded;
  ParseResult<NotifyCommandLine> cl =
      Parse({"--proc-root", "/r", "--guard-file=/g", "--daemon-pidfile", "/d", "--config=/n.conf"},
            "", &loaded);
  ASSERT_TRUE(cl.ok()) << cl.status().message;
  EXPECT_EQ(cl->config.proc_root, "/r");
  EXPECT_EQ(cl->config.guard_file, "/g");
  EXPECT_EQ(cl->config.daemon_pidfile, "/d");
  EXPECT_EQ(cl->config.config_file, "/n.conf");
  EXPECT_EQ(loaded, "/n.conf");
}

TEST(NotifyConfigTest, NfsConfThenCommandLine) {
  const std::string conf =
      "[sm-notify]\nforce = yes\nretry-time = 3\nupdate-state = no\noutgoing-port = 900\n"
      "outgoing-addr = me.example\nlift-grace = no\n"
      "[statd]\nstate-directory-path = /srv/nfs\nport = 662\n";
  ParseResult<NotifyCommandLine> cl = Parse({}, conf);
  ASSERT_TRUE(cl.ok()) << cl.status().message;
  const NotifyCommandConfig& c = cl->config;
  EXPECT_TRUE(c.force);
  EXPECT_EQ(c.nsm.notify_window, std::chrono::minutes(3));
  EXPECT_FALSE(c.nsm.update_state);
  EXPECT_EQ(c.nsm.outgoing_port, 900);
  EXPECT_EQ(c.nsm.my_name, "me.example");
  EXPECT_FALSE(c.nsm.lift_grace);
  EXPECT_EQ(c.nsm.state_dir, "/srv/nfs");
  EXPECT_EQ(c.nsm.port, 0);  // [statd] port is the daemon's

  ParseResult<NotifyCommandLine> over =
      Parse({"-m", "7", "-p", "901", "-v", "you", "-P", "/t"}, conf);
  ASSERT_TRUE(over.ok()) << over.status().message;
  EXPECT_EQ(over->config.nsm.notify_window, std::chrono::minutes(7));
  EXPECT_EQ(over->config.nsm.outgoing_port, 901);
  EXPECT_EQ(over->config.nsm.my_name, "you");
  EXPECT_EQ(over->config.nsm.state_dir, "/t");
}

TEST(NotifyConfigTest, ErrorKinds) {
  EXPECT_EQ(KindOf({"-x"}), ErrorKind::kUsage);
  EXPECT_EQ(KindOf({"-dx"}), ErrorKind::kUsage);
  EXPECT_EQ(KindOf({"--bogus"}), ErrorKind::kUsage);
  EXPECT_EQ(KindOf({"-h"}), ErrorKind::kUsage);  // sm-notify has no help option
  EXPECT_EQ(KindOf({"-?"}), ErrorKind::kUsage);
  EXPECT_EQ(KindOf({"--help"}), ErrorKind::kUsage);
  EXPECT_EQ(KindOf({"stray"}), ErrorKind::kUsage);
  EXPECT_EQ(KindOf({"-m"}), ErrorKind::kUsage);
  EXPECT_EQ(KindOf({"-dfm"}), ErrorKind::kUsage);
  EXPECT_EQ(KindOf({"--proc-root"}), ErrorKind::kUsage);
  EXPECT_EQ(KindOf({"-m", "x"}), ErrorKind::kBadValue);
  EXPECT_EQ(KindOf({"-m", "1000001"}), ErrorKind::kBadValue);
  EXPECT_EQ(KindOf({"-P", ""}), ErrorKind::kBadValue);
  EXPECT_EQ(KindOf({"-p", "0"}), ErrorKind::kBadPort);
  EXPECT_EQ(KindOf({"-p", "abc"}), ErrorKind::kBadPort);
}

// sm-notify reads retry-time with conf_get_num (atoi) and lift-grace with
// conf_get_bool: "soon" is 0 minutes (retry for ever) and "maybe" the
// default; both are warned about with FILE:LINE and neither stops it.
TEST(NotifyConfigTest, ToleratedBadNfsConfValuesWarnAndNeverStop) {
  ParseResult<NotifyCommandLine> cl =
      Parse({}, "[sm-notify]\nretry-time = soon\nlift-grace = maybe\nretrytime = 1\n");
  ASSERT_TRUE(cl.ok()) << cl.status().message;
  EXPECT_EQ(cl->config.nsm.notify_window, std::chrono::minutes(0));
  EXPECT_TRUE(cl->config.nsm.lift_grace);
  std::string w;
  for (const std::string& s : cl->conf.warnings()) w += s + "\n";
  EXPECT_NE(w.find("nfs.conf:2: [sm-notify] retry-time: soon is not a number; read as 0"),
            std::string::npos)
      << w;
  EXPECT_NE(w.find("nfs.conf:3: [sm-notify] lift-grace: maybe is not a yes/no value"),
            std::string::npos)
      << w;
  EXPECT_NE(w.find("nfs.conf:4: unknown key retrytime in [sm-notify]"), std::string::npos) << w;
}

// [sm-notify] debug turns on debug logging, not the foreground (-d).
TEST(NotifyConfigTest, DebugListLogsDebugWithoutTheForeground) {
  ParseResult<NotifyCommandLine> cl = Parse({}, "[sm-notify]\ndebug = call\n");
  ASSERT_TRUE(cl.ok());
  EXPECT_TRUE(cl->config.log_debug);
  EXPECT_FALSE(cl->config.debug);
  ParseResult<NotifyCommandLine> off = Parse({}, "[sm-notify]\ndebug = 0\n");
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->config.log_debug);
}

TEST(NotifyConfigTest, ExitStatusesAreSmNotifys) {
  for (ErrorKind kind : {ErrorKind::kUsage, ErrorKind::kBadValue, ErrorKind::kBadPort}) {
    EXPECT_EQ(NotifyErrorReply(kind).exit_status, 1);
    EXPECT_TRUE(NotifyErrorReply(kind).usage);
  }
  EXPECT_EQ(NotifyErrorReply(ErrorKind::kBadNfsConf).exit_status, 1);
  EXPECT_FALSE(NotifyErrorReply(ErrorKind::kBadNfsConf).usage);
}

}  // namespace
}  // namespace nfsrec
