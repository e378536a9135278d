// v4_etcd_bench: the NFSv4 client store on etcd (EtcdClientStore) beside
// SqliteClientStore, in one run.
//
//   bench/v4-etcd-bench --etcd1 URL --etcd3 URL,URL,URL [--dir DIR]
//                       [--count N] [--concurrency C[,C...]] [--records R]
//
// 1. Durable PutClient: for each concurrency C and each store (SQLite in a
//    fresh database under DIR, synchronous=FULL; etcd with 1 member; etcd
//    with 3), N calls with at most C outstanding (each completion submits
//    the next, as C nfsd threads waiting for their Create downcalls would).
//    Afterwards the store is read back through the port (Load) and every
//    acknowledged record compared field by field; the run fails if one is
//    missing or wrong.  Prints calls/s and latency percentiles (submission
//    to completion; log buckets, common/base/histogram.h).
// 2. Start-up and GraceStart with R records (default 100,000): R records
//    put, then the times of LoadDigest, OpenGrace and the upload's
//    ReadRecords pages (4096 records each, as TrackingService reads them),
//    checking that the pages hold R records in id order and the digest R
//    fingerprints.  The etcd stores are written under /bench/v4/<pid>/...
//    and deleted afterwards.
// bench/run-v4-etcd-bench.sh starts both clusters on DIR's disk.
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
#include "nfs4rec/etcd_client_store.h"
#include "nfs4rec/sqlite_client_store.h"

namespace nfsrec::nfs4rec {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::vector<std::string> etcd1, etcd3;
  std::string dir;
  int count = 2000;
  int records = 100000;
  std::vector<int> concurrency = {1, 8, 64};
};

bool ParseArgs(int argc, char** argv, Options* out) {
  out->dir = bench::DefaultDir();
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string arg = argv[i], value = argv[i + 1];
    if (arg == "--etcd1") {
      out->etcd1 = bench::SplitCommas(value);
    } else if (arg == "--etcd3") {
      out->etcd3 = bench::SplitCommas(value);
    } else if (arg == "--dir") {
      out->dir = value;
    } else if (arg == "--count") {
      out->count = std::stoi(value);
    } else if (arg == "--records") {
      out->records = std::stoi(value);
    } else if (arg == "--concurrency") {
      out->concurrency.clear();
      for (const auto& c : bench::SplitCommas(value)) out->concurrency.push_back(std::stoi(c));
    } else {
      return false;
    }
  }
  return argc % 2 == 1 && out->count > 0 && out->records >= 0 && !out->concurrency.empty();
}

// Record i: a 40-byte id, a princhash, a session flag.
ClientRecord Record(int run, int i) {
  ClientRecord r;
  char id[64];
  std::snprintf(id, sizeof id, "Linux NFSv4.2 client-%03d-%09d.example", run, i);
  r.id = id;
  r.princhash = std::string(32, static_cast<char>('a' + i % 26));
  r.has_session = i % 3 != 0;
  return r;
}

double Ms(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
double Secs(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Runs the loop until `done` ran; false after `limit`.
template <typename T>
std::optional<T> Wait(EventLoop& loop, const std::function<void(Callback<void(T)>)>& start,
                      Duration limit = std::chrono::minutes(10)) {
  std::optional<T> out;
  start([&out](T v) { out.emplace(std::move(v)); });
  loop.RunUntil([&] { return out.has_value(); }, limit);
  return out;
}

// `count` PutClient calls, at most c outstanding; the indexes acknowledged.
std::vector<int> Drive(EventLoop& loop, ClientStore& store, int run, int count, int c,
                       LatencyHistogram* h, double* secs) {
  int submitted = 0, completed = 0;
  std::vector<int> acked;
  std::function<void()> next = [&] {
    int i = submitted++;
    auto t0 = Clock::now();
    store.PutClient(Record(run, i), [&, i, t0](Status st) {
      if (h != nullptr) h->Record(Clock::now() - t0);
      ++completed;
      if (st.ok()) {
        acked.push_back(i);
      } else {
        std::fprintf(stderr, "put %d: %s\n", i, st.ToString().c_str());
      }
      if (submitted < count) next();
    });
  };
  auto start = Clock::now();
  for (int k = 0; k < c && submitted < count; ++k) next();
  loop.RunUntil([&] { return completed == count; }, std::chrono::minutes(20));
  *secs = Secs(start);
  return acked;
}

// Every acknowledged record read back through Load, field by field.
bool Verify(EventLoop& loop, ClientStore& store, int run, const std::vector<int>& acked,
            size_t* verified) {
  auto snap = Wait<Result<ClientSnapshot>>(
      loop, [&](Callback<void(Result<ClientSnapshot>)> done) { store.Load(std::move(done)); });
  if (!snap || !snap->ok()) {
    std::fprintf(stderr, "read-back failed\n");
    return false;
  }
  std::map<std::string, ClientRecord> stored;
  for (ClientRecord& r : (*snap)->current) stored[r.id] = std::move(r);
  for (int i : acked) {
    ClientRecord want = Record(run, i);
    auto it = stored.find(want.id);
    if (it == stored.end()) {
      std::fprintf(stderr, "acknowledged record %d is missing\n", i);
      return false;
    }
    want.time = it->second.time;
    if (!(it->second == want) || want.time <= 0) {
      std::fprintf(stderr, "acknowledged record %d differs\n", i);
      return false;
    }
    ++*verified;
  }
  return true;
}

// A store to measure, made fresh for each run.
struct Backend {
  std::string name;
  std::function<std::unique_ptr<ClientStore>(int run)> open;
  std::function<void()> close;
};

bool RunPuts(const Options& opt, EventLoop& loop, Backend& b, int run, int c) {
  std::unique_ptr<ClientStore> store = b.open(run);
  if (store == nullptr) return false;
  LatencyHistogram h;
  double secs = 0;
  std::vector<int> acked = Drive(loop, *store, run, opt.count, c, &h, &secs);
  size_t verified = 0;
  bool ok = Verify(loop, *store, run, acked, &verified);
  std::printf(
      "put     %-8s c=%-3d %6zu acked in %7.3f s = %7.0f puts/s; p50 %7.2f ms, p99 %7.2f ms, "
      "max %7.2f ms; %zu read back and checked\n",
      b.name.c_str(), c, acked.size(), secs, acked.size() / secs, Ms(h.Percentile(0.5)),
      Ms(h.Percentile(0.99)), Ms(h.max()), verified);
  std::fflush(stdout);
  store.reset();
  b.close();
  return ok && static_cast<int>(acked.size()) == opt.count;
}

bool RunGrace(const Options& opt, EventLoop& loop, Backend& b, int run) {
  std::unique_ptr<ClientStore> store = b.open(run);
  if (store == nullptr) return false;
  double fill = 0;
  std::vector<int> acked = Drive(loop, *store, run, opt.records, 256, nullptr, &fill);
  if (static_cast<int>(acked.size()) != opt.records) return false;
  // A restarted daemon: a new store object on the same data.
  store.reset();
  store = b.open(-run);
  auto t0 = Clock::now();
  auto digest = Wait<Result<ClientDigest>>(loop, [&](Callback<void(Result<ClientDigest>)> done) {
    store->LoadDigest([](std::string_view id) { return std::hash<std::string_view>()(id); },
                      [](const ClientRecord&) { return true; }, std::move(done));
  });
  double load = Secs(t0);
  bool ok = digest && digest->ok() && (*digest)->current.size() == acked.size();
  t0 = Clock::now();
  auto open = Wait<Result<GraceStartResult>>(
      loop,
      [&](Callback<void(Result<GraceStartResult>)> done) { store->OpenGrace(std::move(done)); });
  double opened = Secs(t0);
  ok = ok && open && open->ok();
  t0 = Clock::now();
  size_t read = 0;
  std::optional<std::string> after;
  bool ordered = true;
  while (ok) {
    auto page = Wait<Result<std::vector<ClientRecord>>>(
        loop, [&](Callback<void(Result<std::vector<ClientRecord>>)> done) {
          store->ReadRecords((*open)->epochs.recovery, after, 4096, std::move(done));
        });
    if (!page || !page->ok()) {
      ok = false;
      break;
    }
    for (const ClientRecord& r : **page) {
      if (after && !(r.id > *after)) ordered = false;
      after = r.id;
      ++read;
    }
    if ((*page)->size() < 4096) break;
  }
  double upload = Secs(t0);
  ok = ok && ordered && read == acked.size();
  std::printf(
      "grace   %-8s %d records (put in %.1f s): LoadDigest %.3f s, OpenGrace %.3f s, "
      "ReadRecords %.3f s (%zu records in id order%s)\n",
      b.name.c_str(), opt.records, fill, load, opened, upload, read, ok ? "" : ": CHECK FAILED");
  std::fflush(stdout);
  store.reset();
  b.close();
  return ok;
}

// An etcd store under /bench/v4/<pid>/<name>/<run>/; close() deletes it.
Backend EtcdBackend(const std::string& name, EventLoop& loop, Logger& log, etcd::Client& client) {
  Backend b;
  b.name = name;
  b.open = [&loop, &log, &client, name](int run) -> std::unique_ptr<ClientStore> {
    EtcdScope scope;
    scope.client = &client;
    scope.prefix = StrCat("/bench/v4/", getpid(), "/", name, "/", run < 0 ? -run : run, "/");
    return std::make_unique<EtcdClientStore>(loop, log, std::move(scope));
  };
  b.close = [&loop, &client, name] {
    Wait<Result<etcd::DeleteResponse>>(loop, [&](auto done) {
      client.Delete(etcd::DeleteRequest::Prefix(StrCat("/bench/v4/", getpid(), "/", name, "/")),
                    std::move(done));
    });
  };
  return b;
}

}  // namespace
}  // namespace nfsrec::nfs4rec

int main(int argc, char** argv) {
  using namespace nfsrec;
  using namespace nfsrec::nfs4rec;
  Options opt;
  if (!ParseArgs(argc, argv, &opt) || opt.etcd1.empty() || opt.etcd3.empty()) {
    std::fprintf(stderr,
                 "usage: %s --etcd1 URL --etcd3 URL,URL,URL [--dir DIR] [--count N] "
                 "[--concurrency C[,C...]] [--records R]\n",
                 argv[0]);
    return 2;
  }
  auto loop = EventLoop::Create();
  if (!loop.ok()) return 1;
  LoopScheduler sched(**loop);
  StderrLogger log("v4-etcd-bench", false);
  std::vector<std::unique_ptr<etcd::Client>> clients;
  for (const auto* eps : {&opt.etcd1, &opt.etcd3}) {
    etcd::ClientOptions co;
    co.endpoints = *eps;
    co.request_timeout = std::chrono::seconds(10);
    auto c = etcd::Client::Create(**loop, sched, log, co);
    if (!c.ok()) {
      std::fprintf(stderr, "%s\n", c.status().ToString().c_str());
      return 2;
    }
    clients.push_back(std::move(c).value());
  }

  // SQLite: a fresh database per run under DIR.
  std::string sqlite_dir = opt.dir + "/v4-etcd-bench-XXXXXX";
  if (mkdtemp(sqlite_dir.data()) == nullptr) return 1;
  std::unique_ptr<CommitQueue> queue;
  Backend sqlite;
  sqlite.name = "sqlite";
  sqlite.open = [&](int run) -> std::unique_ptr<ClientStore> {
    if (queue == nullptr) {
      auto db = sqlite::Db::Open(StrCat(sqlite_dir, "/", run < 0 ? -run : run, ".sqlite"));
      if (!db.ok()) return nullptr;
      queue = std::make_unique<CommitQueue>(std::move(db).value(), **loop);
    }
    auto s = SqliteClientStore::Open(*queue);
    if (!s.ok()) return nullptr;
    return std::move(s).value();
  };
  sqlite.close = [&] { queue.reset(); };

  std::vector<Backend> backends = {sqlite, EtcdBackend("etcd-1", **loop, log, *clients[0]),
                                   EtcdBackend("etcd-3", **loop, log, *clients[1])};
  std::printf(
      "PutClient: %d calls per run; SQLite under %s (WAL, synchronous=FULL); etcd 1 member %s, "
      "3 members %s\n",
      opt.count, opt.dir.c_str(), opt.etcd1[0].c_str(), opt.etcd3[0].c_str());
  bool ok = true;
  int run = 1;
  for (int c : opt.concurrency) {
    for (Backend& b : backends) ok = RunPuts(opt, **loop, b, run++, c) && ok;
  }
  if (opt.records > 0) {
    for (Backend& b : backends) ok = RunGrace(opt, **loop, b, run++) && ok;
  }
  std::error_code ec;
  std::filesystem::remove_all(sqlite_dir, ec);
  return ok ? 0 : 1;
}
