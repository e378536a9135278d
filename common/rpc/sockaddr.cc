#include "common/rpc/sockaddr.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/base/logging.h"
#include <net/if.h>

namespace nfsrec::rpc {

Result<Endpoint> Endpoint::FromNumeric(int family, const std::string& address, uint16_t port) {
  Endpoint e;
  // The two branches are twins on purpose: sockaddr_in and sockaddr_in6
  // name every field differently, so sharing them would take casts.
  if (family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&e.addr);
    if (inet_pton(AF_INET, address.c_str(), &sin->sin_addr) == 1) {
      sin->sin_family = AF_INET;
      sin->sin_port = htons(port);
      e.len = sizeof(sockaddr_in);
      return e;
    }
  } else if (family == AF_INET6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&e.addr);
    if (inet_pton(AF_INET6, address.c_str(), &sin6->sin6_addr) == 1) {
      sin6->sin6_family = AF_INET6;
      sin6->sin6_port = htons(port);
      e.len = sizeof(sockaddr_in6);
      return e;
    }
  }
  return Status::InvalidArgument(StrCat("not a numeric ", family == AF_INET6 ? "IPv6" : "IPv4",
                                        " address: ", Printable(address)));
}

Result<Endpoint> Endpoint::FromNumeric(const std::string& address, uint16_t port) {
  Result<Endpoint> v4 = FromNumeric(AF_INET, address, port);
  if (v4.ok()) return v4;
  Result<Endpoint> v6 = FromNumeric(AF_INET6, address, port);
  if (v6.ok()) return v6;
  return Status::InvalidArgument(StrCat("not a numeric address: ", Printable(address)));
}

Endpoint Endpoint::FromSockaddr(const sockaddr* sa, socklen_t len) {
  Endpoint e;
  e.len = std::min<socklen_t>(len, sizeof(e.addr));
  std::memcpy(&e.addr, sa, e.len);
  return e;
}

Result<Endpoint> Endpoint::Local(int fd) {
  Endpoint e;
  e.len = sizeof(e.addr);
  if (::getsockname(fd, e.mutable_sa(), &e.len) < 0) return PosixError("getsockname", errno);
  return e;
}

uint16_t Endpoint::port() const { return SockaddrPort(sa()); }

Endpoint Endpoint::WithPort(uint16_t p) const {
  Endpoint e = *this;
  if (e.addr.ss_family == AF_INET) reinterpret_cast<sockaddr_in*>(&e.addr)->sin_port = htons(p);
  if (e.addr.ss_family == AF_INET6) reinterpret_cast<sockaddr_in6*>(&e.addr)->sin6_port = htons(p);
  return e;
}

Endpoint Endpoint::V4Mapped() const {
  if (addr.ss_family != AF_INET) return *this;
  const auto* v4 = reinterpret_cast<const sockaddr_in*>(&addr);
  Endpoint e;
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&e.addr);
  v6->sin6_family = AF_INET6;
  v6->sin6_port = v4->sin_port;
  v6->sin6_addr.s6_addr[10] = 0xff;
  v6->sin6_addr.s6_addr[11] = 0xff;
  std::memcpy(&v6->sin6_addr.s6_addr[12], &v4->sin_addr, 4);
  e.len = sizeof(sockaddr_in6);
  return e;
}

std::string Endpoint::Numeric() const { return NumericAddress(sa()); }

std::string Endpoint::ToString() const {
  char host[NI_MAXHOST];
  if (getnameinfo(sa(), len, host, sizeof(host), nullptr, 0, NI_NUMERICHOST) != 0) return "?";
  if (IsV6()) return StrCat("[", host, "]:", port());
  return StrCat(host, ":", port());
}

bool IsLoopbackAddress(const sockaddr* sa) { return LoopbackFamily(sa, false) != AF_UNSPEC; }

int LoopbackFamily(const sockaddr* sa, bool dual_stack) {
  if (sa->sa_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(sa);
    return (ntohl(sin->sin_addr.s_addr) >> 24) == 127 ? AF_INET : AF_UNSPEC;
  }
  if (sa->sa_family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(sa);
    if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr)) return AF_INET6;
    if (dual_stack && IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) &&
        sin6->sin6_addr.s6_addr[12] == 127) {
      return AF_INET;
    }
  }
  return AF_UNSPEC;
}

bool DatagramFromLoopback(const sockaddr* peer, const sockaddr* dest, unsigned ifindex,
                          unsigned loopback_ifindex, bool dual_stack) {
  if (ifindex == 0 || ifindex != loopback_ifindex) return false;
  int family = LoopbackFamily(peer, dual_stack);
  return family != AF_UNSPEC && family == LoopbackFamily(dest, dual_stack);
}

bool StreamFromLoopback(const sockaddr* peer, const sockaddr* local, bool dual_stack) {
  int family = LoopbackFamily(peer, dual_stack);
  return family != AF_UNSPEC && family == LoopbackFamily(local, dual_stack);
}

unsigned LoopbackInterfaceIndex() {
  unsigned index = if_nametoindex("lo");
  return index != 0 ? index : 1;
}

bool IsDualStackSocket(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) return false;
  if (ss.ss_family != AF_INET6) return false;
  int v6only = 0;
  socklen_t optlen = sizeof(v6only);
  if (getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &optlen) < 0) return false;
  return v6only == 0;
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

}  // namespace nfsrec::rpc
