// The way back to nfsdcld: main.sqlite in nfsdcld's schema version 4 (the
// tables, types and values nfs-utils' utils/nfsdcld/sqlite.c creates and
// reads), holding exactly the clients nfsrecd would let reclaim.  The file is
// checked with plain SQLite queries, the way nfsdcld reads it, and nfsdcld's
// GraceStart is replayed on it (its SQL, from the reference) to show it
// uploads what nfsrecd's own GraceStart would.
#include "nfs4rec/nfsdcld_export.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/store/schema.h"
#include "nfs4rec/client_sql.h"
#include "tests/support/status_matchers.h"
#include "tests/support/store_harness.h"
#include "tests/support/temp_dir.h"
#include <gtest/gtest.h>
#include <sqlite3.h>

namespace nfsrec::nfs4rec {
namespace {

using test_support::ReadOnlyDbOptions;
using test_support::TempDir;

// A plain connection, as nfsdcld opens the file (no WAL, no pragmas).
class RawDb {
 public:
  explicit RawDb(const std::string& path, bool read_only = true) {
    int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "open " << path << ": " << sqlite3_errmsg(db_);
    }
  }
  ~RawDb() { sqlite3_close(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  // Every row of `sql`, columns joined by '|', a NULL shown as "NULL".
  std::vector<std::string> Rows(const std::string& sql) {
    std::vector<std::string> out;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
      return out;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::string row;
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        if (c > 0) row += '|';
        const unsigned char* t = sqlite3_column_text(st, c);
        row += t == nullptr ? "NULL" : reinterpret_cast<const char*>(t);
      }
      out.push_back(row);
    }
    sqlite3_finalize(st);
    return out;
  }
  // (id, princhash) pairs of a rec- table, as raw bytes ("" for NULL).
  std::set<std::pair<std::string, std::string>> Records(const std::string& table) {
    std::set<std::pair<std::string, std::string>> out;
    sqlite3_stmt* st = nullptr;
    std::string sql = "SELECT * FROM \"" + table + "\"";  // nfsdcld's upload query
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
      return out;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
      auto bytes = [&](int c) {
        const char* p = static_cast<const char*>(sqlite3_column_blob(st, c));
        return p == nullptr ? std::string() : std::string(p, sqlite3_column_bytes(st, c));
      };
      out.emplace(bytes(0), bytes(1));
    }
    sqlite3_finalize(st);
    return out;
  }
  void Exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << (err ? err : "?");
    }
    sqlite3_free(err);
  }

 private:
  sqlite3* db_ = nullptr;
};

ClientRecord Client(std::string id, std::string princhash = "") {
  ClientRecord r;
  r.id = std::move(id);
  r.princhash = std::move(princhash);
  return r;
}

std::set<std::pair<std::string, std::string>> AsPairs(const std::vector<ClientRecord>& v) {
  std::set<std::pair<std::string, std::string>> out;
  for (const ClientRecord& r : v) out.emplace(r.id, r.princhash);
  return out;
}

// A Linux client's long-form id, and one with every byte value in it.
const std::string kLinuxId = "Linux NFSv4.2 client.example.com";
std::string AllBytes() {
  std::string s;
  for (int i = 0; i < 256; ++i) s += static_cast<char>(i);
  return s + std::string(1024 - 256, '\0');
}
const std::string kHash(32, '\x5a');

class NfsdcldExportTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(dir_.ok()); }
  std::string Storage() const { return dir_.File("nfsdcld"); }
  std::string DbFile() const { return Storage() + "/main.sqlite"; }
  TempDir dir_;
};

TEST_F(NfsdcldExportTest, TableNameIsRecAndSixteenLowerCaseHexDigits) {
  EXPECT_EQ(NfsdcldTableName(1), "rec-0000000000000001");
  EXPECT_EQ(NfsdcldTableName(0xabcdef0123ULL), "rec-000000abcdef0123");
}

TEST_F(NfsdcldExportTest, WritesNfsdcldSchemaVersionFourExactly) {
  ClientSnapshot snap;
  snap.epochs = Epochs{5, 0};
  snap.current = {Client(kLinuxId, kHash), Client(AllBytes()), Client("x")};
  Result<NfsdcldExportCounts> counts = ExportNfsdcld(snap, Storage());
  ASSERT_OK(counts.status());
  EXPECT_EQ(counts->current, 3u);
  EXPECT_EQ(counts->recovery, 0u);

  RawDb db(DbFile());
  EXPECT_EQ(db.Rows("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name"),
            (std::vector<std::string>{
                "grace|CREATE TABLE grace (current INTEGER , recovery INTEGER)",
                "parameters|CREATE TABLE parameters (key TEXT PRIMARY KEY, value TEXT)",
                "rec-0000000000000005|CREATE TABLE \"rec-0000000000000005\" (id BLOB PRIMARY KEY, "
                "princhash BLOB)"}));
  // nfsdcld's own queries (sqlite_query_schema_version, _first_time, _grace).
  EXPECT_EQ(db.Rows("SELECT value, typeof(value) FROM parameters WHERE key == \"version\";"),
            std::vector<std::string>{"4|text"});
  EXPECT_EQ(db.Rows("SELECT value FROM parameters WHERE key == \"first_time\";"),
            std::vector<std::string>{"0"});
  EXPECT_EQ(db.Rows("SELECT *, typeof(current), typeof(recovery) FROM grace;"),
            std::vector<std::string>{"5|0|integer|integer"});
  EXPECT_EQ(db.Rows("SELECT typeof(id), length(id), typeof(princhash) FROM "
                    "\"rec-0000000000000005\" ORDER BY length(id)"),
            (std::vector<std::string>{"blob|1|null", "blob|32|blob", "blob|1024|null"}));
  EXPECT_EQ(db.Records("rec-0000000000000005"), AsPairs(snap.current));
  // nfsdcld's health check finds no table name to repair.
  EXPECT_TRUE(db.Rows("SELECT name FROM sqlite_master WHERE type=\"table\" AND name LIKE "
                      "\"%rec-%\" AND length(name) < 20;")
                  .empty());
  EXPECT_EQ(db.Rows("PRAGMA journal_mode"), std::vector<std::string>{"delete"});
  EXPECT_EQ(db.Rows("PRAGMA integrity_check"), std::vector<std::string>{"ok"});
}

TEST_F(NfsdcldExportTest, FileReplacedAtomicallyWithNothingLeftBeside) {
  ASSERT_TRUE(std::filesystem::create_directory(Storage()));
  {
    std::ofstream(DbFile()) << "old";
    std::ofstream(DbFile() + "-journal") << "a hot journal of the old file";
  }
  ClientSnapshot snap;
  snap.epochs = Epochs{2, 0};
  snap.current = {Client("a")};
  ASSERT_OK(ExportNfsdcld(snap, Storage()).status());
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(Storage())) {
    names.push_back(e.path().filename().string());
  }
  EXPECT_EQ(names, std::vector<std::string>{"main.sqlite"});
  RawDb db(DbFile());
  EXPECT_EQ(db.Records("rec-0000000000000002"), AsPairs(snap.current));
}

TEST_F(NfsdcldExportTest, NewStorageDirectoryIsPrivate) {
  ClientSnapshot snap;
  ASSERT_OK(ExportNfsdcld(snap, Storage()).status());
  struct stat st;
  ASSERT_EQ(::stat(Storage().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  RawDb db(DbFile());
  EXPECT_EQ(db.Rows("SELECT * FROM grace"), std::vector<std::string>{"1|0"});
  EXPECT_TRUE(db.Records("rec-0000000000000001").empty());
}

TEST_F(NfsdcldExportTest, RecordsNfsdcldCannotUploadAreSkippedAndNamed) {
  ClientSnapshot snap;
  snap.epochs = Epochs{3, 0};
  snap.current = {Client("good"), Client(""), Client(std::string(1025, 'l')),
                  Client("badhash", "short")};
  Result<NfsdcldExportCounts> counts = ExportNfsdcld(snap, Storage());
  ASSERT_OK(counts.status());
  EXPECT_EQ(counts->current, 1u);
  EXPECT_EQ(counts->skipped.size(), 3u);
  RawDb db(DbFile());
  EXPECT_EQ(db.Records("rec-0000000000000003"), AsPairs({Client("good")}));
}

// Our store, in the states a real server goes through; the export; and
// nfsdcld's GraceStart replayed on the export (its SQL: a normal start
// moves current to recovery, a start during grace empties current) must
// upload exactly what our own StartGrace uploads from our store.
class NfsdcldUploadTest : public NfsdcldExportTest {
 protected:
  void SetUp() override {
    NfsdcldExportTest::SetUp();
    Result<std::unique_ptr<sqlite::Db>> db = sqlite::Db::Open(dir_.File("nfsrecd.sqlite"));
    ASSERT_OK(db.status());
    ours_ = std::move(db).value();
    ASSERT_OK(ApplyMigrations(*ours_, client_sql::kComponent, client_sql::Migrations()));
  }
  void Put(const ClientRecord& r) {
    Result<Epochs> epochs = client_sql::ReadEpochs(*ours_);
    ASSERT_OK(epochs.status());
    ASSERT_OK(client_sql::PutClient(*ours_, epochs->current, r));
  }
  // Reads offline through a read-only connection, as nfsrecctl does, and exports.
  void Export() {
    Result<std::unique_ptr<sqlite::Db>> ro =
        sqlite::Db::Open("file:" + dir_.File("nfsrecd.sqlite") + "?mode=ro", ReadOnlyDbOptions());
    ASSERT_OK(ro.status());
    Result<ClientSnapshot> snap = ReadClientsOffline(**ro);
    ASSERT_OK(snap.status());
    ASSERT_OK(ExportNfsdcld(*snap, Storage()).status());
  }
  // nfsdcld's sqlite_grace_start on the exported file, then its upload.
  std::set<std::pair<std::string, std::string>> NfsdcldGraceStart() {
    RawDb db(DbFile(), /*read_only=*/false);
    std::vector<std::string> g = db.Rows("SELECT * FROM grace");
    EXPECT_EQ(g.size(), 1u);
    uint64_t cur = std::stoull(g[0].substr(0, g[0].find('|')));
    uint64_t rec = std::stoull(g[0].substr(g[0].find('|') + 1));
    if (rec == 0) {
      rec = cur++;
      db.Exec("UPDATE grace SET current = " + std::to_string(cur) +
              ", recovery = " + std::to_string(rec) + ";");
      db.Exec("CREATE TABLE \"" + NfsdcldTableName(cur) +
              "\" (id BLOB PRIMARY KEY, princhash blob);");
    } else {
      db.Exec("DELETE FROM \"" + NfsdcldTableName(cur) + "\";");
    }
    return db.Records(NfsdcldTableName(rec));
  }
  std::set<std::pair<std::string, std::string>> OurGraceStart() {
    Result<GraceStartResult> r = client_sql::StartGrace(*ours_);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? AsPairs(r->reclaimable) : std::set<std::pair<std::string, std::string>>{};
  }

  // nfsdcld's sqlite_grace_done on the exported file.
  void NfsdcldGraceDone() {
    RawDb db(DbFile(), /*read_only=*/false);
    std::vector<std::string> g = db.Rows("SELECT recovery FROM grace");
    ASSERT_EQ(g.size(), 1u);
    db.Exec("UPDATE grace SET recovery = \"0\";");
    db.Exec("DROP TABLE \"" + NfsdcldTableName(std::stoull(g[0])) + "\";");
  }

  std::unique_ptr<sqlite::Db> ours_;
};

using Pairs = std::set<std::pair<std::string, std::string>>;

TEST_F(NfsdcldUploadTest, OutOfGraceNextBootUploadsTheCurrentClients) {
  Put(Client(kLinuxId, kHash));
  Put(Client(AllBytes()));
  Put(Client("gone"));
  ASSERT_OK(client_sql::RemoveClient(*ours_, 1, "gone"));
  Export();
  Pairs theirs = NfsdcldGraceStart();
  EXPECT_EQ(theirs, (Pairs{{kLinuxId, kHash}, {AllBytes(), ""}}));
  EXPECT_EQ(theirs, OurGraceStart());
}

TEST_F(NfsdcldUploadTest, RestartDuringGraceStillUploadsClientsThatHadNotReclaimed) {
  Put(Client("a"));
  Put(Client("b", kHash));
  Put(Client("c"));
  ASSERT_OK(client_sql::StartGrace(*ours_).status());  // the reboot before the switch back
  Put(Client("a"));                                    // a reclaimed; b and c not yet
  Export();
  RawDb check(DbFile());
  EXPECT_EQ(check.Rows("SELECT * FROM grace"), std::vector<std::string>{"2|1"});
  EXPECT_EQ(check.Records(NfsdcldTableName(2)), (Pairs{{"a", ""}}));
  Pairs theirs = NfsdcldGraceStart();
  EXPECT_EQ(theirs, (Pairs{{"a", ""}, {"b", kHash}, {"c", ""}}));
  EXPECT_EQ(theirs, OurGraceStart());
}

TEST_F(NfsdcldUploadTest, GraceEndingUnderNfsdcldKeepsOnlyTheReclaimedClients) {
  Put(Client("a"));
  Put(Client("b"));
  ASSERT_OK(client_sql::StartGrace(*ours_).status());
  Put(Client("a"));
  Export();
  NfsdcldGraceDone();
  ASSERT_OK(client_sql::EndGrace(*ours_).status());
  Pairs theirs = NfsdcldGraceStart();
  EXPECT_EQ(theirs, (Pairs{{"a", ""}}));
  EXPECT_EQ(theirs, OurGraceStart());
}

TEST(ReadClientsOffline, DatabaseWithoutClientTrackingIsNotFound) {
  TempDir dir;
  Result<std::unique_ptr<sqlite::Db>> db = sqlite::Db::Open(dir.File("x.sqlite"));
  ASSERT_OK(db.status());
  EXPECT_TRUE(ReadClientsOffline(**db).status().IsNotFound());
}

}  // namespace
}  // namespace nfsrec::nfs4rec
