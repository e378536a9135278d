// Writing nfsdcld's database from nfsrecd's NFSv4 client records: the way
// back to nfs-utils (nfsrecctl export --nfs-utils DIR writes
// DIR/nfsdcld/main.sqlite, nfsdcld's default storage directory).
//
// nfsdcld's schema, version 4 (nfs-utils utils/nfsdcld/sqlite.c), written
// exactly so:
//   CREATE TABLE parameters (key TEXT PRIMARY KEY, value TEXT);
//     ('version', '4'), ('first_time', '0')
//   CREATE TABLE grace (current INTEGER , recovery INTEGER);   one row
//   CREATE TABLE "rec-<epoch as %016x>" (id BLOB PRIMARY KEY, princhash BLOB);
// with a rec- table for the current epoch and, during grace, one for the
// recovery epoch; `id` is the client's long-form owner, byte for byte, and
// `princhash` the 32-byte SHA-256 of its principal or NULL (nfsdcld inserts
// no princhash when the kernel sent none).
//
// The epochs are nfsrecd's, and nfsdcld's epoch rules are the same as ours
// (nfs4rec/client_store.h), so nfsdcld then does what nfsrecd would have:
//  - not in grace: at the next GraceStart the current epoch's clients are
//    uploaded and may reclaim;
//  - in grace: the recovery epoch and the clients that reclaimed so far are
//    both written.  A GraceStart (the server restarted during grace) keeps
//    the recovery epoch and empties the current one, so every client that
//    had not reclaimed yet may still do so; a GraceDone from the running
//    kernel drops the recovery epoch.
// first_time is '0': nfsdcld's one-time import of nfsdcltrack's database
// and the v4recovery directory would replace the current epoch's records
// with older ones.
//
// The file is built in the same directory under a temporary name, fsynced
// and renamed over main.sqlite, so nfsdcld finds the old file or the new
// one.  Blocking: for commands, never for the daemon's event loop.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "common/base/result.h"
#include "common/store/sqlite.h"
#include "nfs4rec/client_store.h"

namespace nfsrec::nfs4rec {

inline constexpr char kNfsdcldDatabaseName[] = "main.sqlite";

// nfsdcld's name of the table of `epoch`: "rec-" and 16 lower-case hex digits.
std::string NfsdcldTableName(uint64_t epoch);

// The epochs and the records of the current and recovery epochs, read on
// `db` inside the caller's read transaction (the connection may be
// read-only).  NotFound if the database has no NFSv4 client tracking.
Result<ClientSnapshot> ReadClientsOffline(sqlite::Db& db);

struct NfsdcldExportCounts {
  Epochs epochs;
  size_t current = 0;                // records written for the current epoch
  size_t recovery = 0;               // for the recovery epoch (in grace only)
  std::vector<std::string> skipped;  // records nfsdcld could not upload, with the reason
};

// Writes `storagedir`/main.sqlite from `snapshot`; `storagedir` is created
// mode 0700 if missing (nfsdcld runs as root without CAP_DAC_OVERRIDE).
Result<NfsdcldExportCounts> ExportNfsdcld(const ClientSnapshot& snapshot,
                                          const std::string& storagedir);

}  // namespace nfsrec::nfs4rec
