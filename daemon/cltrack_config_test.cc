#include "daemon/cltrack_config.h"

#include <gtest/gtest.h>

namespace nfsrec {
namespace {

using options::ErrorKind;
using options::ParseResult;

ParseResult<CltrackCommandLine> Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "nfsrec-cltrack");
  return ParseCltrackCommandLine(args);
}

TEST(CltrackConfigTest, Defaults) {
  ParseResult<CltrackCommandLine> cl = Parse({});
  ASSERT_TRUE(cl.ok()) << cl.status().message;
  EXPECT_FALSE(cl->help);
  EXPECT_FALSE(cl->debug);
  EXPECT_FALSE(cl->foreground);
  EXPECT_EQ(cl->request.storagedir, "/var/lib/nfs/nfsrecd");
  EXPECT_EQ(cl->request.proc_root, "");
  EXPECT_EQ(cl->request.command, "");
  EXPECT_FALSE(cl->request.arg.has_value());
}

TEST(CltrackConfigTest, AsTheKernelRunsIt) {
  ParseResult<CltrackCommandLine> cl = Parse({"create", "0123abcd"});
  ASSERT_TRUE(cl.ok()) << cl.status().message;
  EXPECT_EQ(cl->request.command, "create");
  EXPECT_EQ(cl->request.arg, "0123abcd");
}

TEST(CltrackConfigTest, OptionsShortBundledAndLong) {
  ParseResult<CltrackCommandLine> a = Parse({"-fds/st", "--proc-root=/r", "init"});
  ParseResult<CltrackCommandLine> b =
      Parse({"--foreground", "--debug", "--storagedir", "/st", "--proc-root", "/r", "init"});
  ParseResult<CltrackCommandLine> c = Parse({"-f", "-d", "-s", "/st", "--proc-root", "/r", "init"});
  for (const ParseResult<CltrackCommandLine>* r : {&a, &b, &c}) {
    ASSERT_TRUE(r->ok()) << r->status().message;
    EXPECT_TRUE((*r)->foreground);
    EXPECT_TRUE((*r)->debug);
    EXPECT_EQ((*r)->request.storagedir, "/st");
    EXPECT_EQ((*r)->request.proc_root, "/r");
    EXPECT_EQ((*r)->request.command, "init");
    EXPECT_FALSE((*r)->request.arg.has_value());
  }
  // Options may follow the command, as getopt permutes; extra operands are ignored.
  ParseResult<CltrackCommandLine> late = Parse({"check", "ab", "-d", "extra"});
  ASSERT_TRUE(late.ok());
  EXPECT_TRUE(late->debug);
  EXPECT_EQ(late->request.command, "check");
  EXPECT_EQ(late->request.arg, "ab");
}

TEST(CltrackConfigTest, HelpAndErrors) {
  for (const char* help : {"-h", "--help", "-fh"}) {
    ParseResult<CltrackCommandLine> cl = Parse({help, "init"});
    ASSERT_TRUE(cl.ok()) << help;
    EXPECT_TRUE(cl->help) << help;
  }
  for (std::vector<std::string> bad : {std::vector<std::string>{"-x"},
                                       {"-s"},
                                       {"--storagedir"},
                                       {"-P", "/x"},
                                       {"--bogus"},
                                       {"--debug=1"}}) {
    ParseResult<CltrackCommandLine> cl = Parse(bad);
    ASSERT_FALSE(cl.ok()) << bad[0];
    EXPECT_EQ(cl.status().kind, ErrorKind::kUsage) << bad[0];
  }
  // Debian's nfsdcltrack (2.6.2) answers a usage error with its usage text and 1.
  EXPECT_EQ(CltrackErrorReply(ErrorKind::kUsage).exit_status, 1);
  EXPECT_TRUE(CltrackErrorReply(ErrorKind::kUsage).usage);
}

}  // namespace
}  // namespace nfsrec
