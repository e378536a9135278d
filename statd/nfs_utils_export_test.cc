// The way back to rpc.statd: what ExportLegacyStatd writes is what
// rpc.statd's own code would have written for the same SM_MON calls (the
// line format of nfs-utils support/nsm/file.c), and it reads back through
// our importer (statd/legacy_state.h) as the same records.
#include "statd/nfs_utils_export.h"

#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "common/os/file_system.h"
#include "statd/legacy_state.h"
#include "statd/sqlite_nsm_store.h"
#include "tests/support/nsm_store_testutil.h"
#include "tests/support/status_matchers.h"
#include "tests/support/store_harness.h"
#include "tests/support/temp_dir.h"
#include <gtest/gtest.h>

namespace nfsrec::statd {
namespace {

using test_support::ReadFileBytes;
using test_support::ReadOnlyDbOptions;
using test_support::TempDir;

std::vector<std::string> Names(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

MonitorRecord Record(const std::string& mon, const std::string& canonical, uint8_t seed) {
  MonitorRecord r;
  r.key = MonitorKey{mon, "server.example.com", 100021, 3, 16};
  for (size_t i = 0; i < r.priv.size(); ++i) r.priv[i] = static_cast<uint8_t>(seed + i * 17);
  r.canonical_name = canonical;
  return r;
}

// What survives the trip: rpc.statd's files hold no peer or lockd state.
MonitorRecord AsStatdKeepsIt(MonitorRecord r) {
  r.peer_state = 0;
  r.lockd_state = 0;
  return r;
}

std::vector<MonitorRecord> SortedByKey(std::vector<MonitorRecord> v) {
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  return v;
}

TEST(FormatLegacyMonitorLine, MatchesStatdsFormatByteForByte) {
  MonitorRecord r = Record("192.168.1.10", "client.example.com", 0);
  const uint8_t cookie[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                              0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
  std::memcpy(r.priv.data(), cookie, sizeof(cookie));
  // The first field is 127.0.0.1's s_addr (network order) printed as a
  // host-endian unsigned: its bytes 7f 00 00 01 read as this machine reads an int.
  const uint32_t s_addr = htonl(INADDR_LOOPBACK);
  const std::string addr = s_addr == 0x0100007fu ? "0100007f" : "7f000001";
  EXPECT_EQ(FormatLegacyMonitorLine(r),
            addr +
                " 000186b5 00000003 00000010 00112233445566778899aabbccddeeff 192.168.1.10 "
                "server.example.com\n");
}

TEST(FormatLegacyMonitorLine, NegativeNumbersPrintAsStatdsUnsigned) {
  MonitorRecord r = Record("peer", "peer", 1);
  r.key.my_prog = -1;
  r.key.my_vers = 0x7fffffff;
  std::string line = FormatLegacyMonitorLine(r);
  EXPECT_EQ(line.substr(9, 18), "ffffffff 7fffffff ");
}

TEST(CheckLegacyExportable, RefusesWhatStatdCannotReadBack) {
  EXPECT_OK(CheckLegacyExportable(Record("peer", "peer.example", 1)));
  EXPECT_FALSE(CheckLegacyExportable(Record("two words", "peer", 1)).ok());
  MonitorRecord my = Record("peer", "peer", 1);
  my.key.my_name = "a\nb";
  EXPECT_FALSE(CheckLegacyExportable(my).ok());
  EXPECT_FALSE(CheckLegacyExportable(Record("peer", "a/b", 1)).ok());
  EXPECT_FALSE(CheckLegacyExportable(Record("peer", ".hidden", 1)).ok());
  EXPECT_FALSE(CheckLegacyExportable(Record("peer", "", 1)).ok());
  // A line longer than rpc.statd's 1096-byte fgets buffer holds.
  // 68 bytes of numbers and cookie, 3 of blanks and newline, my_name of 18.
  EXPECT_OK(CheckLegacyExportable(Record(std::string(1095 - 68 - 3 - 18, 'a'), "peer", 1)));
  EXPECT_FALSE(CheckLegacyExportable(Record(std::string(1096 - 68 - 3 - 18, 'a'), "peer", 1)).ok());
}

class ExportLegacyStatdTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(dir_.ok()); }
  std::string Path(const std::string& rel) const { return dir_.File(rel); }
  TempDir dir_;
};

// The mirror's updates skip every flush; what they leave is the same.
TEST_F(ExportLegacyStatdTest, AnUpdateWithoutFlushesWritesTheSameFiles) {
  LegacyUpdate update;
  update.whole = true;
  update.state = 9;
  std::vector<std::string> skipped;
  std::vector<MonitorRecord> records;
  for (int i = 0; i < 12; ++i) {  // more than one flush shares: the staged path too
    records.push_back(Record(StrCat("h", i), StrCat("h", i, ".example"), uint8_t(i)));
  }
  AddLegacyLines(records, "sm", update.monitors, skipped);
  AddLegacyLines({records[0]}, "sm.bak", update.notify, skipped);
  ASSERT_TRUE(skipped.empty());
  TempDir other;
  ASSERT_TRUE(other.ok());
  ASSERT_OK(WriteLegacyUpdate(dir_.path(), update));
  update.durable = false;
  ASSERT_OK(WriteLegacyUpdate(other.path(), update));
  for (const char* list : {"sm", "sm.bak"}) {
    ASSERT_EQ(Names(dir_.File(list)), Names(other.File(list))) << list;
    for (const std::string& name : Names(dir_.File(list))) {
      EXPECT_EQ(ReadFileBytes(dir_.File(std::string(list) + "/" + name)),
                ReadFileBytes(other.File(std::string(list) + "/" + name)));
    }
  }
  EXPECT_EQ(Names(dir_.File("sm")).size(), 12u);
  EXPECT_EQ(ReadFileBytes(dir_.File("state")), ReadFileBytes(other.File("state")));
}

TEST_F(ExportLegacyStatdTest, RoundTripsThroughOurImporter) {
  NsmSnapshot snap;
  snap.local_state = 17;
  MonitorRecord a1 = Record("10.0.0.1", "alpha.example", 3);
  MonitorRecord a2 = Record("alpha", "alpha.example", 4);  // same host, second line
  a2.key.my_vers = 4;                                      // NFS-Ganesha's NLM v4
  a2.peer_state = 7;
  a2.lockd_state = 5;
  MonitorRecord b = Record("10.0.0.2", "10.0.0.2", 5);
  MonitorRecord n = Record("gamma", "gamma.example", 6);
  snap.monitors = {a1, a2, b};
  snap.notify = {n};

  Result<LegacyExportCounts> counts = ExportLegacyStatd(snap, dir_.path());
  ASSERT_OK(counts.status());
  EXPECT_EQ(counts->monitors, 3u);
  EXPECT_EQ(counts->monitor_hosts, 2u);
  EXPECT_EQ(counts->notify, 1u);
  EXPECT_EQ(counts->notify_hosts, 1u);
  EXPECT_EQ(counts->state, 17);
  EXPECT_TRUE(counts->skipped.empty());

  EXPECT_EQ(Names(Path("sm")), (std::vector<std::string>{"10.0.0.2", "alpha.example"}));
  EXPECT_EQ(Names(Path("sm.bak")), (std::vector<std::string>{"gamma.example"}));
  EXPECT_EQ(ReadFileBytes(Path("sm/alpha.example")),
            FormatLegacyMonitorLine(a1) + FormatLegacyMonitorLine(a2));

  RealFileSystem fs;
  LegacyStatd back = ReadLegacyStatd(fs, dir_.path());
  EXPECT_TRUE(back.problems.empty()) << back.problems.front();
  EXPECT_EQ(back.state, 17);
  EXPECT_EQ(SortedByKey(back.monitors),
            SortedByKey({AsStatdKeepsIt(a1), AsStatdKeepsIt(a2), AsStatdKeepsIt(b)}));
  EXPECT_EQ(back.notify, std::vector<MonitorRecord>{AsStatdKeepsIt(n)});
}

TEST_F(ExportLegacyStatdTest, StateIsAHostEndianIntWithStatdsMode) {
  NsmSnapshot snap;
  snap.local_state = 0x01020305;
  ASSERT_OK(ExportLegacyStatd(snap, dir_.path()).status());
  std::string bytes = ReadFileBytes(Path("state"));
  ASSERT_EQ(bytes.size(), sizeof(int));
  int value = 0;
  std::memcpy(&value, bytes.data(), sizeof(value));
  EXPECT_EQ(value, 0x01020305);
  struct stat st;
  ASSERT_EQ(::stat(Path("state").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  ASSERT_EQ(::stat(Path("sm").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
}

TEST_F(ExportLegacyStatdTest, NoStoredStateLeavesTheStateFileAlone) {
  dir_.Write("state", "abcd");
  NsmSnapshot snap;
  snap.monitors = {Record("peer", "peer", 1)};
  Result<LegacyExportCounts> counts = ExportLegacyStatd(snap, dir_.path());
  ASSERT_OK(counts.status());
  EXPECT_EQ(counts->state, 0);
  EXPECT_EQ(ReadFileBytes(Path("state")), "abcd");
}

TEST_F(ExportLegacyStatdTest, StaleHostFilesAreRemovedAndOthersLeftAlone) {
  dir_.Write("sm/old.example", "stale\n");
  dir_.Write("sm/peer", "older content\n");
  dir_.Write("sm.bak/gone.example", "stale\n");
  dir_.Write("sm/.keep", "a dot file is not a host\n");
  std::filesystem::create_directory(Path("sm/subdir"));
  NsmSnapshot snap;
  snap.local_state = 3;
  snap.monitors = {Record("peer", "peer", 1)};
  Result<LegacyExportCounts> counts = ExportLegacyStatd(snap, dir_.path());
  ASSERT_OK(counts.status());
  EXPECT_EQ(counts->removed, 2u);
  EXPECT_EQ(Names(Path("sm")), (std::vector<std::string>{".keep", "peer", "subdir"}));
  EXPECT_EQ(ReadFileBytes(Path("sm/peer")), FormatLegacyMonitorLine(Record("peer", "peer", 1)));
  EXPECT_TRUE(Names(Path("sm.bak")).empty());
}

TEST_F(ExportLegacyStatdTest, RecordsStatdCannotHoldAreSkippedAndNamed) {
  NsmSnapshot snap;
  snap.local_state = 3;
  snap.monitors = {Record("peer", "peer", 1), Record("bad name", "peer2", 2),
                   Record("evil", "../../etc/passwd", 3)};
  Result<LegacyExportCounts> counts = ExportLegacyStatd(snap, dir_.path());
  ASSERT_OK(counts.status());
  EXPECT_EQ(counts->monitors, 1u);
  ASSERT_EQ(counts->skipped.size(), 2u);
  EXPECT_NE(counts->skipped[0].find("bad name"), std::string::npos) << counts->skipped[0];
  EXPECT_NE(counts->skipped[1].find("etc/passwd"), std::string::npos) << counts->skipped[1];
  EXPECT_EQ(Names(Path("sm")), std::vector<std::string>{"peer"});
}

TEST_F(ExportLegacyStatdTest, PlantedSymlinkAtTheTempNameIsNotFollowed) {
  dir_.Write("victim", "untouched");
  std::filesystem::create_directory(Path("sm"));
  std::filesystem::create_symlink(Path("victim"), Path("sm/.peer.new"));
  NsmSnapshot snap;
  snap.monitors = {Record("peer", "peer", 1)};
  ASSERT_OK(ExportLegacyStatd(snap, dir_.path()).status());
  EXPECT_EQ(ReadFileBytes(Path("victim")), "untouched");
  EXPECT_EQ(ReadFileBytes(Path("sm/peer")), FormatLegacyMonitorLine(Record("peer", "peer", 1)));
}

TEST_F(ExportLegacyStatdTest, FilesAreOwnedLikeTheirDirectory) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a directory to another user";
  std::filesystem::create_directory(Path("sm"));
  ASSERT_EQ(::chown(Path("sm").c_str(), 4321, 8765), 0);
  NsmSnapshot snap;
  snap.local_state = 3;
  snap.monitors = {Record("peer", "peer", 1)};
  ASSERT_OK(ExportLegacyStatd(snap, dir_.path()).status());
  struct stat st;
  ASSERT_EQ(::stat(Path("sm/peer").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 4321u);
  EXPECT_EQ(st.st_gid, 8765u);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat(Path("state").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, ::geteuid());  // the base directory is root's
}

TEST_F(ExportLegacyStatdTest, MissingDirectoryIsAnErrorAndWritesNothing) {
  NsmSnapshot snap;
  snap.local_state = 3;
  EXPECT_FALSE(ExportLegacyStatd(snap, Path("absent")).ok());
  EXPECT_FALSE(std::filesystem::exists(Path("absent")));
}

// From the daemon's database, through a read-only connection, to the files.
class ExportFromDatabaseTest : public ::testing::Test {
 protected:
  test_support::StoreHarness<SqliteNsmStore> h_;
};

TEST_F(ExportFromDatabaseTest, ReadOnlySnapshotHoldsMonitorsNotifyListAndState) {
  ASSERT_OK(h_.Open());
  MonitorRecord m = SampleRecord(1);
  m.peer_state = 9;
  ASSERT_OK(
      RunAndWait(h_.loop(), [&](NsmStore::Done d) { h_.store().PutMonitor(m, std::move(d)); }));
  ASSERT_OK(RunAndWait(h_.loop(), [&](NsmStore::Done d) {
    h_.store().PrepareReboot(true, 9, "boot-1", std::move(d));
  }));
  MonitorRecord m2 = SampleRecord(2);
  ASSERT_OK(
      RunAndWait(h_.loop(), [&](NsmStore::Done d) { h_.store().PutMonitor(m2, std::move(d)); }));

  Result<std::unique_ptr<sqlite::Db>> db =
      sqlite::Db::Open("file:" + h_.path() + "?mode=ro", ReadOnlyDbOptions());
  ASSERT_OK(db.status());
  Result<NsmSnapshot> snap = ReadNsmOffline(**db);
  ASSERT_OK(snap.status());
  EXPECT_EQ(snap->local_state, 9);
  EXPECT_EQ(snap->monitors, std::vector<MonitorRecord>{m2});
  EXPECT_EQ(snap->notify, std::vector<MonitorRecord>{m});
  EXPECT_NE((*db)->Exec("CREATE TABLE x (y)").code(), Status::Code::kOk);  // read-only

  TempDir out;
  ASSERT_OK(ExportLegacyStatd(*snap, out.path()).status());
  RealFileSystem fs;
  LegacyStatd back = ReadLegacyStatd(fs, out.path());
  EXPECT_EQ(back.state, 9);
  EXPECT_EQ(back.monitors, std::vector<MonitorRecord>{AsStatdKeepsIt(m2)});
  EXPECT_EQ(back.notify, std::vector<MonitorRecord>{AsStatdKeepsIt(m)});
}

TEST_F(ExportFromDatabaseTest, DatabaseWithoutNsmStateIsNotFound) {
  TempDir dir;
  Result<std::unique_ptr<sqlite::Db>> db = sqlite::Db::Open(dir.File("empty.sqlite"));
  ASSERT_OK(db.status());
  EXPECT_TRUE(ReadNsmOffline(**db).status().IsNotFound());
}

}  // namespace
}  // namespace nfsrec::statd
