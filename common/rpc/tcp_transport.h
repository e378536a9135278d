// The RPC server's TCP transport, on libevent: evconnlistener accepts,
// one bufferevent per connection buffers input and output.
//
// Records are reassembled from any number of fragments (RFC 5531 section
// 11).  A record whose fragments add up to more than max_record_bytes
// closes the connection as soon as the fragment header announcing the
// excess arrives.  A record whose call header does not decode closes the
// connection.  Many calls may be in flight on one connection and their
// replies go out in completion order; once max_calls_per_connection are in
// flight the connection's reads are disabled until one completes (records
// already buffered are dispatched without waiting for the socket).  Replies
// queued beyond max_output_bytes (a peer that sends calls but never reads)
// close the connection.  Connections beyond max_connections are accepted
// and closed at once.  A connection with no call in flight, no output
// pending and no input for idle_timeout is closed.  A peer that half-closes
// still gets the replies to calls already read.
//
// accept() failing for lack of descriptors or memory (EMFILE, ENFILE,
// ENOBUFS, ENOMEM) leaves the connection queued and the listener readable;
// the listener is then disabled for a short back-off instead of spinning.
// Warnings about refused connections and failed accepts are rate limited.
// All timing (idle sweep, back-off, rate limits) is on the Scheduler.
//
// Threading: loop thread only.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "common/base/clock.h"
#include "common/base/liveness.h"
#include "common/base/logging.h"
#include "common/base/result.h"
#include "common/base/unique_fd.h"
#include "common/os/event_loop.h"
#include "common/rpc/dispatcher.h"

struct evconnlistener;

namespace nfsrec::rpc {

class TcpTransport {
 public:
  struct Limits {
    size_t max_record_bytes = 64 * 1024;
    size_t max_connections = 512;
    size_t max_calls_per_connection = 64;
    size_t max_output_bytes = 1024 * 1024;
    Duration idle_timeout = std::chrono::minutes(6);  // zero disables
  };

  TcpTransport(EventLoop& loop, Scheduler& scheduler, Dispatcher& dispatcher, Logger& log,
               Limits limits);
  // Closes every connection; Responders still held answer nothing.
  ~TcpTransport();
  TcpTransport(const TcpTransport&) = delete;
  TcpTransport& operator=(const TcpTransport&) = delete;

  // Accepts on a bound, listening socket.
  Status Listen(Netid netid, UniqueFd fd);

  size_t connection_count() const { return connections_.size(); }

 private:
  class Connection;
  struct Listener;
  struct ListenerFree {
    void operator()(evconnlistener* l) const;
  };

  static void AcceptTrampoline(evconnlistener* l, int fd, sockaddr* sa, int len, void* arg);
  static void AcceptErrorTrampoline(evconnlistener* l, void* arg);
  void OnAccept(Listener& listener, UniqueFd fd, const sockaddr* peer, socklen_t peer_len);
  void OnAcceptError(Listener& listener, int err);
  // Drops the transport's reference; the caller holds another.
  void Forget(Connection* conn) { connections_.erase(conn); }
  void ScheduleIdleSweep();
  void IdleSweep();
  // True at most once per warning interval for each `last`.
  bool RateLimitOk(std::optional<TimePoint>* last);

  EventLoop& loop_;
  Scheduler& scheduler_;
  Dispatcher& dispatcher_;
  Logger& log_;
  Limits limits_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::map<Connection*, std::shared_ptr<Connection>> connections_;
  Scheduler::TimerId idle_timer_ = 0;
  std::optional<TimePoint> last_cap_warning_;
  std::optional<TimePoint> last_accept_warning_;
  Liveness liveness_;
};

}  // namespace nfsrec::rpc
