// Versioned schema for the shared database, per component.
//
// Each component (statd "nsm", nfs4rec "cld") owns an ordered list of
// migrations.  Table `schema_versions(component TEXT PRIMARY KEY, version
// INTEGER NOT NULL)` records how many have been applied.  Each migration runs
// in its own transaction together with the version bump, so a crash leaves
// the schema at a whole version.  A database whose recorded version is newer
// than the code knows is refused (Corruption with a clear message) rather
// than touched.
//
// Called outside a transaction, ApplyMigrations runs each pending migration
// in its own BEGIN IMMEDIATE transaction.  Called inside one (e.g. from
// CommitQueue::RunSync), each runs in a SAVEPOINT and becomes durable with
// the caller's COMMIT; a failing migration is rolled back to its savepoint
// and its error returned, so whatever the caller does next, the recorded
// version always matches the tables.
//
// Identity: nfsrecd's databases carry kApplicationId in the SQLite header
// (PRAGMA application_id, the big-endian 32-bit number at offset 68 of the
// file).  ApplyMigrations stamps it the first time it runs on a database
// (also one made before the mark existed), in the caller's transaction or
// in one of its own before the first migration, and Db::Open refuses any file that is not
// ours (CheckDatabaseIsOurs) before writing to it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/store/sqlite.h"

namespace nfsrec {

// "NFSR".
inline constexpr int32_t kApplicationId = 0x4e465352;
inline constexpr char kApplicationIdText[] = "0x4e465352";

struct Migration {
  int to_version;  // 1, 2, 3 ... in order
  std::function<Status(sqlite::Db&)> apply;
};

// Whether the existing file at `path` is nfsrecd's database, without
// writing a byte to it: OK if it is empty, carries kApplicationId, or has
// no application id and either no table or nfsrecd's schema_versions table.
// `open_name` is the name to give SQLite (the path with its directory
// resolved) and `vfs` the VFS to read through (empty: the default).
// Errors name the file, what it looks like and what to do: Corruption if it
// is not an SQLite database; InvalidArgument if it is another program's
// (another application id; nfsdcld's or nfsdcltrack's tables; any other
// tables); IOError if it cannot be read.  A lock held by another process
// (one creating the database) is waited for up to busy_timeout_ms.
Status CheckDatabaseIsOurs(const std::string& path, const std::string& open_name,
                           const std::string& vfs, int busy_timeout_ms = 10000);

// Brings `component` up to the last migration's version.  Errors:
// InvalidArgument if `migrations` are not numbered 1, 2, 3 ...; Corruption if
// the database records a newer version than the last migration (the database
// is not modified); InvalidArgument if it carries another application id;
// otherwise the failing migration's error, with context
// naming the component and the version.
Status ApplyMigrations(sqlite::Db& db, const std::string& component,
                       const std::vector<Migration>& migrations);

// The version recorded for component, 0 if none.
Result<int> SchemaVersion(sqlite::Db& db, const std::string& component);

}  // namespace nfsrec
