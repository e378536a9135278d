// RpcServer: ONC RPC (RFC 5531) over UDP and TCP, driven by an EventLoop.
//
// Why not libtirpc's SVCXPRT dispatch: svc_getreqset() calls the dispatch
// function, which must call svc_sendreply() before it returns, with the
// results in memory the dispatcher owns (rpcgen's convention is a static
// result per procedure).  A reply therefore cannot wait for anything, yet
// SM_MON must wait for an asynchronous DNS lookup and then for its row to
// be durable in a group commit.  So this server frames RPC itself: record
// marking on TCP sockets, datagrams on UDP sockets, all non-blocking and
// watched by the libevent loop, and a Responder object that the handler may
// keep and use after it has returned.  libtirpc is still used for XDR
// (common/rpc/rpc_message.h) and for rpcbind (common/rpc/rpcbind.h).
//
// The parts:
//   common/rpc/dispatcher.h     call header, program table, the RFC 5531
//                               section 9 answers, Responder
//   common/rpc/udp_transport.h  datagrams, replies from the called address
//   common/rpc/tcp_transport.h  record marking, per-connection limits,
//                               idle timeout, accept back-off
//   common/rpc/sockaddr.h       addresses
// This file binds the listeners and ties them to one Dispatcher.
//
// Threading: loop thread only, including Responder.  Handlers run on the
// loop thread and must not destroy the RpcServer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/base/clock.h"
#include "common/base/logging.h"
#include "common/base/result.h"
#include "common/base/unique_fd.h"
#include "common/os/event_loop.h"
#include "common/rpc/dispatcher.h"
#include "common/rpc/rpc_message.h"
#include "common/rpc/sockaddr.h"

namespace nfsrec::rpc {

class TcpTransport;
class UdpTransport;

struct ListenerInfo {
  std::string netid;  // "udp", "tcp", "udp6", "tcp6"
  uint16_t port = 0;
  std::string address;  // bound address, numeric ("0.0.0.0", "::", "127.0.0.1")
};

class RpcServer {
 public:
  struct Options {
    // 0: every listener gets its own ephemeral port (as rpc.statd does
    // without -p); otherwise all listeners share this port.
    uint16_t port = 0;
    bool udp = true;
    bool tcp = true;
    bool udp6 = true;
    bool tcp6 = true;
    // Numeric bind addresses.  IPv6 sockets are IPV6_V6ONLY.
    std::string bind_v4 = "0.0.0.0";
    std::string bind_v6 = "::";
    // Skip (with a warning) IPv6 listeners that the host cannot create
    // (no IPv6, or the address is not configured) instead of failing.
    bool ipv6_optional = true;
    // TCP limits; their rules are in common/rpc/tcp_transport.h.
    size_t max_record_bytes = 64 * 1024;
    // SO_RCVBUF of the UDP listeners in bytes, 0 = the system's default.
    // Calls that arrive while the loop is busy wait in this buffer; a full
    // one drops them, and a peer's retransmission comes a second or more
    // later.  Beyond net.core.rmem_max only with CAP_NET_ADMIN
    // (SO_RCVBUFFORCE, see Prepare); otherwise the kernel caps it there.
    int udp_receive_buffer = 0;
    // Connections from this host (lockd's among them) and from elsewhere
    // are counted apart, so remote peers never take lockd's.  When a budget
    // is full a new connection evicts the idlest one of its class.
    size_t max_loopback_connections = 128;
    size_t max_remote_connections = 512;
    // Beyond this many from one remote address, new ones are closed.
    size_t max_connections_per_remote_address = 16;
    size_t max_calls_per_connection = 64;
    // Replies queued on one connection beyond this close it (a peer that
    // sends calls but never reads).
    size_t max_output_bytes = 1024 * 1024;
    // Zero disables.
    Duration idle_timeout = std::chrono::minutes(6);
    // Idle time-out of remote connections while at least three-quarters of
    // max_remote_connections are open.  Zero: idle_timeout applies.
    Duration remote_idle_timeout_under_pressure = std::chrono::seconds(30);
  };

  // Unbound UDP sockets with their receive buffers already sized, made
  // by a daemon before it gives up CAP_NET_ADMIN: the size stays with the
  // socket, so listeners bound later, by the unprivileged process, keep a
  // buffer beyond net.core.rmem_max.  Move-only; what Create does not use
  // is closed with it.
  class Prepared {
   public:
    Prepared() = default;

   private:
    friend class RpcServer;
    std::map<Netid, UniqueFd> udp_;
  };
  // Makes `options`' UDP sockets (when udp_receive_buffer is set).  Never
  // fails: a socket it cannot make is made, or its error reported, by
  // Create.
  static Prepared Prepare(const Options& options);

  // Creates and binds every requested listener and starts watching them,
  // taking the sockets of `prepared` (from Prepare with the same options)
  // where it has them.  Timers (idle sweep, accept back-off, warning rate
  // limits) run on `scheduler`, which must outlive the server.
  static Result<std::unique_ptr<RpcServer>> Create(EventLoop& loop, Scheduler& scheduler,
                                                   Logger& log, Options options,
                                                   Prepared prepared = {});
  ~RpcServer();
  RpcServer(const RpcServer&) = delete;
  RpcServer& operator=(const RpcServer&) = delete;

  // Registers one version of a program.  Several versions of a program may
  // be added; the same (prog, vers) twice is AlreadyExists.
  Status AddProgram(uint32_t prog, uint32_t vers, std::map<uint32_t, Handler> procs) {
    return dispatcher_.AddProgram(prog, vers, std::move(procs));
  }

  // The bound sockets, for rpcbind registration.
  std::vector<ListenerInfo> listeners() const { return listener_info_; }
  // Open TCP connections (tests).
  size_t connection_count() const;

 private:
  RpcServer(EventLoop& loop, Scheduler& scheduler, Logger& log, Options options, Prepared prepared);
  // Creates one listener; on failure *err holds the errno.
  Status AddListener(Netid netid, int* err);

  EventLoop& loop_;
  Scheduler& scheduler_;
  Logger& log_;
  Options options_;
  Prepared prepared_;
  // Declared before the transports, which refer to it.
  Dispatcher dispatcher_;
  // One receive buffer shared by the UDP sockets (loop thread only).
  std::vector<uint8_t> udp_buffer_;
  std::unique_ptr<TcpTransport> tcp_;
  std::vector<std::shared_ptr<UdpTransport>> udp_;
  std::vector<ListenerInfo> listener_info_;
};

}  // namespace nfsrec::rpc
