#include "common/store/schema.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "common/base/logging.h"
#include "common/base/unique_fd.h"
#include "common/os/file_system.h"

namespace nfsrec {
namespace {

using sqlite::SqliteError;

// One row per component; created on first use by any component.
constexpr std::string_view kCreateVersions =
    "CREATE TABLE IF NOT EXISTS schema_versions ("
    " component TEXT PRIMARY KEY NOT NULL,"
    " version INTEGER NOT NULL CHECK (version >= 0))";

Status CheckNumbering(const std::string& component, const std::vector<Migration>& migrations) {
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].to_version != static_cast<int>(i + 1) || !migrations[i].apply) {
      return Status::InvalidArgument("schema '" + component + "': migration " +
                                     std::to_string(i + 1) + " is misnumbered or empty");
    }
  }
  return Status::Ok();
}

Status TooNew(const std::string& component, int found, int known) {
  return Status::Corruption("schema '" + component + "' of this database is version " +
                            std::to_string(found) + ", newer than version " +
                            std::to_string(known) +
                            ", the newest this program knows; refusing to use it (run a newer "
                            "nfsrecd, or restore a database written by this version)");
}

Status SetVersion(sqlite::Db& db, const std::string& component, int version) {
  NFSREC_ASSIGN_OR_RETURN(
      sqlite::Statement stmt,
      db.Prepare("INSERT INTO schema_versions (component, version) VALUES (?1, ?2)"
                 " ON CONFLICT (component) DO UPDATE SET version = excluded.version"));
  NFSREC_RETURN_IF_ERROR(stmt.BindText(1, component));
  NFSREC_RETURN_IF_ERROR(stmt.BindInt(2, version));
  return stmt.Run();
}

// Applies one migration and records it.  Re-reads the version under the
// write lock, so two processes migrating at once do not apply a step twice.
Status ApplyOne(sqlite::Db& db, const std::string& component, const Migration& m) {
  NFSREC_RETURN_IF_ERROR(db.Exec(kCreateVersions));
  NFSREC_ASSIGN_OR_RETURN(int current, SchemaVersion(db, component));
  if (current >= m.to_version) return Status::Ok();
  NFSREC_RETURN_IF_ERROR(m.apply(db));
  return SetVersion(db, component, m.to_version);
}

// The SQLite file header (https://www.sqlite.org/fileformat.html): 100
// bytes that open with this 16-byte string (its NUL included) and hold the
// application id, big-endian, at offset 68.
constexpr char kSqliteMagic[] = "SQLite format 3";
constexpr size_t kHeaderSize = 100;
constexpr size_t kApplicationIdOffset = 68;
// Table names quoted in a refusal.
constexpr size_t kTablesInMessage = 6;

// "nfsrecd neither uses nor changes it", what to do, then `hint`.
std::string RefusalFix(const std::string& path, std::string_view hint = {}) {
  return StrCat("; nfsrecd neither uses nor changes it. To fix: move it away (mv ", path, " ", path,
                ".not-nfsrecd) and start again; nfsrecd then creates its own database there", hint);
}

// Where nfs-utils' own daemons keep these databases: nfsrecd takes nothing
// over from its own database path.
constexpr std::string_view kNfsdcldHint =
    ". To keep nfsdcld's client records, put the file back where nfsdcld keeps it "
    "(/var/lib/nfs/nfsdcld/main.sqlite)";
constexpr std::string_view kNfsdcltrackHint =
    ". To keep nfsdcltrack's client records, put the file back where nfsdcltrack keeps it "
    "(/var/lib/nfs/nfsdcltrack/main.sqlite)";

// A database with application_id 0 and these tables: "" if it is nfsrecd's
// (no table yet, or schema_versions), else the refusal for the file at path.
std::string DescribeTables(const std::string& path, const std::vector<std::string>& tables) {
  if (tables.empty()) return "";
  bool grace = false;
  bool epochs = false;
  bool clients = false;
  bool parameters = false;
  for (const std::string& t : tables) {
    if (t == "schema_versions") return "";
    grace |= t == "grace";
    epochs |= t.rfind("rec-", 0) == 0;
    clients |= t == "clients";
    parameters |= t == "parameters";
  }
  std::string names;
  for (size_t i = 0; i < tables.size() && i < kTablesInMessage; ++i) {
    names += (i == 0 ? "" : ", ") + tables[i];
  }
  if (tables.size() > kTablesInMessage) names += ", ...";
  const std::string head = StrCat("database ", path, " is not nfsrecd's: ");
  if (grace || epochs) {
    return StrCat(head, "it looks like nfsdcld's database (tables ", names, ")",
                  RefusalFix(path, kNfsdcldHint));
  }
  if (clients && parameters) {
    return StrCat(head, "it looks like nfsdcltrack's database (tables ", names, ")",
                  RefusalFix(path, kNfsdcltrackHint));
  }
  return StrCat(head, "it is an SQLite database of another program (tables ", names, ")",
                RefusalFix(path));
}

// What SQLite itself reads from the database at path (through the WAL, if
// one holds newer pages than the file), through a read-only connection.
struct Inspection {
  int64_t application_id = 0;
  std::vector<std::string> tables;
};

Result<Inspection> Inspect(const std::string& open_name, const std::string& path,
                           const std::string& vfs, int busy_timeout_ms) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(open_name.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW,
                           vfs.empty() ? nullptr : vfs.c_str());
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(raw, sqlite3_close_v2);
  if (rc != SQLITE_OK) return SqliteError(raw, rc, "inspect " + path);
  // Another process may be creating the database this moment (the daemon
  // and the sm-notify command start together): wait for its lock as the
  // read-write connection would.
  rc = sqlite3_busy_timeout(raw, busy_timeout_ms);
  if (rc != SQLITE_OK) return SqliteError(raw, rc, "inspect " + path);
  Inspection result;
  for (const char* sql : {"PRAGMA application_id",
                          "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"}) {
    sqlite3_stmt* raw_stmt = nullptr;
    rc = sqlite3_prepare_v2(raw, sql, -1, &raw_stmt, nullptr);
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw_stmt, sqlite3_finalize);
    if (rc != SQLITE_OK) return SqliteError(raw, rc, "inspect " + path);
    const bool pragma = sql[0] == 'P';
    while ((rc = sqlite3_step(raw_stmt)) == SQLITE_ROW) {
      if (pragma) {
        result.application_id = sqlite3_column_int64(raw_stmt, 0);
      } else {
        const unsigned char* name = sqlite3_column_text(raw_stmt, 0);
        result.tables.emplace_back(name == nullptr ? "" : reinterpret_cast<const char*>(name));
      }
    }
    if (rc != SQLITE_DONE) return SqliteError(raw, rc, "inspect " + path);
  }
  return result;
}

std::string ForeignIdRefusal(const std::string& path, int64_t app_id) {
  char hex[16];
  std::snprintf(hex, sizeof(hex), "0x%08x", static_cast<uint32_t>(app_id));
  return StrCat("database ", path,
                " is not nfsrecd's: it is the SQLite database of another program (application_id ",
                hex, ", not nfsrecd's ", kApplicationIdText, ")", RefusalFix(path));
}

// Marks the database as nfsrecd's (see schema.h), inside the caller's
// transaction if one is open, else in a transaction of its own.
Status Stamp(sqlite::Db& db) {
  NFSREC_ASSIGN_OR_RETURN(const int64_t mark, db.QueryInt("PRAGMA application_id"));
  if (mark == kApplicationId) return Status::Ok();
  if (mark != 0) {
    return Status::InvalidArgument(StrCat("database ", db.path(),
                                          " is not nfsrecd's: it carries another application_id (",
                                          mark, "); refusing to change it"));
  }
  const std::string sql = StrCat("PRAGMA application_id = ", kApplicationId);
  if (db.InTransaction()) return db.Exec(sql);
  NFSREC_ASSIGN_OR_RETURN(std::unique_ptr<sqlite::Transaction> txn, sqlite::Transaction::Begin(db));
  NFSREC_RETURN_IF_ERROR(db.Exec(sql));
  return txn->Commit();
}

// The first kHeaderSize bytes of the file (fewer if it is shorter).
Result<size_t> ReadHeader(int fd, const std::string& path, unsigned char* header) {
  size_t got = 0;
  while (got < kHeaderSize) {
    ssize_t n = ::pread(fd, header + got, kHeaderSize - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return PosixError("read " + path, errno);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return got;
}

constexpr int kLockPollMs = 20;

// True if another process holds one of the POSIX locks SQLite's unix VFS
// takes on a database file (the pending, reserved and shared bytes from
// offset 0x40000000).  Locks of this process are not reported (F_GETLK).
bool SqliteLockHeld(int fd) {
  struct flock lock = {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  lock.l_start = 0x40000000;
  lock.l_len = 2 + 510;
  if (::fcntl(fd, F_GETLK, &lock) != 0) return false;
  return lock.l_type != F_UNLCK;
}

}  // namespace

Status CheckDatabaseIsOurs(const std::string& path, const std::string& open_name,
                           const std::string& vfs, int busy_timeout_ms) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return PosixError("open " + path, errno);
  unsigned char header[kHeaderSize];
  // A header that is not (yet) SQLite's while another process holds SQLite's
  // locks on the file is a database being created (the sm-notify command
  // starting beside the daemon: page 1 is written last, at COMMIT): wait
  // for it, as the read-write open would, before judging the file.
  size_t got = 0;
  for (int waited_ms = 0;; waited_ms += kLockPollMs) {
    NFSREC_ASSIGN_OR_RETURN(got, ReadHeader(fd.get(), path, header));
    const bool sqlite =
        got == kHeaderSize && std::memcmp(header, kSqliteMagic, sizeof(kSqliteMagic)) == 0;
    if (sqlite || got == 0 || waited_ms >= busy_timeout_ms || !SqliteLockHeld(fd.get())) break;
    ::usleep(kLockPollMs * 1000);
  }
  if (got == 0) return Status::Ok();  // made by PrecreateFile, or never written
  if (got < kHeaderSize || std::memcmp(header, kSqliteMagic, sizeof(kSqliteMagic)) != 0) {
    return Status::Corruption(StrCat(
        "database ", path, " is not nfsrecd's: it is not an SQLite database at all (it begins \"",
        Printable(
            std::string_view(reinterpret_cast<const char*>(header), std::min<size_t>(got, 16))),
        "\")", RefusalFix(path)));
  }
  const unsigned char* p = header + kApplicationIdOffset;
  const auto app_id =
      static_cast<int32_t>(static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
                           static_cast<uint32_t>(p[2]) << 8 | p[3]);
  if (app_id == kApplicationId) return Status::Ok();
  if (app_id != 0) return Status::InvalidArgument(ForeignIdRefusal(path, app_id));
  // No mark in the file: a WAL may hold a newer header (ours, stamped but
  // not yet checkpointed), or it is nfsrecd's from before the mark, an
  // empty database, or a program that sets none (nfsdcld, nfsdcltrack).
  NFSREC_ASSIGN_OR_RETURN(const Inspection seen, Inspect(open_name, path, vfs, busy_timeout_ms));
  if (seen.application_id == kApplicationId) return Status::Ok();
  if (seen.application_id != 0) {
    return Status::InvalidArgument(ForeignIdRefusal(path, seen.application_id));
  }
  const std::string refusal = DescribeTables(path, seen.tables);
  if (refusal.empty()) return Status::Ok();
  return Status::InvalidArgument(refusal);
}

Result<int> SchemaVersion(sqlite::Db& db, const std::string& component) {
  NFSREC_ASSIGN_OR_RETURN(
      int64_t exists,
      db.QueryInt(
          "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_versions'"));
  if (exists == 0) return 0;
  NFSREC_ASSIGN_OR_RETURN(
      sqlite::Statement stmt,
      db.Prepare("SELECT version, typeof(version) FROM schema_versions WHERE component = ?1"));
  NFSREC_RETURN_IF_ERROR(stmt.BindText(1, component));
  NFSREC_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return 0;
  int64_t version = stmt.ColumnInt(0);
  if (stmt.ColumnText(1) != "integer" || version < 0 || version > INT32_MAX) {
    return Status::Corruption("schema '" + component + "': recorded version is not a valid number");
  }
  return static_cast<int>(version);
}

Status ApplyMigrations(sqlite::Db& db, const std::string& component,
                       const std::vector<Migration>& migrations) {
  NFSREC_RETURN_IF_ERROR(CheckNumbering(component, migrations));
  const int latest = static_cast<int>(migrations.size());
  NFSREC_ASSIGN_OR_RETURN(const int current, SchemaVersion(db, component));
  if (current > latest) return TooNew(component, current, latest);
  NFSREC_RETURN_IF_ERROR(Stamp(db));

  const bool nested = db.InTransaction();
  for (const Migration& m : migrations) {
    if (m.to_version <= current) continue;
    Status st;
    if (nested) {
      NFSREC_ASSIGN_OR_RETURN(std::unique_ptr<sqlite::Savepoint> sp, sqlite::Savepoint::Begin(db));
      st = ApplyOne(db, component, m);
      if (st.ok()) st = sp->Release();
    } else {
      NFSREC_ASSIGN_OR_RETURN(std::unique_ptr<sqlite::Transaction> txn,
                              sqlite::Transaction::Begin(db));
      // Another process may have moved further since the check above.
      NFSREC_ASSIGN_OR_RETURN(const int now, SchemaVersion(db, component));
      if (now > latest) return TooNew(component, now, latest);
      st = ApplyOne(db, component, m);
      if (st.ok()) st = txn->Commit();
    }
    if (!st.ok()) {
      return st.WithContext("schema '" + component + "': migration to version " +
                            std::to_string(m.to_version));
    }
  }
  return Status::Ok();
}

}  // namespace nfsrec
