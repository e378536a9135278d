// notify-peer: every peer host of a boot-notification benchmark in one
// process, so that the peers are never what bounds the notifier's figure.
//
// It runs in the peers' network namespace, where each peer is one address
// on an interface, and answers on all of them with two UDP sockets bound to
// the wildcard address, one per role:
//  - rpcbind (port 111): PMAP v2 NULL and GETPORT; GETPORT(SM, v1, UDP)
//    answers the SM socket's port, any other service 0 (not registered).
//  - statd (an ephemeral port): SM_NOTIFY (stat_chge {mon_name, state}),
//    answered with a void success reply.
// Other programs get PROG_UNAVAIL, other procedures PROC_UNAVAIL, and
// arguments that do not decode GARBAGE_ARGS.  Each reply leaves from the
// address its call was sent to (IP_PKTINFO), as a separate host's would.
//
// Every SM_NOTIFY is recorded on stdout, one line each, flushed after each
// batch of datagrams:
//   NOTIFY peer=<address called> from=<source address>:<port> mon_name=<name> state=<n> at=<ms>
// (mon_name: bytes outside printable ASCII as \xNN; at: its arrival, in
// milliseconds of CLOCK_REALTIME), so that a benchmark can check that each
// peer got exactly one notification, with the right state, and when.
// On SIGTERM/SIGINT it prints `TOTAL getport=<n> notify=<n> other=<n>
// first_at=<ms>` (the first call's arrival, 0 if none) and exits 0.
//
// Options:
//   --ready-file F  written ("<sm port>\n") once both sockets are bound
//   --rcvbuf BYTES  receive buffer of each socket (default 8 MiB; as root
//                   beyond net.core.rmem_max), so that a burst of calls is
//                   queued, not dropped
//   --done-after N, --done-file F
//                   once SM_NOTIFYs have arrived at N distinct peer
//                   addresses, F is written ("<at>\n": the N-th address's
//                   first SM_NOTIFY's arrival, ms as above), once, so that a
//                   benchmark waits on a file instead of polling the notifier
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

#include "common/base/unique_fd.h"

namespace nfsrec::bench {
namespace {

constexpr uint32_t kPmapProgram = 100000;
constexpr uint32_t kPmapVersion = 2;
constexpr uint32_t kPmapProcNull = 0;
constexpr uint32_t kPmapProcGetport = 3;
constexpr uint32_t kIpprotoUdp = 17;
constexpr uint32_t kSmProgram = 100024;
constexpr uint32_t kSmVersion = 1;
constexpr uint32_t kSmProcNull = 0;
constexpr uint32_t kSmProcNotify = 6;
constexpr uint16_t kRpcbindPort = 111;
constexpr size_t kMaxMonName = 1024;  // SM_MAXSTRLEN

// RFC 5531 constants.
constexpr uint32_t kCall = 0;
constexpr uint32_t kReply = 1;
constexpr uint32_t kRpcVersion = 2;
constexpr uint32_t kMsgAccepted = 0;
constexpr uint32_t kMsgDenied = 1;
constexpr uint32_t kRpcMismatch = 0;
constexpr uint32_t kSuccess = 0;
constexpr uint32_t kProgUnavail = 1;
constexpr uint32_t kProcUnavail = 3;
constexpr uint32_t kGarbageArgs = 4;
constexpr uint32_t kMaxAuthBytes = 400;

// Reads big-endian XDR words from a datagram; any overrun makes ok() false.
class XdrReader {
 public:
  XdrReader(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  std::optional<uint32_t> Word() {
    if (n_ - off_ < 4) return std::nullopt;
    uint32_t v;
    std::memcpy(&v, p_ + off_, 4);
    off_ += 4;
    return ntohl(v);
  }
  // An opaque or string of at most `max` bytes, padded to 4.
  std::optional<std::string_view> Opaque(size_t max) {
    std::optional<uint32_t> len = Word();
    if (!len || *len > max) return std::nullopt;
    const size_t padded = (static_cast<size_t>(*len) + 3) & ~size_t{3};
    if (n_ - off_ < padded) return std::nullopt;
    std::string_view s(reinterpret_cast<const char*>(p_ + off_), *len);
    off_ += padded;
    return s;
  }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t off_ = 0;
};

class XdrWriter {
 public:
  void Word(uint32_t v) {
    if (len_ + 4 > sizeof(buf_)) return;
    v = htonl(v);
    std::memcpy(buf_ + len_, &v, 4);
    len_ += 4;
  }
  const uint8_t* data() const { return buf_; }
  size_t size() const { return len_; }

 private:
  uint8_t buf_[64];
  size_t len_ = 0;
};

std::string Printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c > ' ' && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char esc[5];
      std::snprintf(esc, sizeof(esc), "\\x%02x", c);
      out += esc;
    }
  }
  return out;
}

struct Counts {
  uint64_t getport = 0;
  uint64_t notify = 0;
  uint64_t other = 0;
  int64_t first_at_ms = 0;
  std::unordered_set<uint32_t> notified;  // peer addresses (network order) that got an SM_NOTIFY
  int64_t done_at_ms = 0;                 // when the --done-after'th address got its first
};

struct Datagram {
  uint8_t data[2048];
  size_t len = 0;
  sockaddr_in from{};
  in_pktinfo to{};    // the address it was sent to, and the interface
  int64_t at_ms = 0;  // when it was read
};

bool Receive(int fd, Datagram* d) {
  iovec iov{d->data, sizeof(d->data)};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in_pktinfo))];
  msghdr msg{};
  msg.msg_name = &d->from;
  msg.msg_namelen = sizeof(d->from);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n = ::recvmsg(fd, &msg, MSG_DONTWAIT);
  if (n < 0) return false;
  d->len = static_cast<size_t>(n);
  timespec now;
  ::clock_gettime(CLOCK_REALTIME, &now);
  d->at_ms = static_cast<int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
  d->to = in_pktinfo{};
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      std::memcpy(&d->to, CMSG_DATA(c), sizeof(d->to));
    }
  }
  return true;
}

// Sends `reply` to the caller from the address the call was sent to.
void SendReply(int fd, const Datagram& call, const XdrWriter& reply) {
  iovec iov{const_cast<uint8_t*>(reply.data()), reply.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in_pktinfo))] = {};
  msghdr msg{};
  msg.msg_name = const_cast<sockaddr_in*>(&call.from);
  msg.msg_namelen = sizeof(call.from);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = IPPROTO_IP;
  c->cmsg_type = IP_PKTINFO;
  c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
  in_pktinfo src{};
  src.ipi_spec_dst = call.to.ipi_addr;
  std::memcpy(CMSG_DATA(c), &src, sizeof(src));
  // A full send buffer drops the reply, as a lossy network would; the
  // caller retransmits.
  (void)::sendmsg(fd, &msg, MSG_DONTWAIT);
}

void AcceptedHeader(XdrWriter* w, uint32_t xid, uint32_t accept_stat) {
  w->Word(xid);
  w->Word(kReply);
  w->Word(kMsgAccepted);
  w->Word(0);  // verifier: AUTH_NONE
  w->Word(0);
  w->Word(accept_stat);
}

std::string AddressText(const in_addr& a) {
  char buf[INET_ADDRSTRLEN];
  return inet_ntop(AF_INET, &a, buf, sizeof(buf)) ? buf : "?";
}

// Writes `text` to `path` through a temporary file and a rename, so that a
// reader never sees it half written.
bool WriteFileAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) return false;
  const bool written = std::fputs(text.c_str(), f) >= 0;
  return std::fclose(f) == 0 && written && std::rename(tmp.c_str(), path.c_str()) == 0;
}

// Serves one datagram on the socket of `role` (rpcbind or statd).
// SM_NOTIFY lines are appended to `out`; with done_after > 0, the arrival
// that brings the distinct peer addresses notified to done_after is kept in
// counts->done_at_ms.
void Serve(int fd, bool rpcbind_role, uint16_t sm_port, size_t done_after, const Datagram& d,
           Counts* counts, std::string* out) {
  if (counts->first_at_ms == 0) counts->first_at_ms = d.at_ms;
  XdrReader r(d.data, d.len);
  std::optional<uint32_t> xid = r.Word(), type = r.Word(), rpcvers = r.Word(), prog = r.Word(),
                          vers = r.Word(), proc = r.Word();
  if (!proc || *type != kCall) return;  // not a call: ignored
  XdrWriter w;
  if (*rpcvers != kRpcVersion) {
    w.Word(*xid);
    w.Word(kReply);
    w.Word(kMsgDenied);
    w.Word(kRpcMismatch);
    w.Word(kRpcVersion);
    w.Word(kRpcVersion);
    return SendReply(fd, d, w);
  }
  // Credentials and verifier: skipped, whatever their flavour.
  for (int i = 0; i < 2; ++i) {
    if (!r.Word() || !r.Opaque(kMaxAuthBytes)) {
      ++counts->other;
      AcceptedHeader(&w, *xid, kGarbageArgs);
      return SendReply(fd, d, w);
    }
  }
  const uint32_t want_prog = rpcbind_role ? kPmapProgram : kSmProgram;
  const uint32_t want_vers = rpcbind_role ? kPmapVersion : kSmVersion;
  if (*prog != want_prog || *vers != want_vers) {
    ++counts->other;
    AcceptedHeader(&w, *xid, kProgUnavail);
    return SendReply(fd, d, w);
  }
  if (*proc == (rpcbind_role ? kPmapProcNull : kSmProcNull)) {
    ++counts->other;
    AcceptedHeader(&w, *xid, kSuccess);
    return SendReply(fd, d, w);
  }
  if (rpcbind_role && *proc == kPmapProcGetport) {
    std::optional<uint32_t> p = r.Word(), v = r.Word(), proto = r.Word(), port = r.Word();
    if (!port) {
      ++counts->other;
      AcceptedHeader(&w, *xid, kGarbageArgs);
      return SendReply(fd, d, w);
    }
    ++counts->getport;
    AcceptedHeader(&w, *xid, kSuccess);
    w.Word(*p == kSmProgram && *v == kSmVersion && *proto == kIpprotoUdp ? sm_port : 0);
    return SendReply(fd, d, w);
  }
  if (!rpcbind_role && *proc == kSmProcNotify) {
    std::optional<std::string_view> mon_name = r.Opaque(kMaxMonName);
    std::optional<uint32_t> state = mon_name ? r.Word() : std::nullopt;
    if (!state) {
      ++counts->other;
      AcceptedHeader(&w, *xid, kGarbageArgs);
      return SendReply(fd, d, w);
    }
    ++counts->notify;
    if (counts->notified.insert(d.to.ipi_addr.s_addr).second && done_after > 0 &&
        counts->notified.size() == done_after) {
      counts->done_at_ms = d.at_ms;
    }
    char line[160];
    std::snprintf(line, sizeof(line),
                  "NOTIFY peer=%s from=%s:%u mon_name=", AddressText(d.to.ipi_addr).c_str(),
                  AddressText(d.from.sin_addr).c_str(), ntohs(d.from.sin_port));
    *out += line;
    *out += Printable(*mon_name);
    *out += " state=" + std::to_string(static_cast<int32_t>(*state)) +
            " at=" + std::to_string(d.at_ms) + "\n";
    AcceptedHeader(&w, *xid, kSuccess);
    return SendReply(fd, d, w);
  }
  ++counts->other;
  AcceptedHeader(&w, *xid, kProcUnavail);
  SendReply(fd, d, w);
}

// A UDP socket on 0.0.0.0:port that reports each datagram's destination.
UniqueFd OpenSocket(uint16_t port, int rcvbuf) {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return fd;
  int one = 1;
  if (::setsockopt(fd.get(), IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) != 0) return UniqueFd();
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) != 0) {
    (void)::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_ANY);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) return UniqueFd();
  return fd;
}

uint16_t LocalPort(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof(sa);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) return 0;
  return ntohs(sa.sin_port);
}

int Main(int argc, char** argv) {
  std::string ready_file;
  std::string done_file;
  size_t done_after = 0;
  int rcvbuf = 8 << 20;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--ready-file" && i + 1 < argc) {
      ready_file = argv[++i];
    } else if (a == "--rcvbuf" && i + 1 < argc) {
      rcvbuf = std::atoi(argv[++i]);
    } else if (a == "--done-after" && i + 1 < argc) {
      done_after = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--done-file" && i + 1 < argc) {
      done_file = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: notify-peer [--ready-file F] [--rcvbuf BYTES] "
                   "[--done-after N --done-file F]\n");
      return 2;
    }
  }
  if ((done_after > 0) != !done_file.empty()) {
    std::fprintf(stderr, "notify-peer: --done-after and --done-file go together\n");
    return 2;
  }
  UniqueFd rpcbind = OpenSocket(kRpcbindPort, rcvbuf);
  UniqueFd statd = OpenSocket(0, rcvbuf);
  if (!rpcbind || !statd) {
    std::fprintf(stderr, "notify-peer: cannot bind: %s\n", std::strerror(errno));
    return 1;
  }
  const uint16_t sm_port = LocalPort(statd.get());
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  if (::sigprocmask(SIG_BLOCK, &mask, nullptr) != 0) return 1;
  UniqueFd sigfd(::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
  UniqueFd ep(::epoll_create1(EPOLL_CLOEXEC));
  if (!sigfd || !ep) return 1;
  for (int fd : {rpcbind.get(), statd.get(), sigfd.get()}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (::epoll_ctl(ep.get(), EPOLL_CTL_ADD, fd, &ev) != 0) return 1;
  }
  if (!ready_file.empty() && !WriteFileAtomically(ready_file, std::to_string(sm_port) + "\n")) {
    return 1;
  }
  Counts counts;
  std::string out;
  Datagram d;
  for (;;) {
    epoll_event events[3];
    int n = ::epoll_wait(ep.get(), events, 3, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return 1;
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == sigfd.get()) {
        std::printf("TOTAL getport=%llu notify=%llu other=%llu first_at=%lld\n",
                    static_cast<unsigned long long>(counts.getport),
                    static_cast<unsigned long long>(counts.notify),
                    static_cast<unsigned long long>(counts.other),
                    static_cast<long long>(counts.first_at_ms));
        std::fflush(stdout);
        return 0;
      }
      // Drain the socket: one wake-up serves every datagram queued.
      while (Receive(fd, &d)) {
        Serve(fd, fd == rpcbind.get(), sm_port, done_after, d, &counts, &out);
      }
    }
    if (!out.empty()) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      std::fflush(stdout);
      out.clear();
    }
    // After the batch's lines are out: whoever reads the done file finds
    // every SM_NOTIFY up to it in the record.
    if (counts.done_at_ms != 0) {
      if (!WriteFileAtomically(done_file, std::to_string(counts.done_at_ms) + "\n")) {
        std::fprintf(stderr, "notify-peer: cannot write %s: %s\n", done_file.c_str(),
                     std::strerror(errno));
      }
      counts.done_at_ms = 0;
    }
  }
}

}  // namespace
}  // namespace nfsrec::bench

int main(int argc, char** argv) { return nfsrec::bench::Main(argc, argv); }
