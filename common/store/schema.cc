#include "common/store/schema.h"

#include <cstdint>
#include <memory>
#include <string>

namespace nfsrec {
namespace {

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

}  // namespace

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
