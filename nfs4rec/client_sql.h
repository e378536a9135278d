// The "cld" component of the shared SQLite database: schema and statements.
// Shared by SqliteClientStore (inside group-commit units) and by the
// nfsdcltrack-compatible helper (inside its own BEGIN IMMEDIATE
// transactions), so the SQL exists once.
//
// Schema (component "cld", version 2):
//
//   CREATE TABLE cld_grace (
//     id       INTEGER PRIMARY KEY CHECK (id = 1),   -- exactly one row
//     current  INTEGER NOT NULL,                     -- epoch receiving Creates
//     recovery INTEGER NOT NULL);                    -- 0 = not in grace
//   INSERT INTO cld_grace VALUES (1, 1, 0);
//
//   CREATE TABLE cld_clients (
//     epoch       INTEGER NOT NULL,   -- cld_grace.current or .recovery
//     id          BLOB NOT NULL,      -- raw client owner, 1..1024 bytes
//     princhash   BLOB,               -- 32-byte SHA-256 or NULL
//     has_session INTEGER,            -- 1/0 from the helper; NULL = unknown
//     time        INTEGER NOT NULL,   -- unix seconds of the last write
//     PRIMARY KEY (epoch, id)) WITHOUT ROWID;
//
// Version 2 (grace length, docs/nfs4rec.md "Who is offered at GraceStart"):
//
//   ALTER TABLE cld_clients
//     ADD COLUMN lease_expired INTEGER NOT NULL DEFAULT 0;
//       -- 1: the last reconciliation saw the client courtesy or expirable;
//       -- written only by SetLeaseExpired, 0 on every other write
//
// Epochs are rows, not tables: GraceStart is an UPDATE of cld_grace, not a
// CREATE TABLE, and GraceDone one DELETE.  Every function below expects to
// run inside a transaction (or savepoint) and reads the epochs itself.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/store/schema.h"
#include "common/store/sqlite.h"
#include "nfs4rec/client_store.h"

namespace nfsrec::nfs4rec::client_sql {

inline constexpr char kComponent[] = "cld";

const std::vector<Migration>& Migrations();

Result<Epochs> ReadEpochs(sqlite::Db& db);
Result<std::vector<ClientRecord>> ReadClients(sqlite::Db& db, uint64_t epoch);
Result<bool> HasClient(sqlite::Db& db, uint64_t epoch, const std::string& id);

Result<GraceStartResult> StartGrace(sqlite::Db& db);
Status PutClient(sqlite::Db& db, uint64_t epoch, const ClientRecord& record);
Status RemoveClient(sqlite::Db& db, uint64_t epoch, const std::string& id);
// Looks id up in current, then recovery; with copy_to_current a recovery
// record is copied into current (keeping its princhash).
Result<ReclaimOutcome> Reclaim(sqlite::Db& db, const Epochs& epochs, const std::string& id,
                               bool copy_to_current);
Result<EndGraceResult> EndGrace(sqlite::Db& db);

// Sets lease_expired of the id's record in `epoch`; an absent id is no error.
Status SetLeaseExpired(sqlite::Db& db, uint64_t epoch, const std::string& id, bool expired);

// nfsdcltrack's "reclaims complete" test in epoch terms: in grace, every
// recovery record has a current record with has_session = 1, and every
// current record has has_session = 1.
Result<bool> AllReclaimedWithSessions(sqlite::Db& db, const Epochs& epochs);

// StartGrace without reading the recovery epoch (`reclaimable` empty), and
// one page of an epoch: up to `limit` records with an id after `after`
// (none: from the first), by id (SQLite compares BLOBs as memcmp does).
Result<GraceStartResult> OpenGrace(sqlite::Db& db);
Result<std::vector<ClientRecord>> ReadClientsAfter(sqlite::Db& db, uint64_t epoch,
                                                   const std::optional<std::string>& after,
                                                   size_t limit);

// Start-up without the records in memory (SqliteClientStore::LoadDigest):
// how many an epoch holds, and each of its ids in turn (the view is valid
// during the call only).
Result<int64_t> CountClients(sqlite::Db& db, uint64_t epoch);
Status ForEachClientId(sqlite::Db& db, uint64_t epoch,
                       const std::function<void(std::string_view id)>& visit);
// The ids of `epoch` whose record is marked lease_expired.
Result<std::vector<std::string>> ReadLeaseExpiredIds(sqlite::Db& db, uint64_t epoch);

}  // namespace nfsrec::nfs4rec::client_sql
