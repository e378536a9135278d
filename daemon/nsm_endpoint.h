// The NSM program on the network, for the daemon: listeners on every
// transport, registered with rpcbind.  The sm-notify command has none.
#pragma once

#include <cstdint>
#include <map>
#include <memory>

#include "common/base/clock.h"
#include "common/base/liveness.h"
#include "common/base/logging.h"
#include "common/base/result.h"
#include "common/os/event_loop.h"
#include "common/os/executor.h"
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
  // The UDP listeners' sockets with their receive buffers sized, made
  // while the process still has CAP_NET_ADMIN (rpc::RpcServer::Prepare),
  // for Serve to bind after the privilege drop.
  static rpc::RpcServer::Prepared Prepare(uint16_t port);

  // Binds the listeners (`port` on all of them, 0: ephemeral; the sockets
  // of `prepared` where it has them), serves `handlers` as NSM version 1,
  // replaces stale rpcbind entries with ours.
  static Result<std::unique_ptr<NsmEndpoint>> Serve(EventLoop& loop, Scheduler& scheduler,
                                                    Logger& log, uint16_t port,
                                                    std::map<uint32_t, rpc::Handler> handlers,
                                                    rpc::RpcServer::Prepared prepared = {});

  // From now on, checks every `interval` that rpcbind still holds our
  // entries and makes them again when a restarted rpcbind has lost them
  // (rpc::RpcbindWatch); the blocking registration runs on `executor`.
  // Zero: no checks.
  Status KeepRegistered(Scheduler& scheduler, Executor& executor, Logger& log, Duration interval);

 private:
  NsmEndpoint() = default;
  std::unique_ptr<rpc::RpcServer> server_;
  // ORDER: declared after server_ so that the rpcbind entries go first and
  // nobody is sent to a closed port.
  // Empty while a re-registration runs on the executor.
  std::unique_ptr<rpc::RpcbindRegistration> registration_;
  std::unique_ptr<rpc::UdpSocketPort> watch_port_;
  std::unique_ptr<rpc::UdpRpcClient> watch_client_;
  std::unique_ptr<rpc::RpcbindWatch> watch_;
  Liveness liveness_;  // ORDER: last; a re-registration finishing late is dropped
};

}  // namespace nfsrec
