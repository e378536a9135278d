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

// rpc.statd's files are kept current unless the key or the option says no
// (statd/sm_mirror.h); the key is known, so it draws no warning.
TEST(DaemonConfigTest, MirrorSmOnByDefaultOffByKeyOrOption) {
  ParseResult<CommandLine> def = Parse({});
  ASSERT_TRUE(def.ok());
  EXPECT_TRUE(def->config.nsm.mirror_sm);
  EXPECT_NE(def->config.Dump().find("mirror_sm = 1\n"), std::string::npos);

  ParseResult<CommandLine> key = Parse({}, "[nfsrecd]\nmirror-sm = n\n");
  ASSERT_TRUE(key.ok());
  EXPECT_FALSE(key->config.nsm.mirror_sm);
  EXPECT_TRUE(key->conf.warnings().empty());
  EXPECT_NE(key->config.Dump().find("mirror_sm = 0\n"), std::string::npos);

  ParseResult<CommandLine> opt = Parse({"--no-mirror-sm"}, "[nfsrecd]\nmirror-sm = y\n");
  ASSERT_TRUE(opt.ok());
  EXPECT_FALSE(opt->config.nsm.mirror_sm);
}

// GraceStart leaves out clients whose lease had expired unless the key says
// to offer them (docs/nfs4rec.md); the key is known, so it draws no warning.
TEST(DaemonConfigTest, GraceUploadExpiredOffByDefaultOnByKey) {
  ParseResult<CommandLine> def = Parse({});
  ASSERT_TRUE(def.ok());
  EXPECT_FALSE(def->config.tracking.grace_upload_expired);
  EXPECT_NE(def->config.Dump().find("grace_upload_expired = 0\n"), std::string::npos);

  ParseResult<CommandLine> key = Parse({}, "[nfsrecd]\ngrace-upload-expired = y\n");
  ASSERT_TRUE(key.ok());
  EXPECT_TRUE(key->config.tracking.grace_upload_expired);
  EXPECT_TRUE(key->conf.warnings().empty());
  EXPECT_NE(key->config.Dump().find("grace_upload_expired = 1\n"), std::string::npos);
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
                                      "reconcile-interval = 30\ngrace-upload-expired = y\n");
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
  EXPECT_TRUE(c.tracking.grace_upload_expired);
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
  EXPECT_EQ(KindOf({"-N", "-x"}), ErrorKind::kUsage);
}

// The warnings a parse left in its NfsConf, one string.
std::string WarningsOf(const CommandLine& cl) {
  std::string all;
  for (const std::string& w : cl.conf.warnings()) all += w + "\n";
  return all;
}

// What nfs-utils tolerates never stops the daemon: a bad yes/no value is
// the default, a number is read as atoi() reads it, each with a warning
// that names FILE:LINE.
TEST(DaemonConfigTest, ToleratedBadNfsConfValuesWarnWithFileAndLineAndNeverStop) {
  ParseResult<CommandLine> cl = Parse({},
                                      "[statd]\nport = http\nno-notify = perhaps\n"
                                      "outgoing-port = 2020x\n"
                                      "[lockd]\nport = 4045\nudp-port = 0\n"
                                      "[nfsrecd]\nreconcile-interval = -5\n"
                                      "rpcbind-check-interval = 90000\n");
  ASSERT_TRUE(cl.ok()) << cl.status().message;
  const DaemonConfig& c = cl->config;
  EXPECT_EQ(c.nsm.port, 0);                      // atoi("http"): 0, an ephemeral port
  EXPECT_FALSE(c.nsm.no_notify);                 // the default
  EXPECT_EQ(c.nsm.outgoing_port, 2020);          // atoi("2020x")
  EXPECT_EQ(c.nsm.nlm_udp_port, 4045);           // 0 is "not set": follows port
  EXPECT_EQ(c.tracking.reconcile_interval, -1);  // out of range: the default
  EXPECT_EQ(c.rpcbind_check_interval, 30);
  const std::string w = WarningsOf(*cl);
  EXPECT_NE(w.find("nfs.conf:2: [statd] port: http is not a number; read as 0"), std::string::npos)
      << w;
  EXPECT_NE(w.find("nfs.conf:3: [statd] no-notify: perhaps is not a yes/no value"),
            std::string::npos)
      << w;
  EXPECT_NE(w.find("nfs.conf:4: [statd] outgoing-port: 2020x is not a number; read as 2020"),
            std::string::npos)
      << w;
  EXPECT_NE(w.find("nfs.conf:9: [nfsrecd] reconcile-interval: -5 is outside"), std::string::npos)
      << w;
  EXPECT_NE(w.find("nfs.conf:10: [nfsrecd] rpcbind-check-interval: 90000 is outside"),
            std::string::npos)
      << w;
  EXPECT_EQ(w.find("udp-port"), std::string::npos) << w;  // 0 is a valid "unset"
}

TEST(DaemonConfigTest, ControlSocketDefaultsToTheDatabaseDirectoryAndCanBeMovedOrTurnedOff) {
  ParseResult<CommandLine> d = Parse({"-P", "/srv/nfs"}, "");
  ASSERT_TRUE(d.ok()) << d.status().message;
  EXPECT_EQ(d->config.ControlSocketPath(), "/srv/nfs/nfsrecd/control");
  EXPECT_NE(d->config.Dump().find("control_socket = /srv/nfs/nfsrecd/control\n"),
            std::string::npos);
  ParseResult<CommandLine> conf = Parse({}, "[nfsrecd]\ncontrol-socket = /run/nfsrecd.ctl\n");
  ASSERT_TRUE(conf.ok()) << conf.status().message;
  EXPECT_EQ(conf->config.ControlSocketPath(), "/run/nfsrecd.ctl");
  EXPECT_TRUE(conf->conf.warnings().empty());
  // The command line wins over nfs.conf; "none" turns it off.
  ParseResult<CommandLine> off =
      Parse({"--control-socket", "none"}, "[nfsrecd]\ncontrol-socket = /run/nfsrecd.ctl\n");
  ASSERT_TRUE(off.ok()) << off.status().message;
  EXPECT_EQ(off->config.ControlSocketPath(), "");
  EXPECT_NE(off->config.Dump().find("control_socket = none\n"), std::string::npos);
  // The nfsdcld role beside an rpc.statd role (two processes) has its own.
  DaemonConfig nfsdcld = d->config;
  nfsdcld.role = DaemonRole::kNfsdcld;
  EXPECT_EQ(nfsdcld.ControlSocketPath(), "/srv/nfs/nfsrecd/control-nfsdcld");
}

TEST(DaemonConfigTest, UnknownKeysOfOurSectionsAreWarnedAboutOthersSectionsAreNot) {
  ParseResult<CommandLine> cl =
      Parse({},
            "[statd]\nprot = 662\n[sm-notify]\nretry = 5\n[lockd]\ntcp-port = 1\n"
            "[nfsdcld]\nstoragedir = /x\n[nfsrecd]\nnfs5 = y\n[general]\npipefs-dir = /p\n"
            "[mountd]\nmanage-gids = y\n[nfsd]\nthreads = 8\n[statd \"sub\"]\nanything = 1\n");
  ASSERT_TRUE(cl.ok()) << cl.status().message;
  const std::string w = WarningsOf(*cl);
  EXPECT_NE(w.find("nfs.conf:2: unknown key prot in [statd]"), std::string::npos) << w;
  EXPECT_NE(w.find("nfs.conf:4: unknown key retry in [sm-notify]"), std::string::npos) << w;
  EXPECT_NE(w.find("nfs.conf:6: unknown key tcp-port in [lockd]"), std::string::npos) << w;
  EXPECT_NE(w.find("nfs.conf:10: unknown key nfs5 in [nfsrecd]"), std::string::npos) << w;
  EXPECT_NE(w.find("nfs.conf:12: unknown key pipefs-dir in [general]"), std::string::npos) << w;
  EXPECT_EQ(w.find("storagedir"), std::string::npos) << w;  // a key of [nfsdcld]
  EXPECT_EQ(w.find("manage-gids"), std::string::npos) << w;
  EXPECT_EQ(w.find("threads"), std::string::npos) << w;
  EXPECT_EQ(w.find("anything"), std::string::npos) << w;
}

// The daemon's own boot notification is rpc.statd's sm-notify: [sm-notify]
// applies to it, and [statd]'s outgoing port and name win, as rpc.statd
// passes them to sm-notify on its command line.
TEST(DaemonConfigTest, SmNotifySectionAppliesToTheDaemonsBootNotification) {
  ParseResult<CommandLine> cl = Parse({},
                                      "[sm-notify]\nlift-grace = n\nretry-time = 3\n"
                                      "update-state = no\nforce = yes\noutgoing-port = 2021\n"
                                      "outgoing-addr = 10.0.0.1\n");
  ASSERT_TRUE(cl.ok()) << cl.status().message;
  const statd::NsmOptions& n = cl->config.nsm;
  EXPECT_FALSE(n.lift_grace);
  EXPECT_EQ(n.notify_window, std::chrono::minutes(3));
  EXPECT_FALSE(n.update_state);
  EXPECT_TRUE(n.force_notify);
  EXPECT_EQ(n.outgoing_port, 2021);
  EXPECT_EQ(n.my_name, "10.0.0.1");
  EXPECT_EQ(cl->conf.warnings().size(), 0u);

  ParseResult<CommandLine> statd_wins =
      Parse({},
            "[sm-notify]\noutgoing-port = 2021\noutgoing-addr = 10.0.0.1\n"
            "[statd]\noutgoing-port = 2020\nname = srv\n");
  ASSERT_TRUE(statd_wins.ok());
  EXPECT_EQ(statd_wins->config.nsm.outgoing_port, 2020);
  EXPECT_EQ(statd_wins->config.nsm.my_name, "srv");
  ParseResult<CommandLine> cmdline_wins =
      Parse({"-o", "2022", "-n", "other"}, "[sm-notify]\noutgoing-addr = 10.0.0.1\n");
  ASSERT_TRUE(cmdline_wins.ok());
  EXPECT_EQ(cmdline_wins->config.nsm.outgoing_port, 2022);
  EXPECT_EQ(cmdline_wins->config.nsm.my_name, "other");
  // Without [sm-notify], sm-notify's defaults.
  ParseResult<CommandLine> none = Parse({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->config.nsm.lift_grace);
  EXPECT_EQ(none->config.nsm.notify_window, std::chrono::minutes(15));
  EXPECT_TRUE(none->config.nsm.update_state);
  EXPECT_FALSE(none->config.nsm.force_notify);
}

TEST(DaemonConfigTest, DebugIsAFacilityListInStatdAndANumberInNfsdcld) {
  auto debug = [](const std::string& conf) {
    ParseResult<CommandLine> cl = Parse({}, conf);
    EXPECT_TRUE(cl.ok());
    return cl.ok() && cl->config.process.debug;
  };
  EXPECT_TRUE(debug("[statd]\ndebug = general,call\n"));
  EXPECT_TRUE(debug("[statd]\ndebug = auth parse\n"));
  EXPECT_TRUE(debug("[statd]\ndebug = 1\n"));
  EXPECT_FALSE(debug("[statd]\ndebug = 0\n"));
  EXPECT_TRUE(debug("[nfsdcld]\ndebug = 2\n"));
  EXPECT_FALSE(debug("[nfsdcld]\ndebug = 0\n"));
  EXPECT_FALSE(debug("[nfsdcld]\ndebug = -1\n"));
  ParseResult<CommandLine> bad = Parse({}, "[statd]\ndebug = verbose\n");
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(bad->config.process.debug);
  EXPECT_NE(WarningsOf(*bad).find("nfs.conf:2: [statd] debug: unknown facility verbose"),
            std::string::npos)
      << WarningsOf(*bad);
}

ParseResult<CommandLine> ParseAsStatd(std::vector<std::string> args, const std::string& conf) {
  args.insert(args.begin(), "/sbin/rpc.statd");
  return ParseCommandLine(
      args, "", [&](const std::string&) { return NfsConf::FromText(conf); }, DaemonRole::kRpcStatd);
}

TEST(DaemonConfigTest, RpcStatdNameServesNsmOnlyUnlessNfsrecdNfs4SaysOtherwise) {
  ParseResult<CommandLine> statd = ParseAsStatd({"-F"}, "");
  ASSERT_TRUE(statd.ok());
  EXPECT_EQ(statd->config.role, DaemonRole::kRpcStatd);
  EXPECT_TRUE(statd->config.serve_nsm);
  EXPECT_FALSE(statd->config.nfs4);
  ParseResult<CommandLine> both = ParseAsStatd({}, "[nfsrecd]\nnfs4 = y\n");
  ASSERT_TRUE(both.ok());
  EXPECT_TRUE(both->config.nfs4);
  ParseResult<CommandLine> full = Parse({});
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->config.role, DaemonRole::kNfsrecd);
  EXPECT_TRUE(full->config.serve_nsm);
  EXPECT_TRUE(full->config.nfs4);
}

// rpc.statd never looks at its operands; nfsrecd's own command refuses them.
TEST(DaemonConfigTest, RpcStatdNameIgnoresOperandsWithAWarningNfsrecdRefusesThem) {
  ParseResult<CommandLine> statd = ParseAsStatd({"-F", "stray", "-p", "4000"}, "");
  ASSERT_TRUE(statd.ok());
  EXPECT_EQ(statd->config.nsm.port, 4000);
  EXPECT_NE(WarningsOf(*statd).find("ignoring argument stray: rpc.statd takes none"),
            std::string::npos)
      << WarningsOf(*statd);
  ParseResult<CommandLine> ours = Parse({"-F", "stray"});
  ASSERT_FALSE(ours.ok());
  EXPECT_EQ(ours.status().kind, ErrorKind::kUsage);
}

// rpc.statd -N execs sm-notify with -d for -F, -p for -o and -v for -n.
TEST(DaemonConfigTest, NotifyModeRunsSmNotifyWithStatdsOptions) {
  ParseResult<CommandLine> cl =
      ParseAsStatd({"-N", "-F", "-o", "2020", "-n", "srv", "-P", "/srv/nfs", "--config=/c"}, "");
  ASSERT_TRUE(cl.ok()) << cl.status().message;
  EXPECT_EQ(cl->action, CommandLine::Action::kNotifyOnly);
  EXPECT_EQ(NotifyOnlyArgs(cl->config),
            (std::vector<std::string>{"sm-notify", "-d", "-p2020", "-v", "srv", "-P", "/srv/nfs",
                                      "--config=/c"}));
  ParseResult<CommandLine> plain = ParseAsStatd({"--notify-mode"}, "");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->action, CommandLine::Action::kNotifyOnly);
  EXPECT_EQ(NotifyOnlyArgs(plain->config),
            (std::vector<std::string>{"sm-notify", "--config=/etc/nfs.conf"}));
  EXPECT_EQ(NotifyOnlyWarning("rpc.statd"),
            "rpc.statd: -N deprecated, consider using /usr/sbin/sm-notify directly");
}

// rpc.statd exits at -h or -v: a bad value after them is never read.
TEST(DaemonConfigTest, HelpAndVersionEndTheCommandLine) {
  ParseResult<CommandLine> v = Parse({"-v", "-p", "0"});
  ASSERT_TRUE(v.ok()) << v.status().message;
  EXPECT_EQ(v->action, CommandLine::Action::kVersion);
  ParseResult<CommandLine> h = Parse({"-?", "-V"});
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->action, CommandLine::Action::kHelp);
  EXPECT_EQ(KindOf({"-p", "0", "-v"}), ErrorKind::kBadPort);
}

// Debian's rpc.statd lands getopt's errors on its help case: exit 0.
TEST(DaemonConfigTest, RpcStatdNameAnswersUsageErrorsWithZeroAsDebiansDoes) {
  EXPECT_EQ(DaemonErrorReply(ErrorKind::kUsage, DaemonRole::kRpcStatd).exit_status, 0);
  EXPECT_TRUE(DaemonErrorReply(ErrorKind::kUsage, DaemonRole::kRpcStatd).usage);
  EXPECT_EQ(DaemonErrorReply(ErrorKind::kBadPort, DaemonRole::kRpcStatd).exit_status, 1);
  EXPECT_EQ(DaemonErrorReply(ErrorKind::kBadValue, DaemonRole::kRpcStatd).exit_status, 255);
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
