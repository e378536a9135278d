// Taking over nfs-utils' NFSv4 client records.  The fixtures are built here
// with the SQL of each schema (nfsdcld v1-v4, nfsdcltrack v1-v2, from
// nfs-utils' sqlite.c as the reference gives it) and the kernel's
// v4recovery layout; the import runs as the daemon runs it (one unit on the
// commit queue) and the result is what SqliteClientStore then loads.
#include "nfs4rec/nfs_utils_import.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "nfs4rec/sqlite_client_store.h"
#include "tests/support/client_store_testutil.h"
#include "tests/support/store_harness.h"
#include "tests/support/temp_dir.h"
#include <gtest/gtest.h>
#include <sqlite3.h>

namespace nfsrec::nfs4rec {
namespace {

using test_support::StoreHarness;
using test_support::TempDir;

// Binary ids, as the kernel sends them: a NUL and bytes that are not UTF-8.
const std::string kIdA("Linux NFSv4.2 a\0\xff", 17);
const std::string kIdB("Linux NFSv4.1 b");
const std::string kIdC("\x01\x02\x03\xfe", 4);
const std::string kHashA(32, '\xa5');

// The v4 tables as nfsdcld's sqlite_maindb_init_v4 creates them.
constexpr char kV4Init[] =
    "CREATE TABLE parameters (key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE grace (current INTEGER , recovery INTEGER);"
    "INSERT OR FAIL INTO parameters values (\"version\", \"4\");"
    "INSERT OR FAIL INTO parameters values (\"first_time\", \"1\");";
constexpr char kV3Init[] =
    "CREATE TABLE parameters (key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE grace (current INTEGER , recovery INTEGER);"
    "INSERT OR FAIL INTO parameters values (\"version\", \"3\");"
    "INSERT OR FAIL INTO parameters values (\"first_time\", \"0\");";
// nfsdcld v1, nfsdcltrack v1.
constexpr char kV1Init[] =
    "CREATE TABLE IF NOT EXISTS parameters (key TEXT PRIMARY KEY, value TEXT);"
    "INSERT OR IGNORE INTO parameters values (\"version\", \"1\");"
    "CREATE TABLE IF NOT EXISTS clients (id BLOB PRIMARY KEY, time INTEGER);";
// nfsdcltrack v2 (and nfsdcld's "v2, nfsdcltrack form").
constexpr char kV2Init[] =
    "CREATE TABLE parameters (key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE clients (id BLOB PRIMARY KEY, time INTEGER, has_session INTEGER);"
    "INSERT OR FAIL INTO parameters values (\"version\", \"2\");";

// A plain connection, as nfs-utils opens its files (no pragmas).
class Fixture {
 public:
  explicit Fixture(const std::string& path) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
  }
  ~Fixture() { sqlite3_close(db_); }
  Fixture(const Fixture&) = delete;
  Fixture& operator=(const Fixture&) = delete;
  void Exec(const std::string& sql) {
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK)
        << sql << ": " << (err ? err : "");
    sqlite3_free(err);
  }
  // INSERT INTO table (cols) VALUES (?, ...) with blobs; "" binds NULL for
  // the second and later values; integers after the blobs.
  void Insert(const std::string& table, const std::string& cols,
              const std::vector<std::string>& blobs, const std::vector<int64_t>& ints = {}) {
    std::string marks;
    for (size_t i = 0; i < blobs.size() + ints.size(); ++i) marks += i == 0 ? "?" : ", ?";
    sqlite3_stmt* st = nullptr;
    const std::string sql = "INSERT INTO \"" + table + "\" (" + cols + ") VALUES (" + marks + ")";
    ASSERT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
    int i = 1;
    for (const std::string& b : blobs) {
      if (b.empty() && i > 1) {
        sqlite3_bind_null(st, i++);
      } else {
        sqlite3_bind_blob(st, i++, b.data(), static_cast<int>(b.size()), SQLITE_TRANSIENT);
      }
    }
    for (int64_t v : ints) sqlite3_bind_int64(st, i++, v);
    EXPECT_EQ(sqlite3_step(st), SQLITE_DONE) << sql;
    sqlite3_finalize(st);
  }
  sqlite3* db() { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

std::string Bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

int64_t MtimeNs(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

void SetMtime(const std::string& path, int64_t unix_seconds) {
  struct timespec times[2] = {{unix_seconds, 0}, {unix_seconds, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0) << path;
}

int64_t Now() { return static_cast<int64_t>(::time(nullptr)); }

std::vector<std::string> Ids(const std::vector<ClientRecord>& records) {
  std::vector<std::string> out;
  for (const ClientRecord& r : records) out.push_back(r.id);
  return out;
}

class NfsUtilsImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(src_.ok());
    ASSERT_OK(h_.Open());
  }
  std::string Nfsdcld() const { return src_.File("nfsdcld/main.sqlite"); }
  std::string Cltrack() const { return src_.File("nfsdcltrack/main.sqlite"); }
  std::string Recdir() const { return src_.File("v4recovery"); }
  ImportLocations Where() const {
    return ImportLocations{src_.File("nfsdcld"), src_.File("nfsdcltrack"), {Recdir()}};
  }

  // One daemon start: read, apply as one unit, then what the store loads.
  ImportOutcome Start() {
    ImportRead read = ReadNfsUtilsSources(Where());
    warnings_ = read.warnings;
    ImportOutcome out;
    EXPECT_OK(h_.queue().RunSync([&](sqlite::Db& db) -> Status {
      NFSREC_ASSIGN_OR_RETURN(out, ApplyNfsUtilsImport(db, read, Now()));
      return Status::Ok();
    }));
    EXPECT_OK(h_.Open());
    Result<ClientSnapshot> snap = ClientStoreCalls(h_.store(), h_.settle()).Load();
    EXPECT_OK(snap);
    if (snap.ok()) snap_ = std::move(snap).value();
    return out;
  }
  std::string Notices(const ImportOutcome& o) const {
    std::string all;
    for (const ImportLogLine& l : o.lines) all += (l.notice ? "N " : "D ") + l.text + "\n";
    return all;
  }
  void MakeV4(uint64_t current, uint64_t recovery) {
    Fixture f(Nfsdcld());
    f.Exec(kV4Init);
    f.Exec("INSERT OR FAIL INTO grace values (" + std::to_string(current) + ", " +
           std::to_string(recovery) + ");");
  }

  TempDir src_;
  StoreHarness<SqliteClientStore> h_;
  ClientSnapshot snap_;
  std::vector<std::string> warnings_;
};

TEST_F(NfsUtilsImportTest, NoSourceImportsNothing) {
  ImportOutcome o = Start();
  EXPECT_FALSE(o.imported);
  EXPECT_TRUE(o.lines.empty());
  EXPECT_TRUE(warnings_.empty());
  EXPECT_EQ(snap_.epochs, (Epochs{1, 0}));
  EXPECT_TRUE(snap_.current.empty());
}

TEST_F(NfsUtilsImportTest, NfsdcldV4NotInGraceAdoptedWithEpochAndPrinchash) {
  MakeV4(7, 0);
  {
    Fixture f(Nfsdcld());
    f.Exec("CREATE TABLE \"rec-0000000000000007\" (id BLOB PRIMARY KEY, princhash BLOB);");
    f.Insert("rec-0000000000000007", "id, princhash", {kIdA, kHashA});
    f.Insert("rec-0000000000000007", "id, princhash", {kIdB, ""});
  }
  ImportOutcome o = Start();
  EXPECT_TRUE(o.imported);
  EXPECT_EQ(snap_.epochs, (Epochs{7, 0}));
  ASSERT_EQ(snap_.current.size(), 2u);
  EXPECT_EQ(Ids(snap_.current), (std::vector<std::string>{kIdB, kIdA}));  // ORDER BY id
  EXPECT_EQ(snap_.current[1].princhash, kHashA);
  EXPECT_EQ(snap_.current[0].princhash, "");
  EXPECT_FALSE(snap_.current[0].has_session.has_value());
  EXPECT_NE(Notices(o).find("N import: nfsdcld " + Nfsdcld() +
                            " (schema 4): epoch 7: 2 records; adopted"),
            std::string::npos)
      << Notices(o);
}

TEST_F(NfsUtilsImportTest, NfsdcldV4InGraceKeepsRecoveryAndCurrentEpochs) {
  MakeV4(7, 6);
  {
    Fixture f(Nfsdcld());
    f.Exec(
        "CREATE TABLE \"rec-0000000000000006\" (id BLOB PRIMARY KEY, princhash blob);"
        "CREATE TABLE \"rec-0000000000000007\" (id BLOB PRIMARY KEY, princhash blob);"
        "CREATE TABLE \"rec-0000000000000005\" (id BLOB PRIMARY KEY, princhash blob);");
    f.Insert("rec-0000000000000006", "id, princhash", {kIdA, kHashA});
    f.Insert("rec-0000000000000006", "id, princhash", {kIdB, ""});
    f.Insert("rec-0000000000000006", "id, princhash", {kIdC, ""});
    f.Insert("rec-0000000000000007", "id, princhash", {kIdA, kHashA});
    f.Insert("rec-0000000000000005", "id", {"stale epoch"});
  }
  ImportOutcome o = Start();
  EXPECT_EQ(snap_.epochs, (Epochs{7, 6}));
  EXPECT_EQ(Ids(snap_.recovery), (std::vector<std::string>{kIdC, kIdB, kIdA}));
  EXPECT_EQ(Ids(snap_.current), (std::vector<std::string>{kIdA}));
  EXPECT_EQ(snap_.recovery[2].princhash, kHashA);
  EXPECT_NE(Notices(o).find("epoch 7 in grace from epoch 6: 3 records may reclaim, 1 already "
                            "reclaimed; adopted"),
            std::string::npos)
      << Notices(o);
}

TEST_F(NfsUtilsImportTest, NfsdcldV3WithoutPrinchashAdopted) {
  {
    Fixture f(Nfsdcld());
    f.Exec(kV3Init);
    f.Exec(
        "INSERT OR FAIL INTO grace values (3, 0);"
        "CREATE TABLE \"rec-0000000000000003\" (id BLOB PRIMARY KEY);");
    f.Insert("rec-0000000000000003", "id", {kIdA});
    f.Insert("rec-0000000000000003", "id", {kIdC});
  }
  ImportOutcome o = Start();
  EXPECT_EQ(snap_.epochs, (Epochs{3, 0}));
  EXPECT_EQ(Ids(snap_.current), (std::vector<std::string>{kIdC, kIdA}));
  EXPECT_EQ(snap_.current[1].princhash, "");
  EXPECT_NE(Notices(o).find("(schema 3): epoch 3: 2 records; adopted"), std::string::npos);
}

TEST_F(NfsUtilsImportTest, NfsdcldV3UnpaddedTableNamesAreRead) {
  {
    Fixture f(Nfsdcld());
    f.Exec(kV3Init);
    f.Exec(
        "INSERT OR FAIL INTO grace values (11, 10);"
        "CREATE TABLE \"rec-a\" (id BLOB PRIMARY KEY);"
        "CREATE TABLE \"rec-b\" (id BLOB PRIMARY KEY);");
    f.Insert("rec-a", "id", {kIdA});
    f.Insert("rec-a", "id", {kIdB});
    f.Insert("rec-b", "id", {kIdB});
  }
  Start();
  EXPECT_EQ(snap_.epochs, (Epochs{11, 10}));
  EXPECT_EQ(Ids(snap_.recovery), (std::vector<std::string>{kIdB, kIdA}));
  EXPECT_EQ(Ids(snap_.current), (std::vector<std::string>{kIdB}));
}

TEST_F(NfsUtilsImportTest, NfsdcldV1ClientsGoIntoTheCurrentEpoch) {
  {
    Fixture f(Nfsdcld());
    f.Exec(kV1Init);
    f.Insert("clients", "id, time", {kIdA}, {1500000000});
    f.Insert("clients", "id, time", {kIdB}, {1500000001});
  }
  ImportOutcome o = Start();
  EXPECT_EQ(snap_.epochs, (Epochs{1, 0}));
  EXPECT_EQ(Ids(snap_.current), (std::vector<std::string>{kIdB, kIdA}));
  EXPECT_FALSE(snap_.current[0].has_session.has_value());
  EXPECT_NE(Notices(o).find("(schema 1): 2 records; adopted"), std::string::npos) << Notices(o);
}

TEST_F(NfsUtilsImportTest, NfsdcldV2ClientsKeepHasSession) {
  {
    Fixture f(Nfsdcld());
    f.Exec(kV2Init);
    f.Insert("clients", "id, time, has_session", {kIdA}, {1500000000, 1});
    f.Insert("clients", "id, time, has_session", {kIdB}, {1500000000, 0});
  }
  Start();
  ASSERT_EQ(Ids(snap_.current), (std::vector<std::string>{kIdB, kIdA}));
  EXPECT_EQ(snap_.current[0].has_session, std::optional<bool>(false));
  EXPECT_EQ(snap_.current[1].has_session, std::optional<bool>(true));
}

TEST_F(NfsUtilsImportTest, NfsdcltrackV1Adopted) {
  {
    Fixture f(Cltrack());
    f.Exec(kV1Init);
    f.Insert("clients", "id, time", {kIdC}, {1500000000});
  }
  ImportOutcome o = Start();
  EXPECT_EQ(Ids(snap_.current), (std::vector<std::string>{kIdC}));
  EXPECT_NE(Notices(o).find("import: nfsdcltrack " + Cltrack() + " (schema 1): 1 records; adopted"),
            std::string::npos)
      << Notices(o);
}

TEST_F(NfsUtilsImportTest, NfsdcltrackV2AdoptedWithHasSession) {
  {
    Fixture f(Cltrack());
    f.Exec(kV1Init);
    // nfsdcltrack's own v1 -> v2 upgrade.
    f.Exec(
        "ALTER TABLE clients ADD COLUMN has_session INTEGER;"
        "UPDATE parameters SET value = 2 WHERE key = \"version\";");
    f.Insert("clients", "id, time, has_session", {kIdA}, {1500000000, 1});
  }
  Start();
  ASSERT_EQ(snap_.current.size(), 1u);
  EXPECT_EQ(snap_.current[0].id, kIdA);
  EXPECT_EQ(snap_.current[0].has_session, std::optional<bool>(true));
}

TEST_F(NfsUtilsImportTest, V4recoveryGoodNamesBecomeHashIdsBadOnesAreCounted) {
  const std::string good1 = "0123456789abcdef0123456789abcdef";
  const std::string good2 = "fedcba9876543210fedcba9876543210";
  for (const std::string& d :
       {good1, good2, std::string("0123456789ABCDEF0123456789ABCDEF"), std::string("short"),
        std::string("0123456789abcdef0123456789abcdeg")}) {
    std::filesystem::create_directories(Recdir() + "/" + d);
  }
  src_.Write("v4recovery/00000000000000000000000000000000", "a file, not a client directory");
  ImportOutcome o = Start();
  ASSERT_EQ(snap_.current.size(), 2u);
  std::string want1 = "hash:" + good1;
  want1.push_back('\0');
  EXPECT_EQ(snap_.current[0].id, want1);
  EXPECT_EQ(snap_.current[0].id.size(), 38u);
  EXPECT_EQ(snap_.current[1].id, std::string("hash:" + good2 + '\0'));
  EXPECT_NE(Notices(o).find("import: v4recovery " + Recdir() +
                            ": 2 client directories, 4 entries skipped (not a client directory); "
                            "adopted"),
            std::string::npos)
      << Notices(o);
}

TEST_F(NfsUtilsImportTest, V4recoveryDirsReadFromProcAndTheDefaultWithoutDuplicates) {
  src_.Write("proc/proc/fs/nfsd/nfsv4recoverydir", "/srv/recovery\n");
  EXPECT_EQ(V4recoveryDirs(src_.File("proc"), "/var/lib/nfs/v4recovery"),
            (std::vector<std::string>{"/srv/recovery", "/var/lib/nfs/v4recovery"}));
  src_.Write("proc/proc/fs/nfsd/nfsv4recoverydir", "/var/lib/nfs/v4recovery\n");
  EXPECT_EQ(V4recoveryDirs(src_.File("proc"), "/var/lib/nfs/v4recovery"),
            (std::vector<std::string>{"/var/lib/nfs/v4recovery"}));
  EXPECT_EQ(V4recoveryDirs(src_.File("no-proc"), "/var/lib/nfs/v4recovery"),
            (std::vector<std::string>{"/var/lib/nfs/v4recovery"}));
  // The same directory under two names is read once.
  std::filesystem::create_directories(Recdir() + "/0123456789abcdef0123456789abcdef");
  std::filesystem::create_directory_symlink(Recdir(), src_.File("alias"));
  ImportRead read = ReadNfsUtilsSources(ImportLocations{"", "", {Recdir(), src_.File("alias")}});
  EXPECT_EQ(read.sources.size(), 1u);
}

// While nfsd starts, a read of nfsv4recoverydir waits for nfsd's mutex,
// which nfsd holds until the cld daemon (this process, its pipe open) has
// answered: the read must not hold the caller up.  A FIFO without a writer
// blocks its reader the same way.
TEST_F(NfsUtilsImportTest, AProcFileThatBlocksIsGivenUpAfterATenthOfASecond) {
  std::filesystem::create_directories(src_.File("proc/proc/fs/nfsd"));
  ASSERT_EQ(::mkfifo(src_.File("proc/proc/fs/nfsd/nfsv4recoverydir").c_str(), 0600), 0);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(V4recoveryDirs(src_.File("proc"), "/var/lib/nfs/v4recovery"),
            (std::vector<std::string>{"/var/lib/nfs/v4recovery"}));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

TEST_F(NfsUtilsImportTest, EmptyAndOversizedIdsAreSkippedAndCounted) {
  MakeV4(2, 0);
  {
    Fixture f(Nfsdcld());
    f.Exec("CREATE TABLE \"rec-0000000000000002\" (id BLOB PRIMARY KEY, princhash BLOB);");
    f.Insert("rec-0000000000000002", "id", {kIdA});
    f.Insert("rec-0000000000000002", "id", {std::string(1025, 'x')});
    f.Insert("rec-0000000000000002", "id", {std::string(1024, 'y')});
    f.Exec("INSERT INTO \"rec-0000000000000002\" (id) VALUES (x'');");
  }
  ImportOutcome o = Start();
  EXPECT_EQ(Ids(snap_.current), (std::vector<std::string>{kIdA, std::string(1024, 'y')}));
  EXPECT_NE(Notices(o).find("2 records, 2 ids skipped (empty or over 1024 bytes); adopted"),
            std::string::npos)
      << Notices(o);
}

TEST_F(NfsUtilsImportTest, HotJournalIsRolledBackInACopyAndTheOriginalKept) {
  MakeV4(4, 0);
  {
    Fixture f(Nfsdcld());
    f.Exec("CREATE TABLE \"rec-0000000000000004\" (id BLOB PRIMARY KEY, princhash BLOB);");
    f.Insert("rec-0000000000000004", "id, princhash", {kIdA, kHashA});
  }
  // A transaction that spilled into the file when nfsdcld died: the file
  // and its journal, copied while it was open, are that crash's leftovers.
  const std::string hot = src_.File("hot");
  std::filesystem::create_directories(hot);
  const std::string before = Bytes(Nfsdcld());
  {
    Fixture f(Nfsdcld());
    f.Exec("PRAGMA cache_size = 1; BEGIN; DELETE FROM \"rec-0000000000000004\";");
    for (int i = 0; i < 200; ++i) {
      f.Insert("rec-0000000000000004", "id",
               {std::string(900, static_cast<char>('a' + i % 26)) + std::to_string(i)});
    }
    std::filesystem::copy_file(Nfsdcld(), hot + "/main.sqlite");
    std::filesystem::copy_file(Nfsdcld() + "-journal", hot + "/main.sqlite-journal");
    f.Exec("ROLLBACK");
  }
  ASSERT_NE(Bytes(hot + "/main.sqlite"), before) << "the transaction never reached the file";
  std::filesystem::remove(Nfsdcld());
  std::filesystem::rename(hot + "/main.sqlite", Nfsdcld());
  std::filesystem::rename(hot + "/main.sqlite-journal", Nfsdcld() + "-journal");
  const std::string file = Bytes(Nfsdcld());
  const std::string journal = Bytes(Nfsdcld() + "-journal");
  const int64_t mtime = MtimeNs(Nfsdcld());

  ImportOutcome o = Start();
  EXPECT_EQ(snap_.epochs, (Epochs{4, 0}));
  ASSERT_EQ(Ids(snap_.current), (std::vector<std::string>{kIdA}));
  EXPECT_EQ(snap_.current[0].princhash, kHashA);
  EXPECT_NE(Notices(o).find("(hot journal rolled back in a private copy): epoch 4: 1 records"),
            std::string::npos)
      << Notices(o);
  EXPECT_EQ(Bytes(Nfsdcld()), file);
  EXPECT_EQ(Bytes(Nfsdcld() + "-journal"), journal);
  EXPECT_EQ(MtimeNs(Nfsdcld()), mtime);
}

TEST_F(NfsUtilsImportTest, OriginalsAreUnchangedByTheImport) {
  MakeV4(7, 6);
  {
    Fixture f(Nfsdcld());
    f.Exec("CREATE TABLE \"rec-0000000000000006\" (id BLOB PRIMARY KEY, princhash blob);");
    f.Insert("rec-0000000000000006", "id", {kIdA});
    Fixture t(Cltrack());
    t.Exec(kV2Init);
    t.Insert("clients", "id, time, has_session", {kIdB}, {1500000000, 1});
  }
  std::filesystem::create_directories(Recdir() + "/0123456789abcdef0123456789abcdef");
  std::vector<std::string> paths = {Nfsdcld(), Cltrack(), Recdir()};
  std::vector<std::string> bytes;
  std::vector<int64_t> mtimes;
  for (const std::string& p : paths) {
    bytes.push_back(std::filesystem::is_directory(p) ? "" : Bytes(p));
    mtimes.push_back(MtimeNs(p));
  }
  Start();
  for (size_t i = 0; i < paths.size(); ++i) {
    if (!bytes[i].empty()) {
      EXPECT_EQ(Bytes(paths[i]), bytes[i]) << paths[i];
    }
    EXPECT_EQ(MtimeNs(paths[i]), mtimes[i]) << paths[i];
  }
  EXPECT_FALSE(std::filesystem::exists(Nfsdcld() + "-journal"));
  EXPECT_FALSE(std::filesystem::exists(Nfsdcld() + "-wal"));
}

TEST_F(NfsUtilsImportTest, OnlyTheMostRecentlyModifiedChangedSourceIsImported) {
  MakeV4(5, 0);
  {
    Fixture f(Nfsdcld());
    f.Exec("CREATE TABLE \"rec-0000000000000005\" (id BLOB PRIMARY KEY, princhash BLOB);");
    f.Insert("rec-0000000000000005", "id", {kIdA});
    Fixture t(Cltrack());
    t.Exec(kV2Init);
    t.Insert("clients", "id, time, has_session", {kIdB}, {1500000000, 1});
  }
  SetMtime(Cltrack(), Now() - 7200);
  SetMtime(Nfsdcld(), Now() - 3600);
  ImportOutcome o = Start();
  EXPECT_EQ(snap_.epochs, (Epochs{5, 0}));
  EXPECT_EQ(Ids(snap_.current), (std::vector<std::string>{kIdA}));
  EXPECT_NE(Notices(o).find("import: nfsdcltrack " + Cltrack() +
                            " (schema 2): 1 records; not "
                            "imported: " +
                            Nfsdcld() + " was modified later"),
            std::string::npos)
      << Notices(o);
  // Both are seen: the next start leaves them alone.
  ImportOutcome again = Start();
  EXPECT_FALSE(again.imported);
  EXPECT_EQ(again.lines.size(), 2u);
  for (const ImportLogLine& l : again.lines) {
    EXPECT_FALSE(l.notice);
    EXPECT_NE(l.text.find("unchanged since last start"), std::string::npos) << l.text;
  }
}

TEST_F(NfsUtilsImportTest, SecondStartImportsNothingAndKeepsNewerRecords) {
  MakeV4(3, 0);
  {
    Fixture f(Nfsdcld());
    f.Exec("CREATE TABLE \"rec-0000000000000003\" (id BLOB PRIMARY KEY, princhash BLOB);");
    f.Insert("rec-0000000000000003", "id", {kIdA});
  }
  ASSERT_TRUE(Start().imported);
  // nfsrecd serves: a new client, a reboot.
  ClientStoreCalls calls(h_.store(), h_.settle());
  ASSERT_OK(calls.Put(Client(kIdB)));
  ASSERT_OK(calls.StartGrace());
  ImportOutcome o = Start();
  EXPECT_FALSE(o.imported);
  EXPECT_EQ(snap_.epochs, (Epochs{4, 3}));
  EXPECT_EQ(Ids(snap_.recovery), (std::vector<std::string>{kIdB, kIdA}));
  ASSERT_EQ(o.lines.size(), 1u);
  EXPECT_FALSE(o.lines[0].notice);
  EXPECT_NE(o.lines[0].text.find("unchanged since last start"), std::string::npos);
}

TEST_F(NfsUtilsImportTest, SourceModifiedAfterTheStoreReplacesItsRecords) {
  {
    Fixture t(Cltrack());
    t.Exec(kV2Init);
    t.Insert("clients", "id, time, has_session", {kIdA}, {1500000000, 1});
  }
  SetMtime(Cltrack(), Now() - 3600);
  ASSERT_TRUE(Start().imported);
  ClientStoreCalls calls(h_.store(), h_.settle());
  ASSERT_OK(calls.StartGrace());  // nfsrecd: epoch 2, recovery 1
  // Then nfs-utils ran again (a switch back and forth): its view is newer.
  {
    Fixture t(Cltrack());
    t.Exec("DELETE FROM clients;");
    t.Insert("clients", "id, time, has_session", {kIdC}, {1500000000, 0});
  }
  SetMtime(Cltrack(), Now() + 60);
  ImportOutcome o = Start();
  EXPECT_TRUE(o.imported);
  EXPECT_EQ(snap_.epochs, (Epochs{2, 0}));
  EXPECT_EQ(Ids(snap_.current), (std::vector<std::string>{kIdC}));
  EXPECT_TRUE(snap_.recovery.empty());
  EXPECT_NE(Notices(o).find("; replaced the store's 1 records: modified "), std::string::npos)
      << Notices(o);
}

TEST_F(NfsUtilsImportTest, SourceOlderThanTheStoreIsNotImported) {
  {
    Fixture t(Cltrack());
    t.Exec(kV2Init);
    t.Insert("clients", "id, time, has_session", {kIdA}, {1500000000, 1});
  }
  SetMtime(Cltrack(), Now() - 7200);
  ASSERT_TRUE(Start().imported);
  {
    Fixture t(Cltrack());
    t.Insert("clients", "id, time, has_session", {kIdB}, {1500000000, 1});
  }
  SetMtime(Cltrack(), Now() - 3600);  // changed, but before nfsrecd's last write
  ImportOutcome o = Start();
  EXPECT_FALSE(o.imported);
  EXPECT_EQ(Ids(snap_.current), (std::vector<std::string>{kIdA}));
  EXPECT_NE(Notices(o).find("N import: nfsdcltrack " + Cltrack() +
                            " (schema 2): 2 records; not imported: modified "),
            std::string::npos)
      << Notices(o);
  EXPECT_NE(Notices(o).find(", not after the store's newest record"), std::string::npos);
}

TEST_F(NfsUtilsImportTest, UnreadableSourceIsOneWarningAndTheOthersStillImport) {
  src_.Write("nfsdcld/main.sqlite", std::string(4096, 'x'));
  {
    Fixture t(Cltrack());
    t.Exec(kV1Init);
    t.Insert("clients", "id, time", {kIdA}, {1500000000});
  }
  ImportOutcome o = Start();
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find("import: nfsdcld " + Nfsdcld() + " cannot be read"),
            std::string::npos)
      << warnings_[0];
  EXPECT_TRUE(o.imported);
  EXPECT_EQ(Ids(snap_.current), (std::vector<std::string>{kIdA}));
}

TEST_F(NfsUtilsImportTest, UnknownSchemaVersionIsRefused) {
  {
    Fixture f(Nfsdcld());
    f.Exec(
        "CREATE TABLE parameters (key TEXT PRIMARY KEY, value TEXT);"
        "INSERT INTO parameters VALUES ('version', '5');");
  }
  Result<ImportSource> r = ReadTrackerDatabase(ImportKind::kNfsdcld, Nfsdcld());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("schema version 5"), std::string::npos);
}

// Identity first: a source whose dev, ino, size and mtime equal the ones the
// store recorded is only stat'ed.  Its bytes are replaced here by garbage of
// the same size under the same mtime: reading it would fail loudly.
TEST_F(NfsUtilsImportTest, UnchangedSourceIsNotReadAtTheNextStart) {
  MakeV4(3, 0);
  {
    Fixture f(Nfsdcld());
    f.Exec("CREATE TABLE \"rec-0000000000000003\" (id BLOB PRIMARY KEY, princhash BLOB);");
    f.Insert("rec-0000000000000003", "id", {kIdA});
  }
  ASSERT_TRUE(Start().imported);
  Result<std::map<std::string, SourceIdentity>> recorded = ReadRecordedIdentities(h_.path());
  ASSERT_OK(recorded);
  ASSERT_EQ(recorded->count(Nfsdcld()), 1u);
  struct stat before;
  ASSERT_EQ(::stat(Nfsdcld().c_str(), &before), 0);
  {
    std::ofstream out(Nfsdcld(), std::ios::binary | std::ios::trunc);
    out << std::string(static_cast<size_t>(before.st_size), 'x');
  }
  struct timespec times[2] = {before.st_mtim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, Nfsdcld().c_str(), times, 0), 0);

  ImportRead read = ReadChangedNfsUtilsSources(Where(), *recorded);
  EXPECT_TRUE(read.warnings.empty()) << read.warnings[0];
  ASSERT_EQ(read.sources.size(), 1u);
  EXPECT_TRUE(read.sources[0].not_read);
  EXPECT_TRUE(read.sources[0].current.empty());
  // Reading everything, as before, would have opened the garbage.
  EXPECT_EQ(ReadNfsUtilsSources(Where()).warnings.size(), 1u);

  ImportOutcome o;
  ASSERT_OK(h_.queue().RunSync([&](sqlite::Db& db) -> Status {
    NFSREC_ASSIGN_OR_RETURN(o, ApplyNfsUtilsImport(db, read, Now()));
    return Status::Ok();
  }));
  EXPECT_FALSE(o.imported);
  ASSERT_EQ(o.lines.size(), 1u);
  EXPECT_NE(o.lines[0].text.find("unchanged since last start, not read"), std::string::npos);
  ASSERT_OK(h_.Open());
  Result<ClientSnapshot> snap = ClientStoreCalls(h_.store(), h_.settle()).Load();
  ASSERT_OK(snap);
  EXPECT_EQ(Ids(snap->current), (std::vector<std::string>{kIdA}));
}

// A changed identity (here only the mtime) means the source is read again.
TEST_F(NfsUtilsImportTest, SourceWithAChangedIdentityIsRead) {
  MakeV4(3, 0);
  ASSERT_TRUE(Start().imported);
  Result<std::map<std::string, SourceIdentity>> recorded = ReadRecordedIdentities(h_.path());
  ASSERT_OK(recorded);
  SetMtime(Nfsdcld(), Now() + 10);
  ImportRead read = ReadChangedNfsUtilsSources(Where(), *recorded);
  ASSERT_EQ(read.sources.size(), 1u);
  EXPECT_FALSE(read.sources[0].not_read);
  EXPECT_EQ(read.sources[0].schema, 4);
}

TEST_F(NfsUtilsImportTest, NoDatabaseYetMeansNoRecordedIdentities) {
  Result<std::map<std::string, SourceIdentity>> recorded =
      ReadRecordedIdentities(src_.File("absent.sqlite"));
  ASSERT_OK(recorded);
  EXPECT_TRUE(recorded->empty());
}

}  // namespace
}  // namespace nfsrec::nfs4rec
