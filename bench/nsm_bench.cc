// nsm-bench: durable SM_MON throughput of whatever NSM server answers on
// 127.0.0.1 (nfsrecd or Debian's rpc.statd), as lockd would drive it: TCP,
// my_prog 100021, my_vers 3, my_proc 16, an address as mon_name, a fresh
// 16-byte cookie per call.
//
//   nsm-bench --calls N --concurrency C [--port P] [--prefix 10.77] [--unmon]
//   nsm-bench --notify STATE --calls N --concurrency C [--prefix 10.77] [--rising]
//             [--shuffle SEED] [--udp]
//
// Call i names host PREFIX.(i / 256).(i % 256) for a two-part prefix (at
// most 65536 calls), PREFIX.(i / 65536).(i / 256 % 256).(i % 256) for a
// one-part prefix such as "10" (at most 1,000,000 calls); its cookie is the
// 16 bytes (i * 7 + b) mod 256, b = 0..15.
//
// --notify sends SM_NOTIFY(mon_name, STATE) for the same N names instead of
// SM_MON (what N rebooted peers' sm-notify would send); the replies are void
// and are checked for SUCCESS.  With --rising every SM_NOTIFY names the first
// host (prefix.0.0) with states STATE, STATE+2, ... (one peer rebooting over
// and over; use concurrency 1 to keep the order).  With --shuffle the N
// calls go in an order shuffled by SEED (each name still once), as peers
// rebooting after a power cut notify in no relation to the order in which
// lockd monitored them.  With --udp each SM_NOTIFY is a datagram, as
// sm-notify sends it, retransmitted after 1 s without a reply (up to 10
// transmissions; `retransmits=` counts the extra ones).
//
// Concurrency over TCP: every sender holds one loopback connection, and
// nfsrecd admits 128 loopback connections (a new one evicts the idlest;
// common/rpc/tcp_transport.h), so more TCP senders than that measure the
// evictions.  Above 128, use --udp (at most 1024 senders).
// Every reply is checked (stat_succ and the server's state); a wrong or
// missing reply counts as an error and makes the exit status 1.  With
// --unmon the records are removed afterwards (not timed).  Prints one line,
// with the latency of the timed calls (call sent to reply read) in ms:
//   calls=N concurrency=C seconds=S calls_per_second=R p50_ms=L p99_ms=L errors=E
// followed, with --udp, by proto=udp retransmits=R.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/base/logging.h"
#include "statd/nsm_codec.h"
#include "tests/support/rpc_test_client.h"

namespace nfsrec::statd {
namespace {

bool OnePart(const std::string& prefix) { return prefix.find('.') == std::string::npos; }

std::string Name(const std::string& prefix, int i) {
  if (OnePart(prefix))
    return StrCat(prefix, ".", (i >> 16) & 255, ".", (i >> 8) & 255, ".", i & 255);
  return StrCat(prefix, ".", (i >> 8) & 255, ".", i & 255);
}

int Run(int argc, char** argv) {
  int calls = 1000, concurrency = 1;
  uint16_t port = 0;
  std::string prefix = "10.77";
  bool unmon = false;
  int notify_state = 0;
  bool rising = false;
  int shuffle_seed = -1;
  bool udp = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--calls")
      calls = std::atoi(next().c_str());
    else if (a == "--concurrency")
      concurrency = std::atoi(next().c_str());
    else if (a == "--port")
      port = static_cast<uint16_t>(std::atoi(next().c_str()));
    else if (a == "--prefix")
      prefix = next();
    else if (a == "--unmon")
      unmon = true;
    else if (a == "--notify")
      notify_state = std::atoi(next().c_str());
    else if (a == "--rising")
      rising = true;
    else if (a == "--shuffle")
      shuffle_seed = std::atoi(next().c_str());
    else if (a == "--udp")
      udp = true;
    else {
      std::fprintf(
          stderr,
          "usage: nsm-bench --calls N --concurrency C [--port P] [--prefix A.B] [--unmon]\n");
      return 2;
    }
  }
  const int max_calls = OnePart(prefix) ? 1000000 : 65536;
  const int max_concurrency = udp ? 1024 : 128;
  if (calls <= 0 || calls > max_calls || concurrency <= 0 || concurrency > max_concurrency) {
    std::fprintf(stderr,
                 "nsm-bench: calls must be 1..%d for prefix %s, concurrency 1..%d over %s%s\n",
                 max_calls, prefix.c_str(), max_concurrency, udp ? "UDP" : "TCP",
                 udp ? "" : " (the server's loopback connection budget; more: --udp)");
    return 2;
  }
  if (udp && notify_state == 0) {
    std::fprintf(stderr, "nsm-bench: --udp is for --notify\n");
    return 2;
  }
  const auto timeout = std::chrono::seconds(10);
  if (port == 0) {
    Result<uint16_t> p = test::PmapGetPort("127.0.0.1", kNsmProgram, kNsmVersion,
                                           udp ? test::Proto::kUdp : test::Proto::kTcp, timeout);
    if (!p.ok() || p.value() == 0) {
      std::fprintf(stderr, "nsm-bench: no NSM server registered on 127.0.0.1\n");
      return 1;
    }
    port = p.value();
  }

  // The call order: call n names peer order[n].
  std::vector<int> order(static_cast<size_t>(calls));
  std::iota(order.begin(), order.end(), 0);
  if (shuffle_seed >= 0) {
    std::shuffle(order.begin(), order.end(), std::mt19937(static_cast<uint32_t>(shuffle_seed)));
  }

  std::atomic<int> next{0};
  std::atomic<int> errors{0};
  std::atomic<int> retransmits{0};
  std::atomic<int32_t> state{0};
  std::mutex latency_mu;
  std::vector<double> latency_ms;  // of the timed calls
  auto worker = [&](bool do_unmon) {
    std::vector<double> mine;
    Result<std::unique_ptr<test::TcpClient>> c = Status::Unavailable("UDP: no connection");
    if (!udp) {
      c = test::TcpClient::Connect("127.0.0.1", port, timeout);
      if (!c.ok()) {
        errors += 1;
        return;
      }
    }
    for (int n = next++; n < calls; n = next++) {
      const int i = order[static_cast<size_t>(n)];
      MonArgs m{MonitorKey{Name(prefix, i), "server", static_cast<int32_t>(kNlmProgram), 3,
                           kNlmProcSmNotify},
                {}};
      for (size_t b = 0; b < m.priv.size(); ++b) m.priv[b] = static_cast<uint8_t>(i * 7 + b);
      Bytes args = do_unmon ? EncodeMonId(m.id).value() : EncodeMon(m).value();
      uint32_t proc = static_cast<uint32_t>(do_unmon ? NsmProc::kUnmon : NsmProc::kMon);
      if (notify_state != 0) {
        args = rising ? EncodeStatChge(NotifyArgs{Name(prefix, 0), notify_state + 2 * i}).value()
                      : EncodeStatChge(NotifyArgs{m.id.mon_name, notify_state}).value();
        proc = static_cast<uint32_t>(NsmProc::kNotify);
      }
      const auto sent = std::chrono::steady_clock::now();
      Result<test::Reply> r = Status::TimedOut("not sent");
      if (udp) {
        for (int t = 0; t < 10; ++t) {
          if (t > 0) retransmits += 1;
          r = test::Call("127.0.0.1", port, test::Proto::kUdp, kNsmProgram, kNsmVersion, proc, args,
                         std::chrono::seconds(1));
          if (r.ok() || !r.status().IsTimedOut()) break;
        }
      } else {
        r = (*c)->Call(kNsmProgram, kNsmVersion, proc, args, timeout);
      }
      if (!do_unmon) {
        mine.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - sent)
                .count());
      }
      if (!r.ok() || !r->Success()) {
        errors += 1;
        continue;
      }
      if (do_unmon || notify_state != 0) continue;
      Result<StatRes> res = DecodeSmStatRes(r->results);
      if (!res.ok() || !res->success || res->state <= 0 || (res->state & 1) == 0) {
        errors += 1;
        continue;
      }
      int32_t expected = 0;
      if (!state.compare_exchange_strong(expected, res->state) && expected != res->state) {
        errors += 1;  // the state must not change under us
      }
    }
    std::lock_guard<std::mutex> lock(latency_mu);
    latency_ms.insert(latency_ms.end(), mine.begin(), mine.end());
  };

  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < concurrency; ++t) threads.emplace_back(worker, false);
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::sort(latency_ms.begin(), latency_ms.end());
  auto percentile = [&](double p) {
    if (latency_ms.empty()) return 0.0;
    return latency_ms[std::min(latency_ms.size() - 1, static_cast<size_t>(p * latency_ms.size()))];
  };
  std::printf(
      "calls=%d concurrency=%d seconds=%.3f calls_per_second=%.1f p50_ms=%.2f p99_ms=%.2f "
      "errors=%d",
      calls, concurrency, secs, calls / secs, percentile(0.50), percentile(0.99), errors.load());
  if (udp) std::printf(" proto=udp retransmits=%d", retransmits.load());
  std::printf("\n");
  int rc = errors.load() == 0 ? 0 : 1;
  if (unmon) {
    next = 0;
    threads.clear();
    for (int t = 0; t < concurrency; ++t) threads.emplace_back(worker, true);
    for (auto& t : threads) t.join();
  }
  return rc;
}

}  // namespace
}  // namespace nfsrec::statd

int main(int argc, char** argv) { return nfsrec::statd::Run(argc, argv); }
