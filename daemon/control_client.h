// The client side of the daemon's control socket (daemon/control_server.h
// has the wire format): one request, one reply, blocking, with a deadline.
// For nfsrecctl; never call it on the daemon's loop.
#pragma once

#include <chrono>
#include <string>

#include "common/base/result.h"
#include <nlohmann/json.hpp>

namespace nfsrec {

// Sends `request` (a JSON object with "command") to the daemon listening at
// `socket_path` and returns the reply's "result".
//   NotFound      no socket at the path (ENOENT): no daemon, or another
//                 state directory
//   Unavailable   a socket nobody listens on (ECONNREFUSED): a dead daemon
//   PermissionDenied  the socket may not be opened (EACCES), or the daemon
//                 refused this user
//   TimedOut      no complete reply within `timeout`
//   InvalidArgument / Corruption  the daemon's error reply (its message),
//                 or a reply that is not the expected JSON
Result<nlohmann::json> CallDaemon(const std::string& socket_path, const nlohmann::json& request,
                                  std::chrono::milliseconds timeout);

}  // namespace nfsrec
