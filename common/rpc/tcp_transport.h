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
// close the connection.  A peer that half-closes still gets the replies to
// calls already read.
//
// Connection budgets.  lockd calls statd over TCP on loopback, so remote
// peers must never be able to take the connections it needs:
//  - A connection is "loopback" when its own address and its peer are
//    loopback addresses of one family (StreamFromLoopback, sockaddr.h);
//    every other one is "remote".  The two classes have separate budgets,
//    max_loopback_connections and max_remote_connections.
//  - One remote address may hold max_connections_per_remote_address
//    connections; more from it are accepted and closed at once.
//  - When a class's budget is full, a new connection of that class evicts
//    the connection of the same class that has been idle longest (no call
//    in flight, no reply pending; the oldest last read or write); if every
//    one is busy, the new connection is closed instead.  Loopback
//    connections from a privileged source port (below 1024: root's on this
//    host, such as lockd's) are evicted only for another such connection,
//    and only when no unprivileged one can go, so local users cannot push
//    lockd out either.  (A remote privileged port proves nothing.)
//  - A connection with no call in flight, no output pending and no input
//    for idle_timeout is closed (never a privileged loopback one: a lock
//    manager's connection stays until it closes it); remote ones already after
//    remote_idle_timeout_under_pressure while the remote budget is at least
//    three-quarters full.
// Memory per connection is bounded by max_record_bytes of input being
// reassembled plus max_output_bytes of replies (and libevent's buffers).
//
// accept() failing for lack of descriptors or memory (EMFILE, ENFILE,
// ENOBUFS, ENOMEM) leaves the connection queued and the listener readable;
// the listener is then disabled for a short back-off instead of spinning.
// Warnings about refused and evicted connections and failed accepts are
// rate limited (LogLimiter).
// All timing (idle sweep, back-off, rate limits) is on the Scheduler.
//
// Threading: loop thread only.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/base/clock.h"
#include "common/base/liveness.h"
#include "common/base/log_limiter.h"
#include "common/base/logging.h"
#include "common/base/result.h"
#include "common/base/unique_fd.h"
#include "common/os/event_loop.h"
#include "common/rpc/dispatcher.h"
#include "common/rpc/sockaddr.h"

struct evconnlistener;

namespace nfsrec::rpc {

class TcpTransport {
 public:
  // Defaults are RpcServer::Options' (common/rpc/rpc_server.h).
  struct Limits {
    size_t max_record_bytes = 64 * 1024;
    size_t max_loopback_connections = 128;
    size_t max_remote_connections = 512;
    size_t max_connections_per_remote_address = 16;
    size_t max_calls_per_connection = 64;
    size_t max_output_bytes = 1024 * 1024;
    Duration idle_timeout = std::chrono::minutes(6);  // zero disables
    // Zero: remote connections keep idle_timeout under pressure too.
    Duration remote_idle_timeout_under_pressure = std::chrono::seconds(30);
  };

  TcpTransport(EventLoop& loop, Scheduler& scheduler, Dispatcher& dispatcher, Logger& log,
               Limits limits);
  // Closes every connection; Responders still held answer nothing.
  ~TcpTransport();
  TcpTransport(const TcpTransport&) = delete;
  TcpTransport& operator=(const TcpTransport&) = delete;

  // Accepts on a bound, listening socket.
  Status Listen(Netid netid, UniqueFd fd);
  // Serves a connected socket as if accepted from `peer` on `local` (its
  // getsockname), under the budgets above; closes it if refused.  For
  // Listen's accepts, and for tests, which give made-up addresses.
  void Adopt(Netid netid, UniqueFd fd, const Endpoint& peer, const Endpoint& local,
             bool dual_stack);

  size_t connection_count() const { return connections_.size(); }
  size_t loopback_connection_count() const { return loopback_count_; }
  size_t remote_connection_count() const { return connections_.size() - loopback_count_; }

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
  // Makes room for a new connection of one class (and source); false if
  // it must be refused.  `why` tells the log why.
  bool Admit(bool loopback, bool privileged_port, const std::string& source, std::string* why);
  // The connection a newcomer of this class may evict, or null (see the
  // budget rules above).
  std::shared_ptr<Connection> Victim(bool loopback, bool privileged_port) const;
  // Drops the transport's reference; the caller holds another.
  void Forget(Connection* conn);
  bool RemoteUnderPressure() const;
  Duration IdleTimeoutFor(const Connection& conn) const;
  void ScheduleIdleSweep();
  void IdleSweep();

  EventLoop& loop_;
  Scheduler& scheduler_;
  Dispatcher& dispatcher_;
  Logger& log_;
  Limits limits_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::map<Connection*, std::shared_ptr<Connection>> connections_;
  size_t loopback_count_ = 0;
  std::map<std::string, size_t> per_remote_address_;
  Scheduler::TimerId idle_timer_ = 0;
  LogLimiter refused_log_;
  LogLimiter evicted_log_;
  LogLimiter accept_log_;
  Liveness liveness_;
};

}  // namespace nfsrec::rpc
