#include "tests/support/rpc_test_client.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/base/logging.h"
#include "common/rpc/rpcbind_protocol.h"
#include "common/rpc/sockaddr.h"

namespace nfsrec::test {

namespace {

constexpr uint32_t kLastFragment = 0x80000000u;

uint32_t RandomXid() {
  uint32_t xid = 0;
  if (getrandom(&xid, sizeof(xid), 0) != sizeof(xid)) xid = static_cast<uint32_t>(getpid());
  return xid;
}

int PollMs(TimePoint deadline) {
  auto left = deadline - std::chrono::steady_clock::now();
  if (left <= Duration::zero()) return 0;
  return static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(left).count()) + 1;
}

uint16_t LocalPort(int fd) {
  Result<rpc::Endpoint> local = rpc::Endpoint::Local(fd);
  return local.ok() ? local->port() : 0;
}

// A non-blocking socket of the right family, bound as the options ask.
Result<UniqueFd> OpenSocket(int family, Proto proto, const CallOptions& opt) {
  UniqueFd fd(::socket(
      family, (proto == Proto::kTcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return PosixError("test client: socket", errno);
  // No SO_REUSEADDR: then bind skips reserved ports still in TIME_WAIT from
  // an earlier call to the same server, which connect would refuse.
  std::string source = opt.source_address;
  if (source.empty()) source = family == AF_INET ? "0.0.0.0" : "::";
  Result<rpc::Endpoint> local = rpc::Endpoint::FromNumeric(family, source, 0);
  if (!local.ok()) {
    return Status::InvalidArgument("test client: source and destination families differ");
  }
  auto bind_port = [&](uint16_t p) {
    rpc::Endpoint ep = local->WithPort(p);
    return ::bind(fd.get(), ep.sa(), ep.len) == 0;
  };
  if (opt.source_port != 0) {
    if (!bind_port(opt.source_port)) {
      return PosixError(StrCat("test client: bind port ", opt.source_port), errno);
    }
  } else if (opt.reserved_port) {
    bool bound = false;
    int err = EADDRINUSE;
    for (uint16_t p = 1023; p >= 512 && !bound; --p) {
      bound = bind_port(p);
      if (!bound) {
        err = errno;
        if (err != EADDRINUSE) break;
      }
    }
    if (!bound) return PosixError("test client: bind a reserved port", err);
  } else if (!opt.source_address.empty() && !bind_port(0)) {
    return PosixError("test client: bind source address", errno);
  }
  return fd;
}

Result<UniqueFd> ConnectTcp(const rpc::Endpoint& to, TimePoint deadline, const CallOptions& opt) {
  NFSREC_ASSIGN_OR_RETURN(UniqueFd fd, OpenSocket(to.family(), Proto::kTcp, opt));
  int one = 1;
  setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (::connect(fd.get(), to.sa(), to.len) < 0) {
    if (errno != EINPROGRESS) return PosixError("test client: connect", errno);
    pollfd pfd{fd.get(), POLLOUT, 0};
    int pr = ::poll(&pfd, 1, PollMs(deadline));
    if (pr <= 0) return Status::TimedOut("test client: connect timed out");
    int err = 0;
    socklen_t elen = sizeof(err);
    getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &elen);
    if (err != 0) return PosixError("test client: connect", err);
  }
  return fd;
}

Status SendAll(int fd, std::span<const uint8_t> bytes, TimePoint deadline) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        pollfd pfd{fd, POLLOUT, 0};
        if (::poll(&pfd, 1, PollMs(deadline)) <= 0) return Status::TimedOut("test client: send");
        continue;
      }
      return PosixError("test client: send", errno);
    }
    off += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Result<Reply> ToReply(std::span<const uint8_t> message, uint16_t local_port) {
  NFSREC_ASSIGN_OR_RETURN(rpc::ReplyInfo info, rpc::DecodeReply(message));
  Reply r;
  r.info = info;
  r.results.assign(info.results.begin(), info.results.end());
  r.info.results = {};
  r.local_port = local_port;
  return r;
}

Result<Reply> UdpCall(const rpc::Endpoint& to, uint32_t xid, const std::vector<uint8_t>& call,
                      Duration timeout, const CallOptions& opt) {
  TimePoint deadline = std::chrono::steady_clock::now() + timeout;
  NFSREC_ASSIGN_OR_RETURN(UniqueFd fd, OpenSocket(to.family(), Proto::kUdp, opt));
  if (::connect(fd.get(), to.sa(), to.len) < 0) {
    return PosixError("test client: connect", errno);
  }
  if (::send(fd.get(), call.data(), call.size(), MSG_NOSIGNAL) < 0) {
    return PosixError("test client: send", errno);
  }
  uint16_t local = LocalPort(fd.get());
  std::vector<uint8_t> buf(65536);
  for (;;) {
    pollfd pfd{fd.get(), POLLIN, 0};
    int pr = ::poll(&pfd, 1, PollMs(deadline));
    if (pr == 0) return Status::TimedOut("test client: no UDP reply");
    if (pr < 0) {
      if (errno == EINTR) continue;
      return PosixError("test client: poll", errno);
    }
    ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == ECONNREFUSED) return Status::Unavailable("test client: port unreachable");
      if (errno == EINTR || errno == EAGAIN) continue;
      return PosixError("test client: recv", errno);
    }
    std::span<const uint8_t> msg(buf.data(), static_cast<size_t>(n));
    Result<Reply> r = ToReply(msg, local);
    if (r.ok() && r->info.xid == xid) return r;
  }
}

}  // namespace

std::vector<uint8_t> RecordMark(std::span<const uint8_t> message, size_t fragment_bytes) {
  fragment_bytes = std::clamp<size_t>(fragment_bytes, 1, 0x7fffffff);
  std::vector<uint8_t> out;
  size_t off = 0;
  do {
    size_t n = std::min(fragment_bytes, message.size() - off);
    uint32_t mark = static_cast<uint32_t>(n) | (off + n == message.size() ? kLastFragment : 0);
    rpc::XdrWriter w;
    w.PutUint32(mark);
    out.insert(out.end(), w.bytes().begin(), w.bytes().end());
    out.insert(out.end(), message.begin() + static_cast<std::ptrdiff_t>(off),
               message.begin() + static_cast<std::ptrdiff_t>(off + n));
    off += n;
  } while (off < message.size());
  return out;
}

Result<Reply> Call(const std::string& addr, uint16_t port, Proto proto, uint32_t prog,
                   uint32_t vers, uint32_t proc, std::span<const uint8_t> args, Duration timeout,
                   const CallOptions& options) {
  NFSREC_ASSIGN_OR_RETURN(rpc::Endpoint to, rpc::Endpoint::FromNumeric(addr, port));
  uint32_t xid = options.xid != 0 ? options.xid : RandomXid();
  std::vector<uint8_t> call = rpc::EncodeCall(xid, prog, vers, proc, args, options.cred);
  if (proto == Proto::kUdp) return UdpCall(to, xid, call, timeout, options);

  NFSREC_ASSIGN_OR_RETURN(std::unique_ptr<TcpClient> client,
                          TcpClient::Connect(addr, port, timeout, options));
  TimePoint deadline = std::chrono::steady_clock::now() + timeout;
  NFSREC_RETURN_IF_ERROR(client->SendRaw(RecordMark(call)));
  for (;;) {
    auto left = deadline - std::chrono::steady_clock::now();
    Result<Reply> r = client->ReadReply(std::max(left, Duration::zero()));
    if (!r.ok() || r->info.xid == xid) return r;
  }
}

Result<RawResult> RawSend(const std::string& addr, uint16_t port, Proto proto,
                          std::span<const uint8_t> bytes, Duration wait) {
  NFSREC_ASSIGN_OR_RETURN(rpc::Endpoint to, rpc::Endpoint::FromNumeric(addr, port));
  TimePoint deadline = std::chrono::steady_clock::now() + wait;
  RawResult result;
  if (proto == Proto::kUdp) {
    NFSREC_ASSIGN_OR_RETURN(UniqueFd fd, OpenSocket(to.family(), Proto::kUdp, {}));
    if (::connect(fd.get(), to.sa(), to.len) < 0 ||
        ::send(fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL) < 0) {
      return PosixError("test client: raw UDP send", errno);
    }
    pollfd pfd{fd.get(), POLLIN, 0};
    if (::poll(&pfd, 1, PollMs(deadline)) > 0) {
      std::vector<uint8_t> buf(65536);
      ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), MSG_DONTWAIT);
      if (n >= 0) {
        buf.resize(static_cast<size_t>(n));
        result.reply = std::move(buf);
      }
    }
    return result;
  }
  NFSREC_ASSIGN_OR_RETURN(std::unique_ptr<TcpClient> client, TcpClient::Connect(addr, port, wait));
  Status st = client->SendRaw(bytes);
  if (!st.ok()) {
    // The server may close before taking everything (oversize records).
    result.closed = true;
    return result;
  }
  auto left = std::max(deadline - std::chrono::steady_clock::now(), Duration::zero());
  Result<std::vector<uint8_t>> rec = client->ReadRecord(left);
  if (rec.ok()) {
    result.reply = std::move(rec).value();
  } else if (rec.status().IsUnavailable()) {
    result.closed = true;
  }
  return result;
}

// ---- TcpClient ----

Result<std::unique_ptr<TcpClient>> TcpClient::Connect(const std::string& addr, uint16_t port,
                                                      Duration timeout,
                                                      const CallOptions& options) {
  NFSREC_ASSIGN_OR_RETURN(rpc::Endpoint to, rpc::Endpoint::FromNumeric(addr, port));
  NFSREC_ASSIGN_OR_RETURN(UniqueFd fd,
                          ConnectTcp(to, std::chrono::steady_clock::now() + timeout, options));
  uint16_t local = LocalPort(fd.get());
  uint32_t xid = options.xid != 0 ? options.xid : RandomXid();
  return std::unique_ptr<TcpClient>(new TcpClient(std::move(fd), local, xid));
}

Status TcpClient::SendRaw(std::span<const uint8_t> bytes) {
  return SendAll(fd_.get(), bytes, std::chrono::steady_clock::now() + std::chrono::seconds(10));
}

Status TcpClient::ShutdownWrite() {
  if (::shutdown(fd_.get(), SHUT_WR) < 0) return PosixError("test client: shutdown", errno);
  return Status::Ok();
}

Status TcpClient::SendCall(uint32_t xid, uint32_t prog, uint32_t vers, uint32_t proc,
                           std::span<const uint8_t> args) {
  return SendRaw(RecordMark(rpc::EncodeCall(xid, prog, vers, proc, args)));
}

Result<Reply> TcpClient::Call(uint32_t prog, uint32_t vers, uint32_t proc,
                              std::span<const uint8_t> args, Duration timeout) {
  uint32_t xid = NextXid();
  TimePoint deadline = std::chrono::steady_clock::now() + timeout;
  NFSREC_RETURN_IF_ERROR(SendCall(xid, prog, vers, proc, args));
  for (;;) {
    auto left = std::max(deadline - std::chrono::steady_clock::now(), Duration::zero());
    NFSREC_ASSIGN_OR_RETURN(std::vector<uint8_t> rec, ReadRecord(left));
    NFSREC_ASSIGN_OR_RETURN(Reply r, ToReply(rec, local_port_));
    if (r.info.xid == xid) return r;
    early_.push_back(std::move(r));
  }
}

Result<Reply> TcpClient::ReadReply(Duration timeout) {
  if (!early_.empty()) {
    Reply r = std::move(early_.front());
    early_.erase(early_.begin());
    return r;
  }
  NFSREC_ASSIGN_OR_RETURN(std::vector<uint8_t> rec, ReadRecord(timeout));
  return ToReply(rec, local_port_);
}

std::optional<std::vector<uint8_t>> TcpClient::TakeRecord() {
  std::vector<uint8_t> record;
  size_t off = 0;
  for (;;) {
    if (in_.size() - off < 4) return std::nullopt;
    rpc::XdrReader r(std::span<const uint8_t>(in_).subspan(off));
    uint32_t mark;
    r.GetUint32(&mark);
    size_t n = mark & ~kLastFragment;
    if (in_.size() - off - 4 < n) return std::nullopt;
    record.insert(record.end(), in_.begin() + static_cast<std::ptrdiff_t>(off + 4),
                  in_.begin() + static_cast<std::ptrdiff_t>(off + 4 + n));
    off += 4 + n;
    if ((mark & kLastFragment) != 0) break;
  }
  in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(off));
  return record;
}

Result<bool> TcpClient::Fill(TimePoint deadline) {
  pollfd pfd{fd_.get(), POLLIN, 0};
  int pr = ::poll(&pfd, 1, PollMs(deadline));
  if (pr == 0) return false;
  if (pr < 0) return errno == EINTR ? Result<bool>(true) : PosixError("test client: poll", errno);
  uint8_t buf[65536];
  ssize_t n = ::recv(fd_.get(), buf, sizeof(buf), MSG_DONTWAIT);
  if (n == 0) return Status::Unavailable("test client: server closed the connection");
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return true;
    return Status::Unavailable(StrCat("test client: recv: ", std::strerror(errno)));
  }
  in_.insert(in_.end(), buf, buf + n);
  return true;
}

Result<std::vector<uint8_t>> TcpClient::ReadRecord(Duration timeout) {
  TimePoint deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (auto rec = TakeRecord()) return std::move(*rec);
    NFSREC_ASSIGN_OR_RETURN(bool got, Fill(deadline));
    if (!got) return Status::TimedOut("test client: no complete record");
  }
}

bool TcpClient::WaitClosed(Duration timeout) {
  TimePoint deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    Result<bool> got = Fill(deadline);
    if (!got.ok()) return true;
    if (!*got) return false;
    in_.clear();
  }
}

// ---- rpcbind queries ----

Result<uint16_t> PmapGetPort(const std::string& addr, uint32_t prog, uint32_t vers, Proto proto,
                             Duration timeout) {
  std::vector<uint8_t> args = rpc::EncodePmapGetport(
      prog, vers, proto == Proto::kTcp ? rpc::kPmapProtoTcp : rpc::kPmapProtoUdp);
  NFSREC_ASSIGN_OR_RETURN(Reply r, Call(addr, rpc::kRpcbindPort, Proto::kUdp, rpc::kRpcbindProgram,
                                        rpc::kPmapVersion, rpc::kPmapProcGetport, args, timeout));
  if (!r.Success()) return Status::IOError("PMAPPROC_GETPORT was not accepted");
  Result<uint16_t> port = rpc::DecodePmapGetportReply(r.results);
  if (!port.ok()) return Status::Corruption("bad PMAPPROC_GETPORT result");
  return port;
}

Result<std::string> RpcbGetAddr(const std::string& addr, uint32_t prog, uint32_t vers,
                                const std::string& netid, Duration timeout) {
  std::vector<uint8_t> args = rpc::EncodeRpcbGetaddr(prog, vers, netid);
  NFSREC_ASSIGN_OR_RETURN(Reply r, Call(addr, rpc::kRpcbindPort, Proto::kUdp, rpc::kRpcbindProgram,
                                        rpc::kRpcbVersion4, rpc::kRpcbProcGetaddr, args, timeout));
  if (!r.Success()) return Status::IOError("RPCBPROC_GETADDR was not accepted");
  Result<std::string> uaddr = rpc::DecodeRpcbGetaddrUaddr(r.results);
  if (!uaddr.ok()) return Status::Corruption("bad RPCBPROC_GETADDR result");
  return uaddr;
}

}  // namespace nfsrec::test
