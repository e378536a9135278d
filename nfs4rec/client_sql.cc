#include "nfs4rec/client_sql.h"

#include <utility>

#include "common/base/logging.h"

namespace nfsrec::nfs4rec::client_sql {
namespace {

Status MigrateV1(sqlite::Db& db) {
  return db.Exec(
      "CREATE TABLE cld_grace ("
      " id INTEGER PRIMARY KEY CHECK (id = 1),"
      " current INTEGER NOT NULL,"
      " recovery INTEGER NOT NULL);"
      "INSERT INTO cld_grace (id, current, recovery) VALUES (1, 1, 0);"
      "CREATE TABLE cld_clients ("
      " epoch INTEGER NOT NULL,"
      " id BLOB NOT NULL,"
      " princhash BLOB,"
      " has_session INTEGER,"
      " time INTEGER NOT NULL,"
      " PRIMARY KEY (epoch, id)) WITHOUT ROWID;");
}

Status MigrateV2(sqlite::Db& db) {
  return db.Exec("ALTER TABLE cld_clients ADD COLUMN lease_expired INTEGER NOT NULL DEFAULT 0;");
}

Status SetEpochs(sqlite::Db& db, const Epochs& e) {
  NFSREC_ASSIGN_OR_RETURN(
      sqlite::Statement * st,
      db.Cached("UPDATE cld_grace SET current = ?1, recovery = ?2 WHERE id = 1"));
  NFSREC_RETURN_IF_ERROR(st->BindInt(1, static_cast<int64_t>(e.current)));
  NFSREC_RETURN_IF_ERROR(st->BindInt(2, static_cast<int64_t>(e.recovery)));
  Status s = st->Run();
  st->Reset();
  return s;
}

Status DeleteEpoch(sqlite::Db& db, uint64_t epoch, uint64_t* deleted) {
  NFSREC_ASSIGN_OR_RETURN(sqlite::Statement * st,
                          db.Cached("DELETE FROM cld_clients WHERE epoch = ?1"));
  NFSREC_RETURN_IF_ERROR(st->BindInt(1, static_cast<int64_t>(epoch)));
  Status s = st->Run();
  st->Reset();
  if (s.ok() && deleted != nullptr) *deleted = static_cast<uint64_t>(db.Changes());
  return s;
}

std::string BlobToString(const sqlite::Blob& b) { return std::string(b.begin(), b.end()); }

// The rows of a bound statement that selects id, princhash, has_session,
// time, lease_expired, in that order; the statement is reset after.
Result<std::vector<ClientRecord>> StepRecords(sqlite::Statement& s) {
  std::vector<ClientRecord> out;
  for (;;) {
    // A failed Step leaves the statement reset.
    NFSREC_ASSIGN_OR_RETURN(const bool row, s.Step());
    if (!row) break;
    ClientRecord r;
    r.id = BlobToString(s.ColumnBlob(0));
    if (!s.ColumnIsNull(1)) r.princhash = BlobToString(s.ColumnBlob(1));
    if (!s.ColumnIsNull(2)) r.has_session = s.ColumnInt(2) != 0;
    r.time = s.ColumnInt(3);
    r.lease_expired = s.ColumnInt(4) != 0;
    out.push_back(std::move(r));
  }
  s.Reset();
  return out;
}

}  // namespace

const std::vector<Migration>& Migrations() {
  static const std::vector<Migration> kMigrations = {
      {1, &MigrateV1},
      {2, &MigrateV2},
  };
  return kMigrations;
}

Result<Epochs> ReadEpochs(sqlite::Db& db) {
  NFSREC_ASSIGN_OR_RETURN(sqlite::Statement * st,
                          db.Cached("SELECT current, recovery FROM cld_grace WHERE id = 1"));
  NFSREC_ASSIGN_OR_RETURN(const bool row, st->Step());
  if (!row) return Status::Corruption("cld_grace has no row");
  int64_t cur = st->ColumnInt(0);
  int64_t rec = st->ColumnInt(1);
  st->Reset();
  if (cur <= 0 || rec < 0 || rec >= cur) {
    return Status::Corruption(
        StrCat("cld_grace holds impossible epochs current=", cur, " recovery=", rec));
  }
  return Epochs{static_cast<uint64_t>(cur), static_cast<uint64_t>(rec)};
}

Result<std::vector<ClientRecord>> ReadClients(sqlite::Db& db, uint64_t epoch) {
  NFSREC_ASSIGN_OR_RETURN(
      sqlite::Statement * st,
      db.Cached("SELECT id, princhash, has_session, time, lease_expired FROM cld_clients"
                " WHERE epoch = ?1 ORDER BY id"));
  sqlite::Statement& s = *st;
  NFSREC_RETURN_IF_ERROR(s.BindInt(1, static_cast<int64_t>(epoch)));
  return StepRecords(s);
}

Result<bool> HasClient(sqlite::Db& db, uint64_t epoch, const std::string& id) {
  NFSREC_ASSIGN_OR_RETURN(
      sqlite::Statement * st,
      db.Cached("SELECT count(*) FROM cld_clients WHERE epoch = ?1 AND id = ?2"));
  sqlite::Statement& s = *st;
  NFSREC_RETURN_IF_ERROR(s.BindInt(1, static_cast<int64_t>(epoch)));
  NFSREC_RETURN_IF_ERROR(s.BindBlob(2, id.data(), id.size()));
  NFSREC_ASSIGN_OR_RETURN(const bool row, s.Step());
  bool found = row && s.ColumnInt(0) > 0;
  s.Reset();
  return found;
}

Result<GraceStartResult> StartGrace(sqlite::Db& db) {
  NFSREC_ASSIGN_OR_RETURN(GraceStartResult out, OpenGrace(db));
  NFSREC_ASSIGN_OR_RETURN(out.reclaimable, ReadClients(db, out.epochs.recovery));
  return out;
}

Result<GraceStartResult> OpenGrace(sqlite::Db& db) {
  NFSREC_ASSIGN_OR_RETURN(const Epochs before, ReadEpochs(db));
  GraceStartResult out;
  if (before.in_grace()) {
    // Rebooted during grace: the recovery epoch still lists every client
    // that may reclaim; only what was written since that GraceStart goes.
    out.kept_recovery = true;
    out.epochs = before;
    NFSREC_RETURN_IF_ERROR(DeleteEpoch(db, before.current, nullptr));
  } else {
    out.epochs = Epochs{before.current + 1, before.current};
    NFSREC_RETURN_IF_ERROR(SetEpochs(db, out.epochs));
  }
  return out;
}

Status PutClient(sqlite::Db& db, uint64_t epoch, const ClientRecord& r) {
  NFSREC_ASSIGN_OR_RETURN(
      sqlite::Statement * st,
      db.Cached("INSERT OR REPLACE INTO cld_clients"
                " (epoch, id, princhash, has_session, time, lease_expired)"
                " VALUES (?1, ?2, ?3, ?4, CAST(strftime('%s', 'now') AS INTEGER), ?5)"));
  sqlite::Statement& s = *st;
  NFSREC_RETURN_IF_ERROR(s.BindInt(1, static_cast<int64_t>(epoch)));
  NFSREC_RETURN_IF_ERROR(s.BindBlob(2, r.id.data(), r.id.size()));
  if (r.princhash.empty()) {
    NFSREC_RETURN_IF_ERROR(s.BindNull(3));
  } else {
    NFSREC_RETURN_IF_ERROR(s.BindBlob(3, r.princhash.data(), r.princhash.size()));
  }
  if (r.has_session.has_value()) {
    NFSREC_RETURN_IF_ERROR(s.BindInt(4, *r.has_session ? 1 : 0));
  } else {
    NFSREC_RETURN_IF_ERROR(s.BindNull(4));
  }
  NFSREC_RETURN_IF_ERROR(s.BindInt(5, r.lease_expired ? 1 : 0));
  Status result = s.Run();
  s.Reset();
  return result;
}

Status RemoveClient(sqlite::Db& db, uint64_t epoch, const std::string& id) {
  NFSREC_ASSIGN_OR_RETURN(sqlite::Statement * st,
                          db.Cached("DELETE FROM cld_clients WHERE epoch = ?1 AND id = ?2"));
  sqlite::Statement& s = *st;
  NFSREC_RETURN_IF_ERROR(s.BindInt(1, static_cast<int64_t>(epoch)));
  NFSREC_RETURN_IF_ERROR(s.BindBlob(2, id.data(), id.size()));
  Status result = s.Run();
  s.Reset();
  return result;
}

Result<ReclaimOutcome> Reclaim(sqlite::Db& db, const Epochs& epochs, const std::string& id,
                               bool copy_to_current) {
  NFSREC_ASSIGN_OR_RETURN(const bool in_current, HasClient(db, epochs.current, id));
  if (in_current) return ReclaimOutcome::kAlreadyCurrent;
  if (!epochs.in_grace()) return ReclaimOutcome::kNotFound;
  NFSREC_ASSIGN_OR_RETURN(const bool in_recovery, HasClient(db, epochs.recovery, id));
  if (!in_recovery) return ReclaimOutcome::kNotFound;
  if (copy_to_current) {
    NFSREC_ASSIGN_OR_RETURN(
        sqlite::Statement * st,
        db.Cached("INSERT OR REPLACE INTO cld_clients (epoch, id, princhash, has_session, time)"
                  " SELECT ?1, id, princhash, has_session, CAST(strftime('%s', 'now') AS INTEGER)"
                  " FROM cld_clients WHERE epoch = ?2 AND id = ?3"));
    sqlite::Statement& s = *st;
    NFSREC_RETURN_IF_ERROR(s.BindInt(1, static_cast<int64_t>(epochs.current)));
    NFSREC_RETURN_IF_ERROR(s.BindInt(2, static_cast<int64_t>(epochs.recovery)));
    NFSREC_RETURN_IF_ERROR(s.BindBlob(3, id.data(), id.size()));
    Status result = s.Run();
    s.Reset();
    NFSREC_RETURN_IF_ERROR(result);
  }
  return ReclaimOutcome::kReclaimed;
}

Result<EndGraceResult> EndGrace(sqlite::Db& db) {
  NFSREC_ASSIGN_OR_RETURN(const Epochs before, ReadEpochs(db));
  EndGraceResult out;
  out.was_in_grace = before.in_grace();
  out.epochs = Epochs{before.current, 0};
  // Also sweeps rows of any epoch that is neither current nor recovery; a
  // whole-transaction epoch switch never leaves such rows, a hand-edited
  // database might.
  NFSREC_ASSIGN_OR_RETURN(sqlite::Statement * st,
                          db.Cached("DELETE FROM cld_clients WHERE epoch <> ?1"));
  NFSREC_RETURN_IF_ERROR(st->BindInt(1, static_cast<int64_t>(before.current)));
  Status s = st->Run();
  st->Reset();
  NFSREC_RETURN_IF_ERROR(s);
  out.dropped = static_cast<uint64_t>(db.Changes());
  if (out.was_in_grace) NFSREC_RETURN_IF_ERROR(SetEpochs(db, out.epochs));
  return out;
}

Status SetLeaseExpired(sqlite::Db& db, uint64_t epoch, const std::string& id, bool expired) {
  NFSREC_ASSIGN_OR_RETURN(
      sqlite::Statement * st,
      db.Cached("UPDATE cld_clients SET lease_expired = ?3 WHERE epoch = ?1 AND id = ?2"));
  sqlite::Statement& s = *st;
  NFSREC_RETURN_IF_ERROR(s.BindInt(1, static_cast<int64_t>(epoch)));
  NFSREC_RETURN_IF_ERROR(s.BindBlob(2, id.data(), id.size()));
  NFSREC_RETURN_IF_ERROR(s.BindInt(3, expired ? 1 : 0));
  Status result = s.Run();
  s.Reset();
  return result;
}

Result<bool> AllReclaimedWithSessions(sqlite::Db& db, const Epochs& epochs) {
  if (!epochs.in_grace()) return false;
  NFSREC_ASSIGN_OR_RETURN(
      sqlite::Statement * st,
      db.Cached("SELECT"
                " (SELECT count(*) FROM cld_clients r WHERE r.epoch = ?2 AND NOT EXISTS"
                "   (SELECT 1 FROM cld_clients c WHERE c.epoch = ?1 AND c.id = r.id))"
                " + (SELECT count(*) FROM cld_clients WHERE epoch = ?1"
                "    AND (has_session IS NULL OR has_session <> 1))"));
  sqlite::Statement& s = *st;
  NFSREC_RETURN_IF_ERROR(s.BindInt(1, static_cast<int64_t>(epochs.current)));
  NFSREC_RETURN_IF_ERROR(s.BindInt(2, static_cast<int64_t>(epochs.recovery)));
  NFSREC_ASSIGN_OR_RETURN(const bool row, s.Step());
  bool done = row && s.ColumnInt(0) == 0;
  s.Reset();
  return done;
}

Result<std::vector<ClientRecord>> ReadClientsAfter(sqlite::Db& db, uint64_t epoch,
                                                   const std::optional<std::string>& after,
                                                   size_t limit) {
  NFSREC_ASSIGN_OR_RETURN(
      sqlite::Statement * st,
      db.Cached(after ? "SELECT id, princhash, has_session, time, lease_expired FROM cld_clients"
                        " WHERE epoch = ?1 AND id > ?2 ORDER BY id LIMIT ?3"
                      : "SELECT id, princhash, has_session, time, lease_expired FROM cld_clients"
                        " WHERE epoch = ?1 ORDER BY id LIMIT ?3"));
  sqlite::Statement& s = *st;
  NFSREC_RETURN_IF_ERROR(s.BindInt(1, static_cast<int64_t>(epoch)));
  if (after) NFSREC_RETURN_IF_ERROR(s.BindBlob(2, after->data(), after->size()));
  NFSREC_RETURN_IF_ERROR(s.BindInt(3, static_cast<int64_t>(limit)));
  return StepRecords(s);
}

Result<int64_t> CountClients(sqlite::Db& db, uint64_t epoch) {
  NFSREC_ASSIGN_OR_RETURN(sqlite::Statement * st,
                          db.Cached("SELECT count(*) FROM cld_clients WHERE epoch = ?1"));
  NFSREC_RETURN_IF_ERROR(st->BindInt(1, static_cast<int64_t>(epoch)));
  NFSREC_ASSIGN_OR_RETURN(const bool row, st->Step());
  const int64_t n = row ? st->ColumnInt(0) : 0;
  st->Reset();
  return n;
}

Status ForEachClientId(sqlite::Db& db, uint64_t epoch,
                       const std::function<void(std::string_view id)>& visit) {
  NFSREC_ASSIGN_OR_RETURN(sqlite::Statement * st,
                          db.Cached("SELECT id FROM cld_clients WHERE epoch = ?1"));
  sqlite::Statement& s = *st;
  NFSREC_RETURN_IF_ERROR(s.BindInt(1, static_cast<int64_t>(epoch)));
  for (;;) {
    // A failed Step leaves the statement reset.
    NFSREC_ASSIGN_OR_RETURN(const bool row, s.Step());
    if (!row) break;
    const sqlite::Blob id = s.ColumnBlob(0);
    visit(std::string_view(reinterpret_cast<const char*>(id.data()), id.size()));
  }
  s.Reset();
  return Status::Ok();
}

Result<std::vector<std::string>> ReadLeaseExpiredIds(sqlite::Db& db, uint64_t epoch) {
  NFSREC_ASSIGN_OR_RETURN(
      sqlite::Statement * st,
      db.Cached("SELECT id FROM cld_clients WHERE epoch = ?1 AND lease_expired != 0"));
  sqlite::Statement& s = *st;
  NFSREC_RETURN_IF_ERROR(s.BindInt(1, static_cast<int64_t>(epoch)));
  std::vector<std::string> out;
  for (;;) {
    NFSREC_ASSIGN_OR_RETURN(const bool row, s.Step());
    if (!row) break;
    out.push_back(BlobToString(s.ColumnBlob(0)));
  }
  s.Reset();
  return out;
}

}  // namespace nfsrec::nfs4rec::client_sql
