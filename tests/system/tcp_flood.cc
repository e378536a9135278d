// tcp-flood: opens many TCP connections to one server and holds them, for
// the connection-budget system test and the RSS figures.
//
//   tcp-flood HOST PORT COUNT SRC_PREFIX NSRC STOP_FILE [slow]
//
// Connection i is bound to SRC_PREFIX(1 + i % NSRC) ("10.130.1." + n), so
// the server sees NSRC remote addresses.  With "slow", each connection
// announces one maximal fragment (64 KiB, last-fragment bit set) and sends
// its bytes in 4 KiB pieces every 100 ms, never the last byte.  Every
// second STOP_FILE.status gets "open=N closed=M" (connections established
// and still open / closed by the server).  Runs until STOP_FILE exists, at
// most 300 s.  Exit: 0, 2 usage, 1 errors.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr uint32_t kFragment = 64 * 1024;
constexpr size_t kPiece = 4096;

struct Conn {
  int fd = -1;
  bool connected = false;
  bool closed = false;
  size_t sent = 0;  // with "slow": bytes of the record mark and fragment
};

int Run(int argc, char** argv) {
  if (argc < 7) return 2;
  const std::string host = argv[1];
  const int port = std::atoi(argv[2]);
  const int count = std::atoi(argv[3]);
  const std::string prefix = argv[4];
  const int nsrc = std::atoi(argv[5]);
  const std::string stop = argv[6];
  const bool slow = argc > 7 && std::string(argv[7]) == "slow";
  if (count <= 0 || nsrc <= 0) return 2;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &to.sin_addr) != 1) return 2;

  std::vector<Conn> conns(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      std::perror("socket");
      return 1;
    }
    sockaddr_in from{};
    from.sin_family = AF_INET;
    std::string src = prefix + std::to_string(1 + i % nsrc);
    if (inet_pton(AF_INET, src.c_str(), &from.sin_addr) != 1 ||
        ::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof(from)) < 0) {
      std::perror(src.c_str());
      return 1;
    }
    (void)::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to));
    conns[static_cast<size_t>(i)].fd = fd;
  }

  std::vector<uint8_t> record(4 + kFragment, 0x5a);
  uint32_t mark = 0x80000000u | kFragment;
  record[0] = static_cast<uint8_t>(mark >> 24);
  record[1] = static_cast<uint8_t>(mark >> 16);
  record[2] = static_cast<uint8_t>(mark >> 8);
  record[3] = static_cast<uint8_t>(mark);

  auto start = std::chrono::steady_clock::now();
  auto last_status = start - std::chrono::seconds(1);
  auto last_piece = start;
  struct stat st;
  while (::stat(stop.c_str(), &st) != 0 &&
         std::chrono::steady_clock::now() - start < std::chrono::seconds(300)) {
    std::vector<pollfd> pfds;
    for (const Conn& c : conns) {
      short ev = c.closed ? 0 : static_cast<short>(c.connected ? POLLIN : POLLOUT);
      pfds.push_back(pollfd{c.closed ? -1 : c.fd, ev, 0});
    }
    ::poll(pfds.data(), pfds.size(), 50);
    for (size_t i = 0; i < conns.size(); ++i) {
      Conn& c = conns[i];
      if (c.closed) continue;
      short re = pfds[i].revents;
      if ((re & (POLLERR | POLLHUP)) != 0) {
        c.closed = true;
      } else if (!c.connected && (re & POLLOUT) != 0) {
        c.connected = true;
      } else if (c.connected && (re & POLLIN) != 0) {
        char buf[256];
        ssize_t n = ::recv(c.fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n <= 0) c.closed = true;
      }
      if (c.closed) {
        ::close(c.fd);
        c.fd = -1;
      }
    }
    auto now = std::chrono::steady_clock::now();
    if (slow && now - last_piece >= std::chrono::milliseconds(100)) {
      last_piece = now;
      for (Conn& c : conns) {
        if (!c.connected || c.closed || c.sent >= record.size() - 1) continue;
        size_t n = std::min(kPiece, record.size() - 1 - c.sent);
        ssize_t w = ::send(c.fd, record.data() + c.sent, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w > 0) c.sent += static_cast<size_t>(w);
      }
    }
    if (now - last_status >= std::chrono::seconds(1)) {
      last_status = now;
      int open = 0, closed = 0;
      for (const Conn& c : conns) {
        open += c.connected && !c.closed;
        closed += c.closed;
      }
      std::string tmp = stop + ".status.tmp";
      if (FILE* f = std::fopen(tmp.c_str(), "w")) {
        std::fprintf(f, "open=%d closed=%d\n", open, closed);
        std::fclose(f);
        std::rename(tmp.c_str(), (stop + ".status").c_str());
      }
    }
  }
  for (Conn& c : conns) {
    if (c.fd >= 0) ::close(c.fd);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int rc = Run(argc, argv);
  if (rc == 2)
    std::fprintf(stderr, "usage: tcp-flood HOST PORT COUNT SRC_PREFIX NSRC STOP_FILE [slow]\n");
  return rc;
}
