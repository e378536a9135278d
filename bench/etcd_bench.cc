// etcd_bench: durable Put latency and throughput on etcd (etcd::Client)
// beside SQLite's CommitQueue on the same disk.
//
//   bench/etcd_bench --endpoints URL[,URL...] [--dir DIR] [--count N]
//                    [--concurrency C[,C...]] [--value-bytes B]
//
// For each concurrency C: N puts with at most C outstanding (each
// completion submits the next), first to etcd (keys /bench/<run>/<C>/<i>),
// then as CommitQueue units (INSERT OR REPLACE into a fresh database under
// DIR, synchronous=FULL, WAL).  A put counts only if its completion said OK;
// afterwards every counted key is read back (etcd: one linearizable Range
// of the prefix; SQLite: a SELECT) and its value compared, and the run fails
// if one is missing or wrong.  Prints puts/s and latency percentiles
// (submission to completion, log buckets: see common/base/histogram.h).
// bench/run-etcd-bench.sh starts the etcd member on DIR's disk.
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "bench/bench_args.h"
#include "common/base/histogram.h"
#include "common/os/event_loop.h"
#include "common/store/commit_queue.h"
#include "common/store/etcd_client.h"
#include "common/store/sqlite.h"

namespace nfsrec {
namespace {

struct Options {
  std::vector<std::string> endpoints;
  std::string dir;
  int count = 2000;
  size_t value_bytes = 64;
  std::vector<int> concurrency = {1, 64};
};

bool ParseArgs(int argc, char** argv, Options* out) {
  out->dir = bench::DefaultDir();
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string arg = argv[i], value = argv[i + 1];
    if (arg == "--endpoints") {
      out->endpoints = bench::SplitCommas(value);
    } else if (arg == "--dir") {
      out->dir = value;
    } else if (arg == "--count") {
      out->count = std::stoi(value);
    } else if (arg == "--value-bytes") {
      out->value_bytes = static_cast<size_t>(std::stoul(value));
    } else if (arg == "--concurrency") {
      out->concurrency.clear();
      for (const auto& c : bench::SplitCommas(value)) out->concurrency.push_back(std::stoi(c));
    } else {
      return false;
    }
  }
  return argc % 2 == 1 && !out->endpoints.empty() && out->count > 0 && !out->concurrency.empty();
}

std::string Value(const Options& opt, int i) {
  std::string v = std::to_string(i) + ":";
  while (v.size() < opt.value_bytes) v.push_back(static_cast<char>('a' + (v.size() + i) % 26));
  return v;
}

double Ms(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

void Report(const char* backend, int c, int ok, double secs, const LatencyHistogram& h,
            size_t verified) {
  std::printf(
      "%-6s concurrency %3d: %5d puts in %6.3f s = %7.0f puts/s; latency p50 %7.2f ms, "
      "p99 %7.2f ms, max %7.2f ms; %zu read back and checked\n",
      backend, c, ok, secs, ok / secs, Ms(h.Percentile(0.5)), Ms(h.Percentile(0.99)), Ms(h.max()),
      verified);
}

// N operations through `put`, at most c outstanding; returns the indexes
// acknowledged and fills the histogram and the wall time.
template <typename PutFn>
std::vector<int> Drive(EventLoop& loop, int count, int c, PutFn put, LatencyHistogram* h,
                       double* secs) {
  int submitted = 0, completed = 0;
  std::vector<int> acked;
  std::function<void()> next = [&] {
    int i = submitted++;
    auto t0 = std::chrono::steady_clock::now();
    put(i, [&, i, t0](Status st) {
      h->Record(std::chrono::steady_clock::now() - t0);
      ++completed;
      if (st.ok()) {
        acked.push_back(i);
      } else {
        std::fprintf(stderr, "put %d: %s\n", i, st.ToString().c_str());
      }
      if (submitted < count) next();
    });
  };
  auto start = std::chrono::steady_clock::now();
  for (int k = 0; k < c && submitted < count; ++k) next();
  loop.RunUntil([&] { return completed == count; }, std::chrono::minutes(10));
  *secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return acked;
}

bool RunEtcd(const Options& opt, EventLoop& loop, etcd::Client& client, int c) {
  std::string prefix = "/bench/" + std::to_string(getpid()) + "/" + std::to_string(c) + "/";
  LatencyHistogram h;
  double secs = 0;
  std::vector<int> acked = Drive(
      loop, opt.count, c,
      [&](int i, Callback<void(Status)> done) {
        client.Put(etcd::PutRequest{prefix + std::to_string(i), Value(opt, i), 0, false},
                   [done = std::move(done)](Result<etcd::PutResponse> r) mutable {
                     done(r.ok() ? Status::Ok() : r.status());
                   });
      },
      &h, &secs);
  std::optional<Result<etcd::RangeResponse>> read;
  client.Range(etcd::RangeRequest::Prefix(prefix),
               [&](Result<etcd::RangeResponse> r) { read.emplace(std::move(r)); });
  loop.RunUntil([&] { return read.has_value(); }, std::chrono::minutes(1));
  if (!read || !read->ok()) {
    std::fprintf(stderr, "etcd read-back failed\n");
    return false;
  }
  std::map<std::string, std::string> stored;
  for (auto& kv : (*read)->kvs) stored[kv.key] = std::move(kv.value);
  size_t verified = 0;
  for (int i : acked) {
    auto it = stored.find(prefix + std::to_string(i));
    if (it == stored.end() || it->second != Value(opt, i)) {
      std::fprintf(stderr, "etcd: acknowledged put %d is missing or wrong\n", i);
      return false;
    }
    ++verified;
  }
  // Leave the member as found.
  bool deleted = false;
  client.Delete(etcd::DeleteRequest::Prefix(prefix),
                [&](Result<etcd::DeleteResponse>) { deleted = true; });
  loop.RunUntil([&] { return deleted; }, std::chrono::minutes(1));
  Report("etcd", c, static_cast<int>(acked.size()), secs, h, verified);
  return static_cast<int>(acked.size()) == opt.count;
}

bool RunSqlite(const Options& opt, EventLoop& loop, int c) {
  std::string templ = opt.dir + "/etcd-bench-sqlite-XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) {
    std::perror("mkdtemp");
    return false;
  }
  bool ok = false;
  {
    auto db = sqlite::Db::Open(templ + "/bench.sqlite");
    if (!db.ok() || !(*db)->Exec("CREATE TABLE kv(key TEXT PRIMARY KEY, value BLOB)").ok()) {
      std::fprintf(stderr, "sqlite open failed\n");
      return false;
    }
    CommitQueue queue(std::move(db).value(), loop);
    LatencyHistogram h;
    double secs = 0;
    std::vector<int> acked = Drive(
        loop, opt.count, c,
        [&](int i, Callback<void(Status)> done) {
          std::string key = std::to_string(i), value = Value(opt, i);
          queue.Submit(
              [key, value](sqlite::Db& d) -> Status {
                NFSREC_ASSIGN_OR_RETURN(auto st,
                                        d.Prepare("INSERT OR REPLACE INTO kv VALUES(?1, ?2)"));
                NFSREC_RETURN_IF_ERROR(st.BindText(1, key));
                NFSREC_RETURN_IF_ERROR(st.BindBlob(2, value.data(), value.size()));
                return st.Run();
              },
              std::move(done));
        },
        &h, &secs);
    std::map<std::string, std::string> stored;
    Status read = queue.RunSync([&](sqlite::Db& d) -> Status {
      NFSREC_ASSIGN_OR_RETURN(auto st, d.Prepare("SELECT key, value FROM kv"));
      while (true) {
        NFSREC_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        auto blob = st.ColumnBlob(1);
        stored[st.ColumnText(0)] = std::string(blob.begin(), blob.end());
      }
      return Status::Ok();
    });
    size_t verified = 0;
    for (int i : acked) {
      auto it = stored.find(std::to_string(i));
      if (!read.ok() || it == stored.end() || it->second != Value(opt, i)) {
        std::fprintf(stderr, "sqlite: acknowledged put %d is missing or wrong\n", i);
        break;
      }
      ++verified;
    }
    Report("sqlite", c, static_cast<int>(acked.size()), secs, h, verified);
    ok = static_cast<int>(acked.size()) == opt.count && verified == acked.size();
  }
  std::error_code ec;
  std::filesystem::remove_all(templ, ec);
  return ok;
}

}  // namespace
}  // namespace nfsrec

int main(int argc, char** argv) {
  using namespace nfsrec;
  Options opt;
  if (!ParseArgs(argc, argv, &opt)) {
    std::fprintf(stderr,
                 "usage: %s --endpoints URL[,URL...] [--dir DIR] [--count N] "
                 "[--concurrency C[,C...]] [--value-bytes B]\n",
                 argv[0]);
    return 2;
  }
  auto loop = EventLoop::Create();
  if (!loop.ok()) return 1;
  LoopScheduler sched(**loop);
  StderrLogger log("etcd_bench", false);
  etcd::ClientOptions co;
  co.endpoints = opt.endpoints;
  co.request_timeout = std::chrono::seconds(10);
  auto client = etcd::Client::Create(**loop, sched, log, co);
  if (!client.ok()) {
    std::fprintf(stderr, "%s\n", client.status().ToString().c_str());
    return 2;
  }
  std::printf("etcd at %s; SQLite under %s (synchronous=FULL, WAL); %d puts of %zu bytes\n",
              opt.endpoints[0].c_str(), opt.dir.c_str(), opt.count, opt.value_bytes);
  for (int c : opt.concurrency) {
    if (!RunEtcd(opt, **loop, **client, c)) return 1;
    if (!RunSqlite(opt, **loop, c)) return 1;
  }
  return 0;
}
