// Asynchronous ONC RPC calls over UDP with retransmission and xid matching,
// for the notify engine (lockd callbacks, rpcbind look-ups, SM_NOTIFY).
//
// A DatagramPort is the socket, behind a port so that tests can drive the
// client with a fake socket and a FakeScheduler.  Loop thread only.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/base/clock.h"
#include "common/base/logging.h"
#include "common/base/result.h"
#include "common/base/unique_fd.h"
#include "common/os/event_loop.h"
#include "common/rpc/rpcbind_protocol.h"
#include "common/rpc/sockaddr.h"

namespace nfsrec::rpc {

using Bytes = std::vector<uint8_t>;

class DatagramPort {
 public:
  using Receiver = std::function<void(const Endpoint& from, std::span<const uint8_t> data)>;
  virtual ~DatagramPort() = default;
  // Never blocks; a datagram that cannot be sent now is an error (the
  // caller's retransmission covers it).
  virtual Status SendTo(const Endpoint& to, std::span<const uint8_t> data) = 0;
  virtual void SetReceiver(Receiver receiver) = 0;
};

// A non-blocking UDP socket watched by the loop.
class UdpSocketPort final : public DatagramPort {
 public:
  struct Options {
    int family = AF_INET;        // AF_INET or AF_INET6 (IPV6_V6ONLY off: reaches v4 too)
    std::string bind_address;    // numeric; empty = wildcard
    uint16_t port = 0;           // fixed source port; 0 = see reserved_port
    bool reserved_port = false;  // pick a free port in 600..1023 (needs root)
    // SO_RCVBUF in bytes, 0 = the system's default.  Beyond
    // net.core.rmem_max only with CAP_NET_ADMIN (SO_RCVBUFFORCE); otherwise
    // capped there.  Best effort: a size that cannot be set is not an error.
    int receive_buffer = 0;
  };
  static Result<std::unique_ptr<UdpSocketPort>> Open(EventLoop& loop, const Options& options);
  Status SendTo(const Endpoint& to, std::span<const uint8_t> data) override;
  void SetReceiver(Receiver receiver) override { receiver_ = std::move(receiver); }
  uint16_t local_port() const { return local_port_; }
  // The receive buffer as the kernel reports it (SO_RCVBUF): twice the
  // size that was set, the other half counting its bookkeeping; 0 if unknown.
  int receive_buffer() const;

 private:
  UdpSocketPort(EventLoop& loop, UniqueFd fd, int family, uint16_t port);
  void OnReadable();
  UniqueFd fd_;
  int family_;
  uint16_t local_port_;
  Receiver receiver_;
  std::unique_ptr<IoWatcher> watcher_;
};

// How long to wait for a reply and how often to resend.
struct RetryPolicy {
  Duration first_timeout = std::chrono::seconds(1);
  Duration max_timeout = std::chrono::seconds(30);  // the timeout doubles up to this
  int max_sends = 5;                                // 0 = no limit (then deadline must be set)
  Duration deadline = Duration::zero();             // from the first send; 0 = none
};

class UdpRpcClient {
 public:
  using CallId = uint64_t;
  // SUCCESS results, or: TimedOut (no reply within the policy), Unavailable
  // (PROG_UNAVAIL/PROG_MISMATCH/PROC_UNAVAIL/SYSTEM_ERR), InvalidArgument
  // (GARBAGE_ARGS or an undecodable reply), PermissionDenied (MSG_DENIED),
  // or the send error.
  using Callback = std::function<void(Result<Bytes>)>;

  UdpRpcClient(DatagramPort& port, Scheduler& scheduler, Logger& log);
  ~UdpRpcClient();
  UdpRpcClient(const UdpRpcClient&) = delete;
  UdpRpcClient& operator=(const UdpRpcClient&) = delete;

  // Sends at once; cb runs later on the loop thread, exactly once, unless
  // the call is cancelled or the client destroyed first.
  CallId Call(const Endpoint& to, uint32_t prog, uint32_t vers, uint32_t proc, Bytes args,
              const RetryPolicy& policy, Callback cb);
  void Cancel(CallId id);
  size_t in_flight() const { return calls_.size(); }
  uint64_t datagrams_sent() const { return sent_; }

 private:
  struct Pending {
    CallId id;
    uint32_t xid;
    Endpoint to;
    Bytes message;
    RetryPolicy policy;
    Callback cb;
    int sends = 0;
    Duration timeout{};
    TimePoint started{};
    Scheduler::TimerId timer = 0;
  };
  void Send(Pending& p);
  void OnTimeout(uint32_t xid);
  void OnDatagram(const Endpoint& from, std::span<const uint8_t> data);
  void Finish(uint32_t xid, Result<Bytes> result);

  DatagramPort& port_;
  Scheduler& scheduler_;
  Logger& log_;
  uint32_t next_xid_;
  CallId next_id_ = 1;
  uint64_t sent_ = 0;
  std::map<uint32_t, Pending> calls_;  // by xid
  std::map<CallId, uint32_t> xid_of_;
};

// Asks host's rpcbind for the UDP port of prog/vers; 0 = not registered.
// IPv4 uses PMAP_GETPORT (portmapper v2); IPv6 uses RPCB_GETADDR (v3) with
// netid "udp6" (common/rpc/rpcbind_protocol.h).
void GetUdpPort(UdpRpcClient& client, const Endpoint& host, uint32_t prog, uint32_t vers,
                const RetryPolicy& policy, std::function<void(Result<uint16_t>)> cb);

}  // namespace nfsrec::rpc
