#include "nfs4rec/cltrack.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "common/store/sqlite.h"
#include "nfs4rec/client_sql.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include <gtest/gtest.h>

namespace nfsrec::nfs4rec {
namespace {

std::string Hex(const std::string& s) { return HexBytes(s.data(), s.size()); }

class CltrackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(tmp_.ok());
    dir_ = tmp_.path();
    Touch("");
  }
  void Touch(const std::string& content) { tmp_.Write("proc/fs/nfsd/v4_end_grace", content); }
  std::string EndGrace() {
    std::string s(8, '\0');
    FILE* f = fopen((dir_ + "/proc/fs/nfsd/v4_end_grace").c_str(), "r");
    s.resize(fread(s.data(), 1, s.size(), f));
    fclose(f);
    return s;
  }
  int Run(const std::string& cmd, std::optional<std::string> arg = std::nullopt,
          std::optional<std::string> session = std::nullopt) {
    CltrackRequest r;
    r.storagedir = dir_ + "/state";
    r.proc_root = dir_;
    r.command = cmd;
    r.arg = std::move(arg);
    r.has_session = std::move(session);
    r.grace_start = "1700000000";
    r.legacy_recdir = recdir_;
    r.legacy_topdir = topdir_;
    return RunCltrack(r, log_);
  }
  Epochs Epochs_() {
    auto db = sqlite::Db::Open(dir_ + "/state/nfsrecd.sqlite").value();
    return client_sql::ReadEpochs(*db).value();
  }
  test_support::TempDir tmp_;
  std::string dir_;
  std::optional<std::string> recdir_, topdir_;
  CapturingLogger log_;
};

TEST_F(CltrackTest, ExitCodesMatchNfsdcltrack) {
  EXPECT_EQ(Run("") & 0xff, 234);                                // -EINVAL: no command
  EXPECT_EQ(Run("frobnicate") & 0xff, 218);                      // -ENOSYS
  EXPECT_EQ(Run("create") & 0xff, 234);                          // missing argument
  EXPECT_EQ(Run("create", "abc") & 0xff, 234);                   // odd length
  EXPECT_EQ(Run("create", "zz") & 0xff, 234);                    // not hex
  EXPECT_EQ(Run("create", std::string(2050, 'a')) & 0xff, 151);  // -ENOBUFS
  EXPECT_EQ(Run("gracedone", "soon") & 0xff, 234);
  EXPECT_EQ(Run("init"), 0);
  EXPECT_EQ(Run("check", Hex("nobody")) & 0xff, 255);  // -EPERM
}

TEST_F(CltrackTest, InitFailsWithEaccesOnAnUnusableDirectory) {
  std::filesystem::create_directories(dir_ + "/state/nfsrecd.sqlite");  // a directory, not a db
  EXPECT_EQ(Run("init") & 0xff, 243);
  EXPECT_EQ(Run("create", Hex("a")) & 0xff, 135);  // -EREMOTEIO
}

TEST_F(CltrackTest, NfsdcltracksOwnDatabaseAtOurPathIsRefusedUnchanged) {
  const std::string path = dir_ + "/state/nfsrecd.sqlite";
  std::filesystem::create_directories(dir_ + "/state");
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw,
                         "CREATE TABLE parameters (key TEXT PRIMARY KEY, value TEXT);"
                         "CREATE TABLE clients (id BLOB PRIMARY KEY, time INTEGER, has_session "
                         "INTEGER);"
                         "INSERT INTO parameters VALUES ('version', '2');",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  auto bytes = [&] { return test_support::ReadFileBytes(path); };
  const std::string before = bytes();
  EXPECT_EQ(Run("init") & 0xff, 243);              // -EACCES, as for any unusable database
  EXPECT_EQ(Run("create", Hex("a")) & 0xff, 135);  // -EREMOTEIO
  EXPECT_EQ(bytes(), before);
  bool named = false;
  for (const auto& [level, line] : log_.lines()) {
    named |= line.find("cannot open the database") != std::string::npos &&
             line.find(path + " is not nfsrecd's: it looks like nfsdcltrack's database") !=
                 std::string::npos;
  }
  EXPECT_TRUE(named) << "no log line names the file and what it is";
}

TEST_F(CltrackTest, RebootCycleMapsOntoEpochs) {
  ASSERT_EQ(Run("init"), 0);
  EXPECT_EQ(EndGrace(), "Y");  // nothing to reclaim: grace lifted at once
  Touch("");
  ASSERT_EQ(Run("gracedone", "1700000000"), 0);
  ASSERT_EQ(Run("create", Hex("v40"), "N"), 0);
  ASSERT_EQ(Run("create", Hex("v41"), "Y"), 0);
  ASSERT_EQ(Run("create", Hex("gone"), "Y"), 0);
  ASSERT_EQ(Run("remove", Hex("gone")), 0);
  // reboot
  ASSERT_EQ(Run("init"), 0);
  EXPECT_EQ(EndGrace(), "");
  EXPECT_TRUE(Epochs_().in_grace());
  EXPECT_EQ(Run("check", Hex("v40"), "N"), 0);
  EXPECT_EQ(Run("check", Hex("v41"), "Y"), 0);
  EXPECT_EQ(Run("check", Hex("gone"), "Y") & 0xff, 255);
  EXPECT_EQ(EndGrace(), "");  // a v4.0 client is in the set: no early lift
  ASSERT_EQ(Run("create", Hex("v41"), "Y"), 0);
  EXPECT_EQ(EndGrace(), "");
  ASSERT_EQ(Run("gracedone", "1700000000"), 0);
  EXPECT_FALSE(Epochs_().in_grace());
  // Both survived the grace period (the v4.0 one through its check).
  ASSERT_EQ(Run("init"), 0);
  EXPECT_EQ(Run("check", Hex("v40"), "N"), 0);
  EXPECT_EQ(Run("check", Hex("v41"), "Y"), 0);
}

TEST_F(CltrackTest, LiftsGraceWhenEverySessionClientCameBack) {
  ASSERT_EQ(Run("init"), 0);
  ASSERT_EQ(Run("gracedone", "0x10"), 0);
  ASSERT_EQ(Run("create", Hex("a"), "Y"), 0);
  ASSERT_EQ(Run("create", Hex("b"), "Y"), 0);
  ASSERT_EQ(Run("init"), 0);
  Touch("");
  ASSERT_EQ(Run("create", Hex("a"), "Y"), 0);
  EXPECT_EQ(EndGrace(), "");
  ASSERT_EQ(Run("create", Hex("b"), "Y"), 0);
  EXPECT_EQ(EndGrace(), "Y");
}

TEST_F(CltrackTest, InitDuringGraceKeepsTheRecoveryEpoch) {
  ASSERT_EQ(Run("init"), 0);
  ASSERT_EQ(Run("gracedone", "1"), 0);
  ASSERT_EQ(Run("create", Hex("a"), "Y"), 0);
  ASSERT_EQ(Run("create", Hex("b"), "Y"), 0);
  ASSERT_EQ(Run("init"), 0);
  Epochs e = Epochs_();
  ASSERT_EQ(Run("create", Hex("a"), "Y"), 0);
  ASSERT_EQ(Run("init"), 0);  // second reboot during grace
  EXPECT_EQ(Epochs_(), e);
  EXPECT_EQ(Run("check", Hex("b"), "Y"), 0);
}

TEST_F(CltrackTest, LegacyRecdirAndTopdir) {
  ASSERT_EQ(Run("init"), 0);
  topdir_ = dir_ + "/v4recovery";
  recdir_ = *topdir_ + "/0123456789abcdef0123456789abcdef";
  std::filesystem::create_directories(*recdir_);
  std::filesystem::create_directories(*topdir_ + "/fedcba9876543210fedcba9876543210");
  EXPECT_EQ(Run("check", Hex("legacy-client"), "N"), 0);
  EXPECT_FALSE(std::filesystem::exists(*recdir_));
  recdir_.reset();
  EXPECT_EQ(Run("check", Hex("legacy-client"), "N"), 0);  // now in the database
  ASSERT_EQ(Run("gracedone", "5"), 0);
  EXPECT_TRUE(std::filesystem::is_empty(*topdir_));
}

TEST(CltrackHex, DecodesEitherCase) {
  std::string out;
  EXPECT_EQ(DecodeHexId("00aBfF", &out), 0);
  EXPECT_EQ(out, std::string("\x00\xab\xff", 3));
  EXPECT_EQ(DecodeHexId(std::string(2048, 'f'), &out), 0);
  EXPECT_EQ(DecodeHexId(std::string(2050, 'f'), &out), -ENOBUFS);
}

}  // namespace
}  // namespace nfsrec::nfs4rec
