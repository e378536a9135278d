// Blocking ONC RPC client for tests and benchmarks.
//
// Not for the daemon: every call blocks the calling thread (poll with a
// deadline).  Use it from a test thread while the server's EventLoop runs
// on another, or from a separate process.  Addresses are numeric strings
// ("127.0.0.1", "::1", "10.99.0.1").
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/base/clock.h"
#include "common/base/result.h"
#include "common/base/unique_fd.h"
#include "common/rpc/rpc_message.h"

namespace nfsrec::test {

enum class Proto { kUdp, kTcp };

struct CallOptions {
  // Numeric source address to bind; empty lets the kernel choose.
  std::string source_address;
  // Source port: 0 lets the kernel choose.
  uint16_t source_port = 0;
  // Bind a source port in 512..1023, as bindresvport() does (needs root or
  // CAP_NET_BIND_SERVICE).  Ignored if source_port is set.
  bool reserved_port = false;
  // 0: a random xid.
  uint32_t xid = 0;
  // Credential; the verifier is always AUTH_NONE.
  rpc::OpaqueAuth cred;
};

struct Reply {
  // Header fields; info.results is empty, the bytes are in `results`.
  rpc::ReplyInfo info;
  std::vector<uint8_t> results;
  uint16_t local_port = 0;  // source port the call went out from

  bool Success() const { return info.accepted && info.accept_stat == rpc::AcceptStat::kSuccess; }
};

// One call, one reply (the first with a matching xid).  UDP sends once and
// does not retransmit.  TimedOut if no reply arrives in time; Unavailable
// if the peer refused or closed the connection.
Result<Reply> Call(const std::string& addr, uint16_t port, Proto proto, uint32_t prog,
                   uint32_t vers, uint32_t proc, std::span<const uint8_t> args, Duration timeout,
                   const CallOptions& options = {});

// Sends bytes exactly as given (over TCP the caller supplies record marks)
// and reports what came back within `wait`: over UDP the first datagram;
// over TCP the first complete record (reassembled), or that the server
// closed the connection.
struct RawResult {
  std::optional<std::vector<uint8_t>> reply;
  bool closed = false;
};
Result<RawResult> RawSend(const std::string& addr, uint16_t port, Proto proto,
                          std::span<const uint8_t> bytes, Duration wait);

// Frames a message as an RPC record in fragments of at most
// `fragment_bytes` (the last one carries the last-fragment bit).
std::vector<uint8_t> RecordMark(std::span<const uint8_t> message,
                                size_t fragment_bytes = 0x7fffffff);

// A persistent TCP connection: many calls, pipelining, raw bytes.
class TcpClient {
 public:
  static Result<std::unique_ptr<TcpClient>> Connect(const std::string& addr, uint16_t port,
                                                    Duration timeout,
                                                    const CallOptions& options = {});
  TcpClient(const TcpClient&) = delete;
  TcpClient& operator=(const TcpClient&) = delete;

  // Sends one call and waits for its reply; replies to other xids that
  // arrive first are kept for ReadReply.
  Result<Reply> Call(uint32_t prog, uint32_t vers, uint32_t proc, std::span<const uint8_t> args,
                     Duration timeout);
  // Sends a call as one record without waiting.
  Status SendCall(uint32_t xid, uint32_t prog, uint32_t vers, uint32_t proc,
                  std::span<const uint8_t> args);
  Status SendRaw(std::span<const uint8_t> bytes);
  // shutdown(SHUT_WR): tells the server no more calls will come.
  Status ShutdownWrite();
  // The next reply record, whatever its xid.
  Result<Reply> ReadReply(Duration timeout);
  // The next complete record, undecoded.  Unavailable once the server has
  // closed the connection, TimedOut if nothing complete arrived.
  Result<std::vector<uint8_t>> ReadRecord(Duration timeout);
  // True if the server closes the connection within `timeout` (any bytes
  // it sends first are discarded).
  bool WaitClosed(Duration timeout);

  uint16_t local_port() const { return local_port_; }
  uint32_t NextXid() { return next_xid_++; }

 private:
  TcpClient(UniqueFd fd, uint16_t local_port, uint32_t first_xid)
      : fd_(std::move(fd)), local_port_(local_port), next_xid_(first_xid) {}
  // Reads what is available into in_, waiting until `deadline`.  false on
  // timeout; Unavailable on EOF or error.
  Result<bool> Fill(TimePoint deadline);
  std::optional<std::vector<uint8_t>> TakeRecord();

  UniqueFd fd_;
  uint16_t local_port_;
  uint32_t next_xid_;
  std::vector<uint8_t> in_;
  std::vector<Reply> early_;  // replies read while waiting for another xid
};

// Portmapper v2 GETPORT (UDP to addr:111): 0 if not registered.
Result<uint16_t> PmapGetPort(const std::string& addr, uint32_t prog, uint32_t vers, Proto proto,
                             Duration timeout);
// rpcbind v4 GETADDR (UDP to addr:111): the universal address, "" if not
// registered.
Result<std::string> RpcbGetAddr(const std::string& addr, uint32_t prog, uint32_t vers,
                                const std::string& netid, Duration timeout);

}  // namespace nfsrec::test
