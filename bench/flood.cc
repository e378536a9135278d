// nsm-flood: hostile load against an NSM server on this host, for the
// resource-bound measurements in docs/RESOURCE_BOUNDS.md.  Each mode applies
// one flood while probing the service lockd needs (SM_MON then SM_UNMON over
// TCP on 127.0.0.1, with kernel-lockd arguments) and checks every probe
// reply.  Counts and durations are bounded by the arguments.
//
//   nsm-flood [--port P] [--probes N] MODE [mode options]
//   MODE:
//     tcp-idle   --conns N --source A [--target D] [--hold-ms T]
//                N idle TCP connections from source address A to D
//                (127.0.0.1), held T ms.  --sources K spreads the
//                connections over K IPv4 source addresses counting up from
//                A (the server limits connections per address);
//                the probes run while they are held.
//     tcp-slow   --conns N --source A [--hold-ms T]
//                N connections that each send all but the last byte of a
//                65,000-byte record (just under the 64 KiB limit) and hold
//                it: the most input a peer can make the server keep.
//     tcp-big    --conns N --source A
//                N connections that each send a 16 MiB record fragment
//                header and 64 KiB of it; counts how many the server closed.
//     notify-unknown --calls N
//                SM_NOTIFY from N distinct names that nobody monitors (UDP).
//     mon-names  --calls N
//                SM_MON then SM_UNMON of N distinct names that do not
//                resolve (TCP, 4 connections): the resolver's cache.
//     notify-one --calls N --name H
//                SM_MON of H once, then N SM_NOTIFY for H with rising
//                states (UDP), as a peer that reboots in a loop would.
//
// --port sets the TCP port (else asked of rpcbind); UDP's is always asked.
// Prints one line of key=value pairs; exit 0 when every probe was answered
// correctly, 1 otherwise, 2 on bad usage.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "common/base/logging.h"
#include "common/base/unique_fd.h"
#include "common/rpc/sockaddr.h"
#include "statd/nsm_codec.h"
#include "tests/support/rpc_test_client.h"

namespace nfsrec::statd {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kTimeout = std::chrono::seconds(5);

struct Args {
  std::string mode;
  uint16_t port = 0;      // TCP
  uint16_t udp_port = 0;  // from rpcbind
  int probes = 20;
  int conns = 0;
  int calls = 0;
  int hold_ms = 3000;
  std::string source;
  std::string target = "127.0.0.1";
  int sources = 1;
  std::string name;
};

// Probe results: SM_MON + SM_UNMON pairs over a fresh TCP connection each,
// as lockd opens one when its cached transport was closed.
struct ProbeStats {
  int ok = 0;
  int failed = 0;
  double max_ms = 0;
  std::vector<double> ms;
};

ProbeStats RunProbes(uint16_t port, int probes, int interval_ms) {
  ProbeStats s;
  for (int i = 0; i < probes; ++i) {
    auto start = Clock::now();
    bool good = false;
    Result<std::unique_ptr<test::TcpClient>> c =
        test::TcpClient::Connect("127.0.0.1", port, kTimeout);
    if (c.ok()) {
      MonArgs m{MonitorKey{StrCat("10.254.0.", i % 250 + 1), "server",
                           static_cast<int32_t>(kNlmProgram), 3, kNlmProcSmNotify},
                {}};
      m.priv[0] = static_cast<uint8_t>(i);
      Result<test::Reply> r =
          (*c)->Call(kNsmProgram, kNsmVersion, static_cast<uint32_t>(NsmProc::kMon),
                     EncodeMon(m).value(), kTimeout);
      if (r.ok() && r->Success()) {
        Result<StatRes> res = DecodeSmStatRes(r->results);
        if (res.ok() && res->success) {
          Result<test::Reply> u =
              (*c)->Call(kNsmProgram, kNsmVersion, static_cast<uint32_t>(NsmProc::kUnmon),
                         EncodeMonId(m.id).value(), kTimeout);
          good = u.ok() && u->Success();
        }
      }
    }
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    s.ms.push_back(ms);
    s.max_ms = std::max(s.max_ms, ms);
    (good ? s.ok : s.failed) += 1;
    std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
  }
  return s;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The i-th IPv4 address counting up from `base` ("10.99.0.2", 3 ->
// "10.99.0.5"); `base` itself if it is not IPv4.
std::string SourceAddress(const std::string& base, int i) {
  in_addr a{};
  if (i == 0 || ::inet_pton(AF_INET, base.c_str(), &a) != 1) return base;
  a.s_addr = htonl(ntohl(a.s_addr) + static_cast<uint32_t>(i));
  char out[INET_ADDRSTRLEN];
  return ::inet_ntop(AF_INET, &a, out, sizeof out) ? out : base;
}

// A TCP connection from `source` to target:port.
Result<UniqueFd> Connect(const std::string& source, const std::string& target, uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return PosixError("socket", errno);
  if (!source.empty()) {
    Result<rpc::Endpoint> src = rpc::Endpoint::FromNumeric(source, 0);
    if (!src.ok()) return src.status();
    if (::bind(fd.get(), src->sa(), src->len) != 0) return PosixError("bind " + source, errno);
  }
  Result<rpc::Endpoint> dst = rpc::Endpoint::FromNumeric(target, port);
  if (!dst.ok()) return dst.status();
  if (::connect(fd.get(), dst->sa(), dst->len) != 0) return PosixError("connect", errno);
  return fd;
}

// Whether the server closed `fd` (EOF or reset) by now, without waiting.
bool ClosedByPeer(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  char buf[256];
  ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

int TcpFlood(const Args& a) {
  std::vector<UniqueFd> fds;
  int connect_errors = 0;
  for (int i = 0; i < a.conns; ++i) {
    Result<UniqueFd> fd = Connect(SourceAddress(a.source, i % a.sources), a.target, a.port);
    if (!fd.ok()) {
      connect_errors += 1;
      continue;
    }
    if (a.mode == "tcp-big") {
      // Last-fragment bit clear, 16 MiB announced: more than any NSM call.
      uint8_t mark[4] = {0x01, 0x00, 0x00, 0x00};
      std::vector<uint8_t> body(64 * 1024, 0x41);
      (void)::send(fd->get(), mark, sizeof mark, MSG_NOSIGNAL);
      (void)::send(fd->get(), body.data(), body.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    } else if (a.mode == "tcp-slow") {
      // Last fragment, 65,000 bytes: within the limit, never completed.
      constexpr uint32_t kLen = 65000;
      std::vector<uint8_t> rec = {0x80, 0x00, static_cast<uint8_t>(kLen >> 8),
                                  static_cast<uint8_t>(kLen & 0xff)};
      rec.resize(4 + kLen - 1, 0x41);
      (void)::send(fd->get(), rec.data(), rec.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    fds.push_back(std::move(*fd));
  }
  auto start = Clock::now();
  ProbeStats p = RunProbes(a.port, a.probes, std::max(1, a.hold_ms / std::max(1, a.probes) / 2));
  auto left = std::chrono::milliseconds(a.hold_ms) - (Clock::now() - start);
  if (left.count() > 0) std::this_thread::sleep_for(left);
  int closed = 0;
  for (UniqueFd& fd : fds) closed += ClosedByPeer(fd.get()) ? 1 : 0;
  std::printf(
      "mode=%s conns=%d connect_errors=%d closed_by_server=%d probes_ok=%d probes_failed=%d "
      "probe_median_ms=%.1f probe_max_ms=%.1f\n",
      a.mode.c_str(), a.conns, connect_errors, closed, p.ok, p.failed, Median(p.ms), p.max_ms);
  return p.failed == 0 ? 0 : 1;
}

// SM_NOTIFY calls over one UDP socket, a bounded window in flight; every
// reply must be SUCCESS (void result).
int NotifyFlood(const Args& a) {
  int errors = 0;
  if (a.mode == "notify-one") {
    MonArgs m{MonitorKey{a.name, "server", static_cast<int32_t>(kNlmProgram), 3, kNlmProcSmNotify},
              {}};
    Result<test::Reply> r =
        test::Call("127.0.0.1", a.port, test::Proto::kTcp, kNsmProgram, kNsmVersion,
                   static_cast<uint32_t>(NsmProc::kMon), EncodeMon(m).value(), kTimeout);
    if (!r.ok() || !r->Success()) {
      std::fprintf(stderr, "nsm-flood: SM_MON %s failed\n", a.name.c_str());
      return 1;
    }
  }
  auto start = Clock::now();
  const int threads = 4;
  std::atomic<int> next{0};
  std::atomic<int> bad{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < a.calls; i = next++) {
        std::string name = a.mode == "notify-one"
                               ? a.name
                               : StrCat("unknown-", i / 65536, "-", i % 65536, ".example");
        NotifyArgs n{name, 2 * i + 3};
        Result<test::Reply> r = test::Call("127.0.0.1", a.udp_port, test::Proto::kUdp, kNsmProgram,
                                           kNsmVersion, static_cast<uint32_t>(NsmProc::kNotify),
                                           EncodeStatChge(n).value(), kTimeout);
        if (!r.ok() || !r->Success()) bad += 1;
      }
    });
  }
  for (auto& t : pool) t.join();
  errors = bad.load();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  ProbeStats p = RunProbes(a.port, a.probes, 10);
  std::printf(
      "mode=%s calls=%d errors=%d seconds=%.2f probes_ok=%d probes_failed=%d "
      "probe_median_ms=%.1f probe_max_ms=%.1f\n",
      a.mode.c_str(), a.calls, errors, secs, p.ok, p.failed, Median(p.ms), p.max_ms);
  return errors == 0 && p.failed == 0 ? 0 : 1;
}

// SM_MON + SM_UNMON of distinct unresolvable names over 4 TCP connections;
// every reply must be stat_succ / SUCCESS.
int MonNames(const Args& a) {
  auto start = Clock::now();
  std::atomic<int> next{0};
  std::atomic<int> bad{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < 4; ++t) {
    pool.emplace_back([&] {
      Result<std::unique_ptr<test::TcpClient>> c =
          test::TcpClient::Connect("127.0.0.1", a.port, kTimeout);
      if (!c.ok()) {
        bad += 1;
        return;
      }
      for (int i = next++; i < a.calls; i = next++) {
        MonArgs m{MonitorKey{StrCat("flood-", i, ".invalid"), "server",
                             static_cast<int32_t>(kNlmProgram), 3, kNlmProcSmNotify},
                  {}};
        Result<test::Reply> r =
            (*c)->Call(kNsmProgram, kNsmVersion, static_cast<uint32_t>(NsmProc::kMon),
                       EncodeMon(m).value(), kTimeout);
        Result<StatRes> res =
            r.ok() && r->Success() ? DecodeSmStatRes(r->results) : Result<StatRes>(r.status());
        Result<test::Reply> u =
            (*c)->Call(kNsmProgram, kNsmVersion, static_cast<uint32_t>(NsmProc::kUnmon),
                       EncodeMonId(m.id).value(), kTimeout);
        if (!res.ok() || !res->success || !u.ok() || !u->Success()) bad += 1;
      }
    });
  }
  for (auto& t : pool) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  ProbeStats p = RunProbes(a.port, a.probes, 10);
  std::printf(
      "mode=%s calls=%d errors=%d seconds=%.2f probes_ok=%d probes_failed=%d "
      "probe_median_ms=%.1f probe_max_ms=%.1f\n",
      a.mode.c_str(), a.calls, bad.load(), secs, p.ok, p.failed, Median(p.ms), p.max_ms);
  return bad.load() == 0 && p.failed == 0 ? 0 : 1;
}

int Usage() {
  std::fprintf(stderr,
               "usage: nsm-flood [--port P] [--probes N] tcp-idle|tcp-slow|tcp-big --conns N "
               "--source A [--hold-ms T]\n"
               "       nsm-flood [--port P] notify-unknown|mon-names --calls N\n"
               "       nsm-flood [--port P] notify-one --calls N --name H\n");
  return 2;
}

int Run(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (s == "--port")
      a.port = static_cast<uint16_t>(std::atoi(next().c_str()));
    else if (s == "--probes")
      a.probes = std::atoi(next().c_str());
    else if (s == "--conns")
      a.conns = std::atoi(next().c_str());
    else if (s == "--calls")
      a.calls = std::atoi(next().c_str());
    else if (s == "--hold-ms")
      a.hold_ms = std::atoi(next().c_str());
    else if (s == "--source")
      a.source = next();
    else if (s == "--sources")
      a.sources = std::atoi(next().c_str());
    else if (s == "--target")
      a.target = next();
    else if (s == "--name")
      a.name = next();
    else if (a.mode.empty() && s.rfind("--", 0) != 0)
      a.mode = s;
    else
      return Usage();
  }
  if (a.conns < 0 || a.conns > 20000 || a.calls < 0 || a.calls > 1000000 || a.probes < 1 ||
      a.probes > 1000 || a.hold_ms < 0 || a.hold_ms > 600000 || a.sources < 1 || a.sources > 250) {
    std::fprintf(stderr, "nsm-flood: conns 0..20000, calls 0..1000000, probes 1..1000\n");
    return 2;
  }
  if (a.port == 0) {
    Result<uint16_t> p =
        test::PmapGetPort("127.0.0.1", kNsmProgram, kNsmVersion, test::Proto::kTcp, kTimeout);
    if (!p.ok() || p.value() == 0) {
      std::fprintf(stderr, "nsm-flood: no NSM server registered on 127.0.0.1\n");
      return 1;
    }
    a.port = p.value();
  }
  Result<uint16_t> up =
      test::PmapGetPort("127.0.0.1", kNsmProgram, kNsmVersion, test::Proto::kUdp, kTimeout);
  if (!up.ok() || up.value() == 0) {
    std::fprintf(stderr, "nsm-flood: no NSM server registered on 127.0.0.1 over UDP\n");
    return 1;
  }
  a.udp_port = up.value();
  if (a.mode == "tcp-idle" || a.mode == "tcp-slow" || a.mode == "tcp-big") return TcpFlood(a);
  if (a.mode == "notify-unknown") return NotifyFlood(a);
  if (a.mode == "mon-names") return MonNames(a);
  if (a.mode == "notify-one" && !a.name.empty()) return NotifyFlood(a);
  return Usage();
}

}  // namespace
}  // namespace nfsrec::statd

int main(int argc, char** argv) { return nfsrec::statd::Run(argc, argv); }
