// The NSM RPC program (100024 v1): decodes each call with nsm_codec, hands
// it to NsmService, and encodes the answer.  Undecodable arguments get
// GARBAGE_ARGS; the RPC layer answers unknown procedures and versions.
#pragma once

#include <cstdint>
#include <functional>
#include <map>

#include "common/rpc/rpc_server.h"
#include "statd/nsm_service.h"

namespace nfsrec::statd {

// Handlers for every NSM procedure.  `on_simu_crash` runs after an allowed
// SM_SIMU_CRASH has been answered.
std::map<uint32_t, rpc::Handler> NsmHandlers(NsmService& service, Logger& log,
                                             std::function<void()> on_simu_crash);

// What the service needs to know about an RPC caller.
Caller CallerOf(const rpc::CallContext& ctx);

}  // namespace nfsrec::statd
