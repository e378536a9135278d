// The store as nfsrecctl reads it: its own read-only connection and one
// read transaction, so every command sees one consistent snapshot whether
// the daemon runs or not (SQLite's WAL keeps that snapshot for a reader
// while the daemon commits) and nothing is ever written.
//
// Blocking: for commands only.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/base/result.h"
#include "common/store/sqlite.h"
#include "nfs4rec/client_store.h"
#include "statd/nsm_store.h"

namespace nfsrec {

// Everything the commands show, read in one read transaction.
struct CtlSnapshot {
  std::optional<statd::NsmSnapshot> nsm;           // absent: no NSM state stored
  std::optional<nfs4rec::ClientSnapshot> clients;  // absent: no NFSv4 tracking stored
};

// Opens the database at `path` read-only.  Errors: NotFound if there is no
// file (nfsrecd has not run with this state directory); InvalidArgument or
// Corruption if the file is another program's or not SQLite (the message
// names what it looks like and what to do); IOError otherwise.
Result<std::unique_ptr<sqlite::Db>> OpenStoreReadOnly(const std::string& path);

// Reads both components in one read transaction on `db`.  A component the
// database does not hold is left absent; Unsupported if one was written by
// a newer nfsrecd.
Result<CtlSnapshot> ReadCtlSnapshot(sqlite::Db& db);

// OpenStoreReadOnly, ReadCtlSnapshot, close.
Result<CtlSnapshot> ReadStoreSnapshot(const std::string& path);

}  // namespace nfsrec
