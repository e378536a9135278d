// nfsrecctl import: the daemon's start-up take-over of nfs-utils' NFSv4
// client records (daemon/nfs4_takeover.h, nfs4rec/nfs_utils_import.h), run
// on the store of a daemon that is not running:
//   nfsrecctl import [--from-nfsdcld DIR] [--from-nfsdcltrack DIR] [--from-v4recovery DIR]
// With no --from-*, the places the daemon reads (nfs.conf's [nfsdcld] and
// [nfsdcltrack] storagedir, the v4recovery directories); with any, only
// those.  The same decisions apply: a source seen unchanged is skipped, one
// older than the store is not imported.
//
// Refused ("nfsrecd is running; it imports at start", exit 1) while the
// daemon's pid file is locked or its control socket (<database dir>/control)
// accepts a connection: nothing writes the store behind a running daemon.
// Each step is one line on stdout; unreadable sources one line on stderr.
// Exit 0 if the import ran (whether or not it changed the store), else 1.
#pragma once

#include "daemon/nfsrecctl_config.h"

namespace nfsrec {

int RunCtlImport(const CtlCommandLine& cl, const NfsConfLoader& load_conf);

// Whether a daemon holds `pidfile`'s lock or answers on `control_socket`.
bool DaemonIsRunning(const std::string& pidfile, const std::string& control_socket);

}  // namespace nfsrec
