// The transport-independent half of the RPC server: the call header, the
// program table, the RFC 5531 section 9 answers, and the Responder that
// carries the right to answer a call.
//
// Answers made here, before any handler runs:
//   rpcvers != 2                      -> MSG_DENIED RPC_MISMATCH (2, 2)
//   credential not AUTH_NONE/AUTH_SYS,
//   or an AUTH_SYS body that does not
//   parse                             -> MSG_DENIED AUTH_ERROR
//                                        (AUTH_REJECTEDCRED / AUTH_BADCRED)
//   program not registered            -> PROG_UNAVAIL
//   program known, version not        -> PROG_MISMATCH (lowest, highest
//                                        registered version)
//   procedure not in the version      -> PROC_UNAVAIL
//   an undecodable call header, or a
//   message that is not a CALL        -> an error to the transport, which
//                                        drops the datagram or closes the
//                                        connection
// Procedure 0 (NULL) answers void unless the program supplies its own.
//
// Threading: loop thread only, including Responder.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/clock.h"
#include "common/base/logging.h"
#include "common/base/result.h"
#include "common/rpc/rpc_message.h"
#include "common/rpc/sockaddr.h"

namespace nfsrec::rpc {

// Transport of a listener or a call, named as in /etc/netconfig.
enum class Netid { kUdp, kTcp, kUdp6, kTcp6 };
std::string_view NetidName(Netid netid);  // "udp", "tcp", "udp6", "tcp6"
inline bool IsStream(Netid n) { return n == Netid::kTcp || n == Netid::kTcp6; }
inline bool IsIpv6(Netid n) { return n == Netid::kUdp6 || n == Netid::kTcp6; }

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
  // Set by the transport from where the call really came in
  // (DatagramFromLoopback / StreamFromLoopback in sockaddr.h), never from
  // the peer address alone.
  bool arrived_on_loopback = false;
  // The receiving socket is AF_INET6 without IPV6_V6ONLY: only there is a
  // v4-mapped peer real IPv4 traffic.
  bool dual_stack = false;
  // When the transport read the call, on the server's Scheduler clock (for
  // rate-limited logs).
  TimePoint received{};

  const sockaddr* peer_sockaddr() const { return reinterpret_cast<const sockaddr*>(&peer); }
  bool IsTcp() const { return IsStream(netid); }
  // From this host: arrived over loopback from a loopback address.
  bool IsLoopback() const {
    return arrived_on_loopback && LoopbackFamily(peer_sockaddr(), dual_stack) != AF_UNSPEC;
  }
  // Source port below 1024 (IPPORT_RESERVED), i.e. a root-owned sender.
  bool FromPrivilegedPort() const { return PeerPort() < 1024; }
  uint16_t PeerPort() const { return SockaddrPort(peer_sockaddr()); }
  std::string PeerAddress() const { return NumericAddress(peer_sockaddr()); }
  // "tcp 10.0.0.2 port 801", for logs.
  std::string PeerString() const;
};

namespace internal {
// Where a reply goes: implemented by each transport (a UDP socket and
// route, or a TCP connection), referring to its socket weakly.  Destroyed
// exactly once per call, answered or not.
class PendingCall {
 public:
  virtual ~PendingCall() = default;
  // Sends one complete reply message.
  virtual void Send(std::vector<uint8_t> message) = 0;
};
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
  // For transports: the call's way back.
  explicit Responder(std::unique_ptr<internal::PendingCall> call);
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
  friend class Dispatcher;
  // Sends a complete RPC reply message; the common path of every answer.
  void SendMessage(std::vector<uint8_t> message);

  std::unique_ptr<internal::PendingCall> call_;
  uint32_t xid_ = 0;
};

using Handler = std::function<void(const CallContext&, std::span<const uint8_t> args, Responder)>;

class Dispatcher {
 public:
  explicit Dispatcher(Logger& log) : log_(log) {}
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Registers one version of a program.  Several versions of a program may
  // be added; the same (prog, vers) twice is AlreadyExists.
  Status AddProgram(uint32_t prog, uint32_t vers, std::map<uint32_t, Handler> procs);

  // Decodes and answers one call; ctx holds the transport's fields (peer,
  // netid) and gets the header's.  An error if the header does not decode.
  Status Dispatch(std::span<const uint8_t> message, CallContext& ctx, Responder responder);

 private:
  Logger& log_;
  std::map<uint32_t, std::map<uint32_t, std::map<uint32_t, Handler>>> programs_;
};

}  // namespace nfsrec::rpc
