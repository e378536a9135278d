// The NSM program on the network, for the daemon: listeners on every
// transport, registered with rpcbind.  The sm-notify command has none.
#pragma once

#include <cstdint>
#include <map>
#include <memory>

#include "common/base/clock.h"
#include "common/base/logging.h"
#include "common/base/result.h"
#include "common/os/event_loop.h"
#include "common/rpc/rpc_server.h"
#include "common/rpc/rpcbind.h"

namespace nfsrec {

// Refuses (AlreadyExists) when a statd answers on this host, as rpc.statd
// does, before anything is touched.  Blocking, start-up only.
Status RefuseIfStatdRunning();

// Refuses a state directory that is missing or not a directory (a
// symbolic link to one is followed), and one that is, or whose sm/ or
// sm.bak/ is, writable by everyone.
Status CheckStateDirectory(const std::string& path);

class NsmEndpoint {
 public:
  // Binds the listeners (`port` on all of them, 0: ephemeral), serves
  // `handlers` as NSM version 1, replaces stale rpcbind entries with ours.
  static Result<std::unique_ptr<NsmEndpoint>> Serve(EventLoop& loop, Scheduler& scheduler,
                                                    Logger& log, uint16_t port,
                                                    std::map<uint32_t, rpc::Handler> handlers);

 private:
  NsmEndpoint() = default;
  std::unique_ptr<rpc::RpcServer> server_;
  // ORDER: declared after server_ so that the rpcbind entries go first and
  // nobody is sent to a closed port.
  std::unique_ptr<rpc::RpcbindRegistration> registration_;
};

}  // namespace nfsrec
