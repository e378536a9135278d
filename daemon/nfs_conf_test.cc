#include "daemon/nfs_conf.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>

#include "tests/support/fake_file_system.h"
#include "tests/support/temp_dir.h"
#include <gtest/gtest.h>

namespace nfsrec {
namespace {

TEST(NfsConfTest, SectionsTagsQuotesAndComments) {
  NfsConf c = NfsConf::FromText(
      "# comment\n"
      "; another\n"
      "[ Statd ]   trailing text is ignored\n"
      "  port = 662\n"
      "Outgoing-Port=2020   # comment after a value\n"
      "name = \" spaced name \"  # quoted keeps blanks\n"
      "ha-callout = '/usr/lib/x;y'\n"
      "state-directory-path = /var/lib/nfs ; comment\n"
      "[statd \"sub\"]\n"
      "port = 1\n"
      "[general]\n"
      "pipefs-directory = /run/rpc_pipefs\n");
  EXPECT_TRUE(c.warnings().empty());
  EXPECT_EQ(c.Get("statd", "port"), "662");
  EXPECT_EQ(c.Get("STATD", "PORT"), "662");  // names match in any case
  EXPECT_EQ(c.Get("statd", "outgoing-port"), "2020");
  EXPECT_EQ(c.Get("statd", "name"), " spaced name ");
  EXPECT_EQ(c.Get("statd", "ha-callout"), "/usr/lib/x;y");
  EXPECT_EQ(c.Get("statd", "state-directory-path"), "/var/lib/nfs");
  EXPECT_EQ(c.Get("general", "pipefs-directory"), "/run/rpc_pipefs");
  EXPECT_FALSE(c.Get("statd", "missing"));
  EXPECT_FALSE(c.Get("sub", "port"));
}

TEST(NfsConfTest, LaterSettingWinsAndEmptySetsNothing) {
  NfsConf c = NfsConf::FromText(
      "[statd]\nport = 1\n[lockd]\nport = 4\n[statd]\nPORT = 2\nname =\nname = \"\"\n");
  EXPECT_EQ(c.Get("statd", "port"), "2");
  EXPECT_EQ(c.Get("lockd", "port"), "4");
  EXPECT_FALSE(c.Get("statd", "name"));
}

TEST(NfsConfTest, ContinuationLines) {
  NfsConf c = NfsConf::FromText("[statd]\nha-callout = /bin/a\\\n-x\nport = 5\n");
  EXPECT_EQ(c.Get("statd", "ha-callout"), "/bin/a  -x");
  EXPECT_EQ(c.Get("statd", "port"), "5");
}

TEST(NfsConfTest, BadLinesAreSkippedWithTheirPlace) {
  NfsConf c = NfsConf::FromText(
      "port = 1\n"           // 1: outside any section
      "[statd\n"             // 2: no ]
      "port = 2\n"           // 3: ignored (still no section)
      "[statd]\n"            // 4
      "just words\n"         // 5: not an assignment
      "= 3\n"                // 6: no tag
      "name = \"unclosed\n"  // 7
      "[x \"unclosed]\n"     // 8
      "[statd]\n"
      "port = 9\n"
      "tail = no newline",
      "t.conf");
  EXPECT_EQ(c.Get("statd", "port"), "9");
  EXPECT_FALSE(c.Get("statd", "name"));
  EXPECT_FALSE(c.Get("statd", "tail"));
  std::vector<std::string> want_prefixes = {
      "t.conf:1: ", "t.conf:2: ", "t.conf:3: ", "t.conf:5: ",
      "t.conf:6: ", "t.conf:7: ", "t.conf:8: ", "t.conf:11: "};
  ASSERT_EQ(c.warnings().size(), want_prefixes.size()) << ::testing::PrintToString(c.warnings());
  for (size_t i = 0; i < want_prefixes.size(); ++i) {
    EXPECT_EQ(c.warnings()[i].rfind(want_prefixes[i], 0), 0u) << c.warnings()[i];
  }
}

TEST(NfsConfTest, TypedGettersRejectBadValues) {
  NfsConf c = NfsConf::FromText(
      "[statd]\nport = 0\noutgoing-port = 70000\nno-notify = YES\ndebug = maybe\n"
      "[lockd]\nport = 4045\nudp-port = 12a\n[nfsrecd]\nreconcile-interval = 30\n");
  EXPECT_FALSE(c.GetPort("statd", "port").ok());
  EXPECT_FALSE(c.GetPort("statd", "outgoing-port").ok());
  EXPECT_EQ(*c.GetPort("lockd", "port"), std::optional<uint16_t>(4045));
  Result<std::optional<uint16_t>> bad = c.GetPort("lockd", "udp-port");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("[lockd] udp-port"), std::string::npos)
      << bad.status().message();
  EXPECT_EQ(*c.GetBool("statd", "no-notify"), std::optional<bool>(true));
  EXPECT_FALSE(c.GetBool("statd", "debug").ok());
  EXPECT_EQ(*c.GetBool("statd", "absent"), std::optional<bool>());
  EXPECT_EQ(*c.GetCount("nfsrecd", "reconcile-interval", 100), std::optional<int64_t>(30));
  EXPECT_FALSE(c.GetCount("nfsrecd", "reconcile-interval", 10).ok());
  for (const char* t : {"1", "t", "True", "y", "yes", "ON"}) {
    EXPECT_EQ(*NfsConf::FromText(std::string("[a]\nb=") + t + "\n").GetBool("a", "b"),
              std::optional<bool>(true))
        << t;
  }
  for (const char* f : {"0", "F", "false", "n", "No", "off"}) {
    EXPECT_EQ(*NfsConf::FromText(std::string("[a]\nb=") + f + "\n").GetBool("a", "b"),
              std::optional<bool>(false))
        << f;
  }
}

// Found by tests/fuzz (corpus/nfs_conf/crash-count-overflow): a number of
// more than 19 digits was multiplied out before its length was refused
// (signed overflow, undefined behaviour).
TEST(NfsConfTest, OverlongNumberIsRefusedWithoutOverflow) {
  const std::string digits(40, '5');
  NfsConf c = NfsConf::FromText("[statd]\nport = " + digits + "\nretry = 123456789012345678\n");
  Result<std::optional<int64_t>> count = c.GetCount("statd", "port", INT64_MAX);
  ASSERT_FALSE(count.ok());
  EXPECT_NE(count.status().message().find("not a number"), std::string::npos)
      << count.status().message();
  EXPECT_FALSE(c.GetPort("statd", "port").ok());
  EXPECT_EQ(*c.GetCount("statd", "retry", INT64_MAX), std::optional<int64_t>(123456789012345678));
}

TEST(NfsConfTest, DollarValuesReadTheEnvironmentThenTheEnvironmentSection) {
  std::map<std::string, std::string> env{{"STATD_PORT", "777"}, {"EMPTY", ""}};
  auto lookup = [&](const std::string& n) -> std::optional<std::string> {
    auto it = env.find(n);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  NfsConf c = NfsConf::FromText(
      "[environment]\nEMPTY = from-section\nLOOP = $LOOP\n"
      "[statd]\nport = $STATD_PORT\nname = $EMPTY\nha-callout = $NONE\ndebug = $LOOP\n",
      "nfs.conf", lookup);
  EXPECT_EQ(c.Get("statd", "port"), "777");
  EXPECT_EQ(c.Get("statd", "name"), "from-section");  // an empty variable does not count
  EXPECT_FALSE(c.Get("statd", "ha-callout"));
  EXPECT_FALSE(c.Get("statd", "debug"));  // a loop ends
}

TEST(NfsConfTest, FilesComeThroughTheFileSystemPort) {
  FakeFileSystem fs;
  fs.SetFile("/usr/etc/nfs.conf", "[statd]\nport = 1\nname = vendor\n");
  fs.SetFile("/etc/nfs.conf", "[statd]\nport = 2\ninclude = extra.conf\n");
  fs.SetFile("/etc/extra.conf", "outgoing-port = 3\n");
  fs.SetFile("/etc/nfs.conf.d/b.conf", "[statd]\nport = 4\n");
  fs.MakeSpecial("/etc/nfs.conf.d/a.conf", FileType::kDirectory);  // not a file: skipped
  NfsConf c = NfsConf::Load(fs, "/etc/nfs.conf");
  EXPECT_EQ(c.Get("statd", "port"), "4");
  EXPECT_EQ(c.Get("statd", "name"), "vendor");
  EXPECT_EQ(c.Get("statd", "outgoing-port"), "3");
  EXPECT_TRUE(c.warnings().empty()) << ::testing::PrintToString(c.warnings());
  EXPECT_EQ(c.files(), (std::vector<std::string>{"/usr/etc/nfs.conf", "/etc/nfs.conf",
                                                 "/etc/extra.conf", "/etc/nfs.conf.d/b.conf"}));
  EXPECT_TRUE(fs.writes().empty());
}

TEST(NfsConfTest, FromTextWithoutAFileSystemWarnsAboutIncludes) {
  NfsConf c = NfsConf::FromText("[statd]\ninclude = x.conf\nport = 5\n");
  EXPECT_EQ(c.Get("statd", "port"), "5");
  ASSERT_EQ(c.warnings().size(), 1u);
  EXPECT_NE(c.warnings()[0].find("x.conf"), std::string::npos);
}

class NfsConfFilesTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(tmp_.ok()); }
  void Write(const std::string& rel, const std::string& text) { tmp_.Write(rel, text); }
  test_support::TempDir tmp_;
  const std::string dir_ = tmp_.path();
  RealFileSystem fs_;
};

TEST_F(NfsConfFilesTest, DirectoryInVersionOrderAndIncludes) {
  Write("nfs.conf", "[statd]\nport = 1\nname = main\ninclude = inc/more.conf\n");
  Write("inc/more.conf", "state-directory-path = /included\ninclude = -missing.conf\n");
  Write("nfs.conf.d/2.conf", "[statd]\nport = 2\n");
  Write("nfs.conf.d/10.conf", "[statd]\nport = 10\n");  // after 2 in version order
  Write("nfs.conf.d/.hidden.conf", "[statd]\nport = 99\n");
  Write("nfs.conf.d/notes.txt", "[statd]\nport = 98\n");
  Write("nfs.conf.d/bad.conf", "[statd]\ninclude = nowhere.conf\n");
  NfsConf c = NfsConf::Load(fs_, dir_ + "/nfs.conf");
  EXPECT_EQ(c.Get("statd", "port"), "10");
  EXPECT_EQ(c.Get("statd", "name"), "main");
  // The included file inherits the section it was included from.
  EXPECT_EQ(c.Get("statd", "state-directory-path"), "/included");
  ASSERT_EQ(c.warnings().size(), 1u) << ::testing::PrintToString(c.warnings());
  EXPECT_NE(c.warnings()[0].find("nowhere.conf"), std::string::npos);
  EXPECT_EQ(c.files(), (std::vector<std::string>{
                           dir_ + "/nfs.conf", dir_ + "/inc/more.conf", dir_ + "/nfs.conf.d/2.conf",
                           dir_ + "/nfs.conf.d/10.conf", dir_ + "/nfs.conf.d/bad.conf"}));
}

TEST_F(NfsConfFilesTest, MissingFileIsEmptyAndSelfIncludeStops) {
  NfsConf none = NfsConf::Load(fs_, dir_ + "/absent.conf");
  EXPECT_TRUE(none.files().empty());
  EXPECT_TRUE(none.warnings().empty());
  Write("loop.conf", "[statd]\nport = 3\ninclude = loop.conf\n");
  NfsConf loop = NfsConf::Load(fs_, dir_ + "/loop.conf");
  EXPECT_EQ(loop.Get("statd", "port"), "3");
  ASSERT_EQ(loop.warnings().size(), 1u) << ::testing::PrintToString(loop.warnings());
  EXPECT_NE(loop.warnings()[0].find("already being read"), std::string::npos);
}

// Three self-includes used to read 3^10 copies and warn 177,147 times.
TEST_F(NfsConfFilesTest, SelfIncludeThreeTimesFinishesFastWithOneWarning) {
  Write("loop.conf",
        "[statd]\nport = 3\ninclude = loop.conf\ninclude = ./loop.conf\n"
        "include = ../" +
            std::filesystem::path(dir_).filename().string() + "/loop.conf\n");
  NfsConf c = NfsConf::Load(fs_, dir_ + "/loop.conf");
  EXPECT_EQ(c.Get("statd", "port"), "3");
  EXPECT_EQ(c.files(), (std::vector<std::string>{dir_ + "/loop.conf"}));
  ASSERT_EQ(c.warnings().size(), 1u) << ::testing::PrintToString(c.warnings());
  EXPECT_EQ(c.warnings()[0].rfind(dir_ + "/loop.conf:3: ", 0), 0u) << c.warnings()[0];
}

// Two files that include each other, twice each: a cycle through another file.
TEST_F(NfsConfFilesTest, MutualIncludeIsReadOnceEach) {
  Write("a.conf", "[statd]\nport = 1\ninclude = b.conf\ninclude = b.conf\n");
  Write("b.conf", "name = b\ninclude = a.conf\ninclude = a.conf\n");
  NfsConf c = NfsConf::Load(fs_, dir_ + "/a.conf");
  EXPECT_EQ(c.Get("statd", "name"), "b");
  // b is read twice (two separate includes, no cycle); each time its
  // include of a is the cycle, warned about once.
  EXPECT_EQ(c.files().size(), 3u) << ::testing::PrintToString(c.files());
  ASSERT_EQ(c.warnings().size(), 1u) << ::testing::PrintToString(c.warnings());
  EXPECT_NE(c.warnings()[0].find("b.conf:2: "), std::string::npos) << c.warnings()[0];
}

// Distinct files, each including the next one eight times: 8^20 include
// paths, and no cycle or depth bound alone stops it before 8^10.  The
// per-load budget does, with one warning for each bound met.
TEST_F(NfsConfFilesTest, IncludeFanOutIsBounded) {
  constexpr int kFiles = 21;
  for (int i = 0; i < kFiles; ++i) {
    std::string text = i == 0 ? "[statd]\n" : "";
    text += "port = " + std::to_string(i + 1) + "\n";
    if (i + 1 < kFiles) {
      for (int k = 0; k < 8; ++k) text += "include = f" + std::to_string(i + 1) + ".conf\n";
    }
    Write("f" + std::to_string(i) + ".conf", text);
  }
  NfsConf c = NfsConf::Load(fs_, dir_ + "/f0.conf");
  EXPECT_LE(c.files().size(), 1000u);
  EXPECT_GE(c.files().size(), 100u);  // bounded, not refused outright
  EXPECT_TRUE(c.Get("statd", "port"));
  EXPECT_LE(c.warnings().size(), 2u) << ::testing::PrintToString(c.warnings());
  bool budget = false;
  for (const std::string& w : c.warnings())
    budget |= w.find("the rest is ignored") != std::string::npos;
  EXPECT_TRUE(budget) << ::testing::PrintToString(c.warnings());
}

// One file may also be long: 200,000 lines are cut at the line budget.
TEST_F(NfsConfFilesTest, LineBudgetStopsALongFile) {
  std::string text = "[statd]\nport = 1\n";
  for (int i = 0; i < 200000; ++i) text += "#\n";
  text += "port = 2\n";
  Write("long.conf", text);
  NfsConf c = NfsConf::Load(fs_, dir_ + "/long.conf");
  EXPECT_EQ(c.Get("statd", "port"), "1");
  ASSERT_EQ(c.warnings().size(), 1u) << ::testing::PrintToString(c.warnings());
  EXPECT_NE(c.warnings()[0].find("long.conf:100001: "), std::string::npos) << c.warnings()[0];
}

TEST_F(NfsConfFilesTest, FifoInPlaceOfTheFileDoesNotBlock) {
  ASSERT_EQ(::mkfifo((dir_ + "/fifo.conf").c_str(), 0600), 0);
  NfsConf c = NfsConf::Load(fs_, dir_ + "/fifo.conf");  // would hang without O_NONBLOCK
  EXPECT_FALSE(c.Get("statd", "port"));
}

TEST_F(NfsConfFilesTest, UnreadableFileIsAWarning) {
  if (::geteuid() == 0) {
    // root reads a mode-000 file anyway; a directory in its place fails for everyone.
    std::filesystem::create_directories(dir_ + "/dir.conf");
  } else {
    Write("dir.conf", "[statd]\nport = 1\n");
    std::filesystem::permissions(dir_ + "/dir.conf", std::filesystem::perms::none);
    std::filesystem::create_directories(dir_ + "/dir.conf.d");
  }
  NfsConf c = NfsConf::Load(fs_, dir_ + "/dir.conf");
  EXPECT_FALSE(c.Get("statd", "port"));
  EXPECT_FALSE(c.warnings().empty());
}

}  // namespace
}  // namespace nfsrec

namespace nfsrec {
namespace {

// conf_get_num is atoi(): leading blanks, a sign, digits; the rest ignored.
TEST(NfsConfReadTest, ReadNumberIsAtoiWithAWarningForWhatAtoiIgnores) {
  NfsConf c = NfsConf::FromText(
      "[s]\na = 42\nb = 42abc\nc = abc\nd = -7\ne = 99999999999999999999999\nf = 70000\n");
  EXPECT_EQ(c.ReadNumber("s", "a", 0, 100), 42);
  EXPECT_EQ(c.ReadNumber("s", "b", 0, 100), 42);
  EXPECT_EQ(c.ReadNumber("s", "c", 0, 100), 0);
  EXPECT_EQ(c.ReadNumber("s", "d", -10, 100), -7);
  EXPECT_EQ(c.ReadNumber("s", "d", 0, 100), std::nullopt);
  EXPECT_EQ(c.ReadNumber("s", "e", 0, 100), std::nullopt);
  EXPECT_EQ(c.ReadPort("s", "f"), std::nullopt);
  EXPECT_EQ(c.ReadPort("s", "c"), std::nullopt);  // 0: not set
  EXPECT_EQ(c.ReadNumber("s", "absent", 0, 100), std::nullopt);
  std::string w;
  for (const std::string& s : c.warnings()) w += s + "\n";
  EXPECT_EQ(w.find("[s] a:"), std::string::npos) << w;
  EXPECT_NE(w.find("nfs.conf:3: [s] b: 42abc is not a number; read as 42"), std::string::npos);
  EXPECT_NE(w.find("nfs.conf:4: [s] c: abc is not a number; read as 0"), std::string::npos);
  EXPECT_NE(w.find("nfs.conf:5: [s] d: -7 is outside 0..100"), std::string::npos) << w;
  EXPECT_NE(w.find("nfs.conf:6: [s] e: "), std::string::npos) << w;
  EXPECT_NE(w.find("nfs.conf:7: [s] f: 70000 is outside 0..65535"), std::string::npos) << w;
}

TEST(NfsConfReadTest, ReadBoolGivesTheDefaultForOtherValuesWarningOnce) {
  NfsConf c = NfsConf::FromText("[s]\nyes = On\nno = F\nbad = maybe\n");
  EXPECT_EQ(c.ReadBool("s", "yes"), true);
  EXPECT_EQ(c.ReadBool("s", "no"), false);
  EXPECT_EQ(c.ReadBool("s", "bad"), std::nullopt);
  EXPECT_EQ(c.ReadBool("s", "bad"), std::nullopt);
  EXPECT_EQ(c.ReadBool("s", "absent"), std::nullopt);
  ASSERT_EQ(c.warnings().size(), 1u);
  EXPECT_NE(c.warnings()[0].find("nfs.conf:4: [s] bad: maybe is not a yes/no value"),
            std::string::npos);
}

TEST(NfsConfReadTest, ListsSplitOnBlanksAndCommas) {
  NfsConf c = NfsConf::FromText("[s]\ndebug = general, call  auth,,parse\n");
  EXPECT_EQ(c.ReadList("s", "debug"),
            (std::vector<std::string>{"general", "call", "auth", "parse"}));
  EXPECT_TRUE(c.ReadList("s", "absent").empty());
}

// An included file's settings are warned about at their own file and line.
TEST(NfsConfReadTest, UnknownTagWarningNamesTheFileAndLineOfTheSetting) {
  NfsConf c = NfsConf::FromText("# top\n[statd]\nport = 1\n\nprot = 2\n", "/etc/nfs.conf");
  WarnUnknownKeys(c, {"statd"});
  ASSERT_EQ(c.warnings().size(), 1u);
  EXPECT_EQ(c.warnings()[0], "/etc/nfs.conf:5: unknown key prot in [statd]; ignored");
}

}  // namespace
}  // namespace nfsrec
