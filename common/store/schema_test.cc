#include "common/store/schema.h"

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

}  // namespace
}  // namespace nfsrec
