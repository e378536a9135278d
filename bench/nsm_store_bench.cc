// nsm_store_bench: durable PutMonitor latency and throughput of the NSM
// stores: EtcdNsmStore on each etcd cluster given (e.g. 1 and 3 members)
// beside SqliteNsmStore on DIR's disk, in one run.
//
//   bench/nsm_store_bench --etcd NAME=URL[,URL...] [--etcd NAME=...]
//                         [--dir DIR] [--count N] [--concurrency C[,C...]]
//
// For each concurrency C and each store: N PutMonitor calls of distinct
// records, at most C outstanding (each completion submits the next).  A
// call counts only if its completion said OK; afterwards the store is
// loaded (NsmStore::Load) and every counted record is compared with what
// was put; the run fails if one is missing or different.  Prints calls/s
// and latency percentiles (submission to completion, log-2 buckets:
// common/base/histogram.h).  bench/run-nsm-store-bench.sh starts the
// members on DIR's disk.
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "bench/bench_args.h"
#include "common/base/histogram.h"
#include "common/os/event_loop.h"
#include "common/store/commit_queue.h"
#include "common/store/etcd_client.h"
#include "common/store/sqlite.h"
#include "statd/etcd_nsm_store.h"
#include "statd/sqlite_nsm_store.h"

namespace nfsrec::statd {
namespace {

struct Options {
  std::vector<std::pair<std::string, std::vector<std::string>>> clusters;
  std::string dir;
  int count = 2000;
  std::vector<int> concurrency = {1, 8, 64};
};

bool ParseArgs(int argc, char** argv, Options* out) {
  out->dir = bench::DefaultDir();
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string arg = argv[i], value = argv[i + 1];
    if (arg == "--etcd") {
      size_t eq = value.find('=');
      if (eq == std::string::npos) return false;
      out->clusters.emplace_back(value.substr(0, eq), bench::SplitCommas(value.substr(eq + 1)));
    } else if (arg == "--dir") {
      out->dir = value;
    } else if (arg == "--count") {
      out->count = std::stoi(value);
    } else if (arg == "--concurrency") {
      out->concurrency.clear();
      for (const auto& c : bench::SplitCommas(value)) out->concurrency.push_back(std::stoi(c));
    } else {
      return false;
    }
  }
  return argc % 2 == 1 && out->count > 0 && !out->concurrency.empty();
}

MonitorRecord Record(int i) {
  MonitorRecord r;
  r.key.mon_name = "client-" + std::to_string(i) + ".example.net";
  r.key.my_name = "server.example.net";
  r.key.my_prog = 100021;
  r.key.my_vers = 4;
  r.key.my_proc = 16;
  for (size_t b = 0; b < r.priv.size(); ++b) r.priv[b] = static_cast<uint8_t>(i + b);
  r.canonical_name = r.key.mon_name;
  return r;
}

double Ms(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// count PutMonitor calls, at most c outstanding; then Load and compare.
bool Run(const std::string& backend, EventLoop& loop, NsmStore& store, int count, int c) {
  LatencyHistogram h;
  int submitted = 0, completed = 0;
  std::vector<int> acked;
  std::function<void()> next = [&] {
    int i = submitted++;
    auto t0 = std::chrono::steady_clock::now();
    store.PutMonitor(Record(i), [&, i, t0](Status st) {
      h.Record(std::chrono::steady_clock::now() - t0);
      ++completed;
      if (st.ok()) {
        acked.push_back(i);
      } else {
        std::fprintf(stderr, "PutMonitor %d: %s\n", i, st.ToString().c_str());
      }
      if (submitted < count) next();
    });
  };
  auto start = std::chrono::steady_clock::now();
  for (int k = 0; k < c && submitted < count; ++k) next();
  loop.RunUntil([&] { return completed == count; }, std::chrono::minutes(10));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::optional<Result<NsmSnapshot>> snap;
  store.Load([&](Result<NsmSnapshot> r) { snap.emplace(std::move(r)); });
  loop.RunUntil([&] { return snap.has_value(); }, std::chrono::minutes(1));
  if (!snap || !snap->ok()) {
    std::fprintf(stderr, "%s: Load failed\n", backend.c_str());
    return false;
  }
  std::map<std::string, MonitorRecord> stored;
  for (auto& r : (*snap)->monitors) stored[r.key.mon_name] = std::move(r);
  size_t verified = 0;
  for (int i : acked) {
    auto it = stored.find(Record(i).key.mon_name);
    if (it == stored.end() || !(it->second == Record(i))) {
      std::fprintf(stderr, "%s: acknowledged PutMonitor %d is missing or wrong\n", backend.c_str(),
                   i);
      return false;
    }
    ++verified;
  }
  std::printf(
      "%-8s concurrency %3d: %5zu calls in %6.3f s = %7.0f calls/s; latency p50 %7.2f ms, "
      "p99 %7.2f ms, max %7.2f ms; %zu loaded back and checked\n",
      backend.c_str(), c, acked.size(), secs, acked.size() / secs, Ms(h.Percentile(0.5)),
      Ms(h.Percentile(0.99)), Ms(h.max()), verified);
  return static_cast<int>(acked.size()) == count;
}

bool RunSqlite(const Options& opt, EventLoop& loop, int c) {
  std::string templ = opt.dir + "/nsm-store-bench-XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) return false;
  bool ok = false;
  {
    auto db = sqlite::Db::Open(templ + "/bench.sqlite");
    if (!db.ok()) return false;
    CommitQueue queue(std::move(db).value(), loop);
    auto store = SqliteNsmStore::Open(queue);
    if (!store.ok()) return false;
    ok = Run("sqlite", loop, **store, opt.count, c);
  }
  std::error_code ec;
  std::filesystem::remove_all(templ, ec);
  return ok;
}

}  // namespace
}  // namespace nfsrec::statd

int main(int argc, char** argv) {
  using namespace nfsrec;
  using namespace nfsrec::statd;
  Options opt;
  if (!ParseArgs(argc, argv, &opt)) {
    std::fprintf(stderr,
                 "usage: %s --etcd NAME=URL[,URL...] [--etcd ...] [--dir DIR] [--count N] "
                 "[--concurrency C[,C...]]\n",
                 argv[0]);
    return 2;
  }
  auto loop = EventLoop::Create();
  if (!loop.ok()) return 1;
  LoopScheduler sched(**loop);
  StderrLogger log("nsm_store_bench", false);
  std::vector<std::pair<std::string, std::unique_ptr<etcd::Client>>> clients;
  for (const auto& [name, endpoints] : opt.clusters) {
    etcd::ClientOptions co;
    co.endpoints = endpoints;
    co.request_timeout = std::chrono::seconds(10);
    auto client = etcd::Client::Create(**loop, sched, log, co);
    if (!client.ok()) {
      std::fprintf(stderr, "%s\n", client.status().ToString().c_str());
      return 2;
    }
    clients.emplace_back(name, std::move(client).value());
  }
  std::printf("SQLite under %s (synchronous=FULL, WAL); %d PutMonitor calls per run\n",
              opt.dir.c_str(), opt.count);
  for (int c : opt.concurrency) {
    for (auto& [name, client] : clients) {
      EtcdScope scope;
      scope.client = client.get();
      scope.prefix = StrCat("/bench/", getpid(), "/", c, "/nsm/");
      EtcdNsmStore store(**loop, log, std::move(scope));
      if (!Run(name, **loop, store, opt.count, c)) return 1;
    }
    if (!RunSqlite(opt, **loop, c)) return 1;
  }
  return 0;
}
