// Privilege drops.  A drop cannot be undone, so each runs in a forked child
// that reports /proc/self/status back through a pipe; those need root and
// skip without it.  Planning runs unprivileged.
#include "common/os/privileges.h"

#include <fcntl.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/os/file_system.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include <gtest/gtest.h>

namespace nfsrec {
namespace {

constexpr uid_t kUser = 65534;  // nobody
constexpr gid_t kGroup = 65534;
constexpr uint64_t kNetBindService = 1ULL << 10;

class NullLogger final : public Logger {
 public:
  void Write(LogLevel, std::string_view m) override { lines.emplace_back(m); }
  bool DebugEnabled() const override { return true; }
  std::vector<std::string> lines;
};

// Runs `body` in a forked child; returns what it wrote to the fd it got.
std::string InChild(const std::function<void(int out)>& body) {
  int p[2];
  if (::pipe(p) != 0) return "pipe failed";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    body(p[1]);
    ::_exit(0);
  }
  ::close(p[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(p[0]);
  ::waitpid(pid, nullptr, 0);
  return out;
}

void Put(int fd, const std::string& s) { (void)!::write(fd, s.data(), s.size()); }

void PutOwnStatus(int fd) {
  int in = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  char buf[8192];
  ssize_t n;
  while ((n = ::read(in, buf, sizeof(buf))) > 0) (void)!::write(fd, buf, static_cast<size_t>(n));
  ::close(in);
}

// "Key:\tvalue" lines of a /proc/PID/status text.
std::map<std::string, std::string> Fields(const std::string& status) {
  std::map<std::string, std::string> f;
  std::istringstream in(status);
  std::string line;
  while (std::getline(in, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    size_t v = line.find_first_not_of(" \t", colon + 1);
    f[line.substr(0, colon)] = v == std::string::npos ? "" : line.substr(v);
  }
  return f;
}

uint64_t Hex(const std::string& s) { return std::stoull(s, nullptr, 16); }

TEST(PlanPrivilegeDropTest, NotRootPlansNothingAndLooksAtNothing) {
  Result<PrivilegePlan> plan = PlanPrivilegeDrop("/nonexistent-state-dir", 1000);
  ASSERT_OK(plan);
  EXPECT_EQ(plan->action, PrivilegePlan::Action::kNone);
}

TEST(PlanPrivilegeDropTest, RootPlansTheOwnerOfSmNotOfTheStateDirectory) {
  test_support::TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  ASSERT_EQ(::mkdir(tmp.File("sm").c_str(), 0700), 0);
  uid_t want_uid = ::getuid();
  gid_t want_gid = ::getgid();
  if (::geteuid() == 0) {
    want_uid = 12345;
    want_gid = 23456;
    ASSERT_EQ(::chown(tmp.File("sm").c_str(), want_uid, want_gid), 0);
  }
  Result<PrivilegePlan> plan = PlanPrivilegeDrop(tmp.path(), 0);
  ASSERT_OK(plan);
  EXPECT_EQ(plan->action,
            want_uid == 0 ? PrivilegePlan::Action::kStayRoot : PrivilegePlan::Action::kDrop);
  EXPECT_EQ(plan->uid, want_uid);
  EXPECT_EQ(plan->gid, want_gid);
  EXPECT_EQ(plan->sm_path, tmp.File("sm"));
}

TEST(PlanPrivilegeDropTest, RootOwnedSmMeansStayRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to own sm/ as root";
  test_support::TempDir tmp;
  ASSERT_EQ(::mkdir(tmp.File("sm").c_str(), 0700), 0);
  Result<PrivilegePlan> plan = PlanPrivilegeDrop(tmp.path(), 0);
  ASSERT_OK(plan);
  EXPECT_EQ(plan->action, PrivilegePlan::Action::kStayRoot);
}

TEST(PlanPrivilegeDropTest, MissingSmMeansStayingRoot) {
  test_support::TempDir tmp;
  Result<PrivilegePlan> plan = PlanPrivilegeDrop(tmp.path(), 0);
  ASSERT_OK(plan);
  EXPECT_EQ(plan->action, PrivilegePlan::Action::kStayRoot);
  EXPECT_TRUE(plan->sm_missing);
}

TEST(PlanPrivilegeDropTest, AnSmThatCannotBeExaminedIsAnError) {
  test_support::TempDir tmp;
  tmp.Write("file", "x");  // a state "directory" that is a file: ENOTDIR
  Result<PrivilegePlan> plan = PlanPrivilegeDrop(tmp.File("file"), 0);
  EXPECT_FALSE(plan.ok());
}

TEST(PlanPrivilegeDropTest, ASymlinkNamedSmSpeaksForItself) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to lchown";
  test_support::TempDir tmp;
  ASSERT_EQ(::mkdir(tmp.File("real").c_str(), 0700), 0);
  ASSERT_EQ(::chown(tmp.File("real").c_str(), 111, 111), 0);
  ASSERT_EQ(::symlink("real", tmp.File("sm").c_str()), 0);
  ASSERT_EQ(::lchown(tmp.File("sm").c_str(), 222, 222), 0);
  Result<PrivilegePlan> plan = PlanPrivilegeDrop(tmp.path(), 0);
  ASSERT_OK(plan);
  EXPECT_EQ(plan->uid, 222u);
}

PrivilegePlan DropTo(uid_t uid, gid_t gid) {
  PrivilegePlan plan;
  plan.action = PrivilegePlan::Action::kDrop;
  plan.uid = uid;
  plan.gid = gid;
  plan.sm_path = "/state/sm";
  return plan;
}

TEST(ApplyPrivilegePlanTest, DropKeepsOnlyNetBindServicePermittedAndEffective) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  std::string out = InChild([](int fd) {
    NullLogger log;
    Status s = ApplyPrivilegePlan(DropTo(kUser, kGroup), log);
    Put(fd, "result:\t" + s.ToString() + "\n");
    Put(fd, "log:\t" + (log.lines.empty() ? std::string() : log.lines.back()) + "\n");
    PutOwnStatus(fd);
  });
  std::map<std::string, std::string> f = Fields(out);
  EXPECT_EQ(f["result"], "OK");
  EXPECT_EQ(f["log"], "Effective UID, GID: 65534, 65534");
  EXPECT_EQ(f["Uid"], "65534\t65534\t65534\t65534");
  EXPECT_EQ(f["Gid"], "65534\t65534\t65534\t65534");
  EXPECT_EQ(f["Groups"], "");
  EXPECT_EQ(Hex(f["CapEff"]), kNetBindService);
  EXPECT_EQ(Hex(f["CapPrm"]), kNetBindService);
  EXPECT_EQ(Hex(f["CapInh"]), 0u);
  EXPECT_EQ(Hex(f["CapAmb"]), 0u);
  EXPECT_EQ(Hex(f["CapBnd"]), 0u);
}

TEST(ApplyPrivilegePlanTest, AProgramExecutedAfterTheDropHasNoCapabilities) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  std::string out = InChild([](int fd) {
    NullLogger log;
    if (!ApplyPrivilegePlan(DropTo(kUser, kGroup), log).ok()) return;
    ::dup2(fd, STDOUT_FILENO);
    ::execl("/bin/cat", "cat", "/proc/self/status", static_cast<char*>(nullptr));
  });
  std::map<std::string, std::string> f = Fields(out);
  ASSERT_TRUE(f.count("CapEff")) << out;
  EXPECT_EQ(f["Uid"], "65534\t65534\t65534\t65534");
  EXPECT_EQ(Hex(f["CapEff"]), 0u);
  EXPECT_EQ(Hex(f["CapPrm"]), 0u);
  EXPECT_EQ(Hex(f["CapAmb"]), 0u);
}

TEST(ApplyPrivilegePlanTest, StayRootPrunesTheBoundingSetAndWarns) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  std::string out = InChild([](int fd) {
    NullLogger log;
    PrivilegePlan plan = DropTo(0, 0);
    plan.action = PrivilegePlan::Action::kStayRoot;
    Status s = ApplyPrivilegePlan(plan, log);
    Put(fd, "result:\t" + s.ToString() + "\n");
    Put(fd, "log:\t" + (log.lines.empty() ? std::string() : log.lines.back()) + "\n");
    PutOwnStatus(fd);
  });
  std::map<std::string, std::string> f = Fields(out);
  EXPECT_EQ(f["result"], "OK");
  EXPECT_EQ(f["log"], "Running as root.  chown /state/sm to choose a different user");
  EXPECT_EQ(f["Uid"], "0\t0\t0\t0");
  EXPECT_EQ(Hex(f["CapBnd"]), 0u);
  EXPECT_NE(Hex(f["CapEff"]), 0u);  // root keeps what it had
}

TEST(ApplyPrivilegePlanTest, RefusedWhileAnotherThreadExists) {
  std::string out = InChild([](int fd) {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    std::thread other([&] {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return done; });
    });
    NullLogger log;
    Status s = ApplyPrivilegePlan(DropTo(kUser, kGroup), log);
    Put(fd, "result:\t" + std::string(s.IsInvalidArgument() ? "refused" : s.ToString()) + "\n");
    Put(fd, "uid:\t" + std::to_string(::geteuid()) + "\n");
    {
      std::lock_guard<std::mutex> lock(mu);
      done = true;
    }
    cv.notify_all();
    other.join();
  });
  std::map<std::string, std::string> f = Fields(out);
  EXPECT_EQ(f["result"], "refused");
  EXPECT_EQ(f["uid"], std::to_string(::geteuid()));
}

TEST(ApplyPrivilegePlanTest, ALateDropLeavesOtherThreadsWithoutAnyCapability) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  std::string out = InChild([](int fd) {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    pid_t other_tid = 0;
    std::thread other([&] {
      std::unique_lock<std::mutex> lock(mu);
      other_tid = ::gettid();
      cv.notify_all();
      cv.wait(lock, [&] { return done; });
    });
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return other_tid != 0; });
    }
    NullLogger log;
    Status s = ApplyPrivilegePlan(DropTo(kUser, kGroup), log, OtherThreads::kLoseEverything);
    Put(fd, "result:\t" + s.ToString() + "\n");
    RealFileSystem files;
    Result<std::string> st = files.ReadSmallFile(
        "/proc/self/task/" + std::to_string(other_tid) + "/status", ReadFileOptions{});
    if (st.ok()) {
      std::map<std::string, std::string> f = Fields(*st);
      Put(fd, "otherEff:\t" + f["CapEff"] + "\notherPrm:\t" + f["CapPrm"] + "\notherUid:\t" +
                  f["Uid"] + "\n");
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      done = true;
    }
    cv.notify_all();
    other.join();
    PutOwnStatus(fd);
  });
  std::map<std::string, std::string> f = Fields(out);
  EXPECT_EQ(f["result"], "OK");
  EXPECT_EQ(Hex(f["CapEff"]), kNetBindService);
  EXPECT_EQ(f["otherUid"], "65534\t65534\t65534\t65534");
  EXPECT_EQ(Hex(f["otherEff"]), 0u);
  EXPECT_EQ(Hex(f["otherPrm"]), 0u);
}

TEST(DropToRootWithoutCapabilitiesTest, StaysUidZeroWithNoCapabilityAndNoDacOverride) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  test_support::TempDir tmp;
  tmp.Write("theirs", "secret");
  ASSERT_EQ(::chown(tmp.File("theirs").c_str(), kUser, kGroup), 0);
  ASSERT_EQ(::chmod(tmp.File("theirs").c_str(), 0600), 0);
  const std::string theirs = tmp.File("theirs");
  std::string out = InChild([&theirs](int fd) {
    Status s = DropToRootWithoutCapabilities();
    Put(fd, "result:\t" + s.ToString() + "\n");
    int other = ::open(theirs.c_str(), O_RDONLY | O_CLOEXEC);
    Put(fd, std::string("open_theirs:\t") + (other < 0 ? "refused" : "allowed") + "\n");
    PutOwnStatus(fd);
  });
  std::map<std::string, std::string> f = Fields(out);
  EXPECT_EQ(f["result"], "OK");
  EXPECT_EQ(f["Uid"], "0\t0\t0\t0");
  EXPECT_EQ(Hex(f["CapEff"]), 0u);
  EXPECT_EQ(Hex(f["CapPrm"]), 0u);
  EXPECT_EQ(Hex(f["CapBnd"]), 0u);
  EXPECT_EQ(f["open_theirs"], "refused");
}

// The privileged helper's drop: CAP_DAC_READ_SEARCH stays, so a directory
// of mode 0600 (as nfsd makes /proc/fs/nfsd/clients/<id>) can be entered,
// and nothing else: no write to someone else's file.
TEST(DropToRootWithoutCapabilitiesTest, KeepsReadSearchOnlyWhenAskedAndPermitted) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  test_support::TempDir tmp;
  tmp.Write("dir/info", "x");
  ASSERT_EQ(::chmod(tmp.File("dir/info").c_str(), 0400), 0);
  ASSERT_EQ(::chmod(tmp.File("dir").c_str(), 0600), 0);
  tmp.Write("theirs", "secret");
  ASSERT_EQ(::chown(tmp.File("theirs").c_str(), kUser, kGroup), 0);
  ASSERT_EQ(::chmod(tmp.File("theirs").c_str(), 0600), 0);
  const std::string info = tmp.File("dir/info");
  const std::string theirs = tmp.File("theirs");
  for (bool permitted : {true, false}) {
    SCOPED_TRACE(permitted);
    std::string out = InChild([&](int fd) {
      if (!permitted) {
        // The unit's bounding set lacked it: not permitted when the daemon started.
        cap_t c = ::cap_get_proc();
        cap_value_t v = CAP_DAC_READ_SEARCH;
        ::cap_set_flag(c, CAP_PERMITTED, 1, &v, CAP_CLEAR);
        ::cap_set_flag(c, CAP_EFFECTIVE, 1, &v, CAP_CLEAR);
        if (::cap_set_proc(c) != 0) Put(fd, "setup:\tfailed\n");
        ::cap_free(c);
      }
      Status s = DropToRootWithoutCapabilities(RootKeeps::kReadSearchIfPermitted);
      Put(fd, "result:\t" + s.ToString() + "\n");
      int in = ::open(info.c_str(), O_RDONLY | O_CLOEXEC);
      Put(fd, std::string("open_info:\t") + (in < 0 ? "refused" : "allowed") + "\n");
      int other = ::open(theirs.c_str(), O_WRONLY | O_CLOEXEC);
      Put(fd, std::string("write_theirs:\t") + (other < 0 ? "refused" : "allowed") + "\n");
      PutOwnStatus(fd);
    });
    std::map<std::string, std::string> f = Fields(out);
    EXPECT_EQ(f["setup"], "");
    EXPECT_EQ(f["result"], "OK");
    EXPECT_EQ(f["Uid"], "0\t0\t0\t0");
    const uint64_t read_search = permitted ? uint64_t{1} << CAP_DAC_READ_SEARCH : 0;
    EXPECT_EQ(Hex(f["CapEff"]), read_search);
    EXPECT_EQ(Hex(f["CapPrm"]), read_search);
    EXPECT_EQ(Hex(f["CapBnd"]), 0u);
    EXPECT_EQ(f["open_info"], permitted ? "allowed" : "refused");
    EXPECT_EQ(f["write_theirs"], "refused");
  }
}

TEST(DropToRootWithoutCapabilitiesTest, RefusedWhenNotRoot) {
  if (::geteuid() == 0) {
    std::string out = InChild([](int fd) {
      if (::setresuid(kUser, kUser, kUser) != 0) return;
      Status s = DropToRootWithoutCapabilities();
      Put(fd, s.IsPermissionDenied() ? "refused" : s.ToString());
    });
    EXPECT_EQ(out, "refused");
    return;
  }
  EXPECT_TRUE(DropToRootWithoutCapabilities().IsPermissionDenied());
}

}  // namespace
}  // namespace nfsrec
