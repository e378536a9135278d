// nfsrecctl's listings, read from one snapshot of the store
// (daemon/nfsrecctl_store.h):
//   list monitors          the peers lockd asked to monitor (SM_MON)
//   list notify            the peers still owed an SM_NOTIFY (sm-notify's sm.bak)
//   list clients [--epoch current|recovery]
//                          NFSv4 client records of one epoch; the recovery
//                          epoch's also say whether the client has reclaimed
//   show HOST|CLIENT       every monitor and notify entry of HOST (HostMatches),
//                          and the client with that id (ParseClientId), in
//                          both epochs
//   grace                  in grace or not, the epochs, the clients that may
//                          reclaim and how many have reclaimed so far (a
//                          recovery-epoch record with a current-epoch record)
//   state                  the NSM state number and its parity (odd: up)
// A human table or key/value lines by default; with --json one JSON document,
// whose shapes docs/nfsrecctl-json.md documents and docs/schema/ checks.
#pragma once

#include <cstdio>
#include <string>

#include "common/base/result.h"
#include "daemon/nfsrecctl_config.h"
#include "daemon/nfsrecctl_store.h"

namespace nfsrec {

// Whether `command` is one of the above.
bool IsListingCommand(const std::string& command);

// What the command prints on stdout for `snapshot`.  NotFound when `show`
// finds nothing or the database holds no state of the kind asked for;
// InvalidArgument for a malformed hex: id.
Result<std::string> RenderListing(const CtlCommandLine& cl, const CtlSnapshot& snapshot);

// Reads the store at `store.database` and prints the listing to `out`, an
// error to `err`; returns the exit status (daemon/nfsrecctl_config.h).
int RunListing(const CtlCommandLine& cl, const CtlStore& store, std::FILE* out, std::FILE* err);

}  // namespace nfsrec
