#include "statd/sqlite_mirror_source.h"

#include <algorithm>

#include "common/base/logging.h"

namespace nfsrec::statd {
namespace {

// SQLite waits this long for the commit thread's checkpoints.
constexpr int kBusyTimeoutMs = 10000;

const char* Table(MirrorList list) {
  return list == MirrorList::kMonitors ? "monitors" : "notify_list";
}

constexpr const char* kColumns =
    "SELECT mon_name, my_name, my_prog, my_vers, my_proc, priv, canonical_name FROM ";

std::string BlobText(const sqlite::Statement& stmt, int col) {
  sqlite::Blob b = stmt.ColumnBlob(col);
  return std::string(b.begin(), b.end());
}

}  // namespace

Status SqliteMirrorSource::Begin() {
  if (!db_) {
    sqlite::Db::Options options;
    options.create_if_missing = false;
    options.busy_timeout_ms = kBusyTimeoutMs;
    NFSREC_ASSIGN_OR_RETURN(db_, sqlite::Db::Open(sqlite::FileUri(db_path_) + "?mode=ro", options));
  }
  return db_->Exec("BEGIN");
}

void SqliteMirrorSource::End() {
  if (db_ && db_->InTransaction()) (void)db_->Exec("COMMIT");
}

Result<int32_t> SqliteMirrorSource::LocalState() {
  NFSREC_ASSIGN_OR_RETURN(sqlite::Statement * stmt,
                          db_->Cached("SELECT local_state FROM nsm_state WHERE id = 1"));
  NFSREC_ASSIGN_OR_RETURN(bool row, stmt->Step());
  const int32_t state = row ? static_cast<int32_t>(stmt->ColumnInt(0)) : 0;
  stmt->Reset();
  return state;
}

Status SqliteMirrorSource::Rows(sqlite::Statement& stmt, const Each& each) {
  MonitorRecord r;
  for (;;) {
    Result<bool> row = stmt.Step();
    if (!row.ok() || !*row) {
      stmt.Reset();
      return row.status();
    }
    // The store checked the types on write; a damaged row is left out here
    // (the loop's load reports it) rather than written mangled.
    if (stmt.ColumnType(5) != SQLITE_BLOB || stmt.ColumnType(0) != SQLITE_BLOB ||
        stmt.ColumnType(1) != SQLITE_BLOB || stmt.ColumnType(6) != SQLITE_BLOB) {
      continue;
    }
    sqlite::Blob priv = stmt.ColumnBlob(5);
    if (priv.size() != r.priv.size()) continue;
    std::copy(priv.begin(), priv.end(), r.priv.begin());
    r.key.mon_name = BlobText(stmt, 0);
    r.key.my_name = BlobText(stmt, 1);
    r.key.my_prog = static_cast<int32_t>(stmt.ColumnInt(2));
    r.key.my_vers = static_cast<int32_t>(stmt.ColumnInt(3));
    r.key.my_proc = static_cast<int32_t>(stmt.ColumnInt(4));
    r.canonical_name = BlobText(stmt, 6);
    Status st = each(r);
    if (!st.ok()) {
      stmt.Reset();
      return st;
    }
  }
}

Status SqliteMirrorSource::ReadHost(MirrorList list, const std::string& host, const Each& each) {
  NFSREC_ASSIGN_OR_RETURN(sqlite::Statement * stmt,
                          db_->Cached(StrCat(kColumns, Table(list), " WHERE canonical_name = ?1")));
  NFSREC_RETURN_IF_ERROR(stmt->BindBlob(1, host.data(), host.size()));
  return Rows(*stmt, each);
}

Status SqliteMirrorSource::Scan(MirrorList list, const Each& each) {
  NFSREC_ASSIGN_OR_RETURN(sqlite::Statement * stmt,
                          db_->Cached(StrCat(kColumns, Table(list), " ORDER BY canonical_name")));
  return Rows(*stmt, each);
}

}  // namespace nfsrec::statd
