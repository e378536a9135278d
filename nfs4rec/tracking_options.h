// Options of the NFSv4 client-tracking part of the daemon.
#pragma once

#include <cstdint>
#include <string>

namespace nfsrec::nfs4rec {

inline constexpr char kDefaultCldPipePath[] = "/var/lib/nfs/rpc_pipefs/nfsd/cld";
// Tried as well when pipe_path is the default: Debian and Red Hat may mount
// rpc_pipefs here instead.
inline constexpr char kAlternateCldPipePath[] = "/run/rpc_pipefs/nfsd/cld";

struct TrackingOptions {
  std::string pipe_path = kDefaultCldPipePath;
  // End grace as soon as every uploaded client has re-created its record
  // (see docs/nfs4rec.md, "Ending grace early").
  bool end_grace_early = true;
  // Also offer at GraceStart the clients that the last reconciliation saw
  // with an expired lease (docs/nfs4rec.md, "Who is offered at
  // GraceStart"); off, grace can end early despite clients gone for good.
  bool grace_upload_expired = false;
  // Seconds between reconciliations with the kernel's client list
  // (docs/nfs4rec.md); negative means the lease time, 0 turns it off.
  int64_t reconcile_interval = -1;
  // Cluster mode: upload this id at every GraceStart besides the records
  // (TrackingServiceOptions::grace_hold_id).  Empty: none.
  std::string grace_hold_id;
  // nfs-utils' trackers, whose records are taken over at start
  // (nfs4rec/nfs_utils_import.h): [nfsdcld] storagedir, [nfsdcltrack]
  // storagedir.  Empty: not read.
  std::string nfsdcld_storagedir = "/var/lib/nfs/nfsdcld";
  std::string nfsdcltrack_storagedir = "/var/lib/nfs/nfsdcltrack";
};

}  // namespace nfsrec::nfs4rec
