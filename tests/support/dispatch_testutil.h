// Dispatching RPC calls without a transport, for unit tests and fuzz targets:
// the call context a UDP transport would build, and a responder that keeps
// what the dispatcher sends.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/rpc/dispatcher.h"
#include "common/rpc/sockaddr.h"

namespace nfsrec::test_support {

// The context of a call from `peer` (numeric address and port) to `dest`
// on a socket of `netid`, which came in on the loopback interface or not
// (for TCP, the same answer as the stream rule gives).  "Local" is then decided by the product's
// own rule (rpc::DatagramFromLoopback), as the UDP transport decides it.  Addresses must be
// numeric; a bad one is a test bug and aborts through value().
inline rpc::CallContext DatagramContext(const std::string& peer, uint16_t port,
                                        const std::string& dest, rpc::Netid netid,
                                        bool on_loopback_interface, bool dual_stack = false) {
  rpc::Endpoint from = rpc::Endpoint::FromNumeric(peer, port).value();
  rpc::Endpoint to = rpc::Endpoint::FromNumeric(dest, 0).value();
  const unsigned lo = rpc::LoopbackInterfaceIndex();
  rpc::CallContext ctx;
  ctx.peer = from.addr;
  ctx.peer_len = from.len;
  ctx.netid = netid;
  ctx.dual_stack = dual_stack;
  ctx.arrived_on_loopback = rpc::DatagramFromLoopback(
      from.sa(), to.sa(), on_loopback_interface ? lo : lo + 1, lo, dual_stack);
  return ctx;
}

// A responder's call that appends every message sent to `*out`.
class CapturedCall final : public rpc::internal::PendingCall {
 public:
  explicit CapturedCall(std::vector<std::vector<uint8_t>>* out) : out_(out) {}
  void Send(std::vector<uint8_t> message) override { out_->push_back(std::move(message)); }

 private:
  std::vector<std::vector<uint8_t>>* out_;
};

}  // namespace nfsrec::test_support
