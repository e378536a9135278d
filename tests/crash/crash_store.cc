#include "tests/crash/crash_store.h"

#include <sys/stat.h>

#include <cstring>
#include <map>
#include <memory>
#include <string_view>
#include <vector>

#include <sqlite3.h>

namespace nfsrec::crash {
namespace {

struct CloseDb {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
struct Finalize {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using DbPtr = std::unique_ptr<sqlite3, CloseDb>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, Finalize>;

std::string Blob(sqlite3_stmt* s, int col) {
  const void* p = sqlite3_column_blob(s, col);
  int n = sqlite3_column_bytes(s, col);
  return p == nullptr ? std::string() : std::string(static_cast<const char*>(p), n);
}

// Runs `sql`, calling row(stmt) per row.  A missing table reads as no rows.
template <typename Row>
Status ForEachRow(sqlite3* db, std::string_view sql, Row row) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
  StmtPtr stmt(raw);
  if (rc != SQLITE_OK) {
    if (std::strstr(sqlite3_errmsg(db), "no such table") != nullptr) return Status::Ok();
    return Status::IOError(std::string(sql) + ": " + sqlite3_errmsg(db));
  }
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) row(stmt.get());
  if (rc != SQLITE_DONE) return Status::IOError(std::string(sql) + ": " + sqlite3_errmsg(db));
  return Status::Ok();
}

// Runs one statement with text blobs bound to ?1, ?2, ... on a read-write
// connection.
Status Run(const std::string& path, std::string_view sql, const std::vector<std::string>& blobs) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) return Status::IOError("open " + path);
  sqlite3_stmt* st = nullptr;
  rc = sqlite3_prepare_v2(db.get(), sql.data(), static_cast<int>(sql.size()), &st, nullptr);
  StmtPtr stmt(st);
  if (rc != SQLITE_OK) return Status::IOError(sqlite3_errmsg(db.get()));
  for (size_t i = 0; i < blobs.size(); ++i) {
    sqlite3_bind_blob(st, static_cast<int>(i + 1), blobs[i].data(),
                      static_cast<int>(blobs[i].size()), SQLITE_TRANSIENT);
  }
  if (sqlite3_step(st) != SQLITE_DONE) return Status::IOError(sqlite3_errmsg(db.get()));
  if (sqlite3_changes(db.get()) != 1) return Status::NotFound("no such row");
  return Status::Ok();
}

}  // namespace

Status DeleteMonitor(const std::string& path, const statd::MonitorKey& key) {
  return Run(path, "DELETE FROM monitors WHERE mon_name = ?1 AND my_name = ?2",
             {key.mon_name, key.my_name});
}

Status DeleteClient(const std::string& path, const std::string& id) {
  return Run(path,
             "DELETE FROM cld_clients WHERE id = ?1 AND epoch = (SELECT current FROM cld_grace)",
             {id});
}

Result<StoreSnapshot> ReadStore(const std::string& path) {
  StoreSnapshot snap;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return snap;
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) {
    return Status::IOError("open " + path + ": " + (raw ? sqlite3_errmsg(raw) : "no memory"));
  }
  std::string integrity;
  NFSREC_RETURN_IF_ERROR(ForEachRow(db.get(), "PRAGMA integrity_check", [&](sqlite3_stmt* s) {
    if (!integrity.empty()) integrity += "; ";
    integrity += reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
  }));
  snap.integrity = integrity;
  // A record's peer state is its latest row of kind 0 in nsm_state_log, if
  // any, else the column (schema version 5: statd/sqlite_nsm_store.cc).
  std::map<int64_t, statd::MonitorKey> by_id;
  NFSREC_RETURN_IF_ERROR(ForEachRow(
      db.get(),
      "SELECT mon_name, my_name, my_prog, my_vers, my_proc, priv, peer_state, id FROM monitors",
      [&](sqlite3_stmt* s) {
        statd::MonitorKey k{Blob(s, 0), Blob(s, 1), sqlite3_column_int(s, 2),
                            sqlite3_column_int(s, 3), sqlite3_column_int(s, 4)};
        MonitorState m;
        std::string priv = Blob(s, 5);
        std::memcpy(m.priv.data(), priv.data(), std::min(priv.size(), m.priv.size()));
        m.peer_state = sqlite3_column_int(s, 6);
        by_id.emplace(sqlite3_column_int64(s, 7), k);
        snap.monitors[k] = m;
      }));
  NFSREC_RETURN_IF_ERROR(ForEachRow(
      db.get(), "SELECT monitor_id, state FROM nsm_state_log WHERE kind = 0 ORDER BY seq",
      [&](sqlite3_stmt* s) {
        auto it = by_id.find(sqlite3_column_int64(s, 0));
        if (it != by_id.end()) snap.monitors[it->second].peer_state = sqlite3_column_int(s, 1);
      }));
  NFSREC_RETURN_IF_ERROR(
      ForEachRow(db.get(), "SELECT count(*) FROM notify_list",
                 [&](sqlite3_stmt* s) { snap.notify_rows = sqlite3_column_int64(s, 0); }));
  NFSREC_RETURN_IF_ERROR(
      ForEachRow(db.get(), "SELECT current, recovery FROM cld_grace", [&](sqlite3_stmt* s) {
        snap.current = sqlite3_column_int64(s, 0);
        snap.recovery = sqlite3_column_int64(s, 1);
      }));
  NFSREC_RETURN_IF_ERROR(
      ForEachRow(db.get(), "SELECT epoch, id FROM cld_clients", [&](sqlite3_stmt* s) {
        int64_t epoch = sqlite3_column_int64(s, 0);
        if (epoch == snap.current) snap.v4_current.insert(Blob(s, 1));
        if (snap.recovery != 0 && epoch == snap.recovery) snap.v4_recovery.insert(Blob(s, 1));
      }));
  return snap;
}

}  // namespace nfsrec::crash
