// RpcServer: ONC RPC (RFC 5531) over UDP and TCP, driven by an EventLoop.
//
// Why not libtirpc's SVCXPRT dispatch: svc_getreqset() calls the dispatch
// function, which must call svc_sendreply() before it returns, with the
// results in memory the dispatcher owns (rpcgen's convention is a static
// result per procedure).  A reply therefore cannot wait for anything, yet
// SM_MON must wait for an asynchronous DNS lookup and then for its row to
// be durable in a group commit.  So this file frames RPC itself: record
// marking on TCP sockets, datagrams on UDP sockets, all non-blocking and
// watched by the libevent loop, and a Responder object that the handler may
// keep and use after it has returned.  libtirpc is still used for XDR
// (common/rpc_message.h) and for rpcbind registration (common/rpcbind.h).
//
// Server behaviour, by RFC 5531 section 9:
//   rpcvers != 2                      -> MSG_DENIED RPC_MISMATCH (2, 2)
//   credential not AUTH_NONE/AUTH_SYS,
//   or an AUTH_SYS body that does not
//   parse                             -> MSG_DENIED AUTH_ERROR
//                                        (AUTH_REJECTEDCRED / AUTH_BADCRED)
//   program not registered            -> PROG_UNAVAIL
//   program known, version not        -> PROG_MISMATCH (lowest, highest
//                                        registered version)
//   procedure not in the version      -> PROC_UNAVAIL
//   an undecodable call header        -> UDP: datagram dropped;
//                                        TCP: connection closed
//   a message that is not a CALL      -> same as undecodable
// Procedure 0 (NULL) answers void unless the program supplies its own.
//
// TCP: records are reassembled from any number of fragments (RFC 5531
// section 11).  A record whose fragments add up to more than
// Options::max_record_bytes closes the connection as soon as the fragment
// header announcing the excess arrives.  Many calls may be in flight on one
// connection and their replies go out in completion order; once
// max_calls_per_connection are in flight the server stops reading that
// connection until one completes.  Connections beyond max_connections are
// accepted and closed at once.  A connection with no call in flight, no
// output pending and no input for idle_timeout is closed.  A peer that
// half-closes still gets the replies to calls already read.
//
// UDP: a reply is sent from the local address the call was sent to
// (IP_PKTINFO / IPV6_RECVPKTINFO), so a multi-homed host answers from the
// address the client expects.  Truncated datagrams are dropped.  A reply
// that cannot be sent at once (EAGAIN) is dropped; the client retransmits.
//
// Threading: loop thread only, including Responder.  Handlers run on the
// loop thread and must not destroy the RpcServer.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/clock.h"
#include "common/os/event_loop.h"
#include "common/base/logging.h"
#include "common/base/result.h"
#include "common/rpc/rpc_message.h"

namespace nfsrec::rpc {

// Transport of a listener or a call, named as in /etc/netconfig.
enum class Netid { kUdp, kTcp, kUdp6, kTcp6 };
std::string_view NetidName(Netid netid);  // "udp", "tcp", "udp6", "tcp6"
inline bool IsStream(Netid n) { return n == Netid::kTcp || n == Netid::kTcp6; }
inline bool IsIpv6(Netid n) { return n == Netid::kUdp6 || n == Netid::kTcp6; }

// Address helpers, usable on any sockaddr_in / sockaddr_in6.
// 127.0.0.0/8, ::1, and ::ffff:127.0.0.0/104.
bool IsLoopbackAddress(const sockaddr* sa);
uint16_t SockaddrPort(const sockaddr* sa);
// Numeric form without port or brackets ("127.0.0.1", "::1"); "?" if the
// family is neither AF_INET nor AF_INET6.
std::string NumericAddress(const sockaddr* sa);

// What a handler knows about the call besides its arguments.
struct CallContext {
  sockaddr_storage peer{};
  socklen_t peer_len = 0;
  Netid netid = Netid::kUdp;
  uint32_t xid = 0;
  uint32_t prog = 0;
  uint32_t vers = 0;
  uint32_t proc = 0;
  uint32_t cred_flavor = kAuthNone;

  const sockaddr* peer_sockaddr() const { return reinterpret_cast<const sockaddr*>(&peer); }
  bool IsTcp() const { return IsStream(netid); }
  bool IsLoopback() const { return IsLoopbackAddress(peer_sockaddr()); }
  // Source port below 1024 (IPPORT_RESERVED), i.e. a root-owned sender.
  bool FromPrivilegedPort() const { return PeerPort() < 1024; }
  uint16_t PeerPort() const { return SockaddrPort(peer_sockaddr()); }
  std::string PeerAddress() const { return NumericAddress(peer_sockaddr()); }
};

namespace internal {
// Where a reply goes: a UDP socket and route, or a TCP connection.  Owned
// by the Responder; refers to its socket weakly.
class PendingCall;
class UdpSocket;
class Connection;
}  // namespace internal

// The right to answer one call, once.  Movable, not copyable.  A handler
// may answer before it returns or keep the Responder and answer later on
// the loop thread (after a lookup or a commit).  Only the first answer
// counts; later calls are ignored.  If the TCP connection closed or the
// server was destroyed in the meantime, the answer is dropped silently.
// A Responder destroyed without answering sends nothing: the client
// retransmits (UDP) or times out (TCP); on TCP it still counts as done for
// the connection's in-flight limit.
class Responder {
 public:
  Responder();
  ~Responder();
  Responder(Responder&& other) noexcept;
  Responder& operator=(Responder&& other) noexcept;
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;

  // SUCCESS with XDR-encoded results (e.g. from XdrEncode).
  void Reply(std::vector<uint8_t> encoded_results);
  // SUCCESS with no results (void procedures).
  void ReplyVoid() { Reply({}); }
  // GARBAGE_ARGS: the arguments did not decode.
  void GarbageArgs();
  // SYSTEM_ERR: the server cannot process the call (also what the kernel
  // sends for a rejected NLM callback).
  void SystemErr();

  // True until one of the answers above has been given.
  bool pending() const { return call_ != nullptr; }
  uint32_t xid() const { return xid_; }

 private:
  friend class RpcServer;
  friend class internal::UdpSocket;
  friend class internal::Connection;
  Responder(std::unique_ptr<internal::PendingCall> call, uint32_t xid);
  // Sends a complete RPC reply message; the common path of every answer.
  void SendMessage(std::vector<uint8_t> message);

  std::unique_ptr<internal::PendingCall> call_;
  uint32_t xid_ = 0;
};

using Handler = std::function<void(const CallContext&, std::span<const uint8_t> args, Responder)>;

struct ListenerInfo {
  std::string netid;    // "udp", "tcp", "udp6", "tcp6"
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
    size_t max_record_bytes = 64 * 1024;
    size_t max_connections = 512;
    size_t max_calls_per_connection = 64;
    // Replies queued on one connection beyond this close it (a peer that
    // sends calls but never reads).
    size_t max_output_bytes = 1024 * 1024;
    // Zero disables.
    Duration idle_timeout = std::chrono::minutes(6);
  };

  // Creates and binds every requested listener and starts watching them.
  static Result<std::unique_ptr<RpcServer>> Create(EventLoop& loop, Logger& log, Options options);
  ~RpcServer();
  RpcServer(const RpcServer&) = delete;
  RpcServer& operator=(const RpcServer&) = delete;

  // Registers one version of a program.  Several versions of a program may
  // be added; the same (prog, vers) twice is AlreadyExists.
  Status AddProgram(uint32_t prog, uint32_t vers, std::map<uint32_t, Handler> procs);

  // The bound sockets, for rpcbind registration.
  std::vector<ListenerInfo> listeners() const;
  // Open TCP connections (tests).
  size_t connection_count() const;

 private:
  friend class internal::UdpSocket;
  friend class internal::Connection;
  struct TcpListener;

  RpcServer(EventLoop& loop, Logger& log, Options options);
  // Creates one listener; on failure *err holds the errno.
  Status AddListener(Netid netid, int* err);
  void OnAccept(TcpListener& listener);
  // Decodes and answers one call.  Returns an error if the header does not
  // decode; the transport then drops the datagram or closes the connection.
  Status Dispatch(std::span<const uint8_t> message, CallContext& ctx, Responder responder);
  // Takes a connection out of service; it is freed once the current
  // callback has unwound.
  void Retire(internal::Connection* conn);
  void ScheduleIdleSweep();
  void IdleSweep();
  bool RateLimitOk(TimePoint* last);

  EventLoop& loop_;
  Logger& log_;
  Options options_;
  LoopScheduler scheduler_;
  std::map<uint32_t, std::map<uint32_t, std::map<uint32_t, Handler>>> programs_;
  std::vector<ListenerInfo> listener_info_;
  std::vector<std::shared_ptr<internal::UdpSocket>> udp_;
  std::vector<std::unique_ptr<TcpListener>> tcp_;
  std::map<internal::Connection*, std::shared_ptr<internal::Connection>> connections_;
  std::vector<std::shared_ptr<internal::Connection>> retired_;
  bool reap_scheduled_ = false;
  TimePoint last_cap_warning_{};
  TimePoint last_accept_warning_{};
  // One receive buffer shared by the UDP sockets (loop thread only).
  std::vector<uint8_t> udp_buffer_;
};

}  // namespace nfsrec::rpc
