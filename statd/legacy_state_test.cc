#include "statd/legacy_state.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/support/fake_file_system.h"
#include "tests/support/temp_dir.h"
#include <gtest/gtest.h>

namespace nfsrec::statd {
namespace {

// A line as rpc.statd writes it on x86-64 (kernel lockd, NLM v4 SM_NOTIFY).
constexpr const char* kLine =
    "0100007f 000186b5 00000004 00000010 00112233445566778899aabbccddeeff 192.168.1.10 "
    "server.example.com";

TEST(LegacyMonitorLineTest, ParsesStatdsFormat) {
  Result<MonitorRecord> r = ParseLegacyMonitorLine(kLine, "client.example.com");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->key.mon_name, "192.168.1.10");
  EXPECT_EQ(r->key.my_name, "server.example.com");
  EXPECT_EQ(r->key.my_prog, 100021);
  EXPECT_EQ(r->key.my_vers, 4);
  EXPECT_EQ(r->key.my_proc, 16);
  EXPECT_EQ(r->canonical_name, "client.example.com");
  const Cookie want{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                    0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
  EXPECT_EQ(r->priv, want);
  EXPECT_EQ(r->peer_state, 0);
  // Spaces between the names are skipped; my_name keeps the rest.
  Result<MonitorRecord> spaced = ParseLegacyMonitorLine(
      "7f000001 000186b5 00000003 00000010 ffffffffffffffffffffffffffffffff a   b_c", "a");
  ASSERT_TRUE(spaced.ok()) << spaced.status().ToString();
  EXPECT_EQ(spaced->key.mon_name, "a");
  EXPECT_EQ(spaced->key.my_name, "b_c");
}

TEST(LegacyMonitorLineTest, RejectsDamagedLines) {
  const std::string good = kLine;
  for (const std::string& bad : {
           std::string(""), good.substr(0, 60),                  // cut inside priv
           good.substr(0, 70),                                   // no names
           "0100007g" + good.substr(8),                          // not hex
           good.substr(0, 8) + "_" + good.substr(9),             // separator
           good.substr(0, 40) + "zz" + good.substr(42),          // priv
           good.substr(0, 68) + "x" + good.substr(69),           // after priv
           good.substr(0, 69) + " onlyone",                      // no my_name (leading space)
           good.substr(0, 69) + "onlyone",                       // no my_name
           good.substr(0, 69) + std::string(1025, 'm') + " me",  // mon_name too long
       }) {
    EXPECT_FALSE(ParseLegacyMonitorLine(bad, "x").ok()) << bad.substr(0, 100);
  }
}

class LegacyDirTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(tmp_.ok()); }
  void Write(const std::string& rel, const std::string& text) { tmp_.Write(rel, text); }
  test_support::TempDir tmp_;
  const std::string dir_ = tmp_.path();
  RealFileSystem fs_;
};

TEST_F(LegacyDirTest, ReadsBothListsAndTheState) {
  int32_t state = 41;
  Write("state", std::string(reinterpret_cast<const char*>(&state), sizeof(state)));
  const std::string line2 =
      "0100007f 000186b5 00000003 00000010 0102030405060708090a0b0c0d0e0f10 peer2 srv\n";
  Write("sm/client.example.com", std::string(kLine) + "\n" + line2);
  Write("sm/.client.new", std::string(kLine) + "\n");        // a temp file: skipped
  Write("sm/broken", "garbage\n");                           // named in problems
  std::filesystem::create_directories(dir_ + "/sm/subdir");  // not a regular file
  Write("sm.bak/late.example.com", line2);
  LegacyStatd l = ReadLegacyStatd(fs_, dir_);
  EXPECT_EQ(l.state, 41);
  ASSERT_EQ(l.monitors.size(), 2u);
  EXPECT_EQ(l.monitors[0].key.mon_name, "192.168.1.10");
  EXPECT_EQ(l.monitors[1].key.mon_name, "peer2");
  EXPECT_EQ(l.monitors[1].canonical_name, "client.example.com");
  ASSERT_EQ(l.notify.size(), 1u);
  EXPECT_EQ(l.notify[0].canonical_name, "late.example.com");
  EXPECT_EQ(l.notify[0].key.my_vers, 3);
  ASSERT_EQ(l.problems.size(), 2u) << ::testing::PrintToString(l.problems);
  EXPECT_NE(l.problems[0].find("sm/broken:1: not an rpc.statd monitor record"), std::string::npos)
      << l.problems[0];
  EXPECT_NE(l.problems[1].find("sm/broken: no monitor record"), std::string::npos);
}

TEST_F(LegacyDirTest, GarbageIsReportedBriefly) {
  std::string garbage;
  for (int i = 0; i < 1000; ++i) garbage += "not a record\n";
  Write("sm/junk", garbage);
  ::mkfifo((dir_ + "/state").c_str(), 0600);  // must not block the read
  LegacyStatd l = ReadLegacyStatd(fs_, dir_);
  EXPECT_EQ(l.state, 0);
  EXPECT_TRUE(l.monitors.empty());
  ASSERT_EQ(l.problems.size(), 5u) << ::testing::PrintToString(l.problems);
  EXPECT_NE(l.problems[3].find("997 more damaged lines"), std::string::npos) << l.problems[3];
}

TEST_F(LegacyDirTest, NothingThereIsNotAProblem) {
  LegacyStatd l = ReadLegacyStatd(fs_, dir_);
  EXPECT_EQ(l.state, 0);
  EXPECT_TRUE(l.monitors.empty());
  EXPECT_TRUE(l.notify.empty());
  EXPECT_TRUE(l.problems.empty());
  Write("state", "");  // Debian ships it empty
  EXPECT_EQ(ReadLegacyStatd(fs_, dir_).state, 0);
}

TEST(LegacyFakeDirTest, OnlyRegularFilesAreReadAndTheStateIsItsFirstFourBytes) {
  FakeFileSystem fs;
  int32_t state = 7;
  fs.SetFile("/s/state", std::string(reinterpret_cast<const char*>(&state), sizeof(state)) + "xx");
  fs.SetFile("/s/sm/peer", std::string(kLine) + "\n");
  fs.MakeSpecial("/s/sm/link", FileType::kSymlink);
  fs.MakeSpecial("/s/sm/fifo", FileType::kOther);
  LegacyStatd l = ReadLegacyStatd(fs, "/s");
  EXPECT_EQ(l.state, 7);
  ASSERT_EQ(l.monitors.size(), 1u);
  EXPECT_EQ(l.monitors[0].canonical_name, "peer");
  EXPECT_TRUE(l.problems.empty()) << ::testing::PrintToString(l.problems);
}

std::string StateBytes(int32_t state) {
  return std::string(reinterpret_cast<const char*>(&state), sizeof(state));
}

// Only one problem names the other layout's files, and says how to read them.
std::string OnlyMisplacedNote(const LegacyStatd& l) {
  EXPECT_EQ(l.problems.size(), 1u) << ::testing::PrintToString(l.problems);
  return l.problems.empty() ? std::string() : l.problems.back();
}

TEST(LegacyLayoutTest, FedoraFilesUnderADebianStateDirectoryAreNamedNotImported) {
  FakeFileSystem fs;
  fs.SetFile("/var/lib/nfs/state", "");  // Debian's empty file
  fs.MakeDir("/var/lib/nfs/sm");
  fs.SetFile("/var/lib/nfs/statd/sm/peer1", std::string(kLine) + "\n");
  fs.SetFile("/var/lib/nfs/statd/sm/peer2", std::string(kLine) + "\n");
  fs.SetFile("/var/lib/nfs/statd/sm/.peer3.new", std::string(kLine) + "\n");
  fs.SetFile("/var/lib/nfs/statd/state", StateBytes(9));
  LegacyStatd l = ReadLegacyStatd(fs, "/var/lib/nfs");
  EXPECT_EQ(l.state, 0);
  EXPECT_TRUE(l.monitors.empty());
  EXPECT_EQ(OnlyMisplacedNote(l),
            "/var/lib/nfs/statd/sm (2 monitored host(s)), /var/lib/nfs/statd/state (state 9) not "
            "imported: they are rpc.statd's files outside the state directory /var/lib/nfs, which "
            "is the only place read. To import them instead, set state-directory-path = "
            "/var/lib/nfs/statd in the [statd] section of nfs.conf (or start with -P "
            "/var/lib/nfs/statd)");
}

TEST(LegacyLayoutTest, DebianFilesAboveAFedoraStateDirectoryAreNamedAndOnlyOnePlaceIsRead) {
  FakeFileSystem fs;
  const std::string line2 =
      "0100007f 000186b5 00000003 00000010 0102030405060708090a0b0c0d0e0f10 peer2 srv\n";
  fs.SetFile("/var/lib/nfs/statd/sm/ours", line2);
  fs.SetFile("/var/lib/nfs/sm/theirs", std::string(kLine) + "\n");
  fs.SetFile("/var/lib/nfs/sm.bak/late", std::string(kLine) + "\n");
  LegacyStatd l = ReadLegacyStatd(fs, "/var/lib/nfs/statd");
  ASSERT_EQ(l.monitors.size(), 1u);
  EXPECT_EQ(l.monitors[0].canonical_name, "ours");
  EXPECT_TRUE(l.notify.empty());
  const std::string note = OnlyMisplacedNote(l);
  EXPECT_NE(note.find("/var/lib/nfs/sm (1 monitored host(s)), /var/lib/nfs/sm.bak (1 host(s) to "
                      "notify) not imported"),
            std::string::npos)
      << note;
  EXPECT_NE(note.find("outside the state directory /var/lib/nfs/statd,"), std::string::npos)
      << note;
  EXPECT_NE(note.find("state-directory-path = /var/lib/nfs in the [statd] section"),
            std::string::npos)
      << note;
  EXPECT_NE(note.find("-P /var/lib/nfs)"), std::string::npos) << note;
  EXPECT_EQ(MisplacedLegacyFiles(fs, "/var/lib/nfs/statd/"), note);
}

TEST(LegacyLayoutTest, EmptyFilesOfTheOtherLayoutAreNotMentioned) {
  FakeFileSystem fs;
  fs.MakeDir("/var/lib/nfs/statd/sm");
  fs.MakeDir("/var/lib/nfs/statd/sm.bak");
  fs.SetFile("/var/lib/nfs/statd/state", "");
  fs.MakeSpecial("/var/lib/nfs/statd/sm/link", FileType::kSymlink);
  EXPECT_EQ(MisplacedLegacyFiles(fs, "/var/lib/nfs"), "");
  fs.SetFile("/var/lib/nfs/state", "");
  fs.MakeDir("/var/lib/nfs/sm");
  EXPECT_EQ(MisplacedLegacyFiles(fs, "/var/lib/nfs/statd"), "");
  EXPECT_TRUE(ReadLegacyStatd(fs, "/var/lib/nfs").problems.empty());
}

}  // namespace
}  // namespace nfsrec::statd
