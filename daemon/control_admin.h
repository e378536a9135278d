// The control socket's administration commands (nfsrecctl remove monitor,
// expire client; man/nfsrecctl.8), handed to the facades.  Part of the
// composition root: it sees both services.  Loop thread only.
//
// Requests and replies (docs/nfsrecctl-json.md):
//   {"command":"remove-monitor","host":"<text>"[,"prog":N][,"vers":N][,"proc":N]}
//       -> {"removed": N}            N >= 1: the records durably removed
//   {"command":"expire-client","id":{"hex":"<even number of hex digits>"}}
//       -> {"outcome": "expired through nfsd" | "removed from the store"}
// A malformed request, a daemon without the service (the nfsdcld role
// serves no NSM, rpc.statd's no NFSv4) and the facade's errors are error
// replies whose text starts with the kind ("Not found: ...", "Busy: ...",
// "Unavailable: ...", "Invalid argument: ...") and says why.
#pragma once

#include <cstddef>
#include <string>

#include "common/base/result.h"
#include "daemon/control_server.h"
#include "nfs4rec/tracking_daemon.h"
#include "statd/nsm_daemon.h"
#include <nlohmann/json.hpp>

namespace nfsrec {

struct RemoveMonitorRequest {
  std::string host;
  statd::NsmService::MonitorFilter filter;
};

// The arguments of a remove-monitor request; InvalidArgument if "host" is
// not a non-empty string or "prog"/"vers"/"proc" is not a 32-bit integer.
Result<RemoveMonitorRequest> ParseRemoveMonitorRequest(const nlohmann::json& request);

// The client id bytes of an expire-client request; InvalidArgument if
// "id" is not {"hex": "..."} with an even, non-zero number of hex digits.
Result<std::string> ParseExpireClientRequest(const nlohmann::json& request);

// The reply's result (or error) for the facades' answers.
Result<nlohmann::json> RemoveMonitorResult(const Result<size_t>& removed);
Result<nlohmann::json> ExpireClientResult(
    const Result<nfs4rec::TrackingDaemon::ExpireOutcome>& outcome);

// Registers "remove-monitor" and "expire-client" on `server`.  A null
// facade means this daemon does not serve that part; the command then
// answers an error saying so.  The facades must outlive `server`.
void RegisterAdminCommands(ControlServer& server, statd::NsmDaemon* nsm,
                           nfs4rec::TrackingDaemon* tracking);

}  // namespace nfsrec
