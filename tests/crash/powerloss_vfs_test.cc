// The power-loss VFS keeps its contract (tests/crash/powerloss_vfs.h): the
// file system holds exactly what was synced; the process sees its writes.
#include "tests/crash/powerloss_vfs.h"

#include <memory>
#include <string>
#include <vector>

#include "common/store/schema.h"
#include "common/store/sqlite.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include <gtest/gtest.h>

namespace nfsrec::crash {
namespace {

using test_support::TempDir;

// One file opened through the VFS by its methods, as SQLite would.
class VfsFile {
 public:
  explicit VfsFile(const std::string& path) : vfs_(sqlite3_vfs_find(kPowerLossVfsName)) {
    storage_.resize(static_cast<size_t>(vfs_->szOsFile));
    int out = 0;
    rc_ = vfs_->xOpen(vfs_, path.c_str(), file(),
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_MAIN_DB, &out);
  }
  ~VfsFile() {
    if (file()->pMethods != nullptr) file()->pMethods->xClose(file());
  }
  VfsFile(const VfsFile&) = delete;
  VfsFile& operator=(const VfsFile&) = delete;

  int open_rc() const { return rc_; }
  sqlite3_file* file() { return reinterpret_cast<sqlite3_file*>(storage_.data()); }
  int Write(const std::string& s, int64_t off) {
    return file()->pMethods->xWrite(file(), s.data(), static_cast<int>(s.size()), off);
  }
  int Truncate(int64_t size) { return file()->pMethods->xTruncate(file(), size); }
  int Sync() { return file()->pMethods->xSync(file(), SQLITE_SYNC_NORMAL); }
  int64_t Size() {
    sqlite3_int64 n = -1;
    EXPECT_EQ(file()->pMethods->xFileSize(file(), &n), SQLITE_OK);
    return n;
  }
  std::string Read(int64_t off, int n, int* rc) {
    std::string s(static_cast<size_t>(n), '?');
    *rc = file()->pMethods->xRead(file(), s.data(), n, off);
    return s;
  }

 private:
  sqlite3_vfs* vfs_;
  std::vector<char> storage_;
  int rc_ = SQLITE_ERROR;
};

class PowerLossVfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    ASSERT_OK(RegisterPowerLossVfs(/*make_default=*/false));
    DiscardUnsyncedWrites();
  }
  std::string Path(const std::string& name) { return dir_.path() + "/" + name; }

  TempDir dir_;
};

TEST_F(PowerLossVfsTest, UnsyncedWritesAreReadBackButLostAtPowerLoss) {
  std::string path = Path("f");
  {
    VfsFile f(path);
    ASSERT_EQ(f.open_rc(), SQLITE_OK);
    ASSERT_EQ(f.Write("synced", 0), SQLITE_OK);
    ASSERT_EQ(f.Sync(), SQLITE_OK);
    ASSERT_EQ(f.Write("SY", 0), SQLITE_OK);
    ASSERT_EQ(f.Write("-tail", 6), SQLITE_OK);
    int rc = 0;
    EXPECT_EQ(f.Read(0, 11, &rc), "SYnced-tail");
    EXPECT_EQ(rc, SQLITE_OK);
    EXPECT_EQ(f.Size(), 11);
  }
  // Closed, the writes are still in the "page cache".
  {
    VfsFile f(path);
    int rc = 0;
    EXPECT_EQ(f.Read(0, 11, &rc), "SYnced-tail");
  }
  DiscardUnsyncedWrites();
  VfsFile f(path);
  EXPECT_EQ(f.Size(), 6);
  int rc = 0;
  std::string got = f.Read(0, 8, &rc);
  EXPECT_EQ(rc, SQLITE_IOERR_SHORT_READ);
  EXPECT_EQ(got, std::string("synced\0\0", 8));
}

TEST_F(PowerLossVfsTest, TruncateIsKeptUntilSyncAndZeroesWhatAWriteLaterExtends) {
  VfsFile f(Path("t"));
  ASSERT_EQ(f.Write("0123456789", 0), SQLITE_OK);
  ASSERT_EQ(f.Sync(), SQLITE_OK);
  ASSERT_EQ(f.Truncate(4), SQLITE_OK);
  ASSERT_EQ(f.Write("X", 8), SQLITE_OK);
  int rc = 0;
  EXPECT_EQ(f.Read(0, 9, &rc), std::string("0123\0\0\0\0X", 9));
  EXPECT_EQ(f.Size(), 9);
  DiscardUnsyncedWrites();
  EXPECT_EQ(f.Read(0, 10, &rc), "0123456789");  // the cut was never synced
  ASSERT_EQ(f.Truncate(4), SQLITE_OK);
  ASSERT_EQ(f.Sync(), SQLITE_OK);
  DiscardUnsyncedWrites();
  EXPECT_EQ(f.Size(), 4);
}

TEST_F(PowerLossVfsTest, CommitUnderSynchronousFullSurvivesOneWithoutSyncIsLost) {
  std::string path = Path("db.sqlite");
  sqlite::Db::Options opts;
  opts.vfs = kPowerLossVfsName;
  {
    auto db = sqlite::Db::Open(path, opts);
    ASSERT_OK(db);
    // The crash comes before any checkpoint: the WAL must carry the commits.
    ASSERT_EQ(sqlite3_db_config((*db)->handle(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr),
              SQLITE_OK);
    // Marked as nfsrecd's, so that the second connection accepts a table
    // that no migration made.
    ASSERT_OK(
        (*db)->Exec("PRAGMA wal_autocheckpoint=0; CREATE TABLE t (x INTEGER); "
                    "PRAGMA application_id = " +
                    std::to_string(kApplicationId)));
    ASSERT_OK((*db)->Exec("INSERT INTO t VALUES (1);"));  // synchronous=FULL: fsynced
    ASSERT_OK((*db)->Exec("PRAGMA synchronous=OFF; INSERT INTO t VALUES (2);"));
    // Another connection of the process sees the unsynced commit.
    auto other = sqlite::Db::Open(path, opts);
    ASSERT_OK(other);
    EXPECT_EQ(*(*other)->QueryInt("SELECT count(*) FROM t"), 2);
    ASSERT_EQ(sqlite3_db_config((*other)->handle(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr),
              SQLITE_OK);
  }
  EXPECT_GT(PowerLossStats().writes, 0u);
  EXPECT_GT(PowerLossStats().syncs, 0u);
  DiscardUnsyncedWrites();
  EXPECT_GT(PowerLossStats().discarded, 0u);
  auto db = sqlite::Db::Open(path, opts);
  ASSERT_OK(db);
  EXPECT_EQ(*(*db)->QueryInt("SELECT count(*) FROM t"), 1);
  EXPECT_EQ(*(*db)->QueryInt("SELECT x FROM t"), 1);
  auto check = (*db)->Prepare("PRAGMA integrity_check");
  ASSERT_OK(check);
  ASSERT_TRUE(*check->Step());
  EXPECT_EQ(check->ColumnText(0), "ok");
}

}  // namespace
}  // namespace nfsrec::crash
