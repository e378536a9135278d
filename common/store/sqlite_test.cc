#include "common/store/sqlite.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include <gtest/gtest.h>

namespace nfsrec::sqlite {
namespace {

using test_support::TempDir;

class SqliteTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(dir_.ok()); }

  std::unique_ptr<Db> OpenOrDie(const std::string& name, Db::Options options = Db::Options()) {
    auto db = Db::Open(dir_.File(name), options);
    EXPECT_OK(db);
    return db.ok() ? std::move(db).value() : nullptr;
  }

  TempDir dir_;
};

mode_t ModeOf(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

TEST_F(SqliteTest, OpenAppliesDurabilitySettingsAndCreatesPrivateFiles) {
  auto db = OpenOrDie("a.sqlite");
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(ModeOf(dir_.File("a.sqlite")), 0600u);

  auto mode = db->Prepare("PRAGMA journal_mode");
  ASSERT_OK(mode);
  auto row = mode->Step();
  ASSERT_OK(row);
  ASSERT_TRUE(*row);
  EXPECT_EQ(mode->ColumnText(0), "wal");
  EXPECT_EQ(*db->QueryInt("PRAGMA synchronous"), 2);  // FULL
  EXPECT_EQ(*db->QueryInt("PRAGMA foreign_keys"), 1);
  EXPECT_EQ(*db->QueryInt("PRAGMA busy_timeout"), 10000);

  ASSERT_OK(db->Exec("CREATE TABLE t (x INTEGER)"));
  // The WAL and its index take the database file's mode.
  EXPECT_EQ(ModeOf(dir_.File("a.sqlite-wal")), 0600u);
  EXPECT_EQ(ModeOf(dir_.File("a.sqlite-shm")), 0600u);
}

TEST_F(SqliteTest, OpenKeepsModeOfExistingFile) {
  { std::ofstream(dir_.File("b.sqlite")); }
  ASSERT_EQ(::chmod(dir_.File("b.sqlite").c_str(), 0640), 0);
  auto db = OpenOrDie("b.sqlite");
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(ModeOf(dir_.File("b.sqlite")), 0640u);
}

TEST_F(SqliteTest, OpenMissingWithoutCreateIsNotFound) {
  Db::Options options;
  options.create_if_missing = false;
  auto db = Db::Open(dir_.File("missing.sqlite"), options);
  ASSERT_FALSE(db.ok());
  EXPECT_TRUE(db.status().IsNotFound()) << db.status().ToString();
  EXPECT_NE(access(dir_.File("missing.sqlite").c_str(), F_OK), 0);
}

TEST_F(SqliteTest, OpenRefusesSymlink) {
  auto target = OpenOrDie("real.sqlite");
  ASSERT_NE(target, nullptr);
  ASSERT_EQ(::symlink(dir_.File("real.sqlite").c_str(), dir_.File("link.sqlite").c_str()), 0);
  auto db = Db::Open(dir_.File("link.sqlite"));
  ASSERT_FALSE(db.ok());
  EXPECT_TRUE(db.status().IsPermissionDenied()) << db.status().ToString();
}

// A state directory on shared storage behind a link (HA set-ups): the
// database inside it opens, its -wal lands beside it in the real directory.
TEST_F(SqliteTest, OpenFollowsASymlinkedDirectory) {
  ASSERT_EQ(::mkdir(dir_.File("real").c_str(), 0700), 0);
  ASSERT_EQ(::symlink(dir_.File("real").c_str(), dir_.File("linked").c_str()), 0);
  auto db = Db::Open(dir_.File("linked/c.sqlite"));
  ASSERT_OK(db);
  ASSERT_OK((*db)->Exec("CREATE TABLE t (x INTEGER)"));
  EXPECT_EQ(ModeOf(dir_.File("real/c.sqlite")), 0600u);
  EXPECT_EQ(ModeOf(dir_.File("real/c.sqlite-wal")), 0600u);
  EXPECT_OK((*db)->CheckFileIdentity());
}

TEST_F(SqliteTest, GarbageFileIsCorruption) {
  {
    std::ofstream out(dir_.File("junk.sqlite"), std::ios::binary);
    for (int i = 0; i < 4096; ++i) out.put(static_cast<char>(i * 7));
  }
  auto db = Db::Open(dir_.File("junk.sqlite"));
  ASSERT_FALSE(db.ok());
  EXPECT_TRUE(db.status().IsCorruption()) << db.status().ToString();
  EXPECT_NE(db.status().message().find("junk.sqlite"), std::string::npos);
}

TEST_F(SqliteTest, BlobsAndTextRoundTripExactly) {
  auto db = OpenOrDie("c.sqlite");
  ASSERT_NE(db, nullptr);
  ASSERT_OK(db->Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB, s TEXT)"));

  Blob binary = {0x00, 0xff, 0x80, 0x00, '/', '.', 0x7f, 0x00};
  Blob big(1024);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i % 251);
  const std::string text_with_nul("a\0b\xff", 4);
  struct Case {
    int id;
    Blob blob;
    std::string text;
  };
  std::vector<Case> cases = {{1, binary, text_with_nul}, {2, Blob(), ""}, {3, big, "x"}};

  auto ins = db->Prepare("INSERT INTO t (id, b, s) VALUES (?1, ?2, ?3)");
  ASSERT_OK(ins);
  for (const Case& c : cases) {
    ins->Reset();
    ASSERT_OK(ins->BindInt(1, c.id));
    ASSERT_OK(ins->BindBlob(2, c.blob));
    ASSERT_OK(ins->BindText(3, c.text));
    ASSERT_OK(ins->Run());
  }
  auto sel = db->Prepare("SELECT b, s, typeof(b) FROM t WHERE id = ?1");
  ASSERT_OK(sel);
  for (const Case& c : cases) {
    sel->Reset();
    ASSERT_OK(sel->BindInt(1, c.id));
    auto row = sel->Step();
    ASSERT_OK(row);
    ASSERT_TRUE(*row);
    EXPECT_EQ(sel->ColumnBlob(0), c.blob) << c.id;
    EXPECT_EQ(sel->ColumnText(1), c.text) << c.id;
    // An empty value is an empty blob, not NULL.
    EXPECT_EQ(sel->ColumnText(2), "blob") << c.id;
    EXPECT_FALSE(sel->ColumnIsNull(0));
    EXPECT_EQ(sel->ColumnType(0), SQLITE_BLOB);
  }
}

TEST_F(SqliteTest, IntegersAndNull) {
  auto db = OpenOrDie("d.sqlite");
  ASSERT_NE(db, nullptr);
  ASSERT_OK(db->Exec("CREATE TABLE t (a INTEGER, b INTEGER)"));
  auto ins = db->Prepare("INSERT INTO t VALUES (?1, ?2)");
  ASSERT_OK(ins);
  ASSERT_OK(ins->BindInt(1, INT64_MIN));
  ASSERT_OK(ins->BindNull(2));
  ASSERT_OK(ins->Run());
  EXPECT_EQ(db->Changes(), 1);
  EXPECT_EQ(db->LastInsertRowId(), 1);
  auto sel = db->Prepare("SELECT a, b FROM t");
  ASSERT_OK(sel);
  auto row = sel->Step();
  ASSERT_OK(row);
  ASSERT_TRUE(*row);
  EXPECT_EQ(sel->ColumnInt(0), INT64_MIN);
  EXPECT_TRUE(sel->ColumnIsNull(1));
  row = sel->Step();
  ASSERT_OK(row);
  EXPECT_FALSE(*row);
}

TEST_F(SqliteTest, TransactionRollsBackUnlessCommitted) {
  auto db = OpenOrDie("e.sqlite");
  ASSERT_NE(db, nullptr);
  ASSERT_OK(db->Exec("CREATE TABLE t (x INTEGER)"));
  {
    auto txn = Transaction::Begin(*db);
    ASSERT_OK(txn);
    EXPECT_TRUE(db->InTransaction());
    ASSERT_OK(db->Exec("INSERT INTO t VALUES (1)"));
  }
  EXPECT_FALSE(db->InTransaction());
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM t"), 0);
  {
    auto txn = Transaction::Begin(*db);
    ASSERT_OK(txn);
    ASSERT_OK(db->Exec("INSERT INTO t VALUES (2)"));
    ASSERT_OK((*txn)->Commit());
  }
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM t"), 1);
}

TEST_F(SqliteTest, SavepointUndoesOnlyItself) {
  auto db = OpenOrDie("f.sqlite");
  ASSERT_NE(db, nullptr);
  ASSERT_OK(db->Exec("CREATE TABLE t (x INTEGER)"));
  EXPECT_TRUE(Savepoint::Begin(*db).status().IsInvalidArgument());

  auto txn = Transaction::Begin(*db);
  ASSERT_OK(txn);
  ASSERT_OK(db->Exec("INSERT INTO t VALUES (1)"));
  {
    auto sp = Savepoint::Begin(*db);
    ASSERT_OK(sp);
    ASSERT_OK(db->Exec("INSERT INTO t VALUES (2)"));
  }  // rolled back
  {
    auto sp = Savepoint::Begin(*db);
    ASSERT_OK(sp);
    ASSERT_OK(db->Exec("INSERT INTO t VALUES (3)"));
    ASSERT_OK((*sp)->Release());
  }
  ASSERT_OK((*txn)->Commit());
  EXPECT_EQ(*db->QueryInt("SELECT sum(x) FROM t"), 4);
}

TEST_F(SqliteTest, SecondWriterIsBusy) {
  Db::Options quick;
  quick.busy_timeout_ms = 50;
  auto a = OpenOrDie("g.sqlite", quick);
  auto b = OpenOrDie("g.sqlite", quick);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  auto held = Transaction::Begin(*a);
  ASSERT_OK(held);
  auto blocked = Transaction::Begin(*b);
  ASSERT_FALSE(blocked.ok());
  EXPECT_TRUE(blocked.status().IsBusy()) << blocked.status().ToString();
}

TEST_F(SqliteTest, ErrorsNameTheCauseAndMapToCodes) {
  auto db = OpenOrDie("h.sqlite");
  ASSERT_NE(db, nullptr);
  ASSERT_OK(db->Exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v INTEGER NOT NULL)"));
  ASSERT_OK(db->Exec("INSERT INTO t VALUES (1, 1)"));

  Status dup = db->Exec("INSERT INTO t VALUES (1, 2)");
  EXPECT_TRUE(dup.IsAlreadyExists()) << dup.ToString();
  EXPECT_NE(dup.message().find("t.k"), std::string::npos) << dup.ToString();

  Status null = db->Exec("INSERT INTO t VALUES (2, NULL)");
  EXPECT_TRUE(null.IsInvalidArgument()) << null.ToString();

  auto bad = db->Prepare("SELEC nonsense");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("SELEC nonsense"), std::string::npos);

  auto two = db->Prepare("SELECT 1; SELECT 2");
  ASSERT_FALSE(two.ok());
  EXPECT_TRUE(two.status().IsInvalidArgument());
  EXPECT_TRUE(db->Prepare("  ").status().IsInvalidArgument());
  EXPECT_OK(db->Prepare("SELECT 1;  "));

  EXPECT_TRUE(db->QueryInt("SELECT v FROM t WHERE k = 99").status().IsNotFound());

  EXPECT_TRUE(SqliteError(nullptr, SQLITE_CORRUPT, "x").IsCorruption());
  EXPECT_TRUE(SqliteError(nullptr, SQLITE_NOTADB, "x").IsCorruption());
  EXPECT_TRUE(SqliteError(nullptr, SQLITE_FULL, "x").IsIOError());
  EXPECT_TRUE(SqliteError(nullptr, SQLITE_IOERR_FSYNC, "x").IsIOError());
  EXPECT_TRUE(SqliteError(nullptr, SQLITE_BUSY, "x").IsBusy());
  EXPECT_TRUE(SqliteError(nullptr, SQLITE_READONLY, "x").IsPermissionDenied());
  EXPECT_EQ(SqliteError(nullptr, SQLITE_FULL, "commit").message(),
            "commit: database or disk is full; free space on the file system that holds the "
            "database file (df), then restart");
}

TEST_F(SqliteTest, SystemErrorsSayWhatToDoAndNameTheFile) {
  auto db = OpenOrDie("fix.sqlite");
  ASSERT_NE(db, nullptr);
  const std::string file = dir_.File("fix.sqlite");
  auto message = [&](int rc) { return SqliteError(db->handle(), rc, "x").message(); };
  EXPECT_NE(message(SQLITE_FULL).find("free space on the file system that holds " + file),
            std::string::npos);
  EXPECT_NE(
      message(SQLITE_READONLY).find(file + " cannot be written: the file system is read-only"),
      std::string::npos);
  EXPECT_NE(message(SQLITE_READONLY_DBMOVED).find("do not belong to the user nfsrecd runs as"),
            std::string::npos);
  EXPECT_NE(message(SQLITE_CANTOPEN).find("must exist and be writable"), std::string::npos);
  EXPECT_NE(message(SQLITE_BUSY).find("fuser " + file), std::string::npos);
  EXPECT_NE(message(SQLITE_CORRUPT).find("move it away with its -wal and -shm files"),
            std::string::npos);
  EXPECT_NE(message(SQLITE_IOERR_FSYNC).find("see the kernel log"), std::string::npos);
  // Bugs and bad input get no advice.
  EXPECT_EQ(message(SQLITE_CONSTRAINT).find(';'), std::string::npos) << message(SQLITE_CONSTRAINT);
}

TEST_F(SqliteTest, StepErrorLeavesStatementReusable) {
  auto db = OpenOrDie("i.sqlite");
  ASSERT_NE(db, nullptr);
  ASSERT_OK(db->Exec("CREATE TABLE t (k INTEGER PRIMARY KEY)"));
  auto ins = db->Prepare("INSERT INTO t VALUES (?1)");
  ASSERT_OK(ins);
  ASSERT_OK(ins->BindInt(1, 7));
  ASSERT_OK(ins->Run());
  EXPECT_TRUE(ins->Run().IsAlreadyExists());  // bindings kept by Run()
  ins->Reset();
  ASSERT_OK(ins->BindInt(1, 8));
  ASSERT_OK(ins->Run());
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM t"), 2);
}

TEST_F(SqliteTest, CachedStatementsAreReusedAndReset) {
  auto db = OpenOrDie("j.sqlite");
  ASSERT_NE(db, nullptr);
  auto a = db->Cached("SELECT ?1");
  ASSERT_OK(a);
  ASSERT_OK((*a)->BindInt(1, 5));
  auto row = (*a)->Step();
  ASSERT_OK(row);
  ASSERT_TRUE(*row);
  auto b = db->Cached("SELECT ?1");
  ASSERT_OK(b);
  EXPECT_EQ(*a, *b);
  row = (*b)->Step();
  ASSERT_OK(row);
  ASSERT_TRUE(*row);
  EXPECT_TRUE((*b)->ColumnIsNull(0));  // bindings were cleared
}

TEST_F(SqliteTest, StatementMoves) {
  auto db = OpenOrDie("k.sqlite");
  ASSERT_NE(db, nullptr);
  auto s = db->Prepare("SELECT 42");
  ASSERT_OK(s);
  Statement moved(std::move(s).value());
  Statement assigned;
  EXPECT_FALSE(assigned.valid());
  assigned = std::move(moved);
  EXPECT_FALSE(moved.valid());  // NOLINT(bugprone-use-after-move)
  auto row = assigned.Step();
  ASSERT_OK(row);
  ASSERT_TRUE(*row);
  EXPECT_EQ(assigned.ColumnInt(0), 42);
}

// '?', '#' and '%' in a file name would start the query, the fragment or an
// escape of the URI; they stay part of the name, and a database there opens.
TEST(SqliteFileUri, EscapesEverythingButUnreservedBytesAndOpensSuchAName) {
  EXPECT_EQ(FileUri("/var/lib/nfs/nfsrecd.sqlite"), "file:/var/lib/nfs/nfsrecd.sqlite");
  EXPECT_EQ(FileUri("/a b/c?d#e%f~g"), "file:/a%20b/c%3fd%23e%25f~g");
  EXPECT_EQ(FileUri(std::string("/x\xff", 3)), "file:/x%ff");
  TempDir dir;
  const std::string path = dir.path() + "/odd?name#1%.sqlite";
  {
    auto db = Db::Open(path);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE((*db)->Exec("CREATE TABLE t (x); INSERT INTO t VALUES (7);").ok());
  }
  Db::Options ro;
  ro.create_if_missing = false;
  auto db = Db::Open(FileUri(path) + "?mode=ro", ro);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_FALSE((*db)->Exec("INSERT INTO t VALUES (8);").ok());  // read-only
}

}  // namespace
}  // namespace nfsrec::sqlite
