// rpcbind adapter: registering our listeners, removing stale entries, and
// probing for an already running service.
//
// These calls use libtirpc's blocking clients to talk to the local rpcbind
// (rpcb_set and rpcb_unset go over /run/rpcbind.sock, or TCP to
// 127.0.0.1:111 if the socket is missing; ProbeRunning uses UDP to
// 127.0.0.1:111 within its own timeout) and may block for up to libtirpc's
// timeouts if rpcbind hangs.  They are meant for start-up and shutdown
// only, before the event loop runs or after it has stopped; never call
// them from a handler.  The wire protocol's numbers are in
// common/rpc/rpcbind_protocol.h.
//
// Registration uses rpcbind protocol versions 3/4 (RPCBPROC_SET with a
// netid and a universal address).  rpcbind answers portmapper (v2)
// GETPORT queries for the "udp" and "tcp" netids from the same table, so
// old clients such as the kernel's lockd find the ports too.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/callback.h"
#include "common/base/clock.h"
#include "common/base/liveness.h"
#include "common/base/logging.h"
#include "common/base/result.h"
#include "common/rpc/rpc_server.h"
#include "common/rpc/rpcbind_protocol.h"
#include "common/rpc/udp_rpc_client.h"

namespace nfsrec::rpc {

// Holds rpcbind entries for one (program, version) and removes them when
// destroyed.
class RpcbindRegistration {
 public:
  // Registers (prog, vers) on every listener's netid with the listener's
  // universal address.  Fails if rpcbind refuses any entry (for instance
  // because a stale one exists: call UnsetAll first); entries already made
  // are removed again before returning the error.
  static Result<std::unique_ptr<RpcbindRegistration>> Register(
      uint32_t prog, uint32_t vers, const std::vector<ListenerInfo>& listeners);

  // rpcb_unset for each registered netid; failures are ignored (rpcbind
  // may already be gone at shutdown).
  ~RpcbindRegistration();
  RpcbindRegistration(const RpcbindRegistration&) = delete;
  RpcbindRegistration& operator=(const RpcbindRegistration&) = delete;

  const std::vector<std::string>& netids() const { return netids_; }

 private:
  RpcbindRegistration(uint32_t prog, uint32_t vers) : prog_(prog), vers_(vers) {}
  uint32_t prog_;
  uint32_t vers_;
  std::vector<std::string> netids_;
};

// Removes every rpcbind entry of (prog, vers), whatever its netid or owner
// (we run as root), as rpc.statd does at start-up.  OK if there was none;
// Unavailable if rpcbind cannot be reached.
Status UnsetAll(uint32_t prog, uint32_t vers);

// True only if the local rpcbind maps (prog, vers, udp) to a port and a
// NULL call to 127.0.0.1 on that port is answered with SUCCESS, both within
// `timeout` in total.  False if rpcbind does not answer, has no entry, or
// the service is silent.  An error only for local failures (no socket).
// With `port`, the port rpcbind named is stored there when true.
Result<bool> ProbeRunning(uint32_t prog, uint32_t vers, Duration timeout, uint16_t* port = nullptr);

// Keeps our registration while rpcbind restarts under us (rpcbind forgets
// every entry when it exits; rpc.statd never notices, and lockd's SM_MON
// then fails to find us).  Every `interval` it asks the local rpcbind for
// (prog, vers, udp) with one PMAP_GETPORT through the asynchronous client,
// so the loop never waits.  "Not registered" (port 0) runs `reregister`
// once, logged in one line; no answer (rpcbind down) is retried at the next
// check.  rpcbind takes SET only over its local socket (not from loopback
// UDP), so `reregister` does the blocking libtirpc calls off the loop (an
// Executor) and reports back through `done` on the loop thread.
//
// Loop thread only.  Destroying it cancels the timer and the call in
// flight; a late `done` is ignored.
class RpcbindWatch {
 public:
  using Reregister = std::function<void(Callback<void(Status)> done)>;

  RpcbindWatch(UdpRpcClient& client, Scheduler& scheduler, Logger& log, Endpoint rpcbind,
               uint32_t prog, uint32_t vers, Duration interval, Reregister reregister);
  ~RpcbindWatch();
  RpcbindWatch(const RpcbindWatch&) = delete;
  RpcbindWatch& operator=(const RpcbindWatch&) = delete;

  // Schedules the first check, `interval` from now.
  void Start();
  // Checks run and re-registrations that succeeded (tests, status).
  uint64_t checks() const { return checks_; }
  uint64_t reregistered() const { return reregistered_; }

 private:
  void Schedule();
  void Check();
  void OnPort(Result<uint16_t> port);

  UdpRpcClient& client_;
  Scheduler& scheduler_;
  Logger& log_;
  Endpoint rpcbind_;
  uint32_t prog_;
  uint32_t vers_;
  Duration interval_;
  Reregister reregister_;
  Scheduler::TimerId timer_ = 0;
  bool busy_ = false;  // a check or a re-registration in flight
  bool rpcbind_silent_ = false;
  uint64_t checks_ = 0;
  uint64_t reregistered_ = 0;
  Liveness liveness_;  // ORDER: last, so late answers see it gone first
};

}  // namespace nfsrec::rpc
