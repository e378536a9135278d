// The decision and the apply step of nfs_utils_import.h; the readers are in
// nfs_utils_import_read.cc.
#include "nfs4rec/nfs_utils_import.h"

#include <time.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "common/base/logging.h"
#include "nfs4rec/client_sql.h"

namespace nfsrec::nfs4rec {
namespace {

constexpr int64_t kNsPerSecond = 1000000000;

Status MigrateV1(sqlite::Db& db) {
  return db.Exec(
      "CREATE TABLE nfs_utils_import ("
      " path TEXT PRIMARY KEY NOT NULL,"
      " kind TEXT NOT NULL,"
      " dev INTEGER NOT NULL,"
      " ino INTEGER NOT NULL,"
      " size INTEGER NOT NULL,"
      " mtime_ns INTEGER NOT NULL,"
      " seen INTEGER NOT NULL,"
      " records INTEGER NOT NULL,"
      " outcome TEXT NOT NULL)");
}

// "2026-11-30T12:00:00Z".
std::string Rfc3339(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm;
  char buf[32];
  if (::gmtime_r(&t, &tm) == nullptr ||
      ::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
    return StrCat(unix_seconds);
  }
  return buf;
}

Result<std::optional<SourceIdentity>> RecordedIdentity(sqlite::Db& db, const std::string& path) {
  NFSREC_ASSIGN_OR_RETURN(
      sqlite::Statement * st,
      db.Cached("SELECT dev, ino, size, mtime_ns FROM nfs_utils_import WHERE path = ?1"));
  NFSREC_RETURN_IF_ERROR(st->BindText(1, path));
  NFSREC_ASSIGN_OR_RETURN(const bool row, st->Step());
  std::optional<SourceIdentity> out;
  if (row) {
    out =
        SourceIdentity{static_cast<uint64_t>(st->ColumnInt(0)),
                       static_cast<uint64_t>(st->ColumnInt(1)), st->ColumnInt(2), st->ColumnInt(3)};
  }
  st->Reset();
  return out;
}

Status RecordSeen(sqlite::Db& db, const ImportSource& src, int64_t now, const char* outcome) {
  NFSREC_ASSIGN_OR_RETURN(
      sqlite::Statement * st,
      db.Cached("INSERT OR REPLACE INTO nfs_utils_import"
                " (path, kind, dev, ino, size, mtime_ns, seen, records, outcome)"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"));
  NFSREC_RETURN_IF_ERROR(st->BindText(1, src.path));
  NFSREC_RETURN_IF_ERROR(st->BindText(2, ImportKindName(src.kind)));
  NFSREC_RETURN_IF_ERROR(st->BindInt(3, static_cast<int64_t>(src.identity.dev)));
  NFSREC_RETURN_IF_ERROR(st->BindInt(4, static_cast<int64_t>(src.identity.ino)));
  NFSREC_RETURN_IF_ERROR(st->BindInt(5, src.identity.size));
  NFSREC_RETURN_IF_ERROR(st->BindInt(6, src.identity.mtime_ns));
  NFSREC_RETURN_IF_ERROR(st->BindInt(7, now));
  NFSREC_RETURN_IF_ERROR(
      st->BindInt(8, static_cast<int64_t>(src.current.size() + src.recovery.size())));
  NFSREC_RETURN_IF_ERROR(st->BindText(9, outcome));
  Status s = st->Run();
  st->Reset();
  return s;
}

struct StoreState {
  Epochs epochs;
  int64_t records = 0;
  int64_t newest = 0;  // unix seconds of the newest record's last write
};

Result<StoreState> ReadStoreState(sqlite::Db& db) {
  StoreState out;
  NFSREC_ASSIGN_OR_RETURN(out.epochs, client_sql::ReadEpochs(db));
  NFSREC_ASSIGN_OR_RETURN(out.records, db.QueryInt("SELECT count(*) FROM cld_clients"));
  NFSREC_ASSIGN_OR_RETURN(out.newest,
                          db.QueryInt("SELECT coalesce(max(time), 0) FROM cld_clients"));
  return out;
}

// Every record of the store gives way to the source's.
Status ReplaceRecords(sqlite::Db& db, const ImportSource& src, const Epochs& ours) {
  const Epochs epochs = src.has_epochs ? src.epochs : Epochs{ours.current, 0};
  NFSREC_RETURN_IF_ERROR(db.Exec("DELETE FROM cld_clients"));
  NFSREC_ASSIGN_OR_RETURN(
      sqlite::Statement * st,
      db.Cached("UPDATE cld_grace SET current = ?1, recovery = ?2 WHERE id = 1"));
  NFSREC_RETURN_IF_ERROR(st->BindInt(1, static_cast<int64_t>(epochs.current)));
  NFSREC_RETURN_IF_ERROR(st->BindInt(2, static_cast<int64_t>(epochs.recovery)));
  Status s = st->Run();
  st->Reset();
  NFSREC_RETURN_IF_ERROR(s);
  for (const ClientRecord& r : src.current) {
    NFSREC_RETURN_IF_ERROR(client_sql::PutClient(db, epochs.current, r));
  }
  if (epochs.in_grace()) {
    for (const ClientRecord& r : src.recovery) {
      NFSREC_RETURN_IF_ERROR(client_sql::PutClient(db, epochs.recovery, r));
    }
  }
  return Status::Ok();
}

// "nfsdcld /x/main.sqlite (schema 4): epoch 7 in grace from epoch 6: 12
// records may reclaim, 3 already reclaimed" and what was skipped.
std::string Describe(const ImportSource& src) {
  std::string out = StrCat("import: ", ImportKindName(src.kind), " ", src.path);
  if (src.kind != ImportKind::kV4recovery) out += StrCat(" (schema ", src.schema, ")");
  if (src.rolled_back) out += " (hot journal rolled back in a private copy)";
  out += ": ";
  if (src.kind == ImportKind::kV4recovery) {
    out += StrCat(src.current.size(), " client directories");
  } else if (src.has_epochs && src.epochs.in_grace()) {
    out += StrCat("epoch ", src.epochs.current, " in grace from epoch ", src.epochs.recovery, ": ",
                  src.recovery.size(), " records may reclaim, ", src.current.size(),
                  " already reclaimed");
  } else if (src.has_epochs) {
    out += StrCat("epoch ", src.epochs.current, ": ", src.current.size(), " records");
  } else {
    out += StrCat(src.current.size(), " records");
  }
  if (src.skipped_ids > 0) {
    out += StrCat(", ", src.skipped_ids, " ids skipped (empty or over 1024 bytes)");
  }
  if (src.skipped_entries > 0) {
    out += StrCat(", ", src.skipped_entries, " entries skipped (not a client directory)");
  }
  return out;
}

}  // namespace

const std::vector<Migration>& ImportMigrations() {
  static const std::vector<Migration> kMigrations = {
      {1, &MigrateV1},
  };
  return kMigrations;
}

Result<ImportOutcome> ApplyNfsUtilsImport(sqlite::Db& db, const ImportRead& read, int64_t now) {
  NFSREC_RETURN_IF_ERROR(ApplyMigrations(db, client_sql::kComponent, client_sql::Migrations()));
  NFSREC_RETURN_IF_ERROR(ApplyMigrations(db, kImportComponent, ImportMigrations()));
  ImportOutcome out;
  std::vector<const ImportSource*> changed;
  for (const ImportSource& src : read.sources) {
    NFSREC_ASSIGN_OR_RETURN(const std::optional<SourceIdentity> seen,
                            RecordedIdentity(db, src.path));
    if (seen && *seen == src.identity) {
      out.lines.push_back({false, src.not_read
                                      ? StrCat("import: ", ImportKindName(src.kind), " ", src.path,
                                               ": unchanged since last start, not read")
                                      : StrCat(Describe(src), "; unchanged since last start")});
    } else if (src.not_read) {
      // Recorded anew between the stat and now (nfsrecctl import): its
      // records were not read, so it waits for the next start.
      out.lines.push_back({true, StrCat("import: ", ImportKindName(src.kind), " ", src.path,
                                        ": its recorded identity changed during start-up;"
                                        " looked at again at the next start")});
    } else {
      changed.push_back(&src);
    }
  }
  if (changed.empty()) return out;
  // The tracker the kernel used last: the most recently modified.
  const ImportSource* chosen = *std::max_element(
      changed.begin(), changed.end(), [](const ImportSource* a, const ImportSource* b) {
        return a->identity.mtime_ns < b->identity.mtime_ns;
      });
  for (const ImportSource* src : changed) {
    if (src == chosen) continue;
    out.lines.push_back(
        {true, StrCat(Describe(*src), "; not imported: ", chosen->path, " was modified later")});
    NFSREC_RETURN_IF_ERROR(RecordSeen(db, *src, now, "superseded"));
  }
  NFSREC_ASSIGN_OR_RETURN(const StoreState store, ReadStoreState(db));
  const int64_t mtime = chosen->identity.mtime_ns / kNsPerSecond;
  const char* outcome;
  std::string line = Describe(*chosen);
  if (store.records == 0) {
    NFSREC_RETURN_IF_ERROR(ReplaceRecords(db, *chosen, store.epochs));
    outcome = "adopted";
    line += "; adopted";
    out.imported = true;
  } else if (mtime > store.newest) {
    NFSREC_RETURN_IF_ERROR(ReplaceRecords(db, *chosen, store.epochs));
    outcome = "replaced";
    line += StrCat("; replaced the store's ", store.records, " records: modified ", Rfc3339(mtime),
                   ", after the store's newest record (", Rfc3339(store.newest),
                   "), so nfs-utils ran after nfsrecd");
    out.imported = true;
  } else {
    outcome = "older";
    line += StrCat("; not imported: modified ", Rfc3339(mtime),
                   ", not after the store's newest record (", Rfc3339(store.newest), ")");
  }
  NFSREC_RETURN_IF_ERROR(RecordSeen(db, *chosen, now, outcome));
  out.lines.push_back({true, std::move(line)});
  return out;
}

}  // namespace nfsrec::nfs4rec
