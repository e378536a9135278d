// nfsrecctl's changing commands (man/nfsrecctl.8):
//   remove monitor HOST [--prog N] [--vers N] [--proc N] [--json]
//       forget HOST's monitor records (those lockd made with that callback
//       program, version and procedure, when given), as SM_UNMON would
//   expire client CLIENT [--json]
//       expire an NFSv4 client (CLIENT as `show` takes it: text or hex:...)
// While a daemon answers on its control socket the daemon does it
// (daemon/control_admin.h): in its memory and store at once, expire
// through nfsd when nfsd knows the client.  When no daemon runs (no socket
// answers and the pid file is not locked) the store is written directly,
// through the daemon's own store adapters, and the output says so; nfsd is
// then not told of an expired client.
//
// Output: one line on stdout, or with --json one object (docs/nfsrecctl-json.md,
// docs/schema/remove-monitor.json, expire-client.json).
// Exit codes: 0 done; 1 nothing matched, or a failure; 3 a daemon runs but
// does not answer (nothing was changed); 4 the daemon refused this user.
#pragma once

#include <string>

#include "common/base/result.h"
#include "daemon/nfsrecctl_config.h"
#include "daemon/nfsrecctl_live.h"
#include <nlohmann/json.hpp>

namespace nfsrec {

// Where the change was made, for the output.
enum class AdminVia { kDaemon, kStore };

// The output for `remove monitor HOST` from the daemon's reply (or the
// offline count, as {"removed": N}) made `via`.
LiveOutput RemoveMonitorOutput(const std::string& host, const Result<nlohmann::json>& reply,
                               AdminVia via, bool as_json);
// The output for `expire client CLIENT` from the daemon's reply (or the
// offline outcome, as {"outcome": "removed from the store"}) made `via`.
LiveOutput ExpireClientOutput(const std::string& client, const Result<nlohmann::json>& reply,
                              AdminVia via, bool as_json);

// Offline: the same changes on the database at `db_path`, when no daemon
// runs.  The number of monitor records removed (NotFound if none matched);
// OK once the client's current-epoch record is gone (NotFound if there is
// none, Busy if it has only a record of the recovery epoch).
Result<size_t> RemoveMonitorsOffline(const std::string& db_path, const std::string& host,
                                     const CtlCommandLine& filter);
Status ExpireClientOffline(const std::string& db_path, const std::string& id);

// Runs `remove` or `expire` (above); returns the exit code.
int RunAdminCommand(const CtlCommandLine& cl, const CtlStore& store);

}  // namespace nfsrec
