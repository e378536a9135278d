#include "common/rpc/udp_transport.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

namespace nfsrec::rpc {

namespace {
// Bound on work per readiness callback, so one busy socket cannot starve
// the rest of the loop.
constexpr int kMaxDatagramsPerWakeup = 32;
}  // namespace

struct UdpTransport::Route {
  sockaddr_storage peer{};
  socklen_t peer_len = 0;
  bool have_pktinfo = false;
  in_pktinfo pktinfo4{};
  in6_pktinfo pktinfo6{};
};

namespace {

class PendingUdpCall final : public internal::PendingCall {
 public:
  PendingUdpCall(std::weak_ptr<UdpTransport> socket, const UdpTransport::Route& route)
      : socket_(std::move(socket)), route_(route) {}
  void Send(std::vector<uint8_t> message) override {
    if (auto s = socket_.lock()) s->SendTo(route_, message);
  }

 private:
  std::weak_ptr<UdpTransport> socket_;
  UdpTransport::Route route_;
};

}  // namespace

Result<std::shared_ptr<UdpTransport>> UdpTransport::Start(EventLoop& loop,
                                                          const Scheduler& scheduler,
                                                          Dispatcher& dispatcher, Logger& log,
                                                          Netid netid, UniqueFd fd,
                                                          std::vector<uint8_t>& buffer) {
  int one = 1;
  if (IsIpv6(netid)) {
    if (setsockopt(fd.get(), IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0) {
      return PosixError("rpc: IPV6_RECVPKTINFO", errno);
    }
  } else if (setsockopt(fd.get(), IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0) {
    return PosixError("rpc: IP_PKTINFO", errno);
  }
  return std::shared_ptr<UdpTransport>(
      new UdpTransport(loop, scheduler, dispatcher, log, netid, std::move(fd), buffer));
}

UdpTransport::UdpTransport(EventLoop& loop, const Scheduler& scheduler, Dispatcher& dispatcher,
                           Logger& log, Netid netid, UniqueFd fd, std::vector<uint8_t>& buffer)
    : scheduler_(scheduler),
      dispatcher_(dispatcher),
      log_(log),
      netid_(netid),
      fd_(std::move(fd)),
      dual_stack_(IsDualStackSocket(fd_.get())),
      loopback_ifindex_(LoopbackInterfaceIndex()),
      buffer_(buffer),
      watcher_(loop, fd_.get(), IoWatcher::kRead, [this](short) { OnReadable(); }) {
  watcher_.Start();
}

void UdpTransport::SendTo(const Route& route, const std::vector<uint8_t>& message) {
  iovec iov{const_cast<uint8_t*>(message.data()), message.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in6_pktinfo))] = {};
  msghdr msg{};
  msg.msg_name = const_cast<sockaddr_storage*>(&route.peer);
  msg.msg_namelen = route.peer_len;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (route.have_pktinfo) {
    // Twin branches on purpose: IPv4 and IPv6 differ in the cmsg level,
    // type and payload struct, which is all these lines are.
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
    log_.Debug(StrCat("rpc: ", NetidName(netid_), " reply to ",
                      NumericAddress(reinterpret_cast<const sockaddr*>(&route.peer)),
                      " dropped: ", std::strerror(err)));
  }
}

void UdpTransport::OnReadable() {
  // Keep this socket alive even if a handler drops the server's reference.
  std::shared_ptr<UdpTransport> self = shared_from_this();
  for (int n = 0; n < kMaxDatagramsPerWakeup; ++n) {
    Route route;
    iovec iov{buffer_.data(), buffer_.size()};
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
      log_.Debug(StrCat("rpc: ", NetidName(netid_), " recvmsg: ", std::strerror(err)));
      continue;
    }
    route.peer_len = msg.msg_namelen;
    const auto* peer_sa = reinterpret_cast<const sockaddr*>(&route.peer);
    if ((msg.msg_flags & MSG_TRUNC) != 0) {
      log_.Debug(StrCat("rpc: oversize ", NetidName(netid_), " datagram from ",
                        NumericAddress(peer_sa), " dropped"));
      continue;
    }
    // Where the datagram came in (for CallContext::arrived_on_loopback).
    sockaddr_storage dest{};
    unsigned ifindex = 0;
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
        auto* d = reinterpret_cast<sockaddr_in*>(&dest);
        d->sin_family = AF_INET;
        d->sin_addr = in.ipi_addr;
        ifindex = static_cast<unsigned>(in.ipi_ifindex);
      } else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO &&
                 cm->cmsg_len >= CMSG_LEN(sizeof(in6_pktinfo))) {
        in6_pktinfo in6{};
        std::memcpy(&in6, CMSG_DATA(cm), sizeof(in6));
        if (!IN6_IS_ADDR_MULTICAST(&in6.ipi6_addr)) {
          // Keep the interface index: link-local sources need it.
          route.pktinfo6 = in6;
          route.have_pktinfo = true;
        }
        auto* d = reinterpret_cast<sockaddr_in6*>(&dest);
        d->sin6_family = AF_INET6;
        d->sin6_addr = in6.ipi6_addr;
        ifindex = in6.ipi6_ifindex;
      }
    }

    CallContext ctx;
    ctx.peer = route.peer;
    ctx.peer_len = route.peer_len;
    ctx.netid = netid_;
    ctx.dual_stack = dual_stack_;
    ctx.arrived_on_loopback = DatagramFromLoopback(
        peer_sa, reinterpret_cast<const sockaddr*>(&dest), ifindex, loopback_ifindex_, dual_stack_);
    ctx.received = scheduler_.Now();
    std::span<const uint8_t> message(buffer_.data(), static_cast<size_t>(len));
    Responder responder(std::make_unique<PendingUdpCall>(weak_from_this(), route));
    Status st = dispatcher_.Dispatch(message, ctx, std::move(responder));
    if (!st.ok()) {
      log_.Debug(
          StrCat("rpc: dropped undecodable datagram from ", ctx.PeerString(), ": ", st.message()));
    }
  }
}

}  // namespace nfsrec::rpc
