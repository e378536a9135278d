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
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/store/sqlite.h"

namespace nfsrec {

struct Migration {
  int to_version;  // 1, 2, 3 ... in order
  std::function<Status(sqlite::Db&)> apply;
};

// Brings `component` up to the last migration's version.  Errors:
// InvalidArgument if `migrations` are not numbered 1, 2, 3 ...; Corruption if
// the database records a newer version than the last migration (the database
// is not modified); otherwise the failing migration's error, with context
// naming the component and the version.
Status ApplyMigrations(sqlite::Db& db, const std::string& component,
                       const std::vector<Migration>& migrations);

// The version recorded for component, 0 if none.
Result<int> SchemaVersion(sqlite::Db& db, const std::string& component);

}  // namespace nfsrec
