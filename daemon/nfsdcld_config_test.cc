#include "daemon/nfsdcld_config.h"

#include "daemon/cltrack_config.h"
#include "daemon/nlm_ports.h"
#include "daemon/notify_source.h"
#include "tests/support/fake_file_system.h"
#include "tests/support/status_matchers.h"
#include <gtest/gtest.h>

namespace nfsrec {
namespace {

using options::ErrorKind;
using options::ParseResult;

ParseResult<CommandLine> ParseNfsdcld(std::vector<std::string> args,
                                      const std::string& conf_text = "") {
  args.insert(args.begin(), "/usr/sbin/nfsdcld");
  return ParseNfsdcldCommandLine(args,
                                 [&](const std::string&) { return NfsConf::FromText(conf_text); });
}

TEST(NfsdcldConfigTest, DefaultsAreTheTrackingRoleOnTheDaemonsDatabase) {
  ParseResult<CommandLine> cl = ParseNfsdcld({});
  ASSERT_TRUE(cl.ok()) << cl.status().message;
  const DaemonConfig& c = cl->config;
  EXPECT_EQ(cl->action, CommandLine::Action::kRun);
  EXPECT_EQ(c.role, DaemonRole::kNfsdcld);
  EXPECT_FALSE(c.serve_nsm);
  EXPECT_TRUE(c.nfs4);
  EXPECT_FALSE(c.process.foreground);  // nfsdcld detaches without -F
  EXPECT_FALSE(c.process.debug);
  EXPECT_EQ(c.process.pidfile, "");  // nfsdcld has none
  EXPECT_EQ(c.tracking.pipe_path, "/var/lib/nfs/rpc_pipefs/nfsd/cld");
  // The daemon's own database: rpc.statd's and nfsdcld's names share it.
  EXPECT_EQ(c.DbPath(), "/var/lib/nfs/nfsrecd/nfsrecd.sqlite");
}

TEST(NfsdcldConfigTest, OptionsShortBundledAndLong) {
  ParseResult<CommandLine> a = ParseNfsdcld({"-Fdp/rp", "-s", "/st"});
  ParseResult<CommandLine> b =
      ParseNfsdcld({"--foreground", "--debug", "--pipefsdir=/rp/", "--storagedir", "/st"});
  for (const ParseResult<CommandLine>* r : {&a, &b}) {
    ASSERT_TRUE(r->ok()) << r->status().message;
    const DaemonConfig& c = (*r)->config;
    EXPECT_TRUE(c.process.foreground);
    EXPECT_TRUE(c.process.log_stderr);
    EXPECT_TRUE(c.process.debug);
    EXPECT_EQ(c.tracking.pipe_path, "/rp/nfsd/cld");
    EXPECT_EQ(c.DbPath(), "/st/nfsrecd.sqlite");
  }
}

TEST(NfsdcldConfigTest, NfsConfKeysAndTheCommandLineWins) {
  const std::string conf =
      "[nfsdcld]\nstoragedir = /conf/st\ndebug = 1\n"
      "[general]\npipefs-directory = /run/rpc_pipefs\n"
      "[statd]\nstate-directory-path = /srv/nfs\n";
  ParseResult<CommandLine> cl = ParseNfsdcld({}, conf);
  ASSERT_TRUE(cl.ok()) << cl.status().message;
  EXPECT_EQ(cl->config.DbPath(), "/conf/st/nfsrecd.sqlite");
  EXPECT_TRUE(cl->config.process.debug);
  EXPECT_EQ(cl->config.tracking.pipe_path, "/run/rpc_pipefs/nfsd/cld");
  ParseResult<CommandLine> over = ParseNfsdcld({"-s", "/cl", "-p", "/p"}, conf);
  ASSERT_TRUE(over.ok());
  EXPECT_EQ(over->config.DbPath(), "/cl/nfsrecd.sqlite");
  EXPECT_EQ(over->config.tracking.pipe_path, "/p/nfsd/cld");
  // Without storagedir, the daemon's database under state-directory-path.
  ParseResult<CommandLine> statd_dir =
      ParseNfsdcld({}, "[statd]\nstate-directory-path = /srv/nfs\n");
  ASSERT_TRUE(statd_dir.ok());
  EXPECT_EQ(statd_dir->config.DbPath(), "/srv/nfs/nfsrecd/nfsrecd.sqlite");
}

// [nfsdcld] debug is conf_get_num: > 0 is on, and a list is not read.
TEST(NfsdcldConfigTest, DebugIsANumber) {
  auto debug = [](const std::string& value) {
    ParseResult<CommandLine> cl = ParseNfsdcld({}, "[nfsdcld]\ndebug = " + value + "\n");
    EXPECT_TRUE(cl.ok());
    return cl.ok() && cl->config.process.debug;
  };
  EXPECT_TRUE(debug("1"));
  EXPECT_TRUE(debug("7"));
  EXPECT_FALSE(debug("0"));
  EXPECT_FALSE(debug("-3"));
  EXPECT_FALSE(debug("all"));  // atoi("all") is 0, with a warning
  ParseResult<CommandLine> cl = ParseNfsdcld({}, "[nfsdcld]\ndebug = all\nstorage = /x\n");
  ASSERT_TRUE(cl.ok());
  std::string w;
  for (const std::string& s : cl->conf.warnings()) w += s + "\n";
  EXPECT_NE(w.find("nfs.conf:2: [nfsdcld] debug: all is not a number"), std::string::npos) << w;
  EXPECT_NE(w.find("nfs.conf:3: unknown key storage in [nfsdcld]"), std::string::npos) << w;
}

// nfsdcld answers -h and every mistake with its usage on stdout, exit 0.
TEST(NfsdcldConfigTest, HelpAndMistakesPrintTheUsageAndExitZero) {
  ParseResult<CommandLine> help = ParseNfsdcld({"-h", "-Z"});
  ASSERT_FALSE(help.ok());  // the unknown option is found while scanning
  ParseResult<CommandLine> h = ParseNfsdcld({"--help"});
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->action, CommandLine::Action::kHelp);
  for (std::vector<std::string> bad :
       {std::vector<std::string>{"-Z"}, {"-p"}, {"--storagedir"}, {"-s", ""}, {"--bogus"}}) {
    ParseResult<CommandLine> r = ParseNfsdcld(bad);
    ASSERT_FALSE(r.ok()) << bad[0];
    EXPECT_EQ(NfsdcldErrorReply(r.status().kind).exit_status, 0);
    EXPECT_TRUE(NfsdcldErrorReply(r.status().kind).usage);
  }
  EXPECT_EQ(NfsdcldUsage("nfsdcld"), "nfsdcld [ -hFd ] [ -p pipefsdir ] [ -s storagedir ]\n");
}

ParseResult<CltrackCommandLine> ParseCltrack(std::vector<std::string> args,
                                             const std::string& conf_text) {
  args.insert(args.begin(), "/sbin/nfsdcltrack");
  return ParseCltrackCommandLine(args,
                                 [&](const std::string&) { return NfsConf::FromText(conf_text); });
}

// The helper and the daemon use one database by default, wherever the
// state directory is.
TEST(CltrackNfsConfTest, DefaultDatabaseFollowsTheStateDirectory) {
  ParseResult<CltrackCommandLine> cl =
      ParseCltrack({"init"}, "[statd]\nstate-directory-path = /srv/nfs\n");
  ASSERT_TRUE(cl.ok()) << cl.status().message;
  EXPECT_EQ(cl->request.storagedir, "/srv/nfs/nfsrecd");
  ParseResult<CltrackCommandLine> none = ParseCltrack({"init"}, "");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->request.storagedir, "/var/lib/nfs/nfsrecd");
}

TEST(CltrackNfsConfTest, StoragedirAndDebugKeysAndTheCommandLineWins) {
  const std::string conf = "[nfsdcltrack]\nstoragedir = /conf/st\ndebug = general\nbogus = 1\n";
  ParseResult<CltrackCommandLine> cl = ParseCltrack({"init"}, conf);
  ASSERT_TRUE(cl.ok()) << cl.status().message;
  EXPECT_EQ(cl->request.storagedir, "/conf/st");
  EXPECT_TRUE(cl->debug);
  ASSERT_EQ(cl->conf.warnings().size(), 1u);
  EXPECT_NE(cl->conf.warnings()[0].find("nfs.conf:4: unknown key bogus in [nfsdcltrack]"),
            std::string::npos);
  ParseResult<CltrackCommandLine> over = ParseCltrack({"-s", "/cl", "init"}, conf);
  ASSERT_TRUE(over.ok());
  EXPECT_EQ(over->request.storagedir, "/cl");
  ParseResult<CltrackCommandLine> quiet = ParseCltrack({"init"}, "[nfsdcltrack]\ndebug = 0\n");
  ASSERT_TRUE(quiet.ok());
  EXPECT_FALSE(quiet->debug);
}

class NlmPortsTest : public ::testing::Test {
 protected:
  FakeFileSystem files_;
  CapturingLogger log_;
  int loads_ = 0;
};

TEST_F(NlmPortsTest, WritesBothPortsWhenLockdIsLoaded) {
  files_.SetFile("/proc/sys/fs/nfs/nlm_tcpport", "0");
  files_.SetFile("/proc/sys/fs/nfs/nlm_udpport", "0");
  ASSERT_OK(SetNlmPorts(files_, 4045, 4046, log_, [&] {
    ++loads_;
    return Status::Ok();
  }));
  EXPECT_EQ(loads_, 0);
  EXPECT_EQ(files_.writes(),
            (std::vector<FakeFileSystem::Write>{{"/proc/sys/fs/nfs/nlm_tcpport", "4045"},
                                                {"/proc/sys/fs/nfs/nlm_udpport", "4046"}}));
}

// rpc.statd's rule: the files exist only while lockd is loaded; load it
// and try again.
TEST_F(NlmPortsTest, MissingFileLoadsLockdOnceAndRetries) {
  ASSERT_OK(SetNlmPorts(files_, 4045, 4045, log_, [&] {
    ++loads_;
    files_.SetFile("/proc/sys/fs/nfs/nlm_tcpport", "0");
    files_.SetFile("/proc/sys/fs/nfs/nlm_udpport", "0");
    return Status::Ok();
  }));
  EXPECT_EQ(loads_, 1);
  EXPECT_EQ(files_.writes().size(), 2u);
}

TEST_F(NlmPortsTest, LockdThatCannotBeLoadedIsAWarningNotAnError) {
  Status st = SetNlmPorts(files_, 4045, 0, log_, [&] {
    ++loads_;
    return Status::Unavailable("modprobe lockd failed");
  });
  EXPECT_TRUE(st.IsNotFound()) << st.ToString();
  EXPECT_EQ(loads_, 1);
  EXPECT_TRUE(files_.writes().empty());
  EXPECT_TRUE(log_.Contains("Cannot set lockd's tcp port to 4045"));
}

TEST_F(NlmPortsTest, NoPortsTouchNothing) {
  ASSERT_OK(SetNlmPorts(files_, 0, 0, log_, [&] {
    ++loads_;
    return Status::Ok();
  }));
  EXPECT_EQ(loads_, 0);
  EXPECT_TRUE(files_.writes().empty());
}

// sm-notify -v: an address is the source and its reverse name the
// announced name; a name is announced as given and bound by its address.
// (Only loopback names: /etc/hosts answers them without DNS.)
TEST(NotifySourceTest, AddressBindsAndAnnouncesItsReverseName) {
  Result<NotifySource> s = ResolveNotifySource("127.0.0.1");
  ASSERT_OK(s);
  EXPECT_EQ(s->bind_address, "127.0.0.1");
  EXPECT_FALSE(s->name.empty());
  EXPECT_NE(s->name, "127.0.0.1");  // never an address as mon_name
}

TEST(NotifySourceTest, NameIsAnnouncedAsGivenAndBoundByItsAddress) {
  Result<NotifySource> s = ResolveNotifySource("localhost");
  ASSERT_OK(s);
  EXPECT_EQ(s->name, "localhost");
  EXPECT_TRUE(s->bind_address == "127.0.0.1" || s->bind_address == "::1") << s->bind_address;
}

TEST(NotifySourceTest, ApplyLeavesAnEmptyNameAlone) {
  statd::NsmOptions nsm;
  ASSERT_OK(ApplyNotifySource(nsm));
  EXPECT_EQ(nsm.notify_source, "");
  EXPECT_EQ(nsm.my_name, "");
  nsm.my_name = "127.0.0.1";
  ASSERT_OK(ApplyNotifySource(nsm));
  EXPECT_EQ(nsm.notify_source, "127.0.0.1");
  EXPECT_NE(nsm.my_name, "127.0.0.1");
}

// Reverse lookups without DNS: no address has a name, or every one has.
Result<std::string> NoReverseName(const std::string&) {
  return Status::NotFound("Name or service not known");
}
Result<std::string> NamedNfsI1(const std::string&) { return std::string("nfs-i1.example"); }

TEST(NotifySourceTest, TheSmNotifyCommandRefusesAnAddressWithoutAReverseName) {
  Result<NotifySource> s =
      ResolveNotifySource("10.240.0.100", UnnamedAddress::kRefuse, NoReverseName);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.status().IsInvalidArgument()) << s.status().ToString();
  EXPECT_NE(s.status().message().find("'10.240.0.100' is unusable"), std::string::npos)
      << s.status().message();
}

TEST(NotifySourceTest, TheDaemonAnnouncesAnAddressWithoutAReverseNameAsItself) {
  Result<NotifySource> s =
      ResolveNotifySource("10.240.0.100", UnnamedAddress::kAnnounceAddress, NoReverseName);
  ASSERT_OK(s);
  EXPECT_EQ(s->bind_address, "10.240.0.100");
  EXPECT_EQ(s->name, "10.240.0.100");
  // IPv6 in its canonical text, as peers see it in the packets' source.
  s = ResolveNotifySource("fd00:0::0001", UnnamedAddress::kAnnounceAddress, NoReverseName);
  ASSERT_OK(s);
  EXPECT_EQ(s->bind_address, "fd00::1");
  EXPECT_EQ(s->name, "fd00::1");
}

TEST(NotifySourceTest, AReverseNameWinsOverTheAddressText) {
  for (UnnamedAddress unnamed : {UnnamedAddress::kRefuse, UnnamedAddress::kAnnounceAddress}) {
    Result<NotifySource> s = ResolveNotifySource("10.240.0.100", unnamed, NamedNfsI1);
    ASSERT_OK(s);
    EXPECT_EQ(s->bind_address, "10.240.0.100");
    EXPECT_EQ(s->name, "nfs-i1.example");
  }
}

TEST(NotifySourceTest, TheDaemonBindsAnUnnamedLocalAddressAndAnnouncesIt) {
  statd::NsmOptions nsm;
  nsm.my_name = "127.0.0.1";
  EXPECT_EQ(ApplyNotifySourceOrFallBack(nsm, NoReverseName), "");
  EXPECT_EQ(nsm.notify_source, "127.0.0.1");
  EXPECT_EQ(nsm.my_name, "127.0.0.1");
}

TEST(NotifySourceTest, TheDaemonAnnouncesAnUnnamedAddressThatIsNotHereFromAnyAddress) {
  statd::NsmOptions nsm;
  nsm.my_name = "192.0.2.77";  // TEST-NET-1: on no interface of this host
  const std::string why = ApplyNotifySourceOrFallBack(nsm, NoReverseName);
  EXPECT_NE(why.find("cannot send from 192.0.2.77"), std::string::npos) << why;
  EXPECT_EQ(nsm.notify_source, "");
  EXPECT_EQ(nsm.my_name, "192.0.2.77");
}

}  // namespace
}  // namespace nfsrec
