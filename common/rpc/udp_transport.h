// The RPC server's UDP transport: one non-blocking datagram socket watched
// by the loop, each datagram one call for the Dispatcher.
//
// A reply is sent from the local address the call was sent to
// (IP_PKTINFO / IPV6_RECVPKTINFO), so a multi-homed host answers from the
// address the client expects.  Truncated datagrams are dropped, and so are
// datagrams whose header does not decode.  A reply that cannot be sent at
// once (EAGAIN) is dropped; the client retransmits.  A Responder kept past
// the socket's life answers nothing.
//
// A call counts as local (CallContext::IsLoopback) only if the datagram's
// IP_PKTINFO / IPV6_PKTINFO says it came in on the loopback interface,
// addressed to a loopback address, from one of the same family
// (DatagramFromLoopback in sockaddr.h).
//
// Threading: loop thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/base/clock.h"
#include "common/base/logging.h"
#include "common/base/result.h"
#include "common/base/unique_fd.h"
#include "common/os/event_loop.h"
#include "common/rpc/dispatcher.h"

namespace nfsrec::rpc {

class UdpTransport : public std::enable_shared_from_this<UdpTransport> {
 public:
  // Sets the packet-info option on a bound datagram socket and starts
  // watching it.  `buffer` is a receive buffer of at least 65536 bytes that
  // sockets of one server share (loop thread only).
  // `scheduler` stamps each call's CallContext::received.
  static Result<std::shared_ptr<UdpTransport>> Start(EventLoop& loop, const Scheduler& scheduler,
                                                     Dispatcher& dispatcher, Logger& log,
                                                     Netid netid, UniqueFd fd,
                                                     std::vector<uint8_t>& buffer);
  UdpTransport(const UdpTransport&) = delete;
  UdpTransport& operator=(const UdpTransport&) = delete;

  // Where a datagram reply goes and which local address it leaves from.
  struct Route;
  void SendTo(const Route& route, const std::vector<uint8_t>& message);

 private:
  UdpTransport(EventLoop& loop, const Scheduler& scheduler, Dispatcher& dispatcher, Logger& log,
               Netid netid, UniqueFd fd, std::vector<uint8_t>& buffer);
  void OnReadable();

  const Scheduler& scheduler_;
  Dispatcher& dispatcher_;
  Logger& log_;
  Netid netid_;
  UniqueFd fd_;
  bool dual_stack_;
  unsigned loopback_ifindex_;
  std::vector<uint8_t>& buffer_;
  IoWatcher watcher_;
};

}  // namespace nfsrec::rpc
