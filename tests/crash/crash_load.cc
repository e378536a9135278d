// crash-load: kill -9 / power-loss cycles against the real daemon, and the
// checker that no acknowledged operation was lost.
//
//   crash-load --daemon PATH --work DIR [--cycles N] [--seed S]
//              [--max-delay-ms M] [--power-loss] [--verbose]
//
// Runs inside a private network namespace with its own rpcbind (the
// run-crash-cycles script puts it there).  Mounts the FUSE cld emulator
// (tests/cld_emulator) once, then per cycle:
//   1. starts the daemon on DIR/state (NSM on rpcbind, cld pipe in the
//      emulator, /proc under DIR/root with proc/fs/nfsd from the emulator);
//   2. once it answers, runs NSM load threads (SM_MON, SM_UNMON,
//      SM_UNMON_ALL, SM_NOTIFY over UDP or TCP on loopback), boots the
//      emulated nfsd (GetVersion, GraceStart: the upload is checked against
//      the store), then v4 load threads (ReclaimComplete of the upload,
//      Create, Remove);
//   3. SIGKILLs the daemon after a random delay from its start (seeded);
//   4. with --power-loss (the daemon is nfsrecd-powerloss) deletes the -shm;
//   5. reads the store read-only and checks every key.
// Each load thread owns its keys (NSM: its mon_names and my_ids, v4: its
// client names), so the operations on one key are sequential and at most
// one is in flight at the kill.  The invariant per key: the stored state is
// the state after the last acknowledged operation, or after the one in
// flight.  Acknowledged: an SM_MON stat_succ, an SM_UNMON / SM_UNMON_ALL /
// SM_NOTIFY reply, a Create / Remove / GraceStart downcall with status 0.
// A cycle starts from the store the previous cycle's check read.
//
// Output: one summary line per mode; every violation with cycle, seed, key,
// the last acknowledged and the in-flight operation.  Exit: 0 no loss, 1 a
// violation, 77 FUSE unavailable, 2 usage or set-up error.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/base/logging.h"
#include "statd/nsm_codec.h"
#include "tests/cld_emulator/harness.h"
#include "tests/cld_emulator/kernel_emulator.h"
#include "tests/crash/crash_model.h"
#include "tests/crash/crash_store.h"
#include "tests/support/rpc_test_client.h"

namespace nfsrec::crash {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using statd::MonitorKey;

struct Options {
  std::string daemon;
  std::string work;
  int cycles = 10;
  uint64_t seed = 0;
  int max_delay_ms = 1500;
  bool power_loss = false;
  bool verbose = false;
  bool inject_loss = false;  // self-test: delete one acknowledged record after each kill
  int nsm_threads = 4;
  int v4_threads = 2;
};

// Everything one cycle shares between its threads.
struct Cycle {
  int number = 0;
  uint64_t seed = 0;
  std::atomic<bool> stop{false};
  std::atomic<bool> killed{false};  // set before the SIGKILL: a failure after it is expected
  std::mutex mu;                    // guards anomalies
  std::vector<std::string> anomalies;
  void Anomaly(std::string s) {
    std::lock_guard<std::mutex> lock(mu);
    anomalies.push_back(std::move(s));
  }
};

uint64_t Mix(uint64_t a, uint64_t b) {
  std::seed_seq seq{static_cast<uint32_t>(a), static_cast<uint32_t>(a >> 32),
                    static_cast<uint32_t>(b), static_cast<uint32_t>(b >> 32)};
  std::mt19937_64 g(seq);
  return g();
}

// ---- NSM load -------------------------------------------------------------

enum class CallResult { kAcked, kRefused, kNoReply };

// One SM_* call.  kAcked: a reply (stat_succ for SM_MON); kRefused: an
// answer that is not an acknowledgement; kNoReply: nothing within `wait`.
CallResult CallNsm(const NsmOp& op, test::Proto proto, uint16_t port, Duration wait) {
  uint32_t proc = 0;
  Result<statd::Bytes> body = statd::Bytes{};
  switch (op.kind) {
    case NsmOp::kMon:
      proc = static_cast<uint32_t>(statd::NsmProc::kMon);
      body = statd::EncodeMon(statd::MonArgs{op.key, op.priv});
      break;
    case NsmOp::kUnmon:
      proc = static_cast<uint32_t>(statd::NsmProc::kUnmon);
      body = statd::EncodeMonId(op.key);
      break;
    case NsmOp::kUnmonAll:
      proc = static_cast<uint32_t>(statd::NsmProc::kUnmonAll);
      body = statd::EncodeMyId(
          statd::MyId{op.key.my_name, op.key.my_prog, op.key.my_vers, op.key.my_proc});
      break;
    case NsmOp::kNotify:
      proc = static_cast<uint32_t>(statd::NsmProc::kNotify);
      body = statd::EncodeStatChge(statd::NotifyArgs{op.key.mon_name, op.state});
      break;
  }
  if (!body.ok()) return CallResult::kRefused;
  Result<test::Reply> r = test::Call("127.0.0.1", port, proto, statd::kNsmProgram,
                                     statd::kNsmVersion, proc, *body, wait);
  if (!r.ok()) return CallResult::kNoReply;
  if (!r->Success()) return CallResult::kRefused;
  if (op.kind == NsmOp::kMon) {
    Result<statd::StatRes> res = statd::DecodeSmStatRes(r->results);
    return res.ok() && res->success ? CallResult::kAcked : CallResult::kRefused;
  }
  return CallResult::kAcked;
}

// Sends op until it is answered, as lockd retransmits (every op is
// idempotent: the same cookie, the same state).  A wait of 1 s lets the
// thread notice the kill soon, and is long enough that a copy still being
// processed (SM_MON resolves the name first) is rare: a late copy landing
// after the next operation on its key would be reported.  false: not
// acknowledged (the op stays in flight).
bool SendNsm(Cycle& cycle, const NsmOp& op, test::Proto proto, uint16_t port) {
  const auto give_up = Clock::now() + 10s;
  while (!cycle.killed) {
    CallResult r = CallNsm(op, proto, port, 1s);
    if (r == CallResult::kAcked) return true;
    if (cycle.killed) return false;
    if (r == CallResult::kRefused || Clock::now() >= give_up) {
      cycle.Anomaly(std::string(r == CallResult::kRefused ? "refused" : "no reply in 10 s") +
                    " while the daemon ran: " + op.Describe());
      return false;
    }
    std::this_thread::sleep_for(10ms);  // a refused connection fails at once
  }
  return false;
}

void NsmThread(Cycle& cycle, NsmHistory& h, int index, test::Proto proto, uint16_t port) {
  std::mt19937_64 rng(Mix(cycle.seed, 1000 + index));
  const std::vector<MonitorKey> keys = h.Keys();
  int32_t notify_seq = 0;
  while (!cycle.stop) {
    const MonitorKey& k = keys[rng() % keys.size()];
    NsmOp op;
    op.key = k;
    unsigned dice = rng() % 100;
    bool present = h.acked().count(k) != 0;
    if (!present) {
      op.kind = dice < 85 ? NsmOp::kMon : NsmOp::kUnmon;
    } else if (dice < 30) {
      op.kind = NsmOp::kMon;
    } else if (dice < 60) {
      op.kind = NsmOp::kUnmon;
    } else if (dice < 85) {
      op.kind = NsmOp::kNotify;
    } else {
      op.kind = NsmOp::kUnmonAll;
    }
    for (auto& b : op.priv) b = static_cast<uint8_t>(rng());
    // Strictly increasing per mon_name across cycles: a repeat is suppressed.
    op.state = (cycle.number + 1) * 100000 + ++notify_seq;
    h.Send(op);
    if (!SendNsm(cycle, op, proto, port)) return;  // the op stays in flight
    h.Ack();
  }
}

// ---- v4 load --------------------------------------------------------------

void V4Thread(Cycle& cycle, cldemu::KernelEmulator& k, V4History& h, int index,
              const std::set<std::string>& uploaded) {
  std::mt19937_64 rng(Mix(cycle.seed, 2000 + index));
  auto run = [&](V4Op op) {
    h.Send(op);
    cldemu::UpcallResult r = op.create
                                 ? (op.reclaim ? k.ReclaimComplete(op.name) : k.Create(op.name))
                                 : k.Remove(op.name);
    if (!r.ok() || r.reply.status != 0) {
      if (!cycle.killed) {
        cycle.Anomaly(StrCat("v4 upcall not acknowledged while the daemon ran: ", op.Describe(),
                             " err ", r.err, " status ", r.reply.status));
      }
      return false;
    }
    h.Ack();
    return true;
  };
  for (const std::string& name : h.names()) {
    if (cycle.stop) return;
    if (uploaded.count(name) && !run(V4Op{name, true, true})) return;
  }
  const std::vector<std::string>& names = h.names();
  while (!cycle.stop) {
    const std::string& name = names[rng() % names.size()];
    bool present = h.acked().count(name) != 0;
    bool create = !present || rng() % 100 < 25;
    if (!run(V4Op{name, create, false})) return;
  }
}

// ---- one cycle ------------------------------------------------------------

struct Paths {
  std::string state, db, root, mnt, conf, pid, log;
};

Status MakeTree(const Options& o, Paths& p) {
  namespace fs = std::filesystem;
  p.state = o.work + "/state";
  p.db = p.state + "/nfsrecd/nfsrecd.sqlite";
  p.root = o.work + "/root";
  p.mnt = o.work + "/mnt";
  p.conf = o.work + "/nfs.conf";
  p.pid = o.work + "/nfsrecd.pid";
  p.log = o.work + "/daemon.log";
  std::error_code ec;
  for (const char* d : {"/proc/sys/fs/nfs", "/proc/fs/lockd", "/proc/sys/kernel/random"}) {
    fs::create_directories(p.root + d, ec);
  }
  fs::create_directories(p.state, ec);
  fs::create_directories(p.mnt, ec);
  std::ofstream(p.root + "/proc/sys/fs/nfs/nsm_local_state").flush();
  std::ofstream(p.root + "/proc/fs/lockd/nlm_end_grace").flush();
  std::ofstream(p.root + "/proc/sys/kernel/random/boot_id")
      << "11111111-2222-3333-4444-555555555555\n";
  std::ofstream(p.conf).flush();
  // nfsd's /proc files (v4_end_grace) are served by the emulator.
  fs::remove(p.root + "/proc/fs/nfsd", ec);
  fs::create_directory_symlink(p.mnt + "/proc/fs/nfsd", p.root + "/proc/fs/nfsd", ec);
  if (ec) return Status::IOError("symlink proc/fs/nfsd: " + ec.message());
  return Status::Ok();
}

// Waits until the new daemon answers NSM NULL on the port rpcbind gives.
bool WaitReady(Cycle& cycle, uint16_t* udp, uint16_t* tcp) {
  const auto deadline = Clock::now() + 20s;
  while (!cycle.killed && Clock::now() < deadline) {
    Result<uint16_t> u = test::PmapGetPort("127.0.0.1", statd::kNsmProgram, statd::kNsmVersion,
                                           test::Proto::kUdp, 1s);
    Result<uint16_t> t = test::PmapGetPort("127.0.0.1", statd::kNsmProgram, statd::kNsmVersion,
                                           test::Proto::kTcp, 1s);
    if (u.ok() && *u != 0 && t.ok() && *t != 0) {
      // Both ports must be the new daemon's, not a killed one's left in rpcbind.
      Result<test::Reply> ru = test::Call("127.0.0.1", *u, test::Proto::kUdp, statd::kNsmProgram,
                                          statd::kNsmVersion, 0, {}, 300ms);
      Result<test::Reply> rt = test::Call("127.0.0.1", *t, test::Proto::kTcp, statd::kNsmProgram,
                                          statd::kNsmVersion, 0, {}, 300ms);
      if (ru.ok() && ru->Success() && rt.ok() && rt->Success()) {
        *udp = *u;
        *tcp = *t;
        return true;
      }
    }
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

// The checker's self-test: deletes a record whose last operation was
// acknowledged and that nothing in flight touches; the check must see it.
void InjectLoss(const std::string& db, const std::vector<NsmHistory>& nsm,
                const std::vector<V4History>& v4, Cycle& cycle) {
  for (const NsmHistory& h : nsm) {
    for (const auto& [key, state] : h.acked()) {
      if (h.in_flight() && h.in_flight()->Touches(key)) continue;
      if (DeleteMonitor(db, key).ok()) {
        cycle.Anomaly("self-test: deleted monitor (" + key.mon_name + ", " + key.my_name + ")");
        return;
      }
    }
  }
  for (const V4History& h : v4) {
    for (const std::string& name : h.acked()) {
      if (h.in_flight() && h.in_flight()->name == name) continue;
      if (DeleteClient(db, name).ok()) {
        cycle.Anomaly("self-test: deleted v4 client " + name);
        return;
      }
    }
  }
}

struct Totals {
  uint64_t cycles = 0, acked = 0, keys = 0, lost = 0, anomalies = 0;
  uint64_t in_flight_landed = 0, in_flight_lost = 0;
  uint64_t grace_starts = 0, grace_starts_in_grace = 0;  // acknowledged GraceStarts
  uint64_t killed_before_ready = 0, killed_before_grace = 0;
};

int RunCycle(const Options& o, const Paths& p, cldemu::KernelEmulator& k, int number,
             StoreSnapshot& snap, Totals& totals) {
  Cycle cycle;
  cycle.number = number;
  cycle.seed = Mix(o.seed, static_cast<uint64_t>(number));
  std::mt19937_64 rng(cycle.seed);
  const int delay_ms = static_cast<int>(rng() % static_cast<uint64_t>(o.max_delay_ms + 1));

  std::vector<NsmHistory> nsm;
  for (int t = 0; t < o.nsm_threads; ++t) nsm.emplace_back(t, snap.monitors);
  std::vector<V4History> v4;
  for (int t = 0; t < o.v4_threads; ++t) v4.emplace_back(t, o.v4_threads);
  GraceStartOutcome grace = GraceStartOutcome::kNotSent;

  {
    // The log of this cycle and the one before it are kept.
    std::error_code ec;
    std::filesystem::rename(p.log, p.log + ".prev", ec);
    std::ofstream(p.log) << "==== cycle " << number << " delay " << delay_ms << " ms\n";
  }
  auto child = cldemu::ChildProcess::Spawn(
      {o.daemon, "-F", "-d", "-P", p.state, "--pidfile", p.pid, "--proc-root", p.root, "--cld-pipe",
       k.pipe_path(), "--config", p.conf, "--reconcile-interval", "0"},
      p.log);
  if (!child.ok()) {
    std::fprintf(stderr, "crash-load: %s\n", child.status().ToString().c_str());
    return 2;
  }
  const auto started = Clock::now();
  std::thread killer([&] {
    std::this_thread::sleep_until(started + std::chrono::milliseconds(delay_ms));
    cycle.killed = true;
    cycle.stop = true;
    (*child)->Stop(SIGKILL, 5000);
    k.StopNfsd();  // nfsd threads stop waiting for answers that cannot come
  });

  std::vector<std::thread> threads;
  uint16_t udp = 0, tcp = 0;
  bool ready = WaitReady(cycle, &udp, &tcp);
  const auto ready_at = Clock::now();
  if (!ready && !cycle.killed) {
    cycle.Anomaly("the daemon did not come up within 20 s");
  } else if (ready) {
    for (int t = 0; t < o.nsm_threads; ++t) {
      test::Proto proto = t % 2 == 0 ? test::Proto::kUdp : test::Proto::kTcp;
      threads.emplace_back(NsmThread, std::ref(cycle), std::ref(nsm[t]), t, proto,
                           proto == test::Proto::kUdp ? udp : tcp);
    }
    if (!cycle.killed) {
      grace = GraceStartOutcome::kInFlight;
      cldemu::BootResult b = k.StartNfsd();
      if (b.status.ok() && !cycle.killed) {
        grace = GraceStartOutcome::kAcked;
        ++totals.grace_starts;
        if (snap.recovery != 0) ++totals.grace_starts_in_grace;  // the last grace never ended
        std::set<std::string> uploaded;
        for (auto& [name, hash] : k.reclaim_table()) uploaded.insert(name);
        if (uploaded != snap.Reclaimable()) {
          std::string diff;
          for (const std::string& n : snap.Reclaimable()) {
            if (!uploaded.count(n)) diff += " -" + n;
          }
          for (const std::string& n : uploaded) {
            if (!snap.Reclaimable().count(n)) diff += " +" + n;
          }
          cycle.Anomaly(
              StrCat("LOST: GraceStart uploaded ", uploaded.size(), " clients, the store holds ",
                     snap.Reclaimable().size(),
                     " reclaimable ones; not uploaded (-) / uploaded in excess (+):", diff));
          ++totals.lost;
        }
        for (int t = 0; t < o.v4_threads; ++t) {
          threads.emplace_back(V4Thread, std::ref(cycle), std::ref(k), std::ref(v4[t]), t,
                               uploaded);
        }
      } else if (!cycle.killed) {
        cycle.Anomaly("nfsd start failed while the daemon ran: " + b.status.ToString());
      }
    }
  }
  killer.join();
  const auto killed_at = Clock::now();
  for (auto& t : threads) t.join();
  k.StopNfsd();
  child->reset();
  const auto ms = [](auto d) {
    return static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
  };
  const long long ready_ms = ms(ready_at - started), drain_ms = ms(Clock::now() - killed_at);
  if (!ready) ++totals.killed_before_ready;
  if (grace != GraceStartOutcome::kAcked) ++totals.killed_before_grace;

  if (o.power_loss && ready &&
      cldemu::ReadFile(p.log).find("SQLite default VFS is nfsrec-powerloss") == std::string::npos) {
    cycle.Anomaly("the daemon did not announce the power-loss VFS");
  }
  if (o.power_loss) {
    std::error_code ec;
    std::filesystem::remove(p.db + "-shm", ec);  // shared memory does not survive a reboot
  }
  if (o.inject_loss) InjectLoss(p.db, nsm, v4, cycle);
  Result<StoreSnapshot> after = ReadStore(p.db);
  if (!after.ok()) {
    cycle.Anomaly("LOST: the store cannot be read: " + after.status().ToString());
    ++totals.lost;
  } else {
    CheckResult r = Check(snap, *after, nsm, v4, grace);
    totals.acked += r.acked;
    totals.keys += r.keys;
    totals.in_flight_landed += r.in_flight_landed;
    totals.in_flight_lost += r.in_flight_lost;
    totals.lost += r.violations.size();
    for (auto& v : r.violations) cycle.Anomaly("LOST: " + v);
    if (after->integrity != "ok") {
      cycle.Anomaly("LOST: integrity_check: " + after->integrity);
      ++totals.lost;
    }
    if (after->notify_rows != 0) {
      cycle.Anomaly(StrCat("LOST: ", after->notify_rows, " monitors moved to notify_list"));
      ++totals.lost;
    }
    if (o.verbose) {
      std::printf(
          "cycle %d seed %llu delay %d ms (ready %s %lld ms, load stopped %lld ms after the kill): "
          "acked %llu, keys %llu, monitors %zu, v4 %zu\n",
          number, static_cast<unsigned long long>(cycle.seed), delay_ms, ready ? "at" : "no,",
          ready_ms, drain_ms, static_cast<unsigned long long>(r.acked),
          static_cast<unsigned long long>(r.keys), after->monitors.size(),
          after->v4_current.size());
    }
    snap = std::move(after).value();
  }
  ++totals.cycles;
  for (const std::string& a : cycle.anomalies) {
    std::printf("cycle %d (run seed %llu, cycle seed %llu, delay %d ms): %s\n", number,
                static_cast<unsigned long long>(o.seed),
                static_cast<unsigned long long>(cycle.seed), delay_ms, a.c_str());
    if (a.rfind("LOST", 0) != 0) ++totals.anomalies;
  }
  std::fflush(stdout);
  return 0;
}

int Usage() {
  std::fprintf(stderr,
               "usage: crash-load --daemon PATH --work DIR [--cycles N] [--seed S]\n"
               "                  [--max-delay-ms M] [--power-loss] [--verbose]\n");
  return 2;
}

int Main(int argc, char** argv) {
  Options o;
  o.seed = static_cast<uint64_t>(std::random_device{}()) << 16 ^ static_cast<uint64_t>(getpid());
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--daemon") {
      o.daemon = next();
    } else if (a == "--work") {
      o.work = next();
    } else if (a == "--cycles") {
      o.cycles = std::atoi(next().c_str());
    } else if (a == "--seed") {
      o.seed = std::strtoull(next().c_str(), nullptr, 10);
    } else if (a == "--max-delay-ms") {
      o.max_delay_ms = std::atoi(next().c_str());
    } else if (a == "--power-loss") {
      o.power_loss = true;
    } else if (a == "--inject-loss") {
      o.inject_loss = true;
    } else if (a == "--verbose") {
      o.verbose = true;
    } else {
      return Usage();
    }
  }
  if (o.daemon.empty() || o.work.empty() || o.cycles <= 0 || o.max_delay_ms <= 0) return Usage();
  Paths p;
  if (Status s = MakeTree(o, p); !s.ok()) {
    std::fprintf(stderr, "crash-load: %s\n", s.ToString().c_str());
    return 2;
  }
  cldemu::EmulatorOptions eo;
  eo.mountpoint = p.mnt;
  auto k = cldemu::KernelEmulator::Mount(eo);
  if (!k.ok()) {
    std::printf("SKIP: FUSE unavailable (needs root and /dev/fuse): %s\n",
                k.status().ToString().c_str());
    return 77;
  }
  const char* mode = o.power_loss ? "power-loss" : "kill-9";
  std::printf("crash-load: %s, %d cycles, seed %llu, kill within %d ms of start\n", mode, o.cycles,
              static_cast<unsigned long long>(o.seed), o.max_delay_ms);
  std::fflush(stdout);
  const auto t0 = Clock::now();
  StoreSnapshot snap;
  Totals totals;
  for (int c = 0; c < o.cycles; ++c) {
    if (int rc = RunCycle(o, p, **k, c, snap, totals); rc != 0) return rc;
  }
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  char secs_text[32];
  std::snprintf(secs_text, sizeof secs_text, "%.1f", secs);
  std::printf(
      "%s\n",
      StrCat("crash-load: ", mode, ": cycles ", totals.cycles, ", acknowledged operations checked ",
             totals.acked, " (keys ", totals.keys, "), lost ", totals.lost, ", other anomalies ",
             totals.anomalies, "; in flight at the kill: landed ", totals.in_flight_landed,
             ", not landed ", totals.in_flight_lost, "; GraceStarts acknowledged ",
             totals.grace_starts, " (", totals.grace_starts_in_grace, " during an open grace)",
             "; killed before ready ", totals.killed_before_ready, ", before GraceStart's answer ",
             totals.killed_before_grace, "; ", secs_text, " s")
          .c_str());
  return totals.lost == 0 && totals.anomalies == 0 ? 0 : 1;
}

}  // namespace
}  // namespace nfsrec::crash

int main(int argc, char** argv) { return nfsrec::crash::Main(argc, argv); }
