// Versioned schema for the shared database, per component.
//
// Each component (statd "nsm", nfs4rec "cld") owns an ordered list of
// migrations.  Table `schema_versions(component TEXT PRIMARY KEY, version
// INTEGER NOT NULL)` records how many have been applied.  Each migration runs
// in its own transaction together with the version bump, so a crash leaves
// the schema at a whole version.  A database whose recorded version is newer
// than the code knows is refused (Corruption with a clear message) rather
// than touched.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/sqlite.h"

namespace nfsrec {

struct Migration {
  int to_version;  // 1, 2, 3 ... in order
  std::function<Status(sqlite::Db&)> apply;
};

// Brings `component` up to the last migration's version.
Status ApplyMigrations(sqlite::Db& db, const std::string& component,
                       const std::vector<Migration>& migrations);

// The version recorded for component, 0 if none.
Result<int> SchemaVersion(sqlite::Db& db, const std::string& component);

}  // namespace nfsrec
