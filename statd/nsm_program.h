// The NSM RPC program (100024 v1): decodes each call with nsm_codec, hands
// it to NsmService, and encodes the answer.  Undecodable arguments get
// GARBAGE_ARGS; the RPC layer answers unknown procedures and versions.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "common/rpc/rpc_server.h"
#include "statd/nsm_service.h"

namespace nfsrec::statd {

// Calls seen by the handlers, for status reports.  Loop thread only.
struct NsmProgramStats {
  struct Counts {
    uint64_t calls = 0;    // every call to the procedure that reached us
    uint64_t garbage = 0;  // of those, answered GARBAGE_ARGS
  };
  std::map<NsmProc, Counts> by_proc;
  // Calls handed to the service and not answered yet: waiting for DNS, a
  // commit, a load or an HA callout.
  uint64_t awaiting_reply = 0;
};

// Handlers for every NSM procedure.  `on_simu_crash` runs after an allowed
// SM_SIMU_CRASH has been answered.  `stats`, if given, counts the calls.
std::map<uint32_t, rpc::Handler> NsmHandlers(NsmService& service, Logger& log,
                                             std::function<void()> on_simu_crash,
                                             std::shared_ptr<NsmProgramStats> stats = nullptr);

// What the service needs to know about an RPC caller.
Caller CallerOf(const rpc::CallContext& ctx);

}  // namespace nfsrec::statd
