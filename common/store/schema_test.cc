#include "common/store/schema.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include <gtest/gtest.h>

namespace nfsrec {
namespace {

using sqlite::Db;
using test_support::TempDir;

class SchemaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    Reopen();
  }
  void Reopen() {
    db_.reset();
    auto db = Db::Open(dir_.File("schema.sqlite"));
    ASSERT_OK(db);
    db_ = std::move(db).value();
  }
  bool HasTable(const std::string& name) {
    auto stmt = db_->Prepare("SELECT count(*) FROM sqlite_master WHERE type='table' AND name=?1");
    EXPECT_OK(stmt);
    EXPECT_OK(stmt->BindText(1, name));
    auto row = stmt->Step();
    return row.ok() && *row && stmt->ColumnInt(0) == 1;
  }
  int Version(const std::string& component) {
    auto v = SchemaVersion(*db_, component);
    EXPECT_OK(v);
    return v.ok() ? *v : -1;
  }

  // Migrations that create tables a1, a2, ... and count how often each ran.
  std::vector<Migration> Counting(int n) {
    std::vector<Migration> m;
    for (int i = 1; i <= n; ++i) {
      m.push_back({i, [this, i](Db& db) {
                     ++runs_[i];
                     return db.Exec("CREATE TABLE a" + std::to_string(i) + " (x)");
                   }});
    }
    return m;
  }

  TempDir dir_;
  std::unique_ptr<Db> db_;
  int runs_[8] = {};
};

TEST_F(SchemaTest, FreshDatabaseIsVersionZero) {
  EXPECT_EQ(Version("nsm"), 0);
  EXPECT_FALSE(HasTable("schema_versions"));
}

TEST_F(SchemaTest, FreshDatabaseGetsEveryMigration) {
  ASSERT_OK(ApplyMigrations(*db_, "nsm", Counting(3)));
  EXPECT_EQ(Version("nsm"), 3);
  EXPECT_TRUE(HasTable("a1"));
  EXPECT_TRUE(HasTable("a2"));
  EXPECT_TRUE(HasTable("a3"));
  EXPECT_EQ(runs_[1] + runs_[2] + runs_[3], 3);
  EXPECT_FALSE(db_->InTransaction());
}

TEST_F(SchemaTest, ReopenIsIdempotent) {
  ASSERT_OK(ApplyMigrations(*db_, "nsm", Counting(2)));
  Reopen();
  ASSERT_OK(ApplyMigrations(*db_, "nsm", Counting(2)));
  EXPECT_EQ(Version("nsm"), 2);
  EXPECT_EQ(runs_[1], 1);
  EXPECT_EQ(runs_[2], 1);
}

TEST_F(SchemaTest, UpgradeRunsOnlyNewMigrations) {
  ASSERT_OK(ApplyMigrations(*db_, "nsm", Counting(1)));
  Reopen();
  ASSERT_OK(ApplyMigrations(*db_, "nsm", Counting(3)));
  EXPECT_EQ(Version("nsm"), 3);
  EXPECT_EQ(runs_[1], 1);
  EXPECT_EQ(runs_[2], 1);
  EXPECT_EQ(runs_[3], 1);
}

TEST_F(SchemaTest, NewerVersionIsRefusedAndUntouched) {
  ASSERT_OK(ApplyMigrations(*db_, "nsm", Counting(3)));
  Reopen();
  Status st = ApplyMigrations(*db_, "nsm", Counting(2));
  ASSERT_TRUE(st.IsCorruption()) << st.ToString();
  EXPECT_NE(st.message().find("'nsm'"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("version 3"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("newer"), std::string::npos) << st.message();
  EXPECT_EQ(Version("nsm"), 3);
  EXPECT_TRUE(HasTable("a3"));
}

TEST_F(SchemaTest, FailingMigrationLeavesOldVersionIntact) {
  ASSERT_OK(ApplyMigrations(*db_, "nsm", Counting(1)));
  std::vector<Migration> m = Counting(1);
  m.push_back({2, [](Db& db) -> Status {
                 // Partly done, then fails: none of it may remain.
                 NFSREC_RETURN_IF_ERROR(db.Exec("CREATE TABLE half (x)"));
                 return db.Exec("INSERT INTO no_such_table VALUES (1)");
               }});
  m.push_back({3, [](Db& db) { return db.Exec("CREATE TABLE a3 (x)"); }});
  Status st = ApplyMigrations(*db_, "nsm", m);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("migration to version 2"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("no_such_table"), std::string::npos) << st.message();
  EXPECT_EQ(Version("nsm"), 1);
  EXPECT_FALSE(HasTable("half"));
  EXPECT_FALSE(HasTable("a3"));
  EXPECT_FALSE(db_->InTransaction());

  // Fixed code then upgrades normally.
  Reopen();
  ASSERT_OK(ApplyMigrations(*db_, "nsm", Counting(3)));
  EXPECT_EQ(Version("nsm"), 3);
}

TEST_F(SchemaTest, InsideATransactionUsesSavepoints) {
  std::vector<Migration> m = Counting(1);
  m.push_back({2, [](Db& db) -> Status {
                 NFSREC_RETURN_IF_ERROR(db.Exec("CREATE TABLE half (x)"));
                 return Status::IOError("injected");
               }});
  {
    auto txn = sqlite::Transaction::Begin(*db_);
    ASSERT_OK(txn);
    Status st = ApplyMigrations(*db_, "nsm", m);
    EXPECT_TRUE(st.IsIOError()) << st.ToString();
    EXPECT_TRUE(db_->InTransaction());
    // A caller that keeps going commits a whole version, never half of one.
    ASSERT_OK((*txn)->Commit());
  }
  EXPECT_EQ(Version("nsm"), 1);
  EXPECT_TRUE(HasTable("a1"));
  EXPECT_FALSE(HasTable("half"));
}

TEST_F(SchemaTest, ComponentsAreIndependent) {
  ASSERT_OK(ApplyMigrations(*db_, "nsm", Counting(2)));
  ASSERT_OK(
      ApplyMigrations(*db_, "cld", {{1, [](Db& db) { return db.Exec("CREATE TABLE c1 (x)"); }}}));
  EXPECT_EQ(Version("nsm"), 2);
  EXPECT_EQ(Version("cld"), 1);
  EXPECT_EQ(Version("other"), 0);
}

TEST_F(SchemaTest, MisnumberedMigrationsAreRejected) {
  std::vector<Migration> m = {{1, [](Db&) { return Status::Ok(); }},
                              {3, [](Db&) { return Status::Ok(); }}};
  EXPECT_TRUE(ApplyMigrations(*db_, "nsm", m).IsInvalidArgument());
  EXPECT_EQ(Version("nsm"), 0);
}

TEST_F(SchemaTest, GarbageVersionIsCorruption) {
  ASSERT_OK(ApplyMigrations(*db_, "nsm", Counting(1)));
  ASSERT_OK(db_->Exec("UPDATE schema_versions SET version = 'two' WHERE component = 'nsm'"));
  auto v = SchemaVersion(*db_, "nsm");
  ASSERT_FALSE(v.ok());
  EXPECT_TRUE(v.status().IsCorruption());
}

// Files that are not nfsrecd's database, made without Db::Open (as the
// other program would), and read back byte for byte.
class ForeignDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(dir_.ok()); }

  // A database made by plain SQLite (rollback journal, as nfsdcld and
  // nfsdcltrack leave it) with `sql` run in it.
  void MakeWithSql(const std::string& sql) {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &raw), SQLITE_OK);
    char* err = nullptr;
    const int rc = sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, &err);
    const std::string message = err != nullptr ? err : "";
    sqlite3_free(err);
    sqlite3_close(raw);
    ASSERT_EQ(rc, SQLITE_OK) << message;
  }
  std::string Bytes() const {
    std::ifstream in(path_, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  bool Exists(const std::string& path) const {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
  }
  // Db::Open must refuse the file without changing it or making a WAL
  // beside it; returns the refusal.
  Status ExpectRefusedAndUnchanged() {
    const std::string before = Bytes();
    EXPECT_FALSE(before.empty());
    auto db = Db::Open(path_);
    EXPECT_FALSE(db.ok());
    EXPECT_EQ(Bytes(), before) << "the refused file was changed";
    EXPECT_FALSE(Exists(path_ + "-wal")) << "a WAL was made beside the refused file";
    if (db.ok()) return Status::Ok();
    const std::string& m = db.status().message();
    // Every refusal names the file and says what to do.
    EXPECT_NE(m.find(path_ + " is not nfsrecd's"), std::string::npos) << m;
    EXPECT_NE(m.find("move it away (mv " + path_ + " " + path_ + ".not-nfsrecd)"),
              std::string::npos)
        << m;
    return db.status();
  }

  TempDir dir_;
  const std::string path_ = dir_.File("nfsrecd.sqlite");
};

TEST_F(ForeignDatabaseTest, NfsdcldDatabaseIsRefusedUnchangedAndNamedAsNfsdclds) {
  MakeWithSql(
      "CREATE TABLE parameters (key TEXT PRIMARY KEY, value TEXT);"
      "CREATE TABLE grace (current INTEGER , recovery INTEGER);"
      "INSERT INTO grace VALUES (1, 0);"
      "CREATE TABLE \"rec-0000000000000001\" (id BLOB PRIMARY KEY, princhash BLOB);"
      "INSERT INTO parameters VALUES ('version', '4');");
  Status st = ExpectRefusedAndUnchanged();
  EXPECT_TRUE(st.IsInvalidArgument()) << st.ToString();
  EXPECT_NE(st.message().find("looks like nfsdcld's database (tables grace, parameters, "
                              "rec-0000000000000001)"),
            std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("/var/lib/nfs/nfsdcld/main.sqlite"), std::string::npos);
}

TEST_F(ForeignDatabaseTest, NfsdcltrackDatabaseIsRefusedUnchanged) {
  MakeWithSql(
      "CREATE TABLE parameters (key TEXT PRIMARY KEY, value TEXT);"
      "CREATE TABLE clients (id BLOB PRIMARY KEY, time INTEGER, has_session INTEGER);"
      "INSERT INTO parameters VALUES ('version', '2');");
  Status st = ExpectRefusedAndUnchanged();
  EXPECT_TRUE(st.IsInvalidArgument()) << st.ToString();
  EXPECT_NE(st.message().find("looks like nfsdcltrack's database"), std::string::npos)
      << st.message();
}

TEST_F(ForeignDatabaseTest, OtherProgramsTablesAreRefusedUnchanged) {
  MakeWithSql(
      "CREATE TABLE photos (id INTEGER PRIMARY KEY, data BLOB); INSERT INTO photos VALUES "
      "(1, x'00ff');");
  Status st = ExpectRefusedAndUnchanged();
  EXPECT_TRUE(st.IsInvalidArgument()) << st.ToString();
  EXPECT_NE(st.message().find("SQLite database of another program (tables photos)"),
            std::string::npos)
      << st.message();
}

TEST_F(ForeignDatabaseTest, OtherApplicationIdIsRefusedUnchangedEvenWithoutTables) {
  MakeWithSql("PRAGMA application_id = 1179795779; PRAGMA user_version = 1;");
  Status st = ExpectRefusedAndUnchanged();
  EXPECT_TRUE(st.IsInvalidArgument()) << st.ToString();
  EXPECT_NE(st.message().find("application_id 0x46524143, not nfsrecd's 0x4e465352"),
            std::string::npos)
      << st.message();
}

TEST_F(ForeignDatabaseTest, OtherApplicationIdWithOurTablesIsRefusedUnchanged) {
  MakeWithSql(
      "PRAGMA application_id = 7;"
      "CREATE TABLE schema_versions (component TEXT PRIMARY KEY, version INTEGER);");
  Status st = ExpectRefusedAndUnchanged();
  EXPECT_TRUE(st.IsInvalidArgument()) << st.ToString();
}

TEST_F(ForeignDatabaseTest, FileThatIsNotSqliteIsRefusedUnchanged) {
  {
    std::ofstream out(path_, std::ios::binary);
    out << "# nfsdcltrack was here\n" << std::string(300, 'x');
  }
  Status st = ExpectRefusedAndUnchanged();
  EXPECT_TRUE(st.IsCorruption()) << st.ToString();
  EXPECT_NE(st.message().find("not an SQLite database at all (it begins \"# nfsdcltrack wa"),
            std::string::npos)
      << st.message();
}

TEST_F(ForeignDatabaseTest, ShortFileIsRefusedUnchanged) {
  {
    std::ofstream out(path_, std::ios::binary);
    out << "SQLite format 3";
  }
  EXPECT_TRUE(ExpectRefusedAndUnchanged().IsCorruption());
}

TEST_F(ForeignDatabaseTest, NewFileIsCreatedAndStampedWhenTheSchemaIsApplied) {
  {
    auto db = Db::Open(path_);
    ASSERT_OK(db);
    auto mark = (*db)->QueryInt("PRAGMA application_id");
    ASSERT_OK(mark);
    EXPECT_EQ(*mark, 0) << "stamped before any schema";
    ASSERT_OK(ApplyMigrations(**db, "nsm",
                              {{1, [](Db& d) { return d.Exec("CREATE TABLE monitors (x)"); }}}));
    mark = (*db)->QueryInt("PRAGMA application_id");
    ASSERT_OK(mark);
    EXPECT_EQ(*mark, kApplicationId);
  }
  // Closing the last connection checkpoints the WAL: the mark is in the
  // file's header, at offset 68, big-endian.
  const std::string bytes = Bytes();
  ASSERT_GE(bytes.size(), 100u);
  EXPECT_EQ(bytes.substr(68, 4), "NFSR");
  auto again = Db::Open(path_);
  EXPECT_OK(again);
}

TEST_F(ForeignDatabaseTest, DatabaseBeingCreatedByAnotherProcessIsWaitedForNotRefused) {
  // Another process (the sm-notify command starting beside the daemon) has
  // spilled its first pages into the file, page 1 (the header) still
  // unwritten, and holds its lock until COMMIT.
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    sqlite3* raw = nullptr;
    if (sqlite3_open(path_.c_str(), &raw) != SQLITE_OK) ::_exit(1);
    if (sqlite3_exec(raw,
                     "PRAGMA cache_size = 1; BEGIN EXCLUSIVE;"
                     "CREATE TABLE schema_versions (component TEXT, version INTEGER);"
                     "CREATE TABLE filler (x); INSERT INTO filler VALUES (zeroblob(100000));",
                     nullptr, nullptr, nullptr) != SQLITE_OK) {
      ::_exit(2);
    }
    if (::write(ready[1], "x", 1) != 1) ::_exit(3);
    ::usleep(300 * 1000);
    ::_exit(sqlite3_exec(raw, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK ? 0 : 4);
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  const std::string header = Bytes().substr(0, 16);
  EXPECT_EQ(header, std::string(16, '\0')) << "the header was written before COMMIT";
  auto db = Db::Open(path_);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_OK(db);
}

TEST_F(ForeignDatabaseTest, EmptyFileIsAdopted) {
  { std::ofstream out(path_, std::ios::binary); }
  auto db = Db::Open(path_);
  EXPECT_OK(db);
}

TEST_F(ForeignDatabaseTest, UnstampedNfsrecdDatabaseIsAdoptedStampedAndKeepsItsData) {
  // What nfsrecd wrote before the mark existed.
  MakeWithSql(
      "PRAGMA journal_mode=WAL;"
      "CREATE TABLE schema_versions (component TEXT PRIMARY KEY NOT NULL, version INTEGER NOT "
      "NULL);"
      "INSERT INTO schema_versions VALUES ('nsm', 1);"
      "CREATE TABLE monitors (name TEXT); INSERT INTO monitors VALUES ('peer.example');");
  auto db = Db::Open(path_);
  ASSERT_OK(db);
  int ran = 0;
  ASSERT_OK(ApplyMigrations(**db, "nsm", {{1, [&ran](Db&) {
                                             ++ran;
                                             return Status::Ok();
                                           }}}));
  EXPECT_EQ(ran, 0);
  auto mark = (*db)->QueryInt("PRAGMA application_id");
  ASSERT_OK(mark);
  EXPECT_EQ(*mark, kApplicationId);
  auto rows = (*db)->QueryInt("SELECT count(*) FROM monitors WHERE name = 'peer.example'");
  ASSERT_OK(rows);
  EXPECT_EQ(*rows, 1);
}

TEST(ApplyMigrationsTest, AnotherApplicationIdIsRefusedAndNotRestamped) {
  auto db = Db::Open(":memory:");
  ASSERT_OK(db);
  ASSERT_OK((*db)->Exec("PRAGMA application_id = 7"));
  Status st = ApplyMigrations(**db, "nsm", {{1, [](Db&) { return Status::Ok(); }}});
  EXPECT_TRUE(st.IsInvalidArgument()) << st.ToString();
  auto mark = (*db)->QueryInt("PRAGMA application_id");
  ASSERT_OK(mark);
  EXPECT_EQ(*mark, 7);
  auto version = SchemaVersion(**db, "nsm");
  ASSERT_OK(version);
  EXPECT_EQ(*version, 0);
}

}  // namespace
}  // namespace nfsrec
