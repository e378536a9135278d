// cld-bench: throughput of NFSv4 client tracking.
//
//   cld-bench store [--records N] [--depth D]...   direct SqliteClientStore
//   cld-bench daemon [--records N] [--threads T,T...]   cld-testd behind
//                                                  the FUSE kernel emulator (root)
//   cld-bench grace [--records N]                  the daemon's GraceStart
//                                                  upload alone (root)
//   cld-bench populate --db PATH [--records N]     writes N records into a
//                                                  database (for a VM's run)
//   cld-bench external --mnt DIR --cmd CMD [--threads T,T...] [--calls N]
//             [--id-tag TAG] [--while CMD] [--mark CMD] [--log PATH]
//                                                  any cld daemon (nfsrecd on
//                                                  any backend, nfsdcld) behind
//                                                  the FUSE kernel emulator (root)
//
// "store": durable PutClient/s with D completions outstanding (1 = one at
// a time, each waiting for its own fsync), then StartGrace over N records.
// "daemon": T emulated nfsd threads send Create upcalls (each answered only
// after its commit, each reply checked), then N records are uploaded by
// GraceStart on a reboot.  "daemon store: units=U transactions=X ..." is the
// daemon's commit queue over the Create rounds (operations per fsync: U/X).
// "grace": only that upload.  Both check that the emulated kernel received
// every record, and print the daemon's own log line, which splits the
// upload's time into the daemon's part and the time spent in the downcall
// writes (the kernel's, here FUSE's).
//
// "external": mounts the emulator on DIR (an existing empty directory; the
// pipe is DIR/rpc_pipefs/nfsd/cld, nfsd/ created first so that nfsdcld's
// inotify watch finds it, v4_end_grace is DIR/proc/fs/nfsd/v4_end_grace),
// runs `sh -c "exec CMD"` (stderr to --log, default DIR.log) and starts the
// emulated nfsd (GetVersion, then GraceStart: it must succeed).  Then
// `sh -c WHILE` runs once, while the daemon serves (the caller's own load,
// e.g. SM_MON on the same process), and for each T a round of N Create
// upcalls from T emulated nfsd threads, ids "Linux NFSv4.2 bench-TAG-<i>",
// i counting from 0 over all rounds, so each Create is a new record (TAG
// defaults to pid and time).  `sh -c "MARK LABEL"` runs before the first
// round (LABEL "start") and after each (LABEL T), for the caller's
// counters.  Each reply must be a Create answer with status 0; the latency
// is the emulated kernel's, from the upcall queued to its downcall read.
// One line per round:
//   creates=N threads=T seconds=S creates_per_second=R p50_ms=L p99_ms=L errors=E
// then "acknowledged=A id_hex_prefix=H" (the Creates answered 0; H is the
// hex of the ids' common prefix, to count them in the store), and the
// daemon gets SIGTERM and must exit 0 within 20 s.  Exit status 0 only if
// every step and every reply was right; 77 if FUSE cannot be mounted.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "common/base/logging.h"
#include "common/os/event_loop.h"
#include "common/store/commit_queue.h"
#include "common/store/sqlite.h"
#include "nfs4rec/client_sql.h"
#include "nfs4rec/sqlite_client_store.h"
#include "tests/cld_emulator/harness.h"
#include "tests/cld_emulator/kernel_emulator.h"

namespace {

using namespace nfsrec;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

std::string Id(int i) { return "Linux NFSv4.2 bench-client-" + std::to_string(i); }

// Writes n records straight into the current epoch, in one transaction.
Status Populate(const std::string& path, int n) {
  auto db = sqlite::Db::Open(path);
  if (!db.ok()) return db.status();
  NFSREC_RETURN_IF_ERROR(
      ApplyMigrations(**db, nfs4rec::client_sql::kComponent, nfs4rec::client_sql::Migrations()));
  auto txn = sqlite::Transaction::Begin(**db);
  if (!txn.ok()) return txn.status();
  auto e = nfs4rec::client_sql::ReadEpochs(**db);
  if (!e.ok()) return e.status();
  for (int i = 0; i < n; ++i) {
    nfs4rec::ClientRecord r;
    r.id = Id(i);
    if (i % 2 == 0) r.princhash = std::string(32, 'p');
    NFSREC_RETURN_IF_ERROR(nfs4rec::client_sql::PutClient(**db, e->current, r));
  }
  return (*txn)->Commit();
}

int StoreBench(int records, const std::vector<int>& depths) {
  cldemu::TempDir tmp;
  auto loop = std::move(EventLoop::Create()).value();
  auto db = sqlite::Db::Open(tmp.path() + "/nfsrecd.sqlite");
  if (!db.ok()) return 1;
  CommitQueue queue(std::move(db).value(), *loop);
  auto store = std::move(nfs4rec::SqliteClientStore::Open(queue)).value();
  int id = 0;
  for (int depth : depths) {
    const int total = depth == 1 ? 500 : 20000;
    int submitted = 0, done = 0;
    std::function<void()> submit;
    submit = [&] {
      while (submitted < total && submitted - done < depth) {
        nfs4rec::ClientRecord r;
        r.id = Id(id++);
        ++submitted;
        store->PutClient(r, [&](Status st) {
          if (!st.ok()) std::fprintf(stderr, "put: %s\n", st.ToString().c_str());
          ++done;
          submit();
        });
      }
    };
    auto before = queue.stats();
    auto t0 = Clock::now();
    submit();
    loop->RunUntil([&] { return done == total; }, 600s);
    auto t1 = Clock::now();
    auto after = queue.stats();
    std::printf(
        "store: %d durable creates, %d outstanding: %.0f creates/s (%.3f ms each), "
        "%llu commits\n",
        total, depth, total / Seconds(t0, t1), 1000 * Seconds(t0, t1) / total,
        static_cast<unsigned long long>(after.transactions - before.transactions));
  }
  // GraceStart over `records` rows: the epoch switch plus reading them back.
  store.reset();
  if (!Populate(tmp.path() + "/nfsrecd.sqlite", records).ok()) return 1;
  store = std::move(nfs4rec::SqliteClientStore::Open(queue)).value();
  size_t got = 0;
  bool finished = false;
  auto t0 = Clock::now();
  store->StartGrace([&](Result<nfs4rec::GraceStartResult> r) {
    if (r.ok()) got = r->reclaimable.size();
    finished = true;
  });
  loop->RunUntil([&] { return finished; }, 600s);
  std::printf("store: StartGrace over %zu records: %.3f s\n", got, Seconds(t0, Clock::now()));
  return 0;
}

int DaemonBench(int records, const std::vector<int>& threads, bool creates) {
  cldemu::TempDir tmp;
  std::string mnt = tmp.path() + "/mnt";
  mkdir(mnt.c_str(), 0755);
  cldemu::EmulatorOptions o;
  o.mountpoint = mnt;
  auto k = cldemu::KernelEmulator::Mount(o);
  if (!k.ok()) {
    std::fprintf(stderr, "cld-bench: %s\n", k.status().ToString().c_str());
    return 77;
  }
  std::string db = tmp.path() + "/nfsrecd.sqlite";
  std::string log = tmp.path() + "/daemon.log";
  auto start_daemon = [&] {
    return std::move(cldemu::ChildProcess::Spawn(
                         {cldemu::BuildDir() + "/cld-testd", "--pipe", (*k)->pipe_path(), "--db",
                          db, "--proc-root", (*k)->proc_root()},
                         log))
        .value();
  };
  auto daemon = start_daemon();
  if (!(*k)->StartNfsd().status.ok()) {
    std::fprintf(stderr, "boot failed:\n%s", cldemu::ReadFile(log).c_str());
    return 1;
  }
  std::atomic<int> next{0};
  std::atomic<int> failed{0};
  for (int t : creates ? threads : std::vector<int>{}) {
    const int total = t == 1 ? 500 : 10000;
    const int base = next;
    std::atomic<int> i{0};
    auto t0 = Clock::now();
    std::vector<std::thread> ts;
    for (int j = 0; j < t; ++j) {
      ts.emplace_back([&] {
        for (int n = i++; n < total; n = i++) {
          cldemu::UpcallResult r = (*k)->Create(Id(base + n));
          if (!r.ok() || r.reply.status != 0) ++failed;
        }
      });
    }
    for (auto& th : ts) th.join();
    next += total;
    auto t1 = Clock::now();
    std::printf("daemon: %d Create upcalls from %d nfsd threads: %.0f creates/s (%.3f ms each)\n",
                total, t, total / Seconds(t0, t1), 1000 * Seconds(t0, t1) / total);
  }
  (*k)->StopNfsd();
  daemon->Stop(SIGTERM, 10000);
  // The daemon's commit queue over the Create rounds (its exit status line).
  {
    std::string l = cldemu::ReadFile(log);
    size_t at = l.rfind("store: units=");
    if (at != std::string::npos) {
      std::printf("daemon %s", l.substr(at, l.find('\n', at) - at + 1).c_str());
    }
  }
  if (failed > 0) std::fprintf(stderr, "cld-bench: %d Create upcalls failed\n", failed.load());
  Status pst = Populate(db, records);
  if (!pst.ok()) {
    std::fprintf(stderr, "populate: %s\n", pst.ToString().c_str());
    return 1;
  }
  daemon = start_daemon();
  std::this_thread::sleep_for(500ms);  // let it load and start watching
  auto t0 = Clock::now();
  cldemu::BootResult b = (*k)->StartNfsd();
  auto t1 = Clock::now();
  std::printf(
      "daemon: nfsd start with GraceStart upload of %zu records (v%d, 1067-byte "
      "downcalls through FUSE): %.3f s\n",
      b.uploaded, b.version, Seconds(t0, t1));
  daemon->Stop(SIGTERM, 10000);
  (*k)->StopNfsd();
  // Every stored record reached the emulated kernel: the first phase's
  // Creates used the ids Populate writes again, from 0 on.
  const size_t expected = static_cast<size_t>(std::max(records, next.load()));
  const bool complete = b.status.ok() && b.uploaded == expected;
  if (!complete) {
    std::fprintf(stderr, "cld-bench: the kernel received %zu of %zu records (%s)\n", b.uploaded,
                 expected, b.status.ToString().c_str());
  }
  // The daemon's own measurement, from GraceStart read to final downcall.
  std::string l = cldemu::ReadFile(log);
  size_t at = l.rfind("cld: GraceStart xid");
  if (at != std::string::npos) {
    std::printf("daemon log: %s", l.substr(at, l.find('\n', at) - at + 1).c_str());
  }
  return failed > 0 || !complete ? 1 : 0;
}

// sh -c CMD with our stdout; its exit status, or -1.
int Shell(const std::string& cmd) {
  std::fflush(stdout);
  const int st = std::system(cmd.c_str());
  return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

struct ExternalOptions {
  std::string mnt;
  std::string cmd;
  std::string log;
  std::string id_tag;
  std::string while_cmd;
  std::string mark_cmd;
  std::vector<int> threads;
  int calls = 2000;
};

int ExternalBench(ExternalOptions o) {
  if (o.mnt.empty() || o.cmd.empty() || o.calls < 1) {
    std::fprintf(stderr, "cld-bench external: --mnt DIR and --cmd CMD are required\n");
    return 2;
  }
  if (o.log.empty()) o.log = o.mnt + ".log";
  if (o.id_tag.empty()) o.id_tag = StrCat(getpid(), "-", ::time(nullptr));
  cldemu::EmulatorOptions eo;
  eo.mountpoint = o.mnt;
  eo.remove_dir_on_stop = false;
  auto k = cldemu::KernelEmulator::Mount(eo);
  if (!k.ok()) {
    std::fprintf(stderr, "cld-bench: %s\n", k.status().ToString().c_str());
    return 77;
  }
  const std::string nfsd_dir = o.mnt + "/rpc_pipefs/nfsd";
  if (::mkdir(nfsd_dir.c_str(), 0755) != 0 && errno != EEXIST) {
    std::fprintf(stderr, "cld-bench: mkdir %s: %s\n", nfsd_dir.c_str(), std::strerror(errno));
    return 1;
  }
  auto spawned = cldemu::ChildProcess::Spawn({"/bin/sh", "-c", "exec " + o.cmd}, o.log);
  if (!spawned.ok()) {
    std::fprintf(stderr, "cld-bench: %s\n", spawned.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<cldemu::ChildProcess> daemon = std::move(spawned).value();
  // A daemon that opens the pipe late (nfsdcld waits for inotify to report
  // it) gets ten nfsd starts of one second's wait each.
  cldemu::BootResult boot;
  for (int attempt = 0; attempt < 10; ++attempt) {
    boot = (*k)->StartNfsd();
    if (boot.status.ok() || !daemon->Running()) break;
    (*k)->StopNfsd();
  }
  if (!boot.status.ok()) {
    std::fprintf(stderr, "cld-bench: nfsd start failed: %s\n%s", boot.status.ToString().c_str(),
                 cldemu::ReadFile(o.log).c_str());
    return 1;
  }
  bool ok = true;
  if (!o.while_cmd.empty() && Shell(o.while_cmd) != 0) {
    std::fprintf(stderr, "cld-bench: --while command failed\n");
    ok = false;
  }
  const std::string prefix = "Linux NFSv4.2 bench-" + o.id_tag + "-";
  int next = 0;
  int acknowledged = 0;
  if (!o.mark_cmd.empty() && Shell(o.mark_cmd + " start") != 0) ok = false;
  for (int t : o.threads) {
    std::atomic<int> i{0};
    std::atomic<int> errors{0};
    std::vector<std::vector<double>> latency(static_cast<size_t>(t));
    const int base = next;
    const auto t0 = Clock::now();
    std::vector<std::thread> ts;
    for (int j = 0; j < t; ++j) {
      ts.emplace_back([&, j] {
        for (int n = i++; n < o.calls; n = i++) {
          const auto sent = Clock::now();
          cldemu::UpcallResult r = (*k)->Create(prefix + std::to_string(base + n));
          latency[static_cast<size_t>(j)].push_back(1000 * Seconds(sent, Clock::now()));
          if (!r.ok() || r.reply.status != 0 || !r.reply.Is(nfs4rec::CldCommand::kCreate)) {
            ++errors;
          }
        }
      });
    }
    for (auto& th : ts) th.join();
    const double secs = Seconds(t0, Clock::now());
    next += o.calls;
    acknowledged += o.calls - errors.load();
    std::vector<double> all;
    for (const auto& v : latency) all.insert(all.end(), v.begin(), v.end());
    std::sort(all.begin(), all.end());
    auto pct = [&](double p) {
      return all[std::min(all.size() - 1,
                          static_cast<size_t>(p * static_cast<double>(all.size())))];
    };
    std::printf(
        "creates=%d threads=%d seconds=%.3f creates_per_second=%.1f p50_ms=%.2f p99_ms=%.2f "
        "errors=%d\n",
        o.calls, t, secs, o.calls / secs, pct(0.50), pct(0.99), errors.load());
    if (errors > 0) ok = false;
    if (!o.mark_cmd.empty() && Shell(o.mark_cmd + " " + std::to_string(t)) != 0) ok = false;
  }
  std::printf("acknowledged=%d id_hex_prefix=%s\n", acknowledged,
              HexBytes(prefix.data(), prefix.size()).c_str());
  std::fflush(stdout);
  (*k)->StopNfsd();
  const int st = daemon->Stop(SIGTERM, 20000);
  if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    std::fprintf(stderr, "cld-bench: the daemon did not exit 0 after SIGTERM (wait status %d)\n",
                 st);
    ok = false;
  }
  return ok ? 0 : 1;
}

}  // namespace

// "a,b,c" of thread counts 1..256; false if malformed.
bool ParseThreads(const char* p, std::vector<int>* out) {
  out->clear();
  for (; *p != '\0'; p += *p == ',' ? 1 : 0) {
    char* end = nullptr;
    const long t = std::strtol(p, &end, 10);
    if (end == p || t < 1 || t > 256) return false;
    out->push_back(static_cast<int>(t));
    p = end;
  }
  return !out->empty();
}

int main(int argc, char** argv) {
  const char* kUsage =
      "usage: cld-bench store|daemon|grace|populate [--records N] [--db PATH] [--threads T,T]\n"
      "       cld-bench external --mnt DIR --cmd CMD [--threads T,T] [--calls N] [--id-tag TAG]\n"
      "                          [--while CMD] [--mark CMD] [--log PATH]\n";
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::string mode = argv[1];
  int records = 100000;
  std::vector<int> threads = {1, 16, 64};
  std::string db;
  ExternalOptions ext;
  for (int i = 2; i < argc; i += 2) {
    const std::string a = argv[i];
    if (i + 1 >= argc) {
      std::fputs(kUsage, stderr);
      return 2;
    }
    const char* v = argv[i + 1];
    if (a == "--records") {
      records = std::atoi(v);
    } else if (a == "--db") {
      db = v;
    } else if (a == "--threads") {
      if (!ParseThreads(v, &threads)) return 2;
    } else if (a == "--calls") {
      ext.calls = std::atoi(v);
    } else if (a == "--mnt") {
      ext.mnt = v;
    } else if (a == "--cmd") {
      ext.cmd = v;
    } else if (a == "--log") {
      ext.log = v;
    } else if (a == "--id-tag") {
      ext.id_tag = v;
    } else if (a == "--while") {
      ext.while_cmd = v;
    } else if (a == "--mark") {
      ext.mark_cmd = v;
    } else {
      std::fputs(kUsage, stderr);
      return 2;
    }
  }
  if (mode == "populate" && !db.empty()) {
    Status st = Populate(db, records);
    if (!st.ok()) std::fprintf(stderr, "populate: %s\n", st.ToString().c_str());
    return st.ok() ? 0 : 1;
  }
  if (mode == "store") return StoreBench(records, {1, 16, 256});
  if (mode == "daemon") return DaemonBench(records, threads, true);
  if (mode == "grace") return DaemonBench(records, {}, false);
  if (mode == "external") {
    ext.threads = threads;
    return ExternalBench(std::move(ext));
  }
  std::fputs(kUsage, stderr);
  return 2;
}
