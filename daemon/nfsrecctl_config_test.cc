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

}  // namespace
}  // namespace nfsrec
