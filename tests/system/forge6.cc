// forge6: sends one NSM call inside a hand-built IPv6 packet whose source
// address is whatever we say (e.g. ::ffff:127.0.0.1), for system tests of
// who counts as a local caller.
//
//   forge6 udp SRC DST PORT PROC    one UDP datagram (source port 700)
//   forge6 tcp SRC DST PORT PROC    a SYN; if a SYN-ACK comes back (watched
//                                   on IFACE from $FORGE6_IFACE, default
//                                   veth0) the handshake is completed and
//                                   the call sent as one record
// PROC: mon | unmon | unmon-all | crash (arguments as lockd would send for
// host 10.66.0.1, my_name "server").
//
// Needs CAP_NET_RAW (raw IPv6 socket with our own header, AF_PACKET to
// watch for the answer).  Output: one line.  Exit: 0 sent (udp) or call
// delivered over an established connection (tcp); 3 tcp: no SYN-ACK within
// a second; 77 raw sockets unavailable; 2 usage; 1 other errors.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip6.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/base/unique_fd.h"
#include "common/rpc/rpc_message.h"
#include "statd/nsm_codec.h"
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>

namespace nfsrec::statd {
namespace {

constexpr uint16_t kSourcePort = 700;
constexpr uint8_t kSyn = 0x02, kAck = 0x10, kPsh = 0x08, kRst = 0x04;

using Bytes = std::vector<uint8_t>;

void Put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
void Put32(Bytes& b, uint32_t v) {
  Put16(b, static_cast<uint16_t>(v >> 16));
  Put16(b, static_cast<uint16_t>(v));
}
uint32_t Get32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// The transport checksum over the IPv6 pseudo-header (RFC 8200 8.1).
uint16_t Checksum(const in6_addr& src, const in6_addr& dst, uint8_t next, const Bytes& seg) {
  uint64_t sum = 0;
  auto add = [&](const uint8_t* p, size_t n) {
    for (size_t i = 0; i + 1 < n; i += 2) sum += (uint32_t{p[i]} << 8) | p[i + 1];
    if (n % 2 != 0) sum += uint32_t{p[n - 1]} << 8;
  };
  add(src.s6_addr, 16);
  add(dst.s6_addr, 16);
  sum += seg.size() + next;
  add(seg.data(), seg.size());
  while ((sum >> 16) != 0) sum = (sum & 0xffff) + (sum >> 16);
  uint16_t c = static_cast<uint16_t>(~sum);
  return c == 0 ? 0xffff : c;
}

Bytes Ip6(const in6_addr& src, const in6_addr& dst, uint8_t next, const Bytes& seg) {
  Bytes p;
  Put32(p, 0x60000000u);
  Put16(p, static_cast<uint16_t>(seg.size()));
  p.push_back(next);
  p.push_back(64);
  p.insert(p.end(), src.s6_addr, src.s6_addr + 16);
  p.insert(p.end(), dst.s6_addr, dst.s6_addr + 16);
  p.insert(p.end(), seg.begin(), seg.end());
  return p;
}

Bytes Tcp(const in6_addr& src, const in6_addr& dst, uint16_t dport, uint32_t seq, uint32_t ack,
          uint8_t flags, const Bytes& data) {
  Bytes t;
  Put16(t, kSourcePort);
  Put16(t, dport);
  Put32(t, seq);
  Put32(t, ack);
  t.push_back(5 << 4);  // 20-byte header
  t.push_back(flags);
  Put16(t, 65535);
  Put16(t, 0);  // checksum
  Put16(t, 0);
  t.insert(t.end(), data.begin(), data.end());
  uint16_t c = Checksum(src, dst, IPPROTO_TCP, t);
  t[16] = static_cast<uint8_t>(c >> 8);
  t[17] = static_cast<uint8_t>(c);
  return t;
}

int SendRaw(int fd, const in6_addr& dst, const Bytes& packet) {
  sockaddr_in6 to{};
  to.sin6_family = AF_INET6;
  to.sin6_addr = dst;
  if (::sendto(fd, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) <
      0) {
    std::printf("sendto: %s\n", std::strerror(errno));
    return 1;
  }
  return 0;
}

// Waits up to a second for a TCP segment from dst:dport to src:700 with
// `flags` set; fills their sequence number.
bool WaitSegment(int pfd, const in6_addr& src, const in6_addr& dst, uint16_t dport, uint8_t flags,
                 uint32_t* their_seq, uint8_t* got_flags) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{pfd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    uint8_t buf[2048];
    ssize_t n = ::recv(pfd, buf, sizeof(buf), 0);
    if (n < 60 || buf[6] != IPPROTO_TCP) continue;
    if (std::memcmp(buf + 8, dst.s6_addr, 16) != 0 || std::memcmp(buf + 24, src.s6_addr, 16) != 0) {
      continue;
    }
    const uint8_t* t = buf + 40;
    if (((t[0] << 8) | t[1]) != dport || ((t[2] << 8) | t[3]) != kSourcePort) continue;
    *got_flags = t[13];
    if ((t[13] & flags) == flags) {
      *their_seq = Get32(t + 4);
      return true;
    }
    if ((t[13] & kRst) != 0) return false;
  }
  return false;
}

int Run(int argc, char** argv) {
  if (argc != 6) return 2;
  std::string proto = argv[1];
  in6_addr src{}, dst{};
  if (inet_pton(AF_INET6, argv[2], &src) != 1 || inet_pton(AF_INET6, argv[3], &dst) != 1) return 2;
  uint16_t port = static_cast<uint16_t>(std::atoi(argv[4]));
  std::string cmd = argv[5];
  MyId my{"server", static_cast<int32_t>(kNlmProgram), 3, kNlmProcSmNotify};
  uint32_t proc = 0;
  Bytes body;
  if (cmd == "mon") {
    proc = static_cast<uint32_t>(NsmProc::kMon);
    MonArgs m{MonitorKey{"10.66.0.1", my.my_name, my.my_prog, my.my_vers, my.my_proc}, {}};
    body = EncodeMon(m).value();
  } else if (cmd == "unmon") {
    proc = static_cast<uint32_t>(NsmProc::kUnmon);
    body = EncodeMonId(MonitorKey{"10.66.0.1", my.my_name, my.my_prog, my.my_vers, my.my_proc})
               .value();
  } else if (cmd == "unmon-all") {
    proc = static_cast<uint32_t>(NsmProc::kUnmonAll);
    body = EncodeMyId(my).value();
  } else if (cmd == "crash") {
    proc = static_cast<uint32_t>(NsmProc::kSimuCrash);
  } else {
    return 2;
  }
  Bytes call = rpc::EncodeCall(0x4f524745, kNsmProgram, kNsmVersion, proc, body);

  // IPPROTO_RAW: we write the IPv6 header ourselves, source included.
  UniqueFd raw(::socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW));
  if (!raw) {
    std::printf("raw IPv6 socket: %s\n", std::strerror(errno));
    return 77;
  }
  if (proto == "udp") {
    Bytes u;
    Put16(u, kSourcePort);
    Put16(u, port);
    Put16(u, static_cast<uint16_t>(8 + call.size()));
    Put16(u, 0);
    u.insert(u.end(), call.begin(), call.end());
    uint16_t c = Checksum(src, dst, IPPROTO_UDP, u);
    u[6] = static_cast<uint8_t>(c >> 8);
    u[7] = static_cast<uint8_t>(c);
    if (SendRaw(raw.get(), dst, Ip6(src, dst, IPPROTO_UDP, u)) != 0) return 1;
    std::printf("udp: sent %s from [%s]:%u\n", cmd.c_str(), argv[2], kSourcePort);
    return 0;
  }
  if (proto != "tcp") return 2;
  const char* iface = std::getenv("FORGE6_IFACE");
  unsigned ifindex = if_nametoindex(iface != nullptr ? iface : "veth0");
  UniqueFd pkt(::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_IPV6)));
  if (!pkt || ifindex == 0) {
    std::printf("packet socket: %s\n", std::strerror(errno));
    return 77;
  }
  sockaddr_ll ll{};
  ll.sll_family = AF_PACKET;
  ll.sll_protocol = htons(ETH_P_IPV6);
  ll.sll_ifindex = static_cast<int>(ifindex);
  if (::bind(pkt.get(), reinterpret_cast<sockaddr*>(&ll), sizeof(ll)) < 0) {
    std::printf("bind packet socket: %s\n", std::strerror(errno));
    return 77;
  }
  const uint32_t iss = 0x1000;
  if (SendRaw(raw.get(), dst, Ip6(src, dst, IPPROTO_TCP, Tcp(src, dst, port, iss, 0, kSyn, {}))) !=
      0) {
    return 1;
  }
  uint32_t their = 0;
  uint8_t flags = 0;
  if (!WaitSegment(pkt.get(), src, dst, port, kSyn | kAck, &their, &flags)) {
    std::printf("tcp: no SYN-ACK (flags seen 0x%02x)\n", flags);
    return 3;
  }
  Bytes rec;
  Put32(rec, 0x80000000u | static_cast<uint32_t>(call.size()));
  rec.insert(rec.end(), call.begin(), call.end());
  if (SendRaw(raw.get(), dst,
              Ip6(src, dst, IPPROTO_TCP, Tcp(src, dst, port, iss + 1, their + 1, kAck, {}))) != 0 ||
      SendRaw(raw.get(), dst,
              Ip6(src, dst, IPPROTO_TCP,
                  Tcp(src, dst, port, iss + 1, their + 1, kAck | kPsh, rec))) != 0) {
    return 1;
  }
  std::printf("tcp: connected and sent %s\n", cmd.c_str());
  return 0;
}

}  // namespace
}  // namespace nfsrec::statd

int main(int argc, char** argv) {
  int rc = nfsrec::statd::Run(argc, argv);
  if (rc == 2) {
    std::fprintf(stderr, "usage: forge6 udp|tcp SRC6 DST6 PORT mon|unmon|unmon-all|crash\n");
  }
  return rc;
}
