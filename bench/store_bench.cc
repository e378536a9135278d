// store_bench: durable PutMonitor throughput of SqliteNsmStore at several
// concurrencies, to show group commit at work.
//
//   bench/store_bench [--dir DIR] [--count N] [--concurrency C[,C...]]
//
// For each concurrency C, a fresh database in a new directory under DIR
// (default $TMPDIR or /tmp) receives N PutMonitor calls with at most C
// outstanding: each completion submits the next call, as C lockd requests
// waiting for their SM_MON replies would.  Prints units/s and how many
// COMMITs (fsyncs) carried them.
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "common/os/event_loop.h"
#include "common/store/commit_queue.h"
#include "common/store/sqlite.h"
#include "statd/sqlite_nsm_store.h"

namespace nfsrec::statd {
namespace {

struct Options {
  std::string dir;
  int count = 2000;
  std::vector<int> concurrency = {1, 8};
};

bool ParseArgs(int argc, char** argv, Options* out) {
  const char* tmp = getenv("TMPDIR");
  out->dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc) return false;
    std::string value = argv[++i];
    if (arg == "--dir") {
      out->dir = value;
    } else if (arg == "--count") {
      out->count = std::stoi(value);
    } else if (arg == "--concurrency") {
      out->concurrency.clear();
      std::stringstream ss(value);
      std::string item;
      while (std::getline(ss, item, ',')) out->concurrency.push_back(std::stoi(item));
    } else {
      return false;
    }
  }
  return out->count > 0 && !out->concurrency.empty();
}

MonitorRecord Record(int i) {
  MonitorRecord r;
  r.key.mon_name = "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256);
  r.key.my_name = "server.example";
  r.key.my_prog = 100021;
  r.key.my_vers = 3;
  r.key.my_proc = 16;
  for (size_t b = 0; b < r.priv.size(); ++b) r.priv[b] = static_cast<uint8_t>(i + b);
  r.canonical_name = r.key.mon_name;
  return r;
}

// Returns false (after printing why) on any error.
bool RunOne(const Options& opt, int concurrency) {
  std::string templ = opt.dir + "/store-bench-XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) {
    std::perror("mkdtemp");
    return false;
  }
  const std::string dir = templ;
  bool ok = true;
  {
    auto loop = EventLoop::Create();
    auto db = sqlite::Db::Open(dir + "/nfsrecd.sqlite");
    if (!loop.ok() || !db.ok()) {
      std::fprintf(stderr, "open failed: %s\n",
                   (loop.ok() ? db.status() : loop.status()).ToString().c_str());
      return false;
    }
    CommitQueue queue(std::move(db).value(), **loop);
    auto store = SqliteNsmStore::Open(queue);
    if (!store.ok()) {
      std::fprintf(stderr, "store open failed: %s\n", store.status().ToString().c_str());
      return false;
    }
    const CommitQueue::Stats before = queue.stats();

    int submitted = 0;
    int completed = 0;
    int failed = 0;
    std::function<void()> submit_next = [&] {
      const int i = submitted++;
      (*store)->PutMonitor(Record(i), [&](Status st) {
        ++completed;
        if (!st.ok()) ++failed;
        if (submitted < opt.count) submit_next();
      });
    };
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < concurrency && submitted < opt.count; ++i) submit_next();
    (*loop)->RunUntil([&] { return completed == opt.count; }, std::chrono::minutes(10));
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const CommitQueue::Stats after = queue.stats();
    const uint64_t txns = after.transactions - before.transactions;
    std::printf(
        "concurrency %3d: %d PutMonitor in %.3f s = %8.0f units/s; %llu transactions "
        "(%.2f units/commit, largest group %llu)%s\n",
        concurrency, completed, secs, completed / secs, static_cast<unsigned long long>(txns),
        txns ? static_cast<double>(completed) / static_cast<double>(txns) : 0.0,
        static_cast<unsigned long long>(after.max_group), failed ? " ERRORS" : "");
    ok = completed == opt.count && failed == 0;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return ok;
}

}  // namespace
}  // namespace nfsrec::statd

int main(int argc, char** argv) {
  nfsrec::statd::Options opt;
  if (!nfsrec::statd::ParseArgs(argc, argv, &opt)) {
    std::fprintf(stderr, "usage: %s [--dir DIR] [--count N] [--concurrency C[,C...]]\n", argv[0]);
    return 2;
  }
  std::printf("database under %s, synchronous=FULL, WAL\n", opt.dir.c_str());
  for (int c : opt.concurrency) {
    if (!nfsrec::statd::RunOne(opt, c)) return 1;
  }
  return 0;
}
