// nfsrec-cltrack: an nfsdcltrack-compatible usermode helper over the shared
// database.  The kernel (nfsd.cltrack_prog) runs it as
//   nfsrec-cltrack [-d] [-f] [-s DIR] <init|create|remove|check|gracedone> [arg]
// with NFSDCLTRACK_* environment variables; see man/nfsrec-cltrack.8 and
// docs/nfs4rec.md for how the commands map onto epochs.
//
// Result: 0, or a negative errno that main() returns, so the exit status is
// its low byte, as nfsdcltrack's: -EPERM 255 (check: may not reclaim),
// -EACCES 243 (init: database unusable), -EREMOTEIO 135 (database error),
// -ENOSYS 218 (unknown command), -EINVAL 234 (missing or bad argument),
// -ENOBUFS 151 (client id over 1024 bytes).
//
// Concurrency: each command is one BEGIN IMMEDIATE transaction with a 10 s
// busy timeout on the WAL database, so it is safe while nfsrecd runs.
// v4_end_grace is written only after the commit: the kernel answers that
// write by running this helper again ("gracedone"), which needs the lock.
#pragma once

#include <optional>
#include <string>

#include "common/base/logging.h"

namespace nfsrec::nfs4rec {

struct CltrackRequest {
  // The database's directory: <storagedir>/nfsrecd.sqlite, the daemon's
  // (common/store/database_location.h) unless -s names another.
  std::string storagedir = "/var/lib/nfs/nfsrecd";
  std::string proc_root;  // "" = "/"
  std::string command;    // empty: none given
  std::optional<std::string> arg;
  // Environment, as the kernel sets it.
  std::optional<std::string> has_session;    // NFSDCLTRACK_CLIENT_HAS_SESSION
  std::optional<std::string> grace_start;    // NFSDCLTRACK_GRACE_START
  std::optional<std::string> legacy_recdir;  // NFSDCLTRACK_LEGACY_RECDIR
  std::optional<std::string> legacy_topdir;  // NFSDCLTRACK_LEGACY_TOPDIR
};

inline constexpr char kCltrackDbName[] = "nfsrecd.sqlite";

int RunCltrack(const CltrackRequest& req, Logger& log);

// Hex (either case) to bytes: -EINVAL for odd length or a non-hex digit,
// -ENOBUFS for more than 1024 bytes.
int DecodeHexId(const std::string& hex, std::string* out);

}  // namespace nfsrec::nfs4rec
