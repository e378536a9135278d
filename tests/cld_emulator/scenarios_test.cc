// End-to-end: the real TrackingDaemon (cld-testd, its own process) against the
// FUSE kernel emulator, over a real SQLite database.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <set>
#include <thread>

#include "common/base/logging.h"
#include "common/store/sqlite.h"
#include "nfs4rec/client_sql.h"
#include "tests/cld_emulator/harness.h"
#include "tests/cld_emulator/kernel_emulator.h"
#include "tests/support/status_matchers.h"
#include <gtest/gtest.h>

namespace nfsrec::cldemu {
namespace {

using namespace std::chrono_literals;
using nfs4rec::kCldEInval;
using nfs4rec::kCldEOpNotSupp;

struct Client {
  std::string name;
  std::string princhash;
  bool v41 = true;
};

std::vector<Client> MakeClients(int n, bool mixed, bool hashes) {
  std::vector<Client> out;
  for (int i = 0; i < n; ++i) {
    Client c;
    c.name = "Linux NFSv4.2 client-" + std::to_string(i) + std::string("\x00\x01", 2);
    if (hashes && i % 3 == 0) c.princhash = std::string(32, static_cast<char>('A' + i % 26));
    c.v41 = !mixed || i % 2 == 0;
    out.push_back(c);
  }
  return out;
}

// Runs fn(i) for i in [0, n) on `threads` nfsd-like threads.
void Parallel(int n, int threads, const std::function<void(int)>& fn) {
  std::atomic<int> next{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&] {
      for (int i = next++; i < n; i = next++) fn(i);
    });
  }
  for (auto& t : ts) t.join();
}

class ScenarioTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override { Mount(EmulatorOptions{}); }
  void Mount(EmulatorOptions o) {
    ASSERT_TRUE(tmp_.ok());
    k_.reset();
    mnt_ = tmp_.path() + "/mnt";
    mkdir(mnt_.c_str(), 0755);
    o.mountpoint = mnt_;
    if (o.kernel_version == 2) o.kernel_version = static_cast<uint8_t>(GetParam());
    auto k = KernelEmulator::Mount(o);
    if (!k.ok())
      GTEST_SKIP() << "FUSE unavailable (needs root and /dev/fuse): " << k.status().ToString();
    k_ = std::move(k).value();
    db_ = tmp_.path() + "/nfsrecd.sqlite";
    log_ = tmp_.path() + "/daemon.log";
  }
  void TearDown() override {
    if (k_) {
      EXPECT_EQ(k_->counters().einval_size, 0u) << "the daemon wrote a wrongly sized downcall";
      for (auto& [key, n] : k_->answers()) EXPECT_EQ(n, 1) << "upcall answered " << n << " times";
    }
    if (daemon_) daemon_->Stop(SIGTERM, 5000);
    daemon_.reset();
    if (k_ && k_->nfsd_running()) k_->StopNfsd();
    k_.reset();
    if (HasFailure()) std::cerr << "---- daemon log ----\n" << ReadFile(log_);
  }
  void StartDaemon(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{
        BuildDir() + "/cld-testd", "--pipe", k_->pipe_path(), "--db", db_, "--proc-root",
        k_->proc_root(),           "-d"};
    for (auto& e : extra) argv.push_back(e);
    auto p = ChildProcess::Spawn(argv, log_);
    ASSERT_OK(p);
    daemon_ = std::move(p).value();
  }
  void StopDaemon(int sig = SIGTERM) {
    ASSERT_TRUE(daemon_);
    int st = daemon_->Stop(sig, 10000);
    if (sig == SIGTERM) {
      EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
    }
    daemon_.reset();
  }
  BootResult Boot() {
    BootResult b = k_->StartNfsd();
    EXPECT_OK(b.status);
    EXPECT_EQ(b.version, GetParam() == 0 ? 1 : GetParam());
    return b;
  }
  void Reboot() {
    k_->StopNfsd();
    Boot();
  }
  void CreateAll(const std::vector<Client>& cs) {
    Parallel(static_cast<int>(cs.size()), 16, [&](int i) {
      UpcallResult r = k_->Create(cs[i].name, cs[i].princhash);
      ASSERT_TRUE(r.ok()) << r.err;
      EXPECT_EQ(r.reply.status, 0);
    });
  }
  std::set<std::string> Names(const std::vector<Client>& cs) {
    std::set<std::string> s;
    for (auto& c : cs) s.insert(c.name);
    return s;
  }
  std::set<std::string> Uploaded() {
    std::set<std::string> s;
    for (auto& [n, h] : k_->reclaim_table()) s.insert(n);
    return s;
  }

  TempDir tmp_;
  std::string mnt_, db_, log_;
  std::unique_ptr<KernelEmulator> k_;
  std::unique_ptr<ChildProcess> daemon_;
};

class V12Scenario : public ScenarioTest {};

TEST_P(V12Scenario, FreshStartUploadsNothingAndSkipsGrace) {
  StartDaemon();
  BootResult b = Boot();
  EXPECT_EQ(b.uploaded, 0u);
  EXPECT_TRUE(b.grace_skipped);
  EXPECT_EQ(k_->grace_end(), GraceEnd::kSkipped);
  EXPECT_EQ(k_->counters().downcalls, 3u);  // GetVersion, GraceStart, GraceDone
}

TEST_P(V12Scenario, ThousandClientsRebootAndReclaim) {
  StartDaemon();
  Boot();
  auto clients = MakeClients(1000, false, GetParam() == 2);
  CreateAll(clients);
  std::vector<Client> removed(clients.end() - 100, clients.end());
  clients.resize(900);
  Parallel(100, 8, [&](int i) { EXPECT_EQ(k_->Remove(removed[i].name).reply.status, 0); });
  Reboot();
  EXPECT_EQ(Uploaded(), Names(clients));
  for (auto& c : removed) EXPECT_EQ(k_->Reclaim(c.name, c.princhash), ReclaimVerdict::kReclaimBad);
  Parallel(900, 16, [&](int i) {
    EXPECT_EQ(k_->Reclaim(clients[i].name, clients[i].princhash), ReclaimVerdict::kOk);
    EXPECT_EQ(k_->ReclaimComplete(clients[i].name, clients[i].princhash).reply.status, 0);
  });
  for (int i = 0; i < 200 && k_->in_grace(); ++i) std::this_thread::sleep_for(10ms);
  GraceEnd e = k_->grace_end();
  EXPECT_TRUE(e == GraceEnd::kAllReclaimed || e == GraceEnd::kProcWrite) << GraceEndName(e);
  Reboot();  // the re-created records are the next upload
  EXPECT_EQ(Uploaded(), Names(clients));
}

TEST_P(V12Scenario, DaemonEndsGraceEarlyThroughProc) {
  EmulatorOptions o;
  o.track_reclaim_completes = false;  // only the daemon can end grace early
  Mount(o);
  StartDaemon();
  Boot();
  k_->GraceTimerExpired();  // this kernel does not skip an empty grace
  auto clients = MakeClients(20, false, false);
  CreateAll(clients);
  Reboot();
  for (size_t i = 0; i + 1 < clients.size(); ++i) k_->ReclaimComplete(clients[i].name);
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(k_->in_grace()) << "grace ended before every client reclaimed";
  k_->ReclaimComplete(clients.back().name);
  for (int i = 0; i < 500 && k_->in_grace(); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(k_->grace_end(), GraceEnd::kProcWrite);
  EXPECT_EQ(k_->counters().end_grace_writes, 1u);
}

TEST_P(V12Scenario, NoEarlyEndWithAV40ClientOrWhenDisabled) {
  EmulatorOptions o;
  o.track_reclaim_completes = false;
  Mount(o);
  StartDaemon();
  Boot();
  k_->GraceTimerExpired();
  auto clients = MakeClients(10, true, false);
  CreateAll(clients);
  Reboot();
  for (auto& c : clients) {
    EXPECT_EQ(k_->Reclaim(c.name), ReclaimVerdict::kOk);
    if (c.v41) k_->ReclaimComplete(c.name);  // v4.0 reclaims send no Create
  }
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(k_->in_grace());
  k_->GraceTimerExpired();
  EXPECT_EQ(k_->grace_end(), GraceEnd::kTimer);
  EXPECT_EQ(k_->counters().end_grace_writes, 0u);
}

TEST_P(V12Scenario, DoubleRebootDuringGraceKeepsUnreclaimedClients) {
  StartDaemon();
  Boot();
  auto clients = MakeClients(3, false, false);
  CreateAll(clients);
  Reboot();
  EXPECT_EQ(k_->ReclaimComplete(clients[0].name).reply.status, 0);
  Reboot();  // during grace: b and c had not reclaimed
  EXPECT_EQ(Uploaded(), Names(clients));
  for (auto& c : clients) {
    EXPECT_EQ(k_->Reclaim(c.name), ReclaimVerdict::kOk);
    k_->ReclaimComplete(c.name);
  }
  for (int i = 0; i < 200 && k_->in_grace(); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(k_->in_grace());
  Reboot();
  EXPECT_EQ(Uploaded(), Names(clients));
}

TEST_P(V12Scenario, DaemonRestartWhileUpcallsQueuedLosesNothing) {
  StartDaemon();
  Boot();
  k_->ReclaimComplete("seed");  // keep later boots in grace
  auto clients = MakeClients(200, false, false);
  std::atomic<int> done{0};
  std::thread nfsd([&] {
    Parallel(200, 8, [&](int i) {
      UpcallResult r = k_->Create(clients[i].name);
      EXPECT_TRUE(r.ok()) << r.err;
      EXPECT_EQ(r.reply.status, 0);
      ++done;
    });
  });
  while (done < 40) std::this_thread::sleep_for(1ms);
  StopDaemon(SIGTERM);  // drains what it read; the rest stays queued
  int at_stop = done;
  std::this_thread::sleep_for(100ms);
  StartDaemon();
  nfsd.join();
  EXPECT_EQ(done, 200);
  EXPECT_LT(at_stop, 200) << "the restart happened too late to test anything";
  EXPECT_EQ(k_->counters().einval_xid, 0u);
  Reboot();
  auto up = Uploaded();
  for (auto& c : clients) EXPECT_EQ(up.count(c.name), 1u);
}

TEST_P(V12Scenario, ConcurrentUpcallsAreAnsweredOutOfOrder) {
  StartDaemon();
  Boot();
  std::vector<uint32_t> creates;
  for (int i = 0; i < 200; ++i) {
    CldMessage m;
    m.command = static_cast<uint8_t>(nfs4rec::CldCommand::kCreate);
    m.name = "c" + std::to_string(i);
    creates.push_back(k_->Post(m));
  }
  CldMessage gv;
  gv.command = static_cast<uint8_t>(nfs4rec::CldCommand::kGetVersion);
  uint32_t gv_xid = k_->Post(gv);
  for (uint32_t x : creates) EXPECT_EQ(k_->WaitFor(x, 30s).reply.status, 0);
  auto order = k_->answer_order();
  auto pos = std::find(order.begin(), order.end(), gv_xid);
  ASSERT_NE(pos, order.end());
  EXPECT_NE(pos, order.end() - 1) << "GetVersion, sent last, should overtake pending Creates";
}

TEST_P(V12Scenario, BadUpcallsGetClearErrors) {
  StartDaemon();
  Boot();
  const size_t size = GetParam() == 2 ? 1067 : 1034;
  std::vector<uint8_t> unknown_cmd(size, 0);
  unknown_cmd[0] = static_cast<uint8_t>(GetParam());
  unknown_cmd[1] = 42;
  UpcallResult r = k_->RawUpcall(unknown_cmd, 10s);
  ASSERT_TRUE(r.ok()) << r.err;
  EXPECT_EQ(r.reply.status, kCldEOpNotSupp);
  std::vector<uint8_t> bad_version = unknown_cmd;
  bad_version[0] = 7;
  bad_version[1] = 0;
  r = k_->RawUpcall(bad_version, 10s);
  ASSERT_TRUE(r.ok()) << r.err;
  EXPECT_EQ(r.reply.status, kCldEOpNotSupp);
  std::vector<uint8_t> long_name = unknown_cmd;
  long_name[1] = 0;  // Create
  uint16_t len = 1100;
  std::memcpy(long_name.data() + 8, &len, 2);
  r = k_->RawUpcall(long_name, 10s);
  ASSERT_TRUE(r.ok()) << r.err;
  EXPECT_EQ(r.reply.status, kCldEInval);
  std::string log = ReadFile(log_);
  EXPECT_NE(log.find("unsupported upcall command 42"), std::string::npos);
  EXPECT_NE(log.find("unsupported cld upcall version 7"), std::string::npos);
  EXPECT_NE(log.find("cn_len 1100"), std::string::npos);
}

TEST_P(V12Scenario, CorruptDatabaseNamesAreNeverSent) {
  StartDaemon();
  Boot();
  k_->Create("good");
  StopDaemon();
  {
    auto db = sqlite::Db::Open(db_).value();
    ASSERT_OK(
        db->Exec("INSERT INTO cld_clients (epoch, id, time) SELECT current, x'', 0 "
                 "FROM cld_grace"));
    ASSERT_OK(
        db->Exec("INSERT INTO cld_clients (epoch, id, time) SELECT current, "
                 "zeroblob(1025), 0 FROM cld_grace"));
  }
  StartDaemon();
  ASSERT_TRUE(k_->WaitForOpener(5s));
  Reboot();
  EXPECT_EQ(Uploaded(), std::set<std::string>{"good"});
  EXPECT_EQ(k_->counters().einval_record, 0u);
  std::string log = ReadFile(log_);
  EXPECT_NE(log.find("empty name"), std::string::npos);
  EXPECT_NE(log.find("name of 1025 bytes"), std::string::npos);
}

// nfsrec-cltrack and the daemon write one database at the same time.
TEST_P(V12Scenario, HelperAndDaemonShareTheDatabase) {
  StartDaemon();
  Boot();
  auto clients = MakeClients(300, false, false);
  std::thread nfsd([&] { CreateAll(clients); });
  const std::string helper = TopBuildDir() + "/nfsrec-cltrack";
  setenv("NFSDCLTRACK_CLIENT_HAS_SESSION", "Y", 1);
  int exit_codes = 0;
  for (int i = 0; i < 30; ++i) {
    std::string id = "helper-" + std::to_string(i);
    auto p = ChildProcess::Spawn(
        {helper, "-f", "-s", tmp_.path(), "create", HexBytes(id.data(), id.size())},
        tmp_.path() + "/helper.log");
    ASSERT_OK(p);
    int st = (*p)->Stop(0, 20000);
    exit_codes += WIFEXITED(st) ? WEXITSTATUS(st) : 1000;
  }
  auto p = ChildProcess::Spawn({helper, "-f", "-s", tmp_.path(), "check", "6e6f626f6479"},
                               tmp_.path() + "/helper.log");
  ASSERT_OK(p);
  int st = (*p)->Stop(0, 20000);
  EXPECT_EQ(WEXITSTATUS(st), 255);  // -EPERM: "nobody" may not reclaim
  nfsd.join();
  unsetenv("NFSDCLTRACK_CLIENT_HAS_SESSION");
  EXPECT_EQ(exit_codes, 0) << ReadFile(tmp_.path() + "/helper.log");
  auto db = sqlite::Db::Open(db_).value();
  EXPECT_EQ(db->QueryInt("SELECT count(*) FROM cld_clients c JOIN cld_grace g "
                         "ON c.epoch = g.current")
                .value(),
            330);
}

TEST_P(V12Scenario, PipeOpenedAgainAfterNfsdRestartWithoutDaemonRestart) {
  StartDaemon();
  for (int i = 0; i < 3; ++i) {
    Boot();
    EXPECT_EQ(k_->Create("x" + std::to_string(i)).reply.status, 0);
    k_->StopNfsd();
  }
  EXPECT_TRUE(daemon_->Running());
}

TEST_P(V12Scenario, NfsdStartedBeforeTheDaemonGetsNoTracking) {
  BootResult b = k_->StartNfsd();
  EXPECT_TRUE(b.status.IsTimedOut()) << b.status.ToString();
}

INSTANTIATE_TEST_SUITE_P(Kernels, V12Scenario, ::testing::Values(1, 2),
                         [](const ::testing::TestParamInfo<int>& p) {
                           return "v" + std::to_string(p.param);
                         });

TEST_P(ScenarioTest, PrincHashIsKeptAndChecked) {
  StartDaemon();
  Boot();
  const std::string h1(32, '\x11'), h2(32, '\x22');
  EXPECT_EQ(k_->Create("krb", h1).reply.status, 0);
  EXPECT_EQ(k_->Create("sys").reply.status, 0);
  Reboot();
  auto t = k_->reclaim_table();
  EXPECT_EQ(t["krb"], h1);
  EXPECT_EQ(t["sys"], "");
  EXPECT_EQ(k_->Reclaim("krb", h2), ReclaimVerdict::kReclaimBad);
  EXPECT_EQ(k_->Reclaim("krb", h1), ReclaimVerdict::kOk);
  EXPECT_EQ(k_->Reclaim("sys", h2), ReclaimVerdict::kOk);
}

INSTANTIATE_TEST_SUITE_P(Kernels, ScenarioTest, ::testing::Values(2),
                         [](const auto&) { return std::string("v2"); });

class V0Scenario : public ScenarioTest {};

TEST_P(V0Scenario, OldKernelChecksThroughTheDaemon) {
  EmulatorOptions o;
  o.kernel_version = 0;
  Mount(o);
  StartDaemon();
  Boot();  // v0: no wait for an opener, no GetVersion, no GraceStart
  ASSERT_TRUE(k_->WaitForOpener(5s));
  EXPECT_EQ(k_->Create("a").reply.status, 0);
  k_->StopNfsd();
  Boot();
  EXPECT_EQ(k_->Reclaim("a"), ReclaimVerdict::kOk);
  EXPECT_EQ(k_->Reclaim("b"), ReclaimVerdict::kReclaimBad);
  k_->GraceTimerExpired();
  k_->StopNfsd();
  Boot();
  EXPECT_EQ(k_->Reclaim("a"), ReclaimVerdict::kOk);
}

INSTANTIATE_TEST_SUITE_P(Kernels, V0Scenario, ::testing::Values(0),
                         [](const auto&) { return std::string("v0"); });

}  // namespace
}  // namespace nfsrec::cldemu
