// Socket addresses: the one place that builds, parses and prints
// sockaddr_in / sockaddr_in6 for the RPC code (server listeners, the UDP
// client, rpcbind registration, the test client).
//
// Only AF_INET and AF_INET6 are handled; helpers given another family
// answer "?" or port 0 rather than failing.  Thread-compatible.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "common/base/result.h"

namespace nfsrec::rpc {

// A socket address with its length.
struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;

  // A numeric IPv4 or IPv6 address ("10.0.0.2", "::1"; inet_pton's forms,
  // so no "%scope" suffix) and a port.
  static Result<Endpoint> FromNumeric(const std::string& address, uint16_t port);
  // The same, but only of `family` (AF_INET or AF_INET6): "0.0.0.0" is not
  // an IPv6 bind address.
  static Result<Endpoint> FromNumeric(int family, const std::string& address, uint16_t port);
  // Copies what a socket call returned (recvmsg, accept, getsockname).
  static Endpoint FromSockaddr(const sockaddr* sa, socklen_t len);
  // getsockname(fd).
  static Result<Endpoint> Local(int fd);

  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&addr); }
  sockaddr* mutable_sa() { return reinterpret_cast<sockaddr*>(&addr); }
  int family() const { return addr.ss_family; }
  bool IsV6() const { return addr.ss_family == AF_INET6; }
  uint16_t port() const;
  Endpoint WithPort(uint16_t port) const;
  // An IPv4 address as ::ffff:a.b.c.d, for an AF_INET6 socket that is not
  // IPV6_V6ONLY; any other address unchanged.
  Endpoint V4Mapped() const;
  // Numeric address without port ("127.0.0.1", "::1").
  std::string Numeric() const;
  // "10.0.0.2:111", "[::1]:111" (getnameinfo's numeric form, so a
  // link-local address keeps its scope).
  std::string ToString() const;
};

// 127.0.0.0/8 and ::1.  Not a v4-mapped ::ffff:127.0.0.0/104: on an
// IPV6_V6ONLY socket that is an IPv6 packet's source, which Linux accepts
// from any interface (see LoopbackFamily).
bool IsLoopbackAddress(const sockaddr* sa);

// The family in which `sa` is a loopback address, as received on a socket:
// AF_INET for 127.0.0.0/8, AF_INET6 for ::1, and AF_INET for
// ::ffff:127.0.0.0/104 only if `dual_stack` (an AF_INET6 socket without
// IPV6_V6ONLY, where real IPv4 traffic shows up v4-mapped); AF_UNSPEC
// otherwise.
int LoopbackFamily(const sockaddr* sa, bool dual_stack);

// Whether a call came from this host, decided from where the kernel says
// it arrived, not from the source address alone (a remote host can send
// an IPv6 packet from ::ffff:127.0.0.1):
//  - a datagram: received on the loopback interface (`ifindex`, from
//    IP_PKTINFO / IPV6_PKTINFO, equals `loopback_ifindex`), sent to
//    `dest` (the packet's destination address) from `peer`, both loopback
//    addresses of one family;
//  - a stream: the connection's own address (`local`, getsockname) and its
//    peer are loopback addresses of one family.  Linux drops packets for
//    127/8 and ::1 arriving on other interfaces, so such a connection was
//    made over loopback.
bool DatagramFromLoopback(const sockaddr* peer, const sockaddr* dest, unsigned ifindex,
                          unsigned loopback_ifindex, bool dual_stack);
bool StreamFromLoopback(const sockaddr* peer, const sockaddr* local, bool dual_stack);

// The loopback interface's index in this network namespace (Linux gives
// it 1 in every namespace; looked up by name first).
unsigned LoopbackInterfaceIndex();
// True for an AF_INET6 socket without IPV6_V6ONLY.
bool IsDualStackSocket(int fd);
uint16_t SockaddrPort(const sockaddr* sa);
// Numeric form without port or brackets ("127.0.0.1", "::1"); "?" if the
// family is neither AF_INET nor AF_INET6.
std::string NumericAddress(const sockaddr* sa);

}  // namespace nfsrec::rpc
