// The start-up step that takes over nfs-utils' NFSv4 client records
// (nfs4rec/nfs_utils_import.h), shared by the daemon and nfsrecctl import:
// read as root (nfsdcld's storage directory is root's, mode 0700), before
// the privilege drop, then applied in one unit on the commit queue, before
// the tracking facade's first Load.  Every step is one log line.
#pragma once

#include <string>

#include "common/base/logging.h"
#include "common/store/commit_queue.h"
#include "daemon/daemon_config.h"
#include "nfs4rec/nfs_utils_import.h"

namespace nfsrec {

// Where this configuration's nfs-utils keeps its records: [nfsdcld]
// storagedir, [nfsdcltrack] storagedir, and the v4recovery directories
// (the kernel's, under --proc-root, and its default).
nfs4rec::ImportLocations NfsUtilsLocations(const DaemonConfig& config);

// Reads every source; a source that cannot be read is one warning.
// Blocking: before the event loop runs.
nfs4rec::ImportRead ReadNfsUtilsRecords(const nfs4rec::ImportLocations& where, Logger& log);

// The same, but a source whose identity (dev, ino, size, mtime: one stat)
// equals the one the database at `db_path` recorded is not read; the
// recorded identities are read through a read-only connection.  Blocking,
// before the event loop runs; a source that cannot be read, or a database
// whose identities cannot be, is one warning (then every source is read).
nfs4rec::ImportRead ReadChangedNfsUtilsRecords(const nfs4rec::ImportLocations& where,
                                               const std::string& db_path, Logger& log);

// Applies `read` to the store (blocking, CommitQueue::RunSync) and logs the
// outcome.  An error is logged as one warning and returned; nothing of the
// import is then applied.
Status TakeOverNfsUtilsRecords(CommitQueue& queue, const nfs4rec::ImportRead& read, Logger& log);

}  // namespace nfsrec
