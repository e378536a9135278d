#include "common/rpc/udp_rpc_client.h"

#include <netinet/in.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "common/rpc/rpc_message.h"

namespace nfsrec::rpc {

Result<std::unique_ptr<UdpSocketPort>> UdpSocketPort::Open(EventLoop& loop,
                                                           const Options& options) {
  UniqueFd fd(::socket(options.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return PosixError("socket", errno);
  if (options.family == AF_INET6) {
    int off = 0;
    setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
  }
  if (options.receive_buffer > 0 &&
      setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &options.receive_buffer,
                 sizeof(options.receive_buffer)) != 0) {
    setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &options.receive_buffer,
               sizeof(options.receive_buffer));
  }
  std::string bind_addr = options.bind_address;
  if (bind_addr.empty()) bind_addr = options.family == AF_INET6 ? "::" : "0.0.0.0";

  auto try_bind = [&](uint16_t port) -> int {
    Result<Endpoint> ep = Endpoint::FromNumeric(options.family, bind_addr, port);
    if (!ep.ok()) return EINVAL;
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&ep->addr), ep->len) == 0) return 0;
    return errno;
  };

  int err = 0;
  if (options.port != 0 || !options.reserved_port) {
    err = try_bind(options.port);
    if (err != 0) {
      return PosixError(StrCat("bind UDP ", bind_addr, " port ", options.port), err);
    }
  } else {
    // Like bindresvport(3): a random start in 600..1023, then walk the range.
    uint16_t start = 0;
    if (getrandom(&start, sizeof(start), 0) != sizeof(start))
      start = static_cast<uint16_t>(getpid());
    constexpr int kLow = 600, kHigh = 1023;
    err = EADDRINUSE;
    for (int i = 0; i <= kHigh - kLow && err != 0; ++i) {
      uint16_t port = static_cast<uint16_t>(kLow + (start + i) % (kHigh - kLow + 1));
      err = try_bind(port);
      if (err != 0 && err != EADDRINUSE) break;
    }
    if (err != 0) return PosixError("bind a reserved UDP port on " + bind_addr, err);
  }
  NFSREC_ASSIGN_OR_RETURN(Endpoint local, Endpoint::Local(fd.get()));
  return std::unique_ptr<UdpSocketPort>(
      new UdpSocketPort(loop, std::move(fd), options.family, local.port()));
}

UdpSocketPort::UdpSocketPort(EventLoop& loop, UniqueFd fd, int family, uint16_t port)
    : fd_(std::move(fd)), family_(family), local_port_(port) {
  watcher_ = std::make_unique<IoWatcher>(loop, fd_.get(), IoWatcher::kRead,
                                         [this](short) { OnReadable(); });
  watcher_->Start();
}

int UdpSocketPort::receive_buffer() const {
  int size = 0;
  socklen_t len = sizeof(size);
  if (getsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &size, &len) != 0) return 0;
  return size;
}

Status UdpSocketPort::SendTo(const Endpoint& to, std::span<const uint8_t> data) {
  // An AF_INET6 socket reaches IPv4 peers through v4-mapped addresses.
  Endpoint dest = family_ == AF_INET6 ? to.V4Mapped() : to;
  ssize_t n = ::sendto(fd_.get(), data.data(), data.size(), MSG_DONTWAIT, dest.sa(), dest.len);
  if (n < 0) return PosixError("sendto " + to.ToString(), errno);
  return Status::Ok();
}

void UdpSocketPort::OnReadable() {
  uint8_t buf[65536];
  // Bounded per wake-up so one busy socket cannot starve the loop.
  for (int i = 0; i < 64; ++i) {
    Endpoint from;
    from.len = sizeof(from.addr);
    ssize_t n = ::recvfrom(fd_.get(), buf, sizeof(buf), MSG_DONTWAIT,
                           reinterpret_cast<sockaddr*>(&from.addr), &from.len);
    if (n < 0) return;  // EAGAIN, or an ICMP error surfaced as ECONNREFUSED: retransmit covers it
    if (receiver_) receiver_(from, std::span<const uint8_t>(buf, static_cast<size_t>(n)));
  }
}

UdpRpcClient::UdpRpcClient(DatagramPort& port, Scheduler& scheduler, Logger& log)
    : port_(port), scheduler_(scheduler), log_(log) {
  // Unpredictable xids make forged replies from off-path senders unlikely.
  if (getrandom(&next_xid_, sizeof(next_xid_), 0) != sizeof(next_xid_)) {
    next_xid_ = static_cast<uint32_t>(getpid()) ^
                static_cast<uint32_t>(scheduler_.Now().time_since_epoch().count());
  }
  port_.SetReceiver(
      [this](const Endpoint& from, std::span<const uint8_t> data) { OnDatagram(from, data); });
}

UdpRpcClient::~UdpRpcClient() {
  port_.SetReceiver(nullptr);
  for (auto& [xid, p] : calls_) scheduler_.Cancel(p.timer);
}

UdpRpcClient::CallId UdpRpcClient::Call(const Endpoint& to, uint32_t prog, uint32_t vers,
                                        uint32_t proc, Bytes args, const RetryPolicy& policy,
                                        Callback cb) {
  uint32_t xid = next_xid_++;
  while (xid == 0 || calls_.count(xid) != 0) xid = next_xid_++;
  CallId id = next_id_++;
  Pending p;
  p.id = id;
  p.xid = xid;
  p.to = to;
  p.message = EncodeCall(xid, prog, vers, proc, args);
  p.policy = policy;
  p.cb = std::move(cb);
  p.timeout = policy.first_timeout;
  p.started = scheduler_.Now();
  auto [it, inserted] = calls_.emplace(xid, std::move(p));
  xid_of_[id] = xid;
  Send(it->second);
  return id;
}

void UdpRpcClient::Send(Pending& p) {
  uint32_t xid = p.xid;
  Status st = port_.SendTo(p.to, p.message);
  ++p.sends;
  ++sent_;
  if (!st.ok()) log_.Debug(StrCat("RPC send to ", p.to.ToString(), " failed: ", st.ToString()));
  Duration wait = p.timeout;
  if (p.policy.deadline > Duration::zero()) {
    Duration left = p.started + p.policy.deadline - scheduler_.Now();
    if (left < wait) wait = left < Duration::zero() ? Duration::zero() : left;
  }
  p.timer = scheduler_.RunAfter(wait, [this, xid] { OnTimeout(xid); });
  p.timeout = std::min(p.timeout * 2, p.policy.max_timeout);
}

void UdpRpcClient::OnTimeout(uint32_t xid) {
  auto it = calls_.find(xid);
  if (it == calls_.end()) return;
  Pending& p = it->second;
  p.timer = 0;
  bool out_of_sends = p.policy.max_sends > 0 && p.sends >= p.policy.max_sends;
  bool past_deadline =
      p.policy.deadline > Duration::zero() && scheduler_.Now() >= p.started + p.policy.deadline;
  if (out_of_sends || past_deadline) {
    Finish(xid, Status::TimedOut(StrCat("no reply from ", p.to.ToString(), " after ", p.sends,
                                        " transmission(s)")));
    return;
  }
  Send(p);
}

void UdpRpcClient::OnDatagram(const Endpoint& from, std::span<const uint8_t> data) {
  Result<ReplyInfo> reply = DecodeReply(data);
  if (!reply.ok()) {
    log_.Debug(StrCat("Unrecognized datagram from ", from.ToString()));
    return;
  }
  auto it = calls_.find(reply->xid);
  if (it == calls_.end()) {
    log_.Debug(StrCat("Reply from ", from.ToString(), " matches no call (late or duplicate)"));
    return;
  }
  const ReplyInfo& r = reply.value();
  if (!r.accepted) {
    Finish(r.xid, Status::PermissionDenied(StrCat("call rejected by ", from.ToString())));
  } else if (r.accept_stat == AcceptStat::kSuccess) {
    Finish(r.xid, Bytes(r.results.begin(), r.results.end()));
  } else if (r.accept_stat == AcceptStat::kGarbageArgs) {
    Finish(r.xid, Status::InvalidArgument(StrCat("GARBAGE_ARGS from ", from.ToString())));
  } else {
    Finish(r.xid,
           Status::Unavailable(StrCat(AcceptStatName(r.accept_stat), " from ", from.ToString())));
  }
}

void UdpRpcClient::Finish(uint32_t xid, Result<Bytes> result) {
  auto it = calls_.find(xid);
  if (it == calls_.end()) return;
  Callback cb = std::move(it->second.cb);
  if (it->second.timer != 0) scheduler_.Cancel(it->second.timer);
  xid_of_.erase(it->second.id);
  calls_.erase(it);
  if (cb) cb(std::move(result));
}

void UdpRpcClient::Cancel(CallId id) {
  auto x = xid_of_.find(id);
  if (x == xid_of_.end()) return;
  auto it = calls_.find(x->second);
  if (it != calls_.end()) {
    if (it->second.timer != 0) scheduler_.Cancel(it->second.timer);
    calls_.erase(it);
  }
  xid_of_.erase(x);
}

void GetUdpPort(UdpRpcClient& client, const Endpoint& host, uint32_t prog, uint32_t vers,
                const RetryPolicy& policy, std::function<void(Result<uint16_t>)> cb) {
  Endpoint rpcbind = host.WithPort(kRpcbindPort);
  if (host.IsV6()) {
    client.Call(rpcbind, kRpcbindProgram, kRpcbVersion3, kRpcbProcGetaddr,
                EncodeRpcbGetaddr(prog, vers, "udp6"), policy,
                [cb = std::move(cb)](Result<Bytes> r) {
                  if (!r.ok()) return cb(r.status());
                  cb(DecodeRpcbGetaddrReply(r.value()));
                });
    return;
  }
  client.Call(rpcbind, kRpcbindProgram, kPmapVersion, kPmapProcGetport,
              EncodePmapGetport(prog, vers, kPmapProtoUdp), policy,
              [cb = std::move(cb)](Result<Bytes> r) {
                if (!r.ok()) return cb(r.status());
                cb(DecodePmapGetportReply(r.value()));
              });
}

}  // namespace nfsrec::rpc
