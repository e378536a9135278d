// SqliteNsmStore and the "nsm" component's schema.
//
// Schema, version 1 (component "nsm" in schema_versions, see common/store/schema.h):
//
//   nsm_state
//     id           INTEGER PRIMARY KEY, CHECK (id = 1)
//     local_state  INTEGER NOT NULL, within int32
//   One row at most: the local NSM state number (reference §1.4).  No row
//   means "never stored" and loads as 0; the service then initialises it.
//   A table rather than a PRAGMA user_version so that it commits in the same
//   group as other NSM writes and leaves user_version to nobody.
//
//   monitors
//     id              INTEGER PRIMARY KEY   surrogate, stable for a key
//     mon_name        BLOB NOT NULL         SM_MON mon_name, bytes as received
//     my_name         BLOB NOT NULL         my_id.my_name, whitespace mapped to '_'
//     my_prog         INTEGER NOT NULL      my_id.my_prog (int32)
//     my_vers         INTEGER NOT NULL      my_id.my_vers (int32)
//     my_proc         INTEGER NOT NULL      my_id.my_proc (int32)
//     priv            BLOB NOT NULL         lockd's cookie, exactly 16 bytes
//     canonical_name  BLOB NOT NULL         resolved name (mon_name if unresolvable)
//     peer_state      INTEGER NOT NULL      last NSM state seen from the peer, 0 = none
//     created         INTEGER NOT NULL      Unix seconds when this key was first stored
//     updated         INTEGER NOT NULL      Unix seconds of the latest PutMonitor
//     UNIQUE (mon_name, my_name, my_prog, my_vers, my_proc)
//   One row per SM_MON key (statd/monitor.h): the kernel and NFS-Ganesha
//   differ in my_vers and one host may run both, so the whole my_id is part
//   of the key.
//
// Why these choices:
//  - Names are BLOBs, with CHECK (typeof(x) = 'blob'): a BLOB is stored and
//    compared byte for byte (memcmp), never re-encoded or cut at a NUL, so
//    any name lockd sends (high bytes, NULs, 1024 bytes) round-trips exactly
//    and keys compare exactly.  TEXT would be subject to UTF-8 assumptions.
//  - priv is CHECKed to 16 bytes on write, and Load still rejects
//    any other length (and any wrong column type) as Corruption, because the
//    file may have been edited by hand or damaged: lockd finds its host by
//    the cookie alone, so a wrong cookie must not be loaded silently.
//  - PutMonitor is an UPSERT (INSERT ... ON CONFLICT DO UPDATE), not
//    INSERT OR REPLACE: REPLACE deletes and re-inserts, which would change
//    `id` and `created` and fire ON DELETE actions in tables that refer to
//    the monitor.  Thus `id` is stable for as long as the key is monitored,
//    and later tables may reference monitors(id).
//  - `updated` lets boot notification try recently used peers first, as
//    sm-notify does with the mtime of sm/ files.
//
// Schema, version 2 (boot notification):
//
//   notify_list
//     the same columns and UNIQUE key as monitors.  The peers to tell that we
//     rebooted (sm-notify's sm.bak/): boot notification moves every monitors
//     row here in one transaction (INSERT ... SELECT, then DELETE FROM
//     monitors); a row is deleted when its peer acknowledges our SM_NOTIFY,
//     and a peer that never answers keeps its row for the next boot.
//   nsm_boot
//     id INTEGER PRIMARY KEY CHECK (id = 1), boot_id TEXT NOT NULL
//   The kernel boot id (/proc/sys/kernel/random/boot_id) of the boot whose
//   notification has been prepared; a daemon restart within that boot sees
//   the same id and neither moves the monitors again nor bumps the state.
//
// Schema, version 3 (lockd callbacks survive a restart):
//
//   monitors.lockd_state, notify_list.lockd_state
//     INTEGER NOT NULL DEFAULT 0: the peer state whose callback lockd
//     acknowledged.  peer_state != lockd_state means a callback is still
//     owed; the daemon re-sends it after a restart.  Existing rows get
//     lockd_state = peer_state (nothing is known to be owed).
//
// Schema, version 4 (the sm/ mirror reads by host):
//
//   INDEX monitors_by_host ON monitors (canonical_name)
//   INDEX notify_by_host ON notify_list (canonical_name)
//   The sm/ mirror (statd/sm_mirror.h) reads the records of one host file
//   at a time, and a whole rewrite walks them host by host, on its own
//   read-only connection (statd/sqlite_mirror_source.h).
//
// Schema, version 5 (a journal of peer and lockd states):
//
//   nsm_state_log
//     seq         INTEGER PRIMARY KEY   append order (rowid: max + 1)
//     monitor_id  INTEGER NOT NULL      monitors.id of the record
//     kind        INTEGER NOT NULL      0: peer_state, 1: lockd_state
//     state       INTEGER NOT NULL      the column's new value, within int32
//   SetPeerStates and SetLockdStates append one row per record here instead
//   of updating monitors in place (why: sqlite_nsm_store.h).  The value of
//   monitors.peer_state (lockd_state) of the record with id X is the state
//   of the row with the highest seq for (X, 0) (for (X, 1)) if there is
//   one, else the column's own value; every reader applies that
//   (kMonitorsWithJournal, and the crash checker in tests/crash).
//   Invariants that keep this true:
//    - a row applies to the record that held its monitor_id when it was
//      appended: writing a whole monitors row (UpsertRecord, for PutMonitor
//      and ImportLegacy) deletes the rows of its id, so the rows of a
//      deleted record never apply to a later one given the same id;
//    - PrepareReboot folds the whole journal before it moves monitors to
//      notify_list; notify_list has no journal;
//    - a fold (FoldThrough) writes the latest state of each (id, kind) up
//      to some seq into monitors and deletes those rows, in one
//      transaction: idle steps of kFoldStep rows (CommitQueue idle work),
//      and, past kJournalCap rows, a step inside each append.
//   No index on monitor_id, on purpose: an append touches only the last
//   page or two of the table, which an index ordered by monitor_id would
//   undo.  Deleting by monitor_id scans the journal, which is empty or
//   small outside a notification storm.
//
// Extending the schema: append a Migration (to_version 6, ...) to
// Migrations(); never edit a shipped one.  A notify-list row stands alone (boot
// notification moves monitors into it in one transaction: INSERT ... SELECT
// FROM monitors, then DELETE FROM monitors), while per-record progress of
// lockd callbacks can reference monitors(id) ON DELETE CASCADE
// (foreign_keys is ON on every connection).
#include "statd/sqlite_nsm_store.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "common/base/logging.h"
#include "common/store/sqlite.h"

namespace nfsrec::statd {
namespace {

using sqlite::Db;
using sqlite::Statement;

// monitors' columns stand again in CreateV2's notify_list (see there).
Status CreateV1(Db& db) {
  return db.Exec(
      "CREATE TABLE nsm_state ("
      " id INTEGER PRIMARY KEY CHECK (id = 1),"
      " local_state INTEGER NOT NULL"
      "  CHECK (local_state BETWEEN -2147483648 AND 2147483647));"
      "CREATE TABLE monitors ("
      " id INTEGER PRIMARY KEY,"
      " mon_name BLOB NOT NULL CHECK (typeof(mon_name) = 'blob'),"
      " my_name BLOB NOT NULL CHECK (typeof(my_name) = 'blob'),"
      " my_prog INTEGER NOT NULL,"
      " my_vers INTEGER NOT NULL,"
      " my_proc INTEGER NOT NULL,"
      " priv BLOB NOT NULL CHECK (typeof(priv) = 'blob' AND length(priv) = 16),"
      " canonical_name BLOB NOT NULL CHECK (typeof(canonical_name) = 'blob'),"
      " peer_state INTEGER NOT NULL DEFAULT 0,"
      " created INTEGER NOT NULL,"
      " updated INTEGER NOT NULL,"
      " UNIQUE (mon_name, my_name, my_prog, my_vers, my_proc));");
}

// notify_list repeats the monitors columns of CreateV1 on purpose: a
// shipped migration is never edited, nor made to depend on shared text.
Status CreateV2(Db& db) {
  return db.Exec(
      "CREATE TABLE notify_list ("
      " id INTEGER PRIMARY KEY,"
      " mon_name BLOB NOT NULL CHECK (typeof(mon_name) = 'blob'),"
      " my_name BLOB NOT NULL CHECK (typeof(my_name) = 'blob'),"
      " my_prog INTEGER NOT NULL,"
      " my_vers INTEGER NOT NULL,"
      " my_proc INTEGER NOT NULL,"
      " priv BLOB NOT NULL CHECK (typeof(priv) = 'blob' AND length(priv) = 16),"
      " canonical_name BLOB NOT NULL CHECK (typeof(canonical_name) = 'blob'),"
      " peer_state INTEGER NOT NULL DEFAULT 0,"
      " created INTEGER NOT NULL,"
      " updated INTEGER NOT NULL,"
      " UNIQUE (mon_name, my_name, my_prog, my_vers, my_proc));"
      "CREATE TABLE nsm_boot ("
      " id INTEGER PRIMARY KEY CHECK (id = 1),"
      " boot_id TEXT NOT NULL);");
}

Status CreateV3(Db& db) {
  return db.Exec(
      "ALTER TABLE monitors ADD COLUMN lockd_state INTEGER NOT NULL DEFAULT 0;"
      "UPDATE monitors SET lockd_state = peer_state;"
      "ALTER TABLE notify_list ADD COLUMN lockd_state INTEGER NOT NULL DEFAULT 0;"
      "UPDATE notify_list SET lockd_state = peer_state;");
}

Status CreateV4(Db& db) {
  return db.Exec(
      "CREATE INDEX monitors_by_host ON monitors (canonical_name);"
      "CREATE INDEX notify_by_host ON notify_list (canonical_name);");
}

Status CreateV5(Db& db) {
  return db.Exec(
      "CREATE TABLE nsm_state_log ("
      " seq INTEGER PRIMARY KEY,"
      " monitor_id INTEGER NOT NULL,"
      " kind INTEGER NOT NULL CHECK (kind IN (0, 1)),"
      " state INTEGER NOT NULL CHECK (state BETWEEN -2147483648 AND 2147483647));");
}

int64_t NowUnixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Binds the five key columns to parameters first..first+4.
Status BindKey(Statement& stmt, int first, const MonitorKey& key) {
  NFSREC_RETURN_IF_ERROR(stmt.BindBlob(first, key.mon_name.data(), key.mon_name.size()));
  NFSREC_RETURN_IF_ERROR(stmt.BindBlob(first + 1, key.my_name.data(), key.my_name.size()));
  NFSREC_RETURN_IF_ERROR(stmt.BindInt(first + 2, key.my_prog));
  NFSREC_RETURN_IF_ERROR(stmt.BindInt(first + 3, key.my_vers));
  return stmt.BindInt(first + 4, key.my_proc);
}

constexpr std::string_view kKeyMatch =
    "mon_name = ?1 AND my_name = ?2 AND my_prog = ?3 AND my_vers = ?4 AND my_proc = ?5";

// Runs `sql` (a statement ending in kKeyMatch, key in ?1..?5) once per key.
CommitQueue::Work ForEachKey(std::string sql, std::vector<MonitorKey> keys) {
  return [sql = std::move(sql), keys = std::move(keys)](Db& db) -> Status {
    NFSREC_ASSIGN_OR_RETURN(Statement * stmt, db.Cached(sql));
    for (const MonitorKey& key : keys) {
      stmt->Reset();
      NFSREC_RETURN_IF_ERROR(BindKey(*stmt, 1, key));
      NFSREC_RETURN_IF_ERROR(stmt->Run());
    }
    return Status::Ok();
  };
}

// nsm_state_log.kind: which monitors column a journal row sets.
enum class StateKind : int { kPeer = 0, kLockd = 1 };

// Rows an idle fold moves into monitors per run, and the journal's length
// past which appends fold too (so that it stays bounded under a write load
// that never pauses).  A step rewrites at most kFoldStep monitors rows in
// one COMMIT (about 16 MB of WAL at worst), the most a unit arriving during
// it waits for; the cap, 2^18 rows (about 4 MB), holds two full storms of
// 10^5 peers (a peer state and a lockd state each) without folding.
constexpr int64_t kFoldStep = 4096;
constexpr int64_t kJournalCap = int64_t{1} << 18;

// Writes the latest journaled state of each (monitor, kind) with seq <=
// `last` into monitors and deletes those journal rows.
Status FoldThrough(Db& db, int64_t last) {
  constexpr std::pair<StateKind, const char*> kColumns[] = {{StateKind::kPeer, "peer_state"},
                                                            {StateKind::kLockd, "lockd_state"}};
  for (const auto& [kind, column] : kColumns) {
    NFSREC_ASSIGN_OR_RETURN(
        Statement * fold,
        db.Cached(StrCat("UPDATE monitors SET ", column,
                         " = j.state FROM (SELECT monitor_id, state, max(seq)"
                         " FROM nsm_state_log WHERE kind = ?1 AND seq <= ?2 GROUP BY monitor_id)"
                         " AS j WHERE monitors.id = j.monitor_id")));
    NFSREC_RETURN_IF_ERROR(fold->BindInt(1, static_cast<int>(kind)));
    NFSREC_RETURN_IF_ERROR(fold->BindInt(2, last));
    NFSREC_RETURN_IF_ERROR(fold->Run());
  }
  NFSREC_ASSIGN_OR_RETURN(Statement * drop, db.Cached("DELETE FROM nsm_state_log WHERE seq <= ?1"));
  NFSREC_RETURN_IF_ERROR(drop->BindInt(1, last));
  return drop->Run();
}

// The seq of `sql` (one row of nsm_state_log), or nullopt if it is empty.
Result<std::optional<int64_t>> JournalEnd(Db& db, const char* sql) {
  NFSREC_ASSIGN_OR_RETURN(Statement * end, db.Cached(sql));
  NFSREC_ASSIGN_OR_RETURN(bool row, end->Step());
  if (!row) return std::optional<int64_t>();
  const int64_t seq = end->ColumnInt(0);
  end->Reset();
  return std::optional<int64_t>(seq);
}

// The first and last seq of the journal; {0, -1} when it is empty.  Two
// rowid look-ups (ORDER BY seq LIMIT 1), never a scan: every append asks.
Result<std::pair<int64_t, int64_t>> JournalSpan(Db& db) {
  NFSREC_ASSIGN_OR_RETURN(std::optional<int64_t> first,
                          JournalEnd(db, "SELECT seq FROM nsm_state_log ORDER BY seq ASC LIMIT 1"));
  if (!first) return std::pair<int64_t, int64_t>{0, -1};
  NFSREC_ASSIGN_OR_RETURN(
      std::optional<int64_t> last,
      JournalEnd(db, "SELECT seq FROM nsm_state_log ORDER BY seq DESC LIMIT 1"));
  return std::pair<int64_t, int64_t>{*first, last.value_or(*first)};
}

// One fold of at most `rows` journal rows, oldest first.  True if rows are
// left after it.
Result<bool> FoldStep(Db& db, int64_t rows) {
  NFSREC_ASSIGN_OR_RETURN(auto span, JournalSpan(db));
  if (span.second < span.first) return false;
  const int64_t last = std::min(span.second, span.first + rows - 1);
  NFSREC_RETURN_IF_ERROR(FoldThrough(db, last));
  return last < span.second;
}

// Deletes the journal rows of the monitors record with `key` (about to be,
// or just, written whole).
Status DropJournaled(Db& db, const MonitorKey& key) {
  NFSREC_ASSIGN_OR_RETURN(Statement * drop,
                          db.Cached(StrCat("DELETE FROM nsm_state_log WHERE monitor_id ="
                                           " (SELECT id FROM monitors WHERE ",
                                           kKeyMatch, ")")));
  NFSREC_RETURN_IF_ERROR(BindKey(*drop, 1, key));
  return drop->Run();
}

// Appends a journal row of `kind` per key that has a monitors record (keys
// without one are skipped: SM_UNMON may have removed it meanwhile).  Past
// kJournalCap rows, also folds twice as many as it appended.
CommitQueue::Work AppendStates(StateKind kind, std::vector<std::pair<MonitorKey, int32_t>> values) {
  return [kind, values = std::move(values)](Db& db) -> Status {
    NFSREC_ASSIGN_OR_RETURN(Statement * append,
                            db.Cached(StrCat("INSERT INTO nsm_state_log (monitor_id, kind, state)"
                                             " SELECT id, ?6, ?7 FROM monitors WHERE ",
                                             kKeyMatch)));
    for (const auto& [key, value] : values) {
      append->Reset();
      NFSREC_RETURN_IF_ERROR(BindKey(*append, 1, key));
      NFSREC_RETURN_IF_ERROR(append->BindInt(6, static_cast<int>(kind)));
      NFSREC_RETURN_IF_ERROR(append->BindInt(7, value));
      NFSREC_RETURN_IF_ERROR(append->Run());
    }
    NFSREC_ASSIGN_OR_RETURN(auto span, JournalSpan(db));
    if (span.second - span.first + 1 > kJournalCap) {
      NFSREC_RETURN_IF_ERROR(FoldStep(db, 2 * static_cast<int64_t>(values.size())).status());
    }
    return Status::Ok();
  };
}

Result<std::string> BlobColumn(const Statement& stmt, int col, const char* name) {
  if (stmt.ColumnType(col) != SQLITE_BLOB) {
    return Status::Corruption(std::string("monitors.") + name + " is not a BLOB");
  }
  sqlite::Blob b = stmt.ColumnBlob(col);
  return std::string(b.begin(), b.end());
}

Result<int32_t> Int32Column(const Statement& stmt, int col, const char* name) {
  int64_t v = stmt.ColumnInt(col);
  if (stmt.ColumnType(col) != SQLITE_INTEGER || v < INT32_MIN || v > INT32_MAX) {
    return Status::Corruption(std::string(name) + " is not a 32-bit integer");
  }
  return static_cast<int32_t>(v);
}

// Reads one monitors or notify_list row selected as in ReadState.
Result<MonitorRecord> ReadMonitor(const Statement& stmt) {
  MonitorRecord r;
  NFSREC_ASSIGN_OR_RETURN(r.key.mon_name, BlobColumn(stmt, 0, "mon_name"));
  NFSREC_ASSIGN_OR_RETURN(r.key.my_name, BlobColumn(stmt, 1, "my_name"));
  NFSREC_ASSIGN_OR_RETURN(r.key.my_prog, Int32Column(stmt, 2, "monitors.my_prog"));
  NFSREC_ASSIGN_OR_RETURN(r.key.my_vers, Int32Column(stmt, 3, "monitors.my_vers"));
  NFSREC_ASSIGN_OR_RETURN(r.key.my_proc, Int32Column(stmt, 4, "monitors.my_proc"));
  if (stmt.ColumnType(5) != SQLITE_BLOB) return Status::Corruption("monitors.priv is not a BLOB");
  sqlite::Blob priv = stmt.ColumnBlob(5);
  if (priv.size() != kCookieSize) {
    return Status::Corruption("monitors.priv is " + std::to_string(priv.size()) + " bytes, not " +
                              std::to_string(kCookieSize));
  }
  std::copy(priv.begin(), priv.end(), r.priv.begin());
  NFSREC_ASSIGN_OR_RETURN(r.canonical_name, BlobColumn(stmt, 6, "canonical_name"));
  NFSREC_ASSIGN_OR_RETURN(r.peer_state, Int32Column(stmt, 7, "monitors.peer_state"));
  NFSREC_ASSIGN_OR_RETURN(r.lockd_state, Int32Column(stmt, 8, "monitors.lockd_state"));
  return r;
}

// Inserts `record` into `table` (monitors or notify_list, same columns), or
// updates the record with its key.
Status UpsertRecord(Db& db, std::string_view table, const MonitorRecord& record, int64_t now) {
  NFSREC_ASSIGN_OR_RETURN(
      Statement * stmt,
      db.Cached(StrCat("INSERT INTO ", table,
                       " (mon_name, my_name, my_prog, my_vers, my_proc,"
                       " priv, canonical_name, peer_state, created, updated, lockd_state)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10)"
                       " ON CONFLICT (mon_name, my_name, my_prog, my_vers, my_proc) DO UPDATE SET"
                       " priv = excluded.priv, canonical_name = excluded.canonical_name,"
                       " peer_state = excluded.peer_state, updated = excluded.updated,"
                       " lockd_state = excluded.lockd_state")));
  Statement& s = *stmt;
  NFSREC_RETURN_IF_ERROR(BindKey(s, 1, record.key));
  NFSREC_RETURN_IF_ERROR(s.BindBlob(6, record.priv.data(), record.priv.size()));
  NFSREC_RETURN_IF_ERROR(s.BindBlob(7, record.canonical_name.data(), record.canonical_name.size()));
  NFSREC_RETURN_IF_ERROR(s.BindInt(8, record.peer_state));
  NFSREC_RETURN_IF_ERROR(s.BindInt(9, now));
  NFSREC_RETURN_IF_ERROR(s.BindInt(10, record.lockd_state));
  return s.Run();
}

// The stored local state; 0 if none.
Result<int32_t> StoredLocalState(Db& db) {
  NFSREC_ASSIGN_OR_RETURN(Statement * stmt,
                          db.Cached("SELECT local_state FROM nsm_state WHERE id = 1"));
  NFSREC_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return 0;
  Result<int32_t> v = Int32Column(*stmt, 0, "nsm_state.local_state");
  stmt->Reset();
  return v;
}

// Never lowers the stored number (NsmStore contract).
Status StoreLocalState(Db& db, int32_t state) {
  NFSREC_ASSIGN_OR_RETURN(
      Statement * stmt,
      db.Cached(
          "INSERT INTO nsm_state (id, local_state) VALUES (1, ?1)"
          " ON CONFLICT (id) DO UPDATE SET local_state = max(local_state, excluded.local_state)"));
  NFSREC_RETURN_IF_ERROR(stmt->BindInt(1, state));
  return stmt->Run();
}

// Hands the rows of `select_sql` (columns as ReadMonitor reads them) to
// `sink` as records of `list`.
Status ReadRecords(Db& db, const char* select_sql, NsmList list, NsmLoadSink& sink) {
  NFSREC_ASSIGN_OR_RETURN(Statement * stmt, db.Cached(select_sql));
  for (;;) {
    NFSREC_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) return Status::Ok();
    Result<MonitorRecord> r = ReadMonitor(*stmt);
    Status added = r.ok() ? sink.Add(list, std::move(r).value()) : r.status();
    if (!added.ok()) {
      stmt->Reset();
      return added;
    }
  }
}

// The monitors rows as ReadMonitor reads them, with the states of
// nsm_state_log applied (schema version 5), in insertion order.
constexpr const char* kMonitorsWithJournal =
    "SELECT m.mon_name, m.my_name, m.my_prog, m.my_vers, m.my_proc, m.priv, m.canonical_name,"
    " coalesce(p.state, m.peer_state), coalesce(l.state, m.lockd_state) FROM monitors AS m"
    " LEFT JOIN (SELECT monitor_id, state, max(seq) FROM nsm_state_log WHERE kind = 0"
    "  GROUP BY monitor_id) AS p ON p.monitor_id = m.id"
    " LEFT JOIN (SELECT monitor_id, state, max(seq) FROM nsm_state_log WHERE kind = 1"
    "  GROUP BY monitor_id) AS l ON l.monitor_id = m.id"
    " ORDER BY m.id";
// The same for a database of version 4 or older (no journal), which
// ReadOffline may meet: nfsrecctl upgraded while the daemon that has not
// migrated its database yet still runs.
constexpr const char* kMonitorsBeforeJournal =
    "SELECT mon_name, my_name, my_prog, my_vers, my_proc, priv, canonical_name, peer_state,"
    " lockd_state FROM monitors ORDER BY id";
constexpr int kJournalVersion = 5;

Result<NsmLoadInfo> ReadState(Db& db, NsmLoadSink& sink) {
  NsmLoadInfo info;
  NFSREC_ASSIGN_OR_RETURN(info.local_state, StoredLocalState(db));
  NFSREC_ASSIGN_OR_RETURN(const int version, SchemaVersion(db, SqliteNsmStore::kComponent));
  // For the sink's reservations (a vector grown by doubling would move
  // 100,000 records 17 times, the last time with both arrays held).
  NFSREC_ASSIGN_OR_RETURN(const int64_t monitors, db.QueryInt("SELECT count(*) FROM monitors"));
  NFSREC_ASSIGN_OR_RETURN(const int64_t notify, db.QueryInt("SELECT count(*) FROM notify_list"));
  sink.Expect(static_cast<size_t>(monitors), static_cast<size_t>(notify));
  NFSREC_RETURN_IF_ERROR(
      ReadRecords(db, version >= kJournalVersion ? kMonitorsWithJournal : kMonitorsBeforeJournal,
                  NsmList::kMonitors, sink));
  // Most recently used peers first, as sm-notify orders by file mtime.
  NFSREC_RETURN_IF_ERROR(ReadRecords(
      db,
      "SELECT mon_name, my_name, my_prog, my_vers, my_proc, priv, canonical_name, peer_state,"
      " lockd_state FROM notify_list ORDER BY updated DESC, id",
      NsmList::kNotify, sink));
  NFSREC_ASSIGN_OR_RETURN(Statement * boot, db.Cached("SELECT boot_id FROM nsm_boot WHERE id = 1"));
  NFSREC_ASSIGN_OR_RETURN(bool row, boot->Step());
  if (row) {
    info.boot_id = boot->ColumnText(0);
    boot->Reset();
  }
  return info;
}

}  // namespace

const std::vector<Migration>& SqliteNsmStore::Migrations() {
  static const std::vector<Migration> kMigrations = {
      {1, CreateV1}, {2, CreateV2}, {3, CreateV3}, {4, CreateV4}, {5, CreateV5},
  };
  return kMigrations;
}

Result<NsmSnapshot> SqliteNsmStore::ReadOffline(Db& db) {
  NsmSnapshotSink sink;
  NFSREC_ASSIGN_OR_RETURN(NsmLoadInfo info, ReadState(db, sink));
  return sink.Take(std::move(info));
}

Result<std::unique_ptr<SqliteNsmStore>> SqliteNsmStore::Open(CommitQueue& queue) {
  NFSREC_RETURN_IF_ERROR(
      queue.RunSync([](Db& db) { return ApplyMigrations(db, kComponent, Migrations()); }));
  queue.SetIdleWork(kComponent, [](Db& db) { return FoldStep(db, kFoldStep); });
  return std::unique_ptr<SqliteNsmStore>(new SqliteNsmStore(queue));
}

void SqliteNsmStore::Submit(CommitQueue::Work work, Done done) {
  queue_.Submit(std::move(work), std::move(done));
}

void SqliteNsmStore::LoadInto(std::shared_ptr<NsmLoadSink> sink, LoadIntoDone done) {
  queue_.SubmitWithResult<NsmLoadInfo>([sink](Db& db) { return ReadState(db, *sink); },
                                       [done = std::move(done)](Result<NsmLoadInfo> r) mutable {
                                         if (!r.ok())
                                           return done(r.status().WithContext("load NSM state"));
                                         done(std::move(r));
                                       });
}

void SqliteNsmStore::PrepareReboot(bool move_monitors, int32_t state, const std::string& boot_id,
                                   Done done) {
  Submit(
      [move_monitors, state, boot_id](Db& db) -> Status {
        if (move_monitors) {
          // The notify list has no journal: the states move folded.
          NFSREC_ASSIGN_OR_RETURN(auto span, JournalSpan(db));
          if (span.second >= span.first) NFSREC_RETURN_IF_ERROR(FoldThrough(db, span.second));
          NFSREC_ASSIGN_OR_RETURN(
              Statement * move,
              db.Cached(
                  "INSERT INTO notify_list (mon_name, my_name, my_prog, my_vers, my_proc, priv,"
                  " canonical_name, peer_state, created, updated, lockd_state)"
                  " SELECT mon_name, my_name, my_prog, my_vers, my_proc, priv, canonical_name,"
                  " peer_state, created, updated, lockd_state FROM monitors WHERE true"
                  " ON CONFLICT (mon_name, my_name, my_prog, my_vers, my_proc) DO UPDATE SET"
                  " priv = excluded.priv, canonical_name = excluded.canonical_name,"
                  " peer_state = excluded.peer_state, updated = excluded.updated,"
                  " lockd_state = excluded.lockd_state"));
          NFSREC_RETURN_IF_ERROR(move->Run());
          NFSREC_ASSIGN_OR_RETURN(Statement * clear, db.Cached("DELETE FROM monitors"));
          NFSREC_RETURN_IF_ERROR(clear->Run());
        }
        NFSREC_RETURN_IF_ERROR(StoreLocalState(db, state));
        NFSREC_ASSIGN_OR_RETURN(
            Statement * set_boot,
            db.Cached("INSERT INTO nsm_boot (id, boot_id) VALUES (1, ?1)"
                      " ON CONFLICT (id) DO UPDATE SET boot_id = excluded.boot_id"));
        NFSREC_RETURN_IF_ERROR(set_boot->BindText(1, boot_id));
        return set_boot->Run();
      },
      std::move(done));
}

void SqliteNsmStore::PutMonitor(const MonitorRecord& record, Done done) {
  Submit(
      [record, now = NowUnixSeconds()](Db& db) -> Status {
        NFSREC_RETURN_IF_ERROR(UpsertRecord(db, "monitors", record, now));
        return DropJournaled(db, record.key);
      },
      std::move(done));
}

void SqliteNsmStore::ImportLegacy(int32_t state, const std::vector<MonitorRecord>& monitors,
                                  const std::vector<MonitorRecord>& notify,
                                  Callback<void(Result<bool>)> done) {
  queue_.SubmitWithResult<bool>(
      [state, monitors, notify, now = NowUnixSeconds()](Db& db) -> Result<bool> {
        NFSREC_ASSIGN_OR_RETURN(int32_t stored, StoredLocalState(db));
        if (stored > 0) return false;  // another process took over first
        for (const MonitorRecord& r : monitors) {
          NFSREC_RETURN_IF_ERROR(UpsertRecord(db, "monitors", r, now));
          NFSREC_RETURN_IF_ERROR(DropJournaled(db, r.key));
        }
        for (const MonitorRecord& r : notify) {
          NFSREC_RETURN_IF_ERROR(UpsertRecord(db, "notify_list", r, now));
        }
        NFSREC_RETURN_IF_ERROR(StoreLocalState(db, state));
        return true;
      },
      std::move(done));
}

void SqliteNsmStore::DeleteMonitors(const std::vector<MonitorKey>& keys, Done done) {
  Submit(ForEachKey(std::string("DELETE FROM monitors WHERE ").append(kKeyMatch), keys),
         std::move(done));
}

void SqliteNsmStore::DeleteNotified(const std::vector<MonitorKey>& keys, Done done) {
  Submit(ForEachKey(std::string("DELETE FROM notify_list WHERE ").append(kKeyMatch), keys),
         std::move(done));
}

void SqliteNsmStore::SetPeerStates(const std::vector<std::pair<MonitorKey, int32_t>>& states,
                                   Done done) {
  Submit(AppendStates(StateKind::kPeer, states), std::move(done));
}

void SqliteNsmStore::SetLockdStates(const std::vector<std::pair<MonitorKey, int32_t>>& states,
                                    Done done) {
  Submit(AppendStates(StateKind::kLockd, states), std::move(done));
}

void SqliteNsmStore::SetLocalState(int32_t state, Done done) {
  Submit([state](Db& db) { return StoreLocalState(db, state); }, std::move(done));
}

}  // namespace nfsrec::statd
