// rpc.statd's files kept current by the daemon (statd/sm_mirror.h): the
// NSM facade on a real loop, a store that commits when the test says
// (MemNsmStore) and that the mirror's jobs read (MemMirrorSource), a
// runner that runs mirror jobs when the test says, and a real state
// directory; then the SQLite reader (statd/sqlite_mirror_source.h) on a
// real database.
#include "statd/sm_mirror.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "common/os/file_system.h"
#include "common/store/commit_queue.h"
#include "statd/nfs_utils_export.h"
#include "statd/nsm_daemon.h"
#include "statd/sqlite_mirror_source.h"
#include "statd/sqlite_nsm_store.h"
#include "tests/support/fake_datagram_port.h"
#include "tests/support/fake_kernel_nsm.h"
#include "tests/support/fake_resolver.h"
#include "tests/support/fake_scheduler.h"
#include "tests/support/mem_nsm_store.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include <gtest/gtest.h>

namespace nfsrec::statd {
namespace {

using namespace std::chrono_literals;
using test_support::TempDir;

// Tells `mirror` of a load that read `snap`, as MirroredNsmStore does.
void LoadedFrom(SmMirror& mirror, const NsmSnapshot& snap) {
  SmMirror::Renamed renamed;
  for (const MonitorRecord& r : snap.monitors) renamed.Add(NsmList::kMonitors, r);
  for (const MonitorRecord& r : snap.notify) renamed.Add(NsmList::kNotify, r);
  mirror.Loaded(snap.local_state, std::move(renamed));
}

// Queues mirror jobs; the test runs them (work, then done) on its thread.
class FakeMirrorRunner final : public MirrorRunner {
 public:
  void Run(Liveness::Token owner, Work work, Done done) override {
    jobs_.push_back(Job{std::move(owner), std::move(work), std::move(done)});
    ++started_;
  }
  // Runs the queued jobs and those their completions start.
  size_t RunAll() {
    size_t n = 0;
    while (!jobs_.empty()) {
      Job job = std::move(jobs_.front());
      jobs_.pop_front();
      Result<MirrorJobResult> result = job.work();
      if (job.owner) job.done(std::move(result));
      ++n;
    }
    return n;
  }
  size_t queued() const { return jobs_.size(); }
  size_t started() const { return started_; }

 private:
  struct Job {
    Liveness::Token owner;
    Work work;
    Done done;
  };
  std::deque<Job> jobs_;
  size_t started_ = 0;
};

// The committed contents of a store as the mirror's jobs read them: each
// Begin takes one snapshot from `read`.
class MemMirrorSource final : public MirrorSource {
 public:
  explicit MemMirrorSource(std::function<NsmSnapshot()> read) : read_(std::move(read)) {}
  Status Begin() override {
    ++reads_;
    view_ = read_();
    for (MirrorList list : {MirrorList::kMonitors, MirrorList::kNotify}) {
      auto& by_host = list == MirrorList::kMonitors ? monitors_by_host_ : notify_by_host_;
      by_host.clear();
      for (const MonitorRecord& r : Of(list)) by_host.emplace(r.canonical_name, &r);
    }
    return Status::Ok();
  }
  void End() override {
    monitors_by_host_.clear();
    notify_by_host_.clear();
    view_ = NsmSnapshot();
  }
  Result<int32_t> LocalState() override { return view_.local_state; }
  Status ReadHost(MirrorList list, const std::string& host, const Each& each) override {
    ++host_reads_;
    auto& by_host = list == MirrorList::kMonitors ? monitors_by_host_ : notify_by_host_;
    auto [first, last] = by_host.equal_range(host);
    for (auto it = first; it != last; ++it) NFSREC_RETURN_IF_ERROR(each(*it->second));
    return Status::Ok();
  }
  Status Scan(MirrorList list, const Each& each) override {
    std::vector<MonitorRecord> sorted = Of(list);
    std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
      return a.canonical_name < b.canonical_name;
    });
    for (const MonitorRecord& r : sorted) NFSREC_RETURN_IF_ERROR(each(r));
    return Status::Ok();
  }
  size_t reads() const { return reads_; }
  size_t host_reads() const { return host_reads_; }

 private:
  const std::vector<MonitorRecord>& Of(MirrorList list) const {
    return list == MirrorList::kMonitors ? view_.monitors : view_.notify;
  }
  std::function<NsmSnapshot()> read_;
  NsmSnapshot view_;
  std::multimap<std::string, const MonitorRecord*> monitors_by_host_;  // into view_
  std::multimap<std::string, const MonitorRecord*> notify_by_host_;
  size_t reads_ = 0;
  size_t host_reads_ = 0;
};

NsmSnapshot SnapshotOf(const MemNsmStore& store) {
  NsmSnapshot snap;
  snap.local_state = store.local_state();
  for (const auto& [k, r] : store.monitors()) snap.monitors.push_back(r);
  for (const auto& [k, r] : store.notify_list()) snap.notify.push_back(r);
  return snap;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// File name -> its lines, sorted (the order of lines in a file is free).
using Tree = std::map<std::string, std::vector<std::string>>;

Tree ListFiles(const std::string& dir) {
  Tree out;
  if (!std::filesystem::exists(dir)) return out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::vector<std::string> lines;
    std::istringstream in(ReadAll(e.path().string()));
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    std::sort(lines.begin(), lines.end());
    out[e.path().filename().string()] = lines;
  }
  return out;
}

int32_t StateFile(const std::string& dir) {
  std::string bytes = ReadAll(dir + "/state");
  int32_t v = 0;
  if (bytes.size() == sizeof(v)) std::memcpy(&v, bytes.data(), sizeof(v));
  return v;
}

Cookie CookieOf(uint8_t seed) {
  Cookie c{};
  for (size_t i = 0; i < c.size(); ++i) c[i] = static_cast<uint8_t>(seed + i);
  return c;
}

class SmMirrorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    auto loop = EventLoop::Create();
    ASSERT_OK(loop);
    loop_ = std::move(loop).value();
    scheduler_ = std::make_unique<LoopScheduler>(*loop_);
    sm_ = dir_.File("sm");
    bak_ = dir_.File("sm.bak");
  }

  // A daemon over `store` (a fresh one if null), mirroring into dir_.
  void Create(std::unique_ptr<MemNsmStore> store = nullptr) {
    daemon_.reset();
    NsmOptions options;
    options.state_dir = dir_.path();
    options.no_notify = true;
    NsmDaemon::Ports ports;
    if (!store) store = std::make_unique<MemNsmStore>();
    store_ = store.get();
    ports.store = std::move(store);
    auto resolver = std::make_unique<FakeResolver>(scheduler_.get());
    resolver->Add("client2", HostInfo{"client2.example", {"10.0.0.2"}});
    ports.resolver = std::move(resolver);
    ports.kernel = std::make_unique<FakeKernelNsm>();
    ports.callback_port = std::make_unique<FakeDatagramPort>(*scheduler_);
    ports.notify_port = std::make_unique<FakeDatagramPort>(*scheduler_);
    auto runner = std::make_unique<FakeMirrorRunner>();
    runner_ = runner.get();
    ports.mirror_runner = std::move(runner);
    auto source = std::make_shared<MemMirrorSource>([this] { return SnapshotOf(*store_); });
    source_ = source.get();
    ports.mirror_source = std::move(source);
    ports.mirror_marker_dir = db_dir_.path();
    daemon_ =
        NsmDaemon::CreateWithPorts(*loop_, *scheduler_, files_, log_, std::move(ports), options);
  }

  void Start() {
    std::optional<Status> st;
    daemon_->Start([&](Status s) { st = s; });
    store_->Flush();
    ASSERT_TRUE(st.has_value());
    ASSERT_OK(*st);
  }

  // SM_MON from lockd, answered once committed; returns when the store
  // has the write pending (DNS answered), not committed.
  void Mon(const std::string& mon_name, uint8_t seed, std::optional<StatRes>* reply,
           const std::string& my_name = "server") {
    const size_t before = store_->pending();
    daemon_->service().Mon(Caller{true, true, "127.0.0.1"},
                           MonArgs{MonitorKey{mon_name, my_name, 100021, 3, 16}, CookieOf(seed)},
                           [reply](StatRes r) { *reply = r; });
    ASSERT_TRUE(loop_->RunUntil([&] { return store_->pending() > before; }, 5s));
  }
  void MonCommitted(const std::string& mon_name, uint8_t seed,
                    const std::string& my_name = "server") {
    std::optional<StatRes> reply;
    Mon(mon_name, seed, &reply, my_name);
    store_->Flush();
    ASSERT_TRUE(reply.has_value() && reply->success);
  }
  // A started daemon whose sm/ holds client2.example with two lines (for
  // my_name "server" and "other").
  void StartWithTwoRecordsOfClient2() {
    Create();
    Start();
    MonCommitted("client2", 1, "server");
    MonCommitted("client2", 2, "other");
    WriteAll();
    ASSERT_EQ(ListFiles(sm_)["client2.example"].size(), 2u);
  }
  // SM_UNMON of (mon_name, my_name) from lockd, answered once committed.
  void UnmonCommitted(const std::string& mon_name, const std::string& my_name) {
    std::optional<Result<int32_t>> unmon;
    daemon_->service().Unmon(Caller{true, true, "127.0.0.1"},
                             MonitorKey{mon_name, my_name, 100021, 3, 16},
                             [&](Result<int32_t> r) { unmon = r; });
    store_->Flush();
    ASSERT_TRUE(unmon.has_value() && unmon->ok());
  }

  // Runs mirror jobs, and the loop for the pace between them, until
  // everything told to the mirror is written (or a job failed).
  void WriteAll() {
    for (int i = 0; i < 100; ++i) {
      const uint64_t failed = daemon_->mirror()->stats().failed_jobs;
      runner_->RunAll();
      if (daemon_->mirror()->idle() || daemon_->mirror()->stats().failed_jobs > failed) return;
      loop_->RunUntil([&] { return runner_->queued() > 0; }, 1s);
      if (runner_->queued() == 0) return;  // dirty after a failure: waits for a change
    }
  }

  // What `nfsrecctl export --nfs-utils` writes from the store now.
  Tree ExportedFrom(const MemNsmStore& store, const std::string& list) {
    EXPECT_OK(ExportLegacyStatd(SnapshotOf(store), out_.path()));
    return ListFiles(out_.File(list));
  }

  // A clean stop: the drain, with the mirror's last job run.
  void Stop() {
    bool drained = false;
    daemon_->Drain([&] { drained = true; });
    for (int i = 0; i < 200 && !drained; ++i) {
      store_->Flush();
      runner_->RunAll();
      loop_->RunUntil([&] { return drained || runner_->queued() > 0; }, 10ms);
    }
    ASSERT_TRUE(drained);
  }

  // The committed contents of store_, for the next daemon.
  std::unique_ptr<MemNsmStore> CopyOfStore() const {
    auto next = std::make_unique<MemNsmStore>();
    for (const auto& [k, r] : store_->monitors()) next->Seed(r);
    for (const auto& [k, r] : store_->notify_list()) next->SeedNotify(r);
    next->SeedLocalState(store_->local_state());
    next->SeedBootId(store_->boot_id());
    return next;
  }

  TempDir dir_;
  TempDir db_dir_;  // where the in-step marker goes
  TempDir out_;
  std::string sm_;
  std::string bak_;
  RealFileSystem files_;
  CapturingLogger log_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<LoopScheduler> scheduler_;
  MemNsmStore* store_ = nullptr;
  FakeMirrorRunner* runner_ = nullptr;
  MemMirrorSource* source_ = nullptr;
  std::unique_ptr<NsmDaemon> daemon_;
};

TEST_F(SmMirrorTest, SmMonFileAppearsAfterItsCommitNotBefore) {
  Create();
  Start();
  runner_->RunAll();  // the start-up's rewrite
  EXPECT_EQ(StateFile(dir_.path()), 3);

  std::optional<StatRes> reply;
  Mon("client2", 1, &reply);
  EXPECT_EQ(runner_->queued(), 0u);  // not committed: nothing to write
  runner_->RunAll();
  EXPECT_FALSE(std::filesystem::exists(sm_ + "/client2.example"));

  store_->Flush();
  ASSERT_TRUE(reply.has_value());
  EXPECT_TRUE(reply->success);
  EXPECT_EQ(runner_->queued(), 1u);
  EXPECT_FALSE(std::filesystem::exists(sm_ + "/client2.example"));  // the reply did not wait
  runner_->RunAll();
  MonitorRecord rec{MonitorKey{"client2", "server", 100021, 3, 16}, CookieOf(1), "client2.example"};
  EXPECT_EQ(ReadAll(sm_ + "/client2.example"), FormatLegacyMonitorLine(rec));
  struct stat st;
  ASSERT_EQ(::stat((sm_ + "/client2.example").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(SmMirrorTest, SmUnmonRemovesTheLineThenTheHostsFile) {
  ASSERT_NO_FATAL_FAILURE(StartWithTwoRecordsOfClient2());

  UnmonCommitted("client2", "server");
  WriteAll();
  const Tree left = ListFiles(sm_);
  ASSERT_EQ(left.count("client2.example"), 1u);
  ASSERT_EQ(left.at("client2.example").size(), 1u);
  EXPECT_NE(left.at("client2.example")[0].find(" client2 other"), std::string::npos);

  UnmonCommitted("client2", "other");
  WriteAll();
  EXPECT_FALSE(std::filesystem::exists(sm_ + "/client2.example"));
}

// The host a record is filed under (its canonical name) comes back with the
// next start's load, so an SM_UNMON after a restart edits that host's file.
TEST_F(SmMirrorTest, SmUnmonAfterARestartEditsTheFileOfTheCanonicalName) {
  ASSERT_NO_FATAL_FAILURE(StartWithTwoRecordsOfClient2());
  Stop();

  Create(CopyOfStore());
  Start();
  WriteAll();
  UnmonCommitted("client2", "server");
  WriteAll();
  const Tree left = ListFiles(sm_);
  EXPECT_EQ(left.count("client2"), 0u);
  ASSERT_EQ(left.count("client2.example"), 1u);
  ASSERT_EQ(left.at("client2.example").size(), 1u);
  EXPECT_NE(left.at("client2.example")[0].find(" client2 other"), std::string::npos);
  EXPECT_EQ(left, ExportedFrom(*store_, "sm"));
}

TEST_F(SmMirrorTest, SmUnmonAllRemovesEveryFileOfThatCaller) {
  Create();
  Start();
  MonCommitted("10.1.0.1", 1, "server");
  MonCommitted("10.1.0.2", 2, "server");
  MonCommitted("10.1.0.3", 3, "ganesha");
  WriteAll();
  ASSERT_EQ(ListFiles(sm_).size(), 3u);

  std::optional<Result<int32_t>> all;
  daemon_->service().UnmonAll(Caller{true, true, "127.0.0.1"}, MyId{"server", 100021, 3, 16},
                              [&](Result<int32_t> r) { all = r; });
  store_->Flush();
  ASSERT_TRUE(all.has_value() && all->ok());
  WriteAll();
  const Tree left = ListFiles(sm_);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left.begin()->first, "10.1.0.3");
}

// A boot moves sm/ to sm.bak/ with state + 2; an acknowledged peer leaves
// sm.bak/, as sm-notify would leave them.
TEST_F(SmMirrorTest, BootMovesSmToSmBakAndBumpsTheStateFile) {
  Create();
  Start();
  MonCommitted("10.1.0.1", 1);
  MonCommitted("10.1.0.2", 2);
  WriteAll();

  std::optional<Result<NsmService::RebootPlan>> plan;
  daemon_->service().PrepareReboot("boot-2", false, true,
                                   [&](Result<NsmService::RebootPlan> p) { plan = std::move(p); });
  store_->Flush();
  ASSERT_TRUE(plan.has_value() && plan->ok());
  WriteAll();
  EXPECT_TRUE(ListFiles(sm_).empty());
  const Tree bak = ListFiles(bak_);
  EXPECT_EQ(bak.size(), 2u);
  EXPECT_EQ(bak, ExportedFrom(*store_, "sm.bak"));
  EXPECT_EQ(StateFile(dir_.path()), 5);

  daemon_->service().PeerNotified(MonitorKey{"10.1.0.1", "server", 100021, 3, 16});
  store_->Flush();
  WriteAll();
  ASSERT_EQ(ListFiles(bak_).size(), 1u);
  EXPECT_EQ(ListFiles(bak_).begin()->first, "10.1.0.2");
}

// 100 SM_MONs while a job runs: one more job writes them all.
TEST_F(SmMirrorTest, HundredSmMonsCoalesceIntoFewJobsAndTheFilesAreExact) {
  Create();
  Start();
  WriteAll();
  const size_t before = runner_->started();
  std::vector<std::optional<StatRes>> replies(100);
  for (int i = 0; i < 100; ++i) {
    daemon_->service().Mon(
        Caller{true, true, "127.0.0.1"},
        MonArgs{MonitorKey{"10.2.0." + std::to_string(i), "server", 100021, 3, 16},
                CookieOf(static_cast<uint8_t>(i))},
        [&replies, i](StatRes r) { replies[i] = r; });
  }
  ASSERT_TRUE(loop_->RunUntil([&] { return store_->pending() == 100; }, 5s));
  ASSERT_TRUE(store_->CommitNext());  // the first commit starts a job
  EXPECT_EQ(runner_->queued(), 1u);
  store_->Flush();  // the other 99 commit while it runs
  EXPECT_EQ(runner_->queued(), 1u);
  WriteAll();
  for (const auto& r : replies) ASSERT_TRUE(r.has_value() && r->success);
  EXPECT_EQ(runner_->started() - before, 2u);
  EXPECT_EQ(ListFiles(sm_).size(), 100u);
  EXPECT_EQ(ListFiles(sm_), ExportedFrom(*store_, "sm"));
  EXPECT_EQ(daemon_->mirror()->stats().failed_jobs, 0u);
}

TEST_F(SmMirrorTest, DrainWaitsForTheLastMirrorJob) {
  Create();
  Start();
  WriteAll();
  MonCommitted("10.1.0.1", 1);
  ASSERT_EQ(runner_->queued(), 1u);
  bool drained = false;
  daemon_->Drain([&] { drained = true; });
  for (int i = 0; i < 20 && !drained; ++i) {
    store_->Flush();
    loop_->RunUntil([] { return false; }, 2ms);
  }
  EXPECT_FALSE(drained);
  runner_->RunAll();
  ASSERT_TRUE(loop_->RunUntil([&] { return drained; }, 5s));
  EXPECT_EQ(ListFiles(sm_).count("10.1.0.1"), 1u);
}

// sm/ cannot be a directory here: the SM_MON still succeeds, one warning
// says so, and the next failure is not logged again.
TEST_F(SmMirrorTest, FailedWriteWarnsOnceAndNeverFailsTheRequest) {
  dir_.Write("sm", "not a directory");
  Create();
  Start();
  WriteAll();
  std::optional<StatRes> reply;
  Mon("10.1.0.1", 1, &reply);
  store_->Flush();
  ASSERT_TRUE(reply.has_value());
  EXPECT_TRUE(reply->success);
  WriteAll();
  MonCommitted("10.1.0.2", 2);
  WriteAll();
  size_t warnings = 0;
  for (const auto& [level, line] : log_.lines()) {
    if (level == LogLevel::kWarning && line.find("Keeping rpc.statd's files") != std::string::npos)
      ++warnings;
  }
  EXPECT_EQ(warnings, 1u);
  EXPECT_GE(daemon_->mirror()->stats().failed_jobs, 2u);
  EXPECT_EQ(store_->monitors().size(), 2u);
  // Once sm/ can be written, the next change writes what the failures left.
  ASSERT_EQ(::unlink(sm_.c_str()), 0);
  MonCommitted("10.1.0.3", 3);
  WriteAll();
  EXPECT_EQ(ListFiles(sm_).size(), 3u);
}

// A store that never took over keeps rpc.statd's files as they are: when
// the take-over fails, sm/ is untouched for the next try.
TEST_F(SmMirrorTest, NothingIsWrittenBeforeTheTakeOverIsCommitted) {
  MonitorRecord legacy{MonitorKey{"10.3.0.1", "server", 100021, 3, 16}, CookieOf(9), "10.3.0.1"};
  ASSERT_EQ(::mkdir(sm_.c_str(), 0700), 0);
  dir_.Write("sm/10.3.0.1", FormatLegacyMonitorLine(legacy));
  Create();
  store_->FailNext(Status::IOError("disk gone"));
  std::optional<Status> st;
  daemon_->Start([&](Status s) { st = s; });
  store_->Flush();
  ASSERT_TRUE(st.has_value());
  EXPECT_FALSE(st->ok());
  runner_->RunAll();
  EXPECT_EQ(runner_->started(), 0u);
  EXPECT_EQ(ReadAll(sm_ + "/10.3.0.1"), FormatLegacyMonitorLine(legacy));
}

// The next start reads the database, not the mirrored files: no second
// take-over, and a file the mirror had not yet removed (a crash right after
// an SM_UNMON's commit) brings nothing back and is removed.
TEST_F(SmMirrorTest, NextStartDoesNotTakeOverTheMirroredFiles) {
  Create();
  Start();
  MonCommitted("10.1.0.1", 1);
  WriteAll();
  MonitorRecord gone{MonitorKey{"10.1.0.9", "server", 100021, 3, 16}, CookieOf(7), "10.1.0.9"};
  dir_.Write("sm/10.1.0.9", FormatLegacyMonitorLine(gone));  // the lagging file

  auto next = std::make_unique<MemNsmStore>();
  for (const auto& [k, r] : store_->monitors()) next->Seed(r);
  next->SeedLocalState(store_->local_state());
  Create(std::move(next));
  Start();
  EXPECT_FALSE(log_.Contains("Took over from rpc.statd"));
  EXPECT_EQ(daemon_->service().monitor_count(), 1u);
  EXPECT_EQ(store_->monitors().size(), 1u);
  WriteAll();
  const Tree sm = ListFiles(sm_);
  ASSERT_EQ(sm.size(), 1u);
  EXPECT_EQ(sm.begin()->first, "10.1.0.1");
}

// After a reload (another process changed the store) every file is
// rewritten, strays included.
TEST_F(SmMirrorTest, ReloadRewritesEveryFile) {
  Create();
  Start();
  MonCommitted("10.1.0.1", 1);
  WriteAll();
  dir_.Write("sm/stray", "junk\n");
  std::optional<Status> reloaded;
  daemon_->Reload([&](Status s) { reloaded = s; });
  store_->Flush();
  ASSERT_TRUE(reloaded.has_value());
  WriteAll();
  EXPECT_EQ(ListFiles(sm_), ExportedFrom(*store_, "sm"));
  EXPECT_EQ(daemon_->mirror()->stats().whole_jobs, 2u);
}

// A whole rewrite (here after a reload) leaves a file that is already
// exact as it is (same inode), and replaces one edited in place.
TEST_F(SmMirrorTest, WholeRewriteLeavesExactFilesAloneAndFixesEditedOnes) {
  Create();
  Start();
  MonCommitted("10.1.0.1", 1);
  MonCommitted("10.1.0.2", 2);
  WriteAll();
  struct stat kept_before;
  ASSERT_EQ(::stat((sm_ + "/10.1.0.1").c_str(), &kept_before), 0);
  {
    std::ofstream edit(sm_ + "/10.1.0.2", std::ios::app);
    edit << "junk\n";
  }
  const uint64_t written = daemon_->mirror()->stats().files_written;
  std::optional<Status> reloaded;
  daemon_->Reload([&](Status s) { reloaded = s; });
  store_->Flush();
  ASSERT_TRUE(reloaded.has_value());
  WriteAll();
  struct stat kept_after;
  ASSERT_EQ(::stat((sm_ + "/10.1.0.1").c_str(), &kept_after), 0);
  EXPECT_EQ(kept_after.st_ino, kept_before.st_ino);
  EXPECT_EQ(ListFiles(sm_), ExportedFrom(*store_, "sm"));
  EXPECT_EQ(daemon_->mirror()->stats().files_written - written, 2u);  // 10.1.0.2 and state
}

// The mirror's job reads what it writes from the store when it runs, not
// what it was told: a host's file holds the host's committed records then,
// and hosts nobody told it about are left alone.
TEST_F(SmMirrorTest, JobReadsTheDirtyHostsRecordsFromTheStore) {
  Create();
  Start();
  WriteAll();
  std::optional<StatRes> reply;
  Mon("10.1.0.1", 1, &reply);
  store_->Flush();  // committed and told; its job is queued, not run
  ASSERT_EQ(runner_->queued(), 1u);
  // Meanwhile the store moved on: a new cookie for that key (not told yet),
  // and a host the mirror was never told of.
  MonitorRecord newer{MonitorKey{"10.1.0.1", "server", 100021, 3, 16}, CookieOf(5), "10.1.0.1"};
  store_->Seed(newer);
  store_->Seed(
      MonitorRecord{MonitorKey{"10.1.0.7", "server", 100021, 3, 16}, CookieOf(6), "10.1.0.7"});
  const size_t host_reads = source_->host_reads();
  runner_->RunAll();
  EXPECT_EQ(ReadAll(sm_ + "/10.1.0.1"), FormatLegacyMonitorLine(newer));
  EXPECT_FALSE(std::filesystem::exists(sm_ + "/10.1.0.7"));
  EXPECT_EQ(source_->host_reads() - host_reads, 1u);  // the one dirty host
}

// A host whose records were removed after the change the mirror was told
// of (here: SM_UNMON committed before the SM_MON's job ran) loses its file.
TEST_F(SmMirrorTest, HostRemovedBeforeItsJobRanLosesItsFile) {
  Create();
  Start();
  MonCommitted("client2", 1);  // resolved: its file is client2.example
  WriteAll();
  ASSERT_EQ(ListFiles(sm_).count("client2.example"), 1u);
  MonCommitted("client2", 2);  // a new cookie: a job is queued
  ASSERT_EQ(runner_->queued(), 1u);
  UnmonCommitted("client2", "server");
  runner_->RunAll();  // the queued job already finds no record
  EXPECT_FALSE(std::filesystem::exists(sm_ + "/client2.example"));
  WriteAll();
  EXPECT_TRUE(ListFiles(sm_).empty());
  EXPECT_EQ(daemon_->mirror()->stats().failed_jobs, 0u);
}

// A clean stop records the marker; the next start over the same database
// and files finds them in step and writes no host file.
TEST_F(SmMirrorTest, CleanStopRecordsTheMarkerAndTheNextStartRewritesNothing) {
  Create();
  Start();
  MonCommitted("client2", 1);
  MonCommitted("10.1.0.2", 2);
  WriteAll();
  Stop();
  EXPECT_EQ(daemon_->mirror()->stats().sealed, 1u);
  ASSERT_TRUE(std::filesystem::exists(db_dir_.File(SmMirror::kMarkerName)));
  const Tree before = ListFiles(sm_);
  struct stat was;
  ASSERT_EQ(::stat(sm_.c_str(), &was), 0);

  Create(CopyOfStore());
  Start();
  WriteAll();
  EXPECT_EQ(daemon_->mirror()->stats().in_step, 1u);
  EXPECT_EQ(daemon_->mirror()->stats().whole_jobs, 0u);
  EXPECT_EQ(daemon_->mirror()->stats().files_removed, 0u);
  EXPECT_LE(daemon_->mirror()->stats().files_written, 1u);  // `state` only
  struct stat now;
  ASSERT_EQ(::stat(sm_.c_str(), &now), 0);
  EXPECT_EQ(now.st_mtim.tv_nsec, was.st_mtim.tv_nsec);
  EXPECT_EQ(now.st_mtim.tv_sec, was.st_mtim.tv_sec);
  EXPECT_EQ(ListFiles(sm_), before);
  // Changes after the in-step start are still written.
  MonCommitted("10.1.0.3", 3);
  WriteAll();
  EXPECT_EQ(ListFiles(sm_), ExportedFrom(*store_, "sm"));
}

// A change the mirror never wrote (committed, then a crash, or made while
// the daemon was down) is not taken as in step: everything is rewritten.
TEST_F(SmMirrorTest, MarkerIsNotTrustedAfterAChangeTheFilesMissed) {
  Create();
  Start();
  MonCommitted("10.1.0.1", 1);
  MonCommitted("10.1.0.2", 2);
  WriteAll();
  Stop();
  ASSERT_EQ(daemon_->mirror()->stats().sealed, 1u);

  // Added and removed behind the files' back, the same number of rows.
  std::unique_ptr<MemNsmStore> next = CopyOfStore();
  next->Seed(
      MonitorRecord{MonitorKey{"10.1.0.9", "server", 100021, 3, 16}, CookieOf(9), "10.1.0.9"});
  auto copy = std::make_unique<MemNsmStore>();
  for (const auto& [k, r] : next->monitors()) {
    if (k.mon_name != "10.1.0.1") copy->Seed(r);
  }
  copy->SeedLocalState(next->local_state());
  copy->SeedBootId(store_->boot_id());
  Create(std::move(copy));
  Start();
  WriteAll();
  EXPECT_EQ(daemon_->mirror()->stats().in_step, 0u);
  EXPECT_EQ(daemon_->mirror()->stats().whole_jobs, 1u);
  EXPECT_EQ(ListFiles(sm_), ExportedFrom(*store_, "sm"));
  EXPECT_EQ(ListFiles(sm_).count("10.1.0.9"), 1u);
  EXPECT_EQ(ListFiles(sm_).count("10.1.0.1"), 0u);
}

// Only a cookie changed behind the files' back (same hosts, same count).
TEST_F(SmMirrorTest, MarkerIsNotTrustedAfterACookieChangedBehindTheFiles) {
  Create();
  Start();
  MonCommitted("10.1.0.1", 1);
  WriteAll();
  Stop();
  std::unique_ptr<MemNsmStore> next = CopyOfStore();
  MonitorRecord changed = *next->Find(MonitorKey{"10.1.0.1", "server", 100021, 3, 16});
  changed.priv = CookieOf(42);
  next->Seed(changed);
  Create(std::move(next));
  Start();
  WriteAll();
  EXPECT_EQ(daemon_->mirror()->stats().in_step, 0u);
  EXPECT_EQ(ReadAll(sm_ + "/10.1.0.1"), FormatLegacyMonitorLine(changed));
}

// Files changed by someone else after the marker (a stray added, a host's
// file removed) are not in step either.
TEST_F(SmMirrorTest, MarkerIsNotTrustedAfterTheFilesChanged) {
  Create();
  Start();
  MonCommitted("10.1.0.1", 1);
  MonCommitted("10.1.0.2", 2);
  WriteAll();
  Stop();
  ASSERT_EQ(::unlink((sm_ + "/10.1.0.2").c_str()), 0);
  dir_.Write("sm/stray", "junk\n");
  Create(CopyOfStore());
  Start();
  WriteAll();
  EXPECT_EQ(daemon_->mirror()->stats().in_step, 0u);
  EXPECT_EQ(ListFiles(sm_), ExportedFrom(*store_, "sm"));
}

// The sm-notify command changed the store behind the daemon (moved sm/ to
// sm.bak/ and bumped the state) and its reload never came: the drain's
// barrier load shows another state, so the stop rewrites every file before
// it records the marker, which is then true.
TEST_F(SmMirrorTest, StopAfterAChangeBehindTheMirrorRewritesBeforeTheMarker) {
  Create();
  Start();
  MonCommitted("10.1.0.1", 1);
  WriteAll();
  // Straight to the store, around the mirror.
  std::optional<Status> moved;
  store_->PrepareReboot(true, store_->local_state() + 2, "boot-9", [&](Status st) { moved = st; });
  store_->Flush();
  ASSERT_TRUE(moved.has_value() && moved->ok());
  Stop();
  EXPECT_EQ(daemon_->mirror()->stats().whole_jobs, 2u);
  EXPECT_TRUE(ListFiles(sm_).empty());
  EXPECT_EQ(ListFiles(bak_), ExportedFrom(*store_, "sm.bak"));
  EXPECT_EQ(StateFile(dir_.path()), store_->local_state());
  EXPECT_EQ(daemon_->mirror()->stats().sealed, 1u);
}

// The state changes between the drain's load and the flush's job: no
// marker is recorded, so the next start rewrites everything.
TEST_F(SmMirrorTest, NoMarkerWhenTheStateChangedBeforeTheSeal) {
  Create();
  Start();
  MonCommitted("10.1.0.1", 1);
  WriteAll();
  Stop();
  ASSERT_TRUE(std::filesystem::exists(db_dir_.File(SmMirror::kMarkerName)));
  Create(CopyOfStore());
  Start();
  WriteAll();
  ASSERT_EQ(daemon_->mirror()->stats().in_step, 1u);
  bool drained = false;
  daemon_->Drain([&] { drained = true; });
  store_->Flush();  // the drain's barrier load
  ASSERT_TRUE(loop_->RunUntil([&] { return runner_->queued() > 0; }, 5s));  // the flush's job
  store_->SeedLocalState(store_->local_state() + 2);
  runner_->RunAll();
  ASSERT_TRUE(loop_->RunUntil([&] { return drained; }, 5s));
  EXPECT_EQ(daemon_->mirror()->stats().sealed, 0u);
  EXPECT_FALSE(std::filesystem::exists(db_dir_.File(SmMirror::kMarkerName)));
}

// The flush that drain waits for is bounded.
TEST(SmMirrorFlush, GivesUpAfterTheLimitWithAWarning) {
  TempDir dir;
  FakeMirrorRunner runner;
  FakeScheduler scheduler;
  CapturingLogger log;
  NsmSnapshot snap;
  snap.local_state = 3;
  auto source = std::make_shared<MemMirrorSource>([&] { return snap; });
  SmMirror mirror(runner, source, scheduler, log, dir.path());
  LoadedFrom(mirror, snap);
  ASSERT_EQ(runner.queued(), 1u);
  bool flushed = false;
  mirror.Flush(5s, [&] { flushed = true; });
  scheduler.Advance(4s);
  EXPECT_FALSE(flushed);
  scheduler.Advance(1s);
  EXPECT_TRUE(flushed);
  EXPECT_TRUE(log.Contains("not written within 5 s"));
}

// Under a stream of changes the next job waits for the pace after the
// last one ended; a flush does not.
TEST(SmMirrorPace, NextJobWaitsForThePaceButAFlushDoesNot) {
  TempDir dir;
  FakeMirrorRunner runner;
  FakeScheduler scheduler;
  CapturingLogger log;
  NsmSnapshot snap;
  snap.local_state = 3;
  auto source = std::make_shared<MemMirrorSource>([&] { return snap; });
  SmMirror mirror(runner, source, scheduler, log, dir.path(), "", 100ms);
  LoadedFrom(mirror, snap);
  ASSERT_EQ(runner.queued(), 1u);
  MonitorRecord r{MonitorKey{"10.4.0.1", "server", 100021, 3, 16}, CookieOf(1), "10.4.0.1"};
  auto put = [&] {
    snap.monitors.push_back(r);  // committed, then told
    mirror.MonitorPut(r);
  };
  put();  // while the first job runs
  ASSERT_EQ(runner.RunAll(), 1u);
  EXPECT_EQ(runner.queued(), 0u);
  scheduler.Advance(99ms);
  EXPECT_EQ(runner.queued(), 0u);
  scheduler.Advance(1ms);
  ASSERT_EQ(runner.RunAll(), 1u);
  EXPECT_EQ(ListFiles(dir.File("sm")).size(), 1u);

  r.key.mon_name = "10.4.0.2";
  r.canonical_name = "10.4.0.2";
  put();  // nothing came during the last job: at once
  ASSERT_EQ(runner.queued(), 1u);
  r.key.mon_name = "10.4.0.3";
  r.canonical_name = "10.4.0.3";
  put();
  ASSERT_EQ(runner.RunAll(), 1u);
  EXPECT_EQ(runner.queued(), 0u);  // paced
  bool flushed = false;
  mirror.Flush(5s, [&] { flushed = true; });
  scheduler.Advance(0ms);
  ASSERT_EQ(runner.RunAll(), 1u);
  EXPECT_TRUE(flushed);
  EXPECT_EQ(ListFiles(dir.File("sm")).size(), 3u);
}

// A first snapshot of many hosts is one job: an ordered scan written a
// batch at a time, the strays removed.
TEST(SmMirrorBatches, WholeRewriteOfManyHostsIsOneJobThatRemovesStrays) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  dir.Write("sm/stray", "junk\n");
  dir.Write("sm/zz-stray", "junk\n");
  FakeMirrorRunner runner;
  FakeScheduler scheduler;
  CapturingLogger log;
  NsmSnapshot snap;
  snap.local_state = 3;
  const size_t hosts = 2 * kMirrorFilesPerWrite + 100;
  for (size_t i = 0; i < hosts; ++i) {
    const std::string name = StrCat("10.5.", i / 256, ".", i % 256);
    snap.monitors.push_back(
        MonitorRecord{MonitorKey{name, "server", 100021, 3, 16}, CookieOf(1), name});
  }
  auto source = std::make_shared<MemMirrorSource>([&] { return snap; });
  SmMirror mirror(runner, source, scheduler, log, dir.path(), "", 1s);
  LoadedFrom(mirror, snap);
  ASSERT_EQ(runner.queued(), 1u);
  ASSERT_EQ(runner.RunAll(), 1u);
  EXPECT_EQ(mirror.stats().whole_jobs, 1u);
  EXPECT_EQ(mirror.stats().files_removed, 2u);
  EXPECT_TRUE(mirror.idle());
  const Tree files = ListFiles(dir.File("sm"));
  EXPECT_EQ(files.size(), hosts);
  EXPECT_EQ(files.count("stray"), 0u);
  EXPECT_EQ(StateFile(dir.path()), 3);
}

// More stale hosts than one job takes: the jobs follow back to back.
TEST(SmMirrorBatches, ManyStaleHostsAreWrittenInBoundedJobsWithoutPacing) {
  TempDir dir;
  FakeMirrorRunner runner;
  FakeScheduler scheduler;
  CapturingLogger log;
  NsmSnapshot snap;
  snap.local_state = 3;
  auto source = std::make_shared<MemMirrorSource>([&] { return snap; });
  SmMirror mirror(runner, source, scheduler, log, dir.path(), "", 1s);
  LoadedFrom(mirror, snap);
  ASSERT_EQ(runner.RunAll(), 1u);
  const size_t hosts = SmMirror::kHostsPerJob + 10;
  for (size_t i = 0; i < hosts; ++i) {
    const std::string name = StrCat("10.6.", i / 256, ".", i % 256);
    MonitorRecord r{MonitorKey{name, "server", 100021, 3, 16}, CookieOf(2), name};
    snap.monitors.push_back(r);
    mirror.MonitorPut(r);
  }
  ASSERT_EQ(runner.RunAll(), 1u);  // the first put's job; the others came meanwhile
  scheduler.Advance(1s);           // the pace
  ASSERT_EQ(runner.RunAll(), 2u);  // kHostsPerJob, then the rest at once
  EXPECT_TRUE(mirror.idle());
  EXPECT_EQ(ListFiles(dir.File("sm")).size(), hosts);
}

TEST(SmMirrorFlush, EndsOnTheNextTurnWhenNothingIsLeft) {
  TempDir dir;
  FakeMirrorRunner runner;
  FakeScheduler scheduler;
  CapturingLogger log;
  auto source = std::make_shared<MemMirrorSource>([] { return NsmSnapshot(); });
  SmMirror mirror(runner, source, scheduler, log, dir.path());
  bool flushed = false;
  mirror.Flush(5s, [&] { flushed = true; });
  EXPECT_FALSE(flushed);  // never inline
  scheduler.Advance(0s);
  EXPECT_TRUE(flushed);
  EXPECT_FALSE(log.Contains("not written"));
}

// The SQLite reader: a host's records by its index, a scan in byte order
// of canonical_name, the state; on a database the store wrote.
class SqliteMirrorSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    auto loop = EventLoop::Create();
    ASSERT_OK(loop);
    loop_ = std::move(loop).value();
    auto db = sqlite::Db::Open(dir_.File("nfsrecd.sqlite"));
    ASSERT_OK(db);
    queue_ = std::make_unique<CommitQueue>(std::move(db).value(), *loop_);
    auto store = SqliteNsmStore::Open(*queue_);
    ASSERT_OK(store);
    store_ = std::move(store).value();
  }
  void Call(const std::function<void(NsmStore::Done)>& call) {
    std::optional<Status> st;
    call([&](Status s) { st = s; });
    ASSERT_TRUE(loop_->RunUntil([&] { return st.has_value(); }, 5s));
    ASSERT_OK(*st);
  }
  static MonitorRecord Rec(const std::string& mon, const std::string& host, uint8_t seed) {
    return MonitorRecord{MonitorKey{mon, "server", 100021, 3, 16}, CookieOf(seed), host};
  }

  TempDir dir_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<CommitQueue> queue_;
  std::unique_ptr<SqliteNsmStore> store_;
};

TEST_F(SqliteMirrorSourceTest, ReadsHostsByNameAndScansInHostOrder) {
  Call([&](auto d) { store_->SetLocalState(7, std::move(d)); });
  Call([&](auto d) { store_->PutMonitor(Rec("b", "host-b", 1), std::move(d)); });
  Call([&](auto d) { store_->PutMonitor(Rec("a2", "host-a", 2), std::move(d)); });
  Call([&](auto d) { store_->PutMonitor(Rec("c", "host-c", 3), std::move(d)); });
  Call([&](auto d) { store_->PutMonitor(Rec("a1", "host-a", 4), std::move(d)); });
  EXPECT_EQ(queue_->database_path(), dir_.File("nfsrecd.sqlite"));
  SqliteMirrorSource source(queue_->database_path());
  ASSERT_OK(source.Begin());
  Result<int32_t> state = source.LocalState();
  ASSERT_OK(state);
  EXPECT_EQ(*state, 7);
  std::vector<std::string> mons;
  ASSERT_OK(source.ReadHost(MirrorList::kMonitors, "host-a", [&](const MonitorRecord& r) {
    mons.push_back(r.key.mon_name);
    EXPECT_EQ(r.canonical_name, "host-a");
    EXPECT_EQ(r.priv, r.key.mon_name == "a1" ? CookieOf(4) : CookieOf(2));
    return Status::Ok();
  }));
  std::sort(mons.begin(), mons.end());
  EXPECT_EQ(mons, (std::vector<std::string>{"a1", "a2"}));
  std::vector<std::string> hosts;
  ASSERT_OK(source.Scan(MirrorList::kMonitors, [&](const MonitorRecord& r) {
    hosts.push_back(r.canonical_name);
    return Status::Ok();
  }));
  EXPECT_EQ(hosts, (std::vector<std::string>{"host-a", "host-a", "host-b", "host-c"}));
  size_t notify = 0;
  ASSERT_OK(source.Scan(MirrorList::kNotify, [&](const MonitorRecord&) {
    ++notify;
    return Status::Ok();
  }));
  EXPECT_EQ(notify, 0u);
  source.End();
  // The by-host read uses the schema's index, not a scan of the table.
  auto db = sqlite::Db::Open(dir_.File("nfsrecd.sqlite"));
  ASSERT_OK(db);
  auto plan =
      (*db)->Prepare("EXPLAIN QUERY PLAN SELECT mon_name FROM monitors WHERE canonical_name = ?1");
  ASSERT_OK(plan);
  ASSERT_OK(plan->Step());
  EXPECT_NE(plan->ColumnText(3).find("monitors_by_host"), std::string::npos) << plan->ColumnText(3);
}

// End to end on SQLite: a mirror whose jobs read the database writes what
// the export writes, and a later read sees a later commit.
TEST_F(SqliteMirrorSourceTest, MirrorOnTheDatabaseWritesWhatTheExportWrites) {
  TempDir state;
  TempDir out;
  Call([&](auto d) { store_->SetLocalState(3, std::move(d)); });
  Call([&](auto d) { store_->PutMonitor(Rec("10.7.0.1", "10.7.0.1", 1), std::move(d)); });
  FakeMirrorRunner runner;
  FakeScheduler scheduler;
  CapturingLogger log;
  SmMirror mirror(runner, std::make_shared<SqliteMirrorSource>(queue_->database_path()), scheduler,
                  log, state.path(), dir_.path());
  NsmSnapshot snap;
  snap.local_state = 3;
  snap.monitors.push_back(Rec("10.7.0.1", "10.7.0.1", 1));
  LoadedFrom(mirror, snap);
  ASSERT_EQ(runner.RunAll(), 1u);
  const MonitorRecord later = Rec("10.7.0.2", "10.7.0.2", 2);
  Call([&](auto d) { store_->PutMonitor(later, std::move(d)); });
  mirror.MonitorPut(later);
  ASSERT_EQ(runner.RunAll(), 1u);
  NsmSnapshot all;
  all.local_state = 3;
  all.monitors = {Rec("10.7.0.1", "10.7.0.1", 1), later};
  ASSERT_OK(ExportLegacyStatd(all, out.path()));
  EXPECT_EQ(ListFiles(state.File("sm")), ListFiles(out.File("sm")));
  EXPECT_EQ(StateFile(state.path()), 3);
}

}  // namespace
}  // namespace nfsrec::statd
