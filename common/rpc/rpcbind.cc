#include "common/rpc/rpcbind.h"

#include <arpa/inet.h>
#include <netconfig.h>
#include <poll.h>
#include <rpc/rpc.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>

#include "common/rpc/rpc_message.h"
#include "common/base/unique_fd.h"

namespace nfsrec::rpc {

namespace {

constexpr uint32_t kPmapProg = 100000;
constexpr uint32_t kPmapVers = 2;
constexpr uint32_t kPmapProcGetport = 3;
constexpr uint16_t kRpcbindPort = 111;
constexpr uint32_t kIpprotoUdp = 17;

struct NetconfigDeleter {
  void operator()(netconfig* n) const { freenetconfigent(n); }
};
using NetconfigPtr = std::unique_ptr<netconfig, NetconfigDeleter>;

Result<NetconfigPtr> GetNetconfig(const std::string& netid) {
  NetconfigPtr n(getnetconfigent(netid.c_str()));
  if (!n) {
    return Status::NotFound(StrCat("rpcbind: netid ", Printable(netid), " not in /etc/netconfig"));
  }
  return n;
}

// The reason a libtirpc rpcbind call failed, if libtirpc recorded one
// (it does when it cannot reach rpcbind at all).
std::string CreateErrorText() {
  if (rpc_createerr.cf_stat == RPC_SUCCESS) return "refused by rpcbind";
  // "local rpcbind: RPC: Remote system error - Connection refused"
  std::string text = clnt_spcreateerror("local rpcbind");
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

uint32_t RandomXid() {
  uint32_t xid = 0;
  if (getrandom(&xid, sizeof(xid), GRND_NONBLOCK) != sizeof(xid)) {
    xid = static_cast<uint32_t>(
        std::chrono::steady_clock::now().time_since_epoch().count() ^ getpid());
  }
  return xid;
}

// Sends `call` over UDP to 127.0.0.1:port and waits for the reply with the
// same xid until `deadline`, retransmitting twice a second.  nullopt if
// nothing usable came back (timeout, or ICMP port unreachable).
Result<std::optional<ReplyInfo>> LoopbackUdpCall(uint16_t port, uint32_t xid,
                                                 const std::vector<uint8_t>& call,
                                                 std::chrono::steady_clock::time_point deadline,
                                                 std::vector<uint8_t>* reply_buf) {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return PosixError("rpcbind probe: socket", errno);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // Connected, so an ICMP port unreachable surfaces as ECONNREFUSED.
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) < 0) {
    return PosixError("rpcbind probe: connect", errno);
  }
  constexpr auto kRetransmit = std::chrono::milliseconds(500);
  auto next_send = std::chrono::steady_clock::now();
  reply_buf->resize(65536);
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return std::optional<ReplyInfo>();
    if (now >= next_send) {
      if (::send(fd.get(), call.data(), call.size(), MSG_NOSIGNAL) < 0) {
        if (errno == ECONNREFUSED) return std::optional<ReplyInfo>();
        return PosixError("rpcbind probe: send", errno);
      }
      next_send = now + kRetransmit;
    }
    auto wait = std::min(deadline, next_send) - now;
    int wait_ms = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(wait).count()) + 1;
    pollfd pfd{fd.get(), POLLIN, 0};
    int pr = ::poll(&pfd, 1, wait_ms);
    if (pr < 0 && errno != EINTR) return PosixError("rpcbind probe: poll", errno);
    if (pr <= 0) continue;
    ssize_t n = ::recv(fd.get(), reply_buf->data(), reply_buf->size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == ECONNREFUSED) return std::optional<ReplyInfo>();
      continue;
    }
    Result<ReplyInfo> info =
        DecodeReply(std::span<const uint8_t>(reply_buf->data(), static_cast<size_t>(n)));
    if (!info.ok() || info->xid != xid) continue;  // stray or stale datagram
    return std::optional<ReplyInfo>(std::move(info).value());
  }
}

}  // namespace

Result<std::unique_ptr<RpcbindRegistration>> RpcbindRegistration::Register(
    uint32_t prog, uint32_t vers, const std::vector<ListenerInfo>& listeners) {
  std::unique_ptr<RpcbindRegistration> reg(new RpcbindRegistration(prog, vers));
  for (const ListenerInfo& l : listeners) {
    if (std::find(reg->netids_.begin(), reg->netids_.end(), l.netid) != reg->netids_.end()) {
      continue;
    }
    Result<NetconfigPtr> nconf = GetNetconfig(l.netid);
    if (!nconf.ok()) return nconf.status();
    sockaddr_storage ss{};
    socklen_t len;
    if (nconf.value()->nc_protofmly != nullptr &&
        std::strcmp(nconf.value()->nc_protofmly, NC_INET6) == 0) {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
      sin6->sin6_family = AF_INET6;
      sin6->sin6_port = htons(l.port);
      if (inet_pton(AF_INET6, l.address.c_str(), &sin6->sin6_addr) != 1) {
        return Status::InvalidArgument(
            StrCat("rpcbind: bad address ", Printable(l.address), " for ", l.netid));
      }
      len = sizeof(sockaddr_in6);
    } else {
      auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
      sin->sin_family = AF_INET;
      sin->sin_port = htons(l.port);
      if (inet_pton(AF_INET, l.address.c_str(), &sin->sin_addr) != 1) {
        return Status::InvalidArgument(
            StrCat("rpcbind: bad address ", Printable(l.address), " for ", l.netid));
      }
      len = sizeof(sockaddr_in);
    }
    netbuf nb{len, len, &ss};
    rpc_createerr.cf_stat = RPC_SUCCESS;
    if (!rpcb_set(prog, vers, nconf.value().get(), &nb)) {
      // reg's destructor removes the entries made so far.
      return Status::Unavailable(StrCat("rpcbind: cannot register ", prog, "/", vers, " on ",
                                        l.netid, " ", UniversalAddress(l.address, l.port), ": ",
                                        CreateErrorText()));
    }
    reg->netids_.push_back(l.netid);
  }
  return reg;
}

RpcbindRegistration::~RpcbindRegistration() {
  for (const std::string& netid : netids_) {
    Result<NetconfigPtr> nconf = GetNetconfig(netid);
    if (nconf.ok()) rpcb_unset(prog_, vers_, nconf.value().get());
  }
}

Status UnsetAll(uint32_t prog, uint32_t vers) {
  rpc_createerr.cf_stat = RPC_SUCCESS;
  // With a null netconfig rpcbind drops the entries of every netid.  FALSE
  // also means "nothing was registered"; only a recorded create error says
  // rpcbind was unreachable.
  if (!rpcb_unset(prog, vers, nullptr) && rpc_createerr.cf_stat != RPC_SUCCESS) {
    return Status::Unavailable(
        StrCat("rpcbind: cannot unset ", prog, "/", vers, ": ", CreateErrorText()));
  }
  return Status::Ok();
}

Result<bool> ProbeRunning(uint32_t prog, uint32_t vers, Duration timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<uint8_t> buf;

  XdrWriter args;
  args.PutUint32(prog);
  args.PutUint32(vers);
  args.PutUint32(kIpprotoUdp);
  args.PutUint32(0);
  uint32_t xid = RandomXid();
  Result<std::optional<ReplyInfo>> getport = LoopbackUdpCall(
      kRpcbindPort, xid, EncodeCall(xid, kPmapProg, kPmapVers, kPmapProcGetport, args.bytes()),
      deadline, &buf);
  if (!getport.ok()) return getport.status();
  const std::optional<ReplyInfo>& gp = *getport;
  if (!gp || !gp->accepted || gp->accept_stat != AcceptStat::kSuccess) return false;
  XdrReader r(gp->results);
  uint32_t port;
  if (!r.GetUint32(&port) || port == 0 || port > 65535) return false;

  xid = RandomXid();
  Result<std::optional<ReplyInfo>> ping = LoopbackUdpCall(
      static_cast<uint16_t>(port), xid, EncodeCall(xid, prog, vers, 0, {}), deadline, &buf);
  if (!ping.ok()) return ping.status();
  const std::optional<ReplyInfo>& p = *ping;
  return p.has_value() && p->accepted && p->accept_stat == AcceptStat::kSuccess;
}

std::string UniversalAddress(std::string_view numeric_address, uint16_t port) {
  return StrCat(numeric_address, ".", port >> 8, ".", port & 0xff);
}

}  // namespace nfsrec::rpc
