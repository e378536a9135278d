#include "common/rpc/rpc_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace nfsrec::rpc {

namespace {

// RFC 5531 section 11: the top bit of the record mark flags the last
// fragment, the low 31 bits are the fragment length.
constexpr uint32_t kLastFragment = 0x80000000u;
constexpr size_t kRecordMarkBytes = 4;
// Bounds on work per readiness callback, so one busy socket cannot starve
// the rest of the loop.
constexpr int kMaxDatagramsPerWakeup = 32;
constexpr int kMaxAcceptsPerWakeup = 16;
constexpr int kMaxReadsPerWakeup = 8;
constexpr size_t kReadChunk = 64 * 1024;
// Largest UDP payload over IPv4/IPv6, plus one byte to detect anything more.
constexpr size_t kUdpBufferBytes = 65536;
constexpr auto kWarningInterval = std::chrono::seconds(10);
constexpr auto kAcceptBackoff = std::chrono::milliseconds(100);
constexpr size_t kMaxAuthSysMachineName = 255;
constexpr size_t kMaxAuthSysGids = 16;

// AUTH_SYS body (RFC 5531 appendix A): stamp, machinename<255>, uid, gid,
// gids<16>.  Only its shape is checked; nothing here trusts its contents.
bool AuthSysBodyParses(std::span<const uint8_t> body) {
  XdrReader r(body);
  uint32_t stamp, uid, gid, ngids, gid_i;
  std::string machine;
  if (!r.GetUint32(&stamp) || !r.GetString(kMaxAuthSysMachineName, &machine) ||
      !r.GetUint32(&uid) || !r.GetUint32(&gid) || !r.GetUint32(&ngids) ||
      ngids > kMaxAuthSysGids) {
    return false;
  }
  for (uint32_t i = 0; i < ngids; ++i) {
    if (!r.GetUint32(&gid_i)) return false;
  }
  return r.remaining() == 0;
}

std::string PeerString(const CallContext& ctx) {
  return StrCat(NetidName(ctx.netid), " ", ctx.PeerAddress(), " port ", ctx.PeerPort());
}

}  // namespace

std::string_view NetidName(Netid netid) {
  switch (netid) {
    case Netid::kUdp: return "udp";
    case Netid::kTcp: return "tcp";
    case Netid::kUdp6: return "udp6";
    case Netid::kTcp6: return "tcp6";
  }
  return "?";
}

bool IsLoopbackAddress(const sockaddr* sa) {
  if (sa->sa_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(sa);
    return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
  }
  if (sa->sa_family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(sa);
    if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr)) return true;
    return IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) && sin6->sin6_addr.s6_addr[12] == 127;
  }
  return false;
}

uint16_t SockaddrPort(const sockaddr* sa) {
  if (sa->sa_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(sa)->sin_port);
  if (sa->sa_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(sa)->sin6_port);
  }
  return 0;
}

std::string NumericAddress(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = {};
  const void* addr = nullptr;
  if (sa->sa_family == AF_INET) {
    addr = &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr;
  } else if (sa->sa_family == AF_INET6) {
    addr = &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr;
  } else {
    return "?";
  }
  if (inet_ntop(sa->sa_family, addr, buf, sizeof(buf)) == nullptr) return "?";
  return buf;
}

// ---------------------------------------------------------------------------
// PendingCall and Responder

namespace internal {
class PendingCall {
 public:
  virtual ~PendingCall() = default;
  // Sends one complete reply message.
  virtual void Send(std::vector<uint8_t> message) = 0;
};
}  // namespace internal

Responder::Responder() = default;
Responder::~Responder() = default;
Responder::Responder(Responder&& other) noexcept = default;
Responder& Responder::operator=(Responder&& other) noexcept = default;

Responder::Responder(std::unique_ptr<internal::PendingCall> call, uint32_t xid)
    : call_(std::move(call)), xid_(xid) {}

void Responder::SendMessage(std::vector<uint8_t> message) {
  if (!call_) return;
  // Release first: Send may close a connection, and the PendingCall's
  // destructor does the in-flight bookkeeping exactly once.
  std::unique_ptr<internal::PendingCall> call = std::move(call_);
  call->Send(std::move(message));
}

void Responder::Reply(std::vector<uint8_t> encoded_results) {
  if (!call_) return;
  SendMessage(EncodeAcceptedReply(xid_, AcceptStat::kSuccess, encoded_results));
}

void Responder::GarbageArgs() {
  if (!call_) return;
  SendMessage(EncodeAcceptedReply(xid_, AcceptStat::kGarbageArgs));
}

void Responder::SystemErr() {
  if (!call_) return;
  SendMessage(EncodeAcceptedReply(xid_, AcceptStat::kSystemErr));
}

// ---------------------------------------------------------------------------
// UDP

namespace internal {

// Where a datagram reply goes and which local address it leaves from.
struct UdpRoute {
  sockaddr_storage peer{};
  socklen_t peer_len = 0;
  bool have_pktinfo = false;
  in_pktinfo pktinfo4{};
  in6_pktinfo pktinfo6{};
};

class UdpSocket : public std::enable_shared_from_this<UdpSocket> {
 public:
  UdpSocket(RpcServer& server, Netid netid, UniqueFd fd)
      : server_(server),
        netid_(netid),
        fd_(std::move(fd)),
        watcher_(server.loop_, fd_.get(), IoWatcher::kRead, [this](short) { OnReadable(); }) {
    watcher_.Start();
  }
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  void SendTo(const UdpRoute& route, const std::vector<uint8_t>& message);

 private:
  void OnReadable();

  RpcServer& server_;
  Netid netid_;
  UniqueFd fd_;
  IoWatcher watcher_;
};

class PendingUdpCall final : public PendingCall {
 public:
  PendingUdpCall(std::weak_ptr<UdpSocket> socket, const UdpRoute& route)
      : socket_(std::move(socket)), route_(route) {}
  void Send(std::vector<uint8_t> message) override {
    if (auto s = socket_.lock()) s->SendTo(route_, message);
  }

 private:
  std::weak_ptr<UdpSocket> socket_;
  UdpRoute route_;
};

void UdpSocket::SendTo(const UdpRoute& route, const std::vector<uint8_t>& message) {
  iovec iov{const_cast<uint8_t*>(message.data()), message.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in6_pktinfo))] = {};
  msghdr msg{};
  msg.msg_name = const_cast<sockaddr_storage*>(&route.peer);
  msg.msg_namelen = route.peer_len;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (route.have_pktinfo) {
    msg.msg_control = control;
    if (IsIpv6(netid_)) {
      msg.msg_controllen = CMSG_SPACE(sizeof(in6_pktinfo));
      cmsghdr* cm = CMSG_FIRSTHDR(&msg);
      cm->cmsg_level = IPPROTO_IPV6;
      cm->cmsg_type = IPV6_PKTINFO;
      cm->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
      std::memcpy(CMSG_DATA(cm), &route.pktinfo6, sizeof(in6_pktinfo));
    } else {
      msg.msg_controllen = CMSG_SPACE(sizeof(in_pktinfo));
      cmsghdr* cm = CMSG_FIRSTHDR(&msg);
      cm->cmsg_level = IPPROTO_IP;
      cm->cmsg_type = IP_PKTINFO;
      cm->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
      std::memcpy(CMSG_DATA(cm), &route.pktinfo4, sizeof(in_pktinfo));
    }
  }
  if (::sendmsg(fd_.get(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
    int err = errno;
    server_.log_.Debug(StrCat("rpc: ", NetidName(netid_), " reply to ",
                              NumericAddress(reinterpret_cast<const sockaddr*>(&route.peer)),
                              " dropped: ", std::strerror(err)));
  }
}

void UdpSocket::OnReadable() {
  // Keep this socket alive even if a handler drops the server's reference.
  std::shared_ptr<UdpSocket> self = shared_from_this();
  std::vector<uint8_t>& buf = server_.udp_buffer_;
  for (int n = 0; n < kMaxDatagramsPerWakeup; ++n) {
    UdpRoute route;
    iovec iov{buf.data(), buf.size()};
    alignas(cmsghdr) char control[256];
    msghdr msg{};
    msg.msg_name = &route.peer;
    msg.msg_namelen = sizeof(route.peer);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t len = ::recvmsg(fd_.get(), &msg, MSG_DONTWAIT);
    if (len < 0) {
      int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) return;
      if (err == EINTR) continue;
      // Queued ICMP errors surface here one per read; note and go on.
      server_.log_.Debug(StrCat("rpc: ", NetidName(netid_), " recvmsg: ", std::strerror(err)));
      continue;
    }
    route.peer_len = msg.msg_namelen;
    const auto* peer_sa = reinterpret_cast<const sockaddr*>(&route.peer);
    if ((msg.msg_flags & MSG_TRUNC) != 0) {
      server_.log_.Debug(StrCat("rpc: oversize ", NetidName(netid_), " datagram from ",
                                NumericAddress(peer_sa), " dropped"));
      continue;
    }
    for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm != nullptr; cm = CMSG_NXTHDR(&msg, cm)) {
      if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO &&
          cm->cmsg_len >= CMSG_LEN(sizeof(in_pktinfo))) {
        in_pktinfo in{};
        std::memcpy(&in, CMSG_DATA(cm), sizeof(in));
        // ipi_spec_dst is the local address the datagram arrived on (for a
        // broadcast, the interface address rather than the broadcast
        // address).  Routing picks the interface.
        route.pktinfo4.ipi_spec_dst = in.ipi_spec_dst;
        route.pktinfo4.ipi_ifindex = 0;
        route.have_pktinfo = true;
      } else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO &&
                 cm->cmsg_len >= CMSG_LEN(sizeof(in6_pktinfo))) {
        in6_pktinfo in6{};
        std::memcpy(&in6, CMSG_DATA(cm), sizeof(in6));
        if (!IN6_IS_ADDR_MULTICAST(&in6.ipi6_addr)) {
          // Keep the interface index: link-local sources need it.
          route.pktinfo6 = in6;
          route.have_pktinfo = true;
        }
      }
    }

    CallContext ctx;
    ctx.peer = route.peer;
    ctx.peer_len = route.peer_len;
    ctx.netid = netid_;
    std::span<const uint8_t> message(buf.data(), static_cast<size_t>(len));
    Responder responder(std::make_unique<PendingUdpCall>(weak_from_this(), route), 0);
    Status st = server_.Dispatch(message, ctx, std::move(responder));
    if (!st.ok()) {
      server_.log_.Debug(StrCat("rpc: dropped undecodable datagram from ", PeerString(ctx), ": ",
                                st.message()));
    }
  }
}

// ---------------------------------------------------------------------------
// TCP

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(RpcServer& server, Netid netid, UniqueFd fd, const sockaddr_storage& peer,
             socklen_t peer_len)
      : server_(server),
        netid_(netid),
        fd_(std::move(fd)),
        read_watcher_(server.loop_, fd_.get(), IoWatcher::kRead, [this](short) { OnReadable(); }),
        write_watcher_(server.loop_, fd_.get(), IoWatcher::kWrite,
                       [this](short) { OnWritable(); }),
        last_activity_(server.scheduler_.Now()) {
    ctx_template_.peer = peer;
    ctx_template_.peer_len = peer_len;
    ctx_template_.netid = netid_;
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void Start() { UpdateReadInterest(); }

  // Idempotent.  Stops all I/O and hands the object to the server to free.
  void Close(std::string_view why) {
    if (closed_) return;
    closed_ = true;
    read_watcher_.Stop();
    write_watcher_.Stop();
    reading_ = writing_ = false;
    fd_.reset();
    server_.log_.Debug(StrCat("rpc: closed ", PeerString(ctx_template_), ": ", why));
    server_.Retire(this);
  }

  bool closed() const { return closed_; }

  bool IsIdle(TimePoint now, Duration timeout) const {
    return !closed_ && in_flight_ == 0 && out_start_ == out_.size() &&
           now - last_activity_ >= timeout;
  }

  void QueueReply(const std::vector<uint8_t>& message) {
    if (closed_) return;
    size_t queued = out_.size() - out_start_;
    if (queued + kRecordMarkBytes + message.size() > server_.options_.max_output_bytes) {
      Close("reply queue over its limit (peer not reading)");
      return;
    }
    uint32_t mark = kLastFragment | static_cast<uint32_t>(message.size());
    uint8_t hdr[kRecordMarkBytes] = {static_cast<uint8_t>(mark >> 24),
                                     static_cast<uint8_t>(mark >> 16),
                                     static_cast<uint8_t>(mark >> 8), static_cast<uint8_t>(mark)};
    out_.insert(out_.end(), hdr, hdr + kRecordMarkBytes);
    out_.insert(out_.end(), message.begin(), message.end());
    Flush();
  }

  // One call finished (answered or abandoned).
  void CallDone() {
    --in_flight_;
    if (closed_) return;
    // Records may already be buffered behind the in-flight limit; they
    // need no further readiness event.  Inside ProcessInput (a handler
    // that answered at once) the running loop picks them up.
    if (!processing_) ProcessInput();
    if (!closed_) {
      UpdateReadInterest();
      MaybeFinish();
    }
  }

 private:
  void OnReadable() {
    std::shared_ptr<Connection> self = shared_from_this();
    for (int i = 0; i < kMaxReadsPerWakeup && !closed_ && WantRead(); ++i) {
      size_t old = in_.size();
      in_.resize(old + kReadChunk);
      ssize_t n = ::recv(fd_.get(), in_.data() + old, kReadChunk, MSG_DONTWAIT);
      in_.resize(old + static_cast<size_t>(std::max<ssize_t>(n, 0)));
      if (n < 0) {
        int err = errno;
        if (err == EAGAIN || err == EWOULDBLOCK) break;
        if (err == EINTR) continue;
        Close(StrCat("recv: ", std::strerror(err)));
        return;
      }
      if (n == 0) {
        eof_ = true;
        break;
      }
      last_activity_ = server_.scheduler_.Now();
      ProcessInput();
    }
    if (closed_) return;
    UpdateReadInterest();
    MaybeFinish();
  }

  void OnWritable() {
    std::shared_ptr<Connection> self = shared_from_this();
    Flush();
  }

  bool WantRead() const {
    return !closed_ && !eof_ && in_flight_ < server_.options_.max_calls_per_connection;
  }

  void UpdateReadInterest() {
    bool want = WantRead();
    if (want == reading_) return;
    reading_ = want;
    if (want) {
      read_watcher_.Start();
    } else {
      read_watcher_.Stop();
    }
  }

  // After the peer half-closed: close once every call read has been
  // answered and the answers have left.
  void MaybeFinish() {
    if (eof_ && !closed_ && in_flight_ == 0 && out_start_ == out_.size()) {
      Close("peer closed the connection");
    }
  }

  // Parses buffered fragments and dispatches complete records until the
  // buffer runs dry or the in-flight limit is reached.
  void ProcessInput() {
    processing_ = true;
    const RpcServer::Options& opt = server_.options_;
    while (!closed_ && in_flight_ < opt.max_calls_per_connection) {
      size_t avail = in_.size() - in_start_;
      if (avail < kRecordMarkBytes) break;
      const uint8_t* p = in_.data() + in_start_;
      uint32_t mark = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) |
                      uint32_t{p[3]};
      bool last = (mark & kLastFragment) != 0;
      size_t len = mark & ~kLastFragment;
      if (len > opt.max_record_bytes || record_.size() + len > opt.max_record_bytes) {
        Close(StrCat("record over ", opt.max_record_bytes, " bytes"));
        break;
      }
      if (avail < kRecordMarkBytes + len) break;
      std::span<const uint8_t> fragment(p + kRecordMarkBytes, len);
      in_start_ += kRecordMarkBytes + len;
      if (!last) {
        record_.insert(record_.end(), fragment.begin(), fragment.end());
        continue;
      }
      std::vector<uint8_t> assembled;
      std::span<const uint8_t> message = fragment;
      if (!record_.empty()) {
        record_.insert(record_.end(), fragment.begin(), fragment.end());
        assembled.swap(record_);
        message = assembled;
      }
      // The message view stays valid during Dispatch: in_ is only changed
      // here and in OnReadable, and neither runs re-entrantly.
      CallContext ctx = ctx_template_;
      ++in_flight_;
      Responder responder(std::make_unique<PendingTcpCall>(weak_from_this()), 0);
      Status st = server_.Dispatch(message, ctx, std::move(responder));
      if (!st.ok()) {
        Close(StrCat("undecodable call: ", st.message()));
        break;
      }
    }
    processing_ = false;
    if (in_start_ == in_.size()) {
      in_.clear();
      in_start_ = 0;
    } else if (in_start_ > kReadChunk) {
      in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(in_start_));
      in_start_ = 0;
    }
  }

  void Flush() {
    while (!closed_ && out_start_ < out_.size()) {
      ssize_t n = ::send(fd_.get(), out_.data() + out_start_, out_.size() - out_start_,
                         MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0) {
        int err = errno;
        if (err == EINTR) continue;
        if (err == EAGAIN || err == EWOULDBLOCK) {
          if (!writing_) {
            writing_ = true;
            write_watcher_.Start();
          }
          return;
        }
        Close(StrCat("send: ", std::strerror(err)));
        return;
      }
      out_start_ += static_cast<size_t>(n);
      last_activity_ = server_.scheduler_.Now();
    }
    if (closed_) return;
    out_.clear();
    out_start_ = 0;
    if (writing_) {
      writing_ = false;
      write_watcher_.Stop();
    }
    MaybeFinish();
  }

  class PendingTcpCall final : public PendingCall {
   public:
    explicit PendingTcpCall(std::weak_ptr<Connection> conn) : conn_(std::move(conn)) {}
    ~PendingTcpCall() override {
      if (auto c = conn_.lock()) c->CallDone();
    }
    void Send(std::vector<uint8_t> message) override {
      if (auto c = conn_.lock()) c->QueueReply(message);
    }

   private:
    std::weak_ptr<Connection> conn_;
  };

  RpcServer& server_;
  Netid netid_;
  UniqueFd fd_;
  CallContext ctx_template_;
  IoWatcher read_watcher_;
  IoWatcher write_watcher_;
  bool reading_ = false;
  bool writing_ = false;
  bool eof_ = false;
  bool closed_ = false;
  bool processing_ = false;
  size_t in_flight_ = 0;
  std::vector<uint8_t> in_;
  size_t in_start_ = 0;
  std::vector<uint8_t> record_;  // fragments of a record not yet complete
  std::vector<uint8_t> out_;
  size_t out_start_ = 0;
  TimePoint last_activity_;
};

}  // namespace internal

struct RpcServer::TcpListener {
  Netid netid;
  UniqueFd fd;
  std::unique_ptr<IoWatcher> watcher;
};

// ---------------------------------------------------------------------------
// RpcServer

RpcServer::RpcServer(EventLoop& loop, Logger& log, Options options)
    : loop_(loop),
      log_(log),
      options_(std::move(options)),
      scheduler_(loop),
      udp_buffer_(kUdpBufferBytes) {}

RpcServer::~RpcServer() {
  // Close connections first: their watchers and the Responders' weak
  // references must not outlive the server state they point into.
  std::vector<std::shared_ptr<internal::Connection>> open;
  for (auto& [ptr, conn] : connections_) open.push_back(conn);
  for (auto& conn : open) conn->Close("server shutting down");
  connections_.clear();
  retired_.clear();
  open.clear();
  tcp_.clear();
  udp_.clear();
}

Result<std::unique_ptr<RpcServer>> RpcServer::Create(EventLoop& loop, Logger& log,
                                                     Options options) {
  if (options.max_record_bytes == 0 || options.max_record_bytes > 0x7fffffff ||
      options.max_calls_per_connection == 0) {
    return Status::InvalidArgument("rpc server: max_record_bytes and max_calls_per_connection");
  }
  std::unique_ptr<RpcServer> server(new RpcServer(loop, log, std::move(options)));
  const Options& opt = server->options_;
  const std::pair<bool, Netid> wanted[] = {{opt.udp, Netid::kUdp},
                                           {opt.tcp, Netid::kTcp},
                                           {opt.udp6, Netid::kUdp6},
                                           {opt.tcp6, Netid::kTcp6}};
  for (const auto& [on, netid] : wanted) {
    if (!on) continue;
    int err = 0;
    Status st = server->AddListener(netid, &err);
    if (st.ok()) continue;
    bool host_lacks_ipv6 = err == EAFNOSUPPORT || err == EADDRNOTAVAIL || err == EPROTONOSUPPORT;
    if (IsIpv6(netid) && opt.ipv6_optional && host_lacks_ipv6) {
      log.Warning(StrCat("rpc: no ", NetidName(netid), " listener: ", st.message()));
      continue;
    }
    return st;
  }
  if (server->listener_info_.empty()) return Status::InvalidArgument("rpc server: no listeners");
  server->ScheduleIdleSweep();
  return server;
}

Status RpcServer::AddListener(Netid netid, int* err) {
  const bool v6 = IsIpv6(netid);
  const bool stream = IsStream(netid);
  const std::string& bind_addr = v6 ? options_.bind_v6 : options_.bind_v4;
  const std::string what = StrCat(NetidName(netid), " ", bind_addr, " port ", options_.port);
  *err = 0;

  sockaddr_storage ss{};
  socklen_t ss_len;
  if (v6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(options_.port);
    if (inet_pton(AF_INET6, bind_addr.c_str(), &sin6->sin6_addr) != 1) {
      return Status::InvalidArgument(StrCat("rpc: bad IPv6 bind address ", Printable(bind_addr)));
    }
    ss_len = sizeof(sockaddr_in6);
  } else {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(options_.port);
    if (inet_pton(AF_INET, bind_addr.c_str(), &sin->sin_addr) != 1) {
      return Status::InvalidArgument(StrCat("rpc: bad IPv4 bind address ", Printable(bind_addr)));
    }
    ss_len = sizeof(sockaddr_in);
  }

  auto fail = [&](std::string_view op) {
    *err = errno;
    return PosixError(StrCat("rpc: ", op, " ", what), *err);
  };
  UniqueFd fd(::socket(v6 ? AF_INET6 : AF_INET,
                       (stream ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return fail("socket");
  int one = 1;
  if (v6 && setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) {
    return fail("IPV6_V6ONLY");
  }
  if (stream) {
    // Lets a restarted daemon bind its fixed port while old connections
    // linger in TIME_WAIT.
    if (setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) {
      return fail("SO_REUSEADDR");
    }
  } else if (v6) {
    if (setsockopt(fd.get(), IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0) {
      return fail("IPV6_RECVPKTINFO");
    }
  } else if (setsockopt(fd.get(), IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0) {
    return fail("IP_PKTINFO");
  }
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), ss_len) < 0) return fail("bind");
  if (stream && ::listen(fd.get(), SOMAXCONN) < 0) return fail("listen");
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof(bound);
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &bound_len) < 0) {
    return fail("getsockname");
  }
  const auto* bound_sa = reinterpret_cast<const sockaddr*>(&bound);
  listener_info_.push_back(ListenerInfo{std::string(NetidName(netid)), SockaddrPort(bound_sa),
                                        NumericAddress(bound_sa)});

  if (stream) {
    auto l = std::make_unique<TcpListener>();
    l->netid = netid;
    l->fd = std::move(fd);
    TcpListener* raw = l.get();
    l->watcher = std::make_unique<IoWatcher>(loop_, raw->fd.get(), IoWatcher::kRead,
                                             [this, raw](short) { OnAccept(*raw); });
    l->watcher->Start();
    tcp_.push_back(std::move(l));
  } else {
    udp_.push_back(std::make_shared<internal::UdpSocket>(*this, netid, std::move(fd)));
  }
  return Status::Ok();
}

void RpcServer::OnAccept(TcpListener& listener) {
  for (int i = 0; i < kMaxAcceptsPerWakeup; ++i) {
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof(peer);
    int fd = ::accept4(listener.fd.get(), reinterpret_cast<sockaddr*>(&peer), &peer_len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) return;
      if (err == EINTR || err == ECONNABORTED || err == EPROTO) continue;
      if (RateLimitOk(&last_accept_warning_)) {
        log_.Warning(StrCat("rpc: ", NetidName(listener.netid), " accept: ", std::strerror(err)));
      }
      if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        // The pending connection stays queued and the listener stays
        // readable; pause it rather than spin.
        listener.watcher->Stop();
        TcpListener* l = &listener;
        scheduler_.RunAfter(kAcceptBackoff, [l] { l->watcher->Start(); });
      }
      return;
    }
    UniqueFd conn_fd(fd);
    if (connections_.size() >= options_.max_connections) {
      if (RateLimitOk(&last_cap_warning_)) {
        log_.Warning(StrCat("rpc: ", options_.max_connections,
                            " TCP connections open; refusing more (from ",
                            NumericAddress(reinterpret_cast<sockaddr*>(&peer)), ")"));
      }
      continue;  // conn_fd closes
    }
    int one = 1;
    // Replies are written whole; do not hold the last segment back.
    setsockopt(conn_fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto conn = std::make_shared<internal::Connection>(*this, listener.netid, std::move(conn_fd),
                                                       peer, peer_len);
    connections_.emplace(conn.get(), conn);
    conn->Start();
  }
}

void RpcServer::Retire(internal::Connection* conn) {
  auto it = connections_.find(conn);
  if (it == connections_.end()) return;
  retired_.push_back(std::move(it->second));
  connections_.erase(it);
  if (!reap_scheduled_) {
    reap_scheduled_ = true;
    scheduler_.RunAfter(Duration::zero(), [this] {
      reap_scheduled_ = false;
      retired_.clear();
    });
  }
}

void RpcServer::ScheduleIdleSweep() {
  if (options_.idle_timeout <= Duration::zero()) return;
  Duration interval = std::clamp<Duration>(options_.idle_timeout / 4, std::chrono::milliseconds(10),
                                           std::chrono::seconds(30));
  scheduler_.RunAfter(interval, [this] {
    IdleSweep();
    ScheduleIdleSweep();
  });
}

void RpcServer::IdleSweep() {
  TimePoint now = scheduler_.Now();
  std::vector<std::shared_ptr<internal::Connection>> idle;
  for (auto& [ptr, conn] : connections_) {
    if (conn->IsIdle(now, options_.idle_timeout)) idle.push_back(conn);
  }
  for (auto& conn : idle) conn->Close("idle");
}

bool RpcServer::RateLimitOk(TimePoint* last) {
  TimePoint now = scheduler_.Now();
  if (*last != TimePoint{} && now - *last < kWarningInterval) return false;
  *last = now;
  return true;
}

Status RpcServer::AddProgram(uint32_t prog, uint32_t vers, std::map<uint32_t, Handler> procs) {
  auto& versions = programs_[prog];
  if (versions.count(vers) != 0) {
    return Status::AlreadyExists(StrCat("rpc: program ", prog, " version ", vers, " already added"));
  }
  versions.emplace(vers, std::move(procs));
  return Status::Ok();
}

std::vector<ListenerInfo> RpcServer::listeners() const { return listener_info_; }

size_t RpcServer::connection_count() const { return connections_.size(); }

Status RpcServer::Dispatch(std::span<const uint8_t> message, CallContext& ctx,
                           Responder responder) {
  Result<CallHeader> decoded = DecodeCall(message);
  if (!decoded.ok()) return decoded.status();
  const CallHeader& hdr = *decoded;
  ctx.xid = hdr.xid;
  responder.xid_ = hdr.xid;

  if (hdr.rpcvers != kRpcVersion) {
    log_.Debug(StrCat("rpc: RPC version ", hdr.rpcvers, " from ", PeerString(ctx)));
    responder.SendMessage(EncodeRejectedReply(hdr.xid, RejectStat::kRpcMismatch));
    return Status::Ok();
  }
  ctx.prog = hdr.prog;
  ctx.vers = hdr.vers;
  ctx.proc = hdr.proc;
  ctx.cred_flavor = hdr.cred.flavor;

  if (hdr.cred.flavor == kAuthSys) {
    if (!AuthSysBodyParses(hdr.cred.body)) {
      responder.SendMessage(
          EncodeRejectedReply(hdr.xid, RejectStat::kAuthError, {}, AuthStat::kBadCred));
      return Status::Ok();
    }
  } else if (hdr.cred.flavor != kAuthNone) {
    // Same answer libtirpc gives for a flavor it does not serve.
    responder.SendMessage(
        EncodeRejectedReply(hdr.xid, RejectStat::kAuthError, {}, AuthStat::kRejectedCred));
    return Status::Ok();
  }

  auto prog_it = programs_.find(hdr.prog);
  if (prog_it == programs_.end() || prog_it->second.empty()) {
    responder.SendMessage(EncodeAcceptedReply(hdr.xid, AcceptStat::kProgUnavail));
    return Status::Ok();
  }
  const auto& versions = prog_it->second;
  auto vers_it = versions.find(hdr.vers);
  if (vers_it == versions.end()) {
    VersionRange range{versions.begin()->first, versions.rbegin()->first};
    responder.SendMessage(EncodeAcceptedReply(hdr.xid, AcceptStat::kProgMismatch, range));
    return Status::Ok();
  }
  auto proc_it = vers_it->second.find(hdr.proc);
  if (proc_it == vers_it->second.end()) {
    if (hdr.proc == 0) {
      responder.ReplyVoid();
    } else {
      responder.SendMessage(EncodeAcceptedReply(hdr.xid, AcceptStat::kProcUnavail));
    }
    return Status::Ok();
  }
  proc_it->second(ctx, hdr.args, std::move(responder));
  return Status::Ok();
}

}  // namespace nfsrec::rpc
