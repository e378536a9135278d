// What the daemon hands over to the user it drops to, while still root: the
// database directory and files (and a database left at the old path), and
// the pid file.
#include "daemon/process.h"

#include <sys/capability.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <optional>

#include "common/store/database_location.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include <gtest/gtest.h>

namespace nfsrec {
namespace {

constexpr uid_t kUser = 65534;
constexpr gid_t kGroup = 65534;

PrivilegePlan Plan(PrivilegePlan::Action action) {
  PrivilegePlan plan;
  plan.action = action;
  plan.uid = kUser;
  plan.gid = kGroup;
  return plan;
}

struct stat Stat(const std::string& path) {
  struct stat st = {};
  ::lstat(path.c_str(), &st);
  return st;
}

class PrepareDatabaseDirTest : public ::testing::Test {
 protected:
  test_support::TempDir tmp_;
  const std::string state_ = tmp_.path();
  const std::string dir_ = DefaultDatabaseDir(state_);
  const std::string db_ = DatabaseFile(dir_);
  const std::string legacy_ = DatabaseFile(state_);
  CapturingLogger log_;
};

TEST_F(PrepareDatabaseDirTest, WithoutADropTheDirectoryIsMadeAndNothingElse) {
  ASSERT_OK(PrepareDatabaseDir(dir_, legacy_, Plan(PrivilegePlan::Action::kNone), log_));
  EXPECT_EQ(Stat(dir_).st_mode & 07777, 0700u);
  EXPECT_FALSE(std::filesystem::exists(db_));
}

TEST_F(PrepareDatabaseDirTest, ADatabaseAtTheOldPathMovesInWithItsWal) {
  tmp_.Write("nfsrecd.sqlite", "db");
  tmp_.Write("nfsrecd.sqlite-wal", "wal");
  ASSERT_OK(PrepareDatabaseDir(dir_, legacy_, Plan(PrivilegePlan::Action::kStayRoot), log_));
  EXPECT_EQ(test_support::ReadFileBytes(db_), "db");
  EXPECT_EQ(test_support::ReadFileBytes(db_ + "-wal"), "wal");
  EXPECT_FALSE(std::filesystem::exists(legacy_));
  EXPECT_FALSE(std::filesystem::exists(legacy_ + "-wal"));
  EXPECT_TRUE(log_.Contains("Moved the database " + legacy_ + " to " + db_));
}

TEST_F(PrepareDatabaseDirTest, ADatabaseAlreadyInPlaceIsNotReplacedByTheOldOne) {
  tmp_.Write("nfsrecd.sqlite", "old");
  tmp_.Write("nfsrecd/nfsrecd.sqlite", "new");
  ASSERT_OK(PrepareDatabaseDir(dir_, legacy_, Plan(PrivilegePlan::Action::kNone), log_));
  EXPECT_EQ(test_support::ReadFileBytes(db_), "new");
  EXPECT_EQ(test_support::ReadFileBytes(legacy_), "old");
}

// An interrupted move left the WAL in the new place: the next start moves
// the database beside it.
TEST_F(PrepareDatabaseDirTest, AMoveInterruptedAfterTheWalIsFinished) {
  tmp_.Write("nfsrecd.sqlite", "db");
  tmp_.Write("nfsrecd/nfsrecd.sqlite-wal", "wal");
  ASSERT_OK(PrepareDatabaseDir(dir_, legacy_, Plan(PrivilegePlan::Action::kNone), log_));
  EXPECT_EQ(test_support::ReadFileBytes(db_), "db");
  EXPECT_EQ(test_support::ReadFileBytes(db_ + "-wal"), "wal");
}

TEST_F(PrepareDatabaseDirTest, ForADropTheDirectoryAndTheDatabaseBecomeTheUsers) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give files away";
  tmp_.Write("nfsrecd.sqlite", "db");
  tmp_.Write("nfsrecd.sqlite-shm", "shm");
  ASSERT_OK(PrepareDatabaseDir(dir_, legacy_, Plan(PrivilegePlan::Action::kDrop), log_));
  for (const std::string& p : {dir_, db_, db_ + "-shm"}) {
    EXPECT_EQ(Stat(p).st_uid, kUser) << p;
    EXPECT_EQ(Stat(p).st_gid, kGroup) << p;
  }
  EXPECT_EQ(Stat(dir_).st_mode & 07777, 0700u);
}

TEST_F(PrepareDatabaseDirTest, ForADropAMissingDatabaseIsMadeEmptyAndTheUsers) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give files away";
  ASSERT_OK(PrepareDatabaseDir(dir_, legacy_, Plan(PrivilegePlan::Action::kDrop), log_));
  EXPECT_EQ(Stat(db_).st_uid, kUser);
  EXPECT_EQ(Stat(db_).st_size, 0);
}

// Under the unit's bounding set root has CAP_DAC_READ_SEARCH but not
// CAP_DAC_OVERRIDE: it can enter the user's 0700 directory but not create
// the database there; the user does, after the drop.
TEST_F(PrepareDatabaseDirTest, ForADropTheUsersDirectoryWithoutADatabaseIsLeftToTheUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give files away";
  std::filesystem::create_directories(dir_);
  ASSERT_EQ(::chmod(dir_.c_str(), 0700), 0);
  ASSERT_EQ(::chown(dir_.c_str(), kUser, kGroup), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    cap_t c = ::cap_get_proc();
    cap_value_t v = CAP_DAC_OVERRIDE;
    if (::cap_set_flag(c, CAP_EFFECTIVE, 1, &v, CAP_CLEAR) != 0 || ::cap_set_proc(c) != 0) {
      ::_exit(2);
    }
    ::cap_free(c);
    CapturingLogger log;
    ::_exit(PrepareDatabaseDir(dir_, legacy_, Plan(PrivilegePlan::Action::kDrop), log).ok() ? 0
                                                                                            : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(Stat(dir_).st_uid, kUser);
  EXPECT_FALSE(std::filesystem::exists(db_));
}

TEST_F(PrepareDatabaseDirTest, ADatabaseFileThatIsASymlinkIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give files away";
  tmp_.Write("elsewhere", "x");
  std::filesystem::create_directories(dir_);
  ASSERT_EQ(::symlink(tmp_.File("elsewhere").c_str(), db_.c_str()), 0);
  EXPECT_FALSE(PrepareDatabaseDir(dir_, legacy_, Plan(PrivilegePlan::Action::kDrop), log_).ok());
  EXPECT_EQ(Stat(tmp_.File("elsewhere")).st_uid, 0u);
}

TEST(HandOverPidfileTest, OnlyADropGivesThePidFileAway) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give files away";
  test_support::TempDir tmp;
  tmp.Write("pid", "1\n");
  ASSERT_OK(HandOverPidfile(tmp.File("pid"), Plan(PrivilegePlan::Action::kStayRoot)));
  EXPECT_EQ(Stat(tmp.File("pid")).st_uid, 0u);
  ASSERT_OK(HandOverPidfile(tmp.File("pid"), Plan(PrivilegePlan::Action::kDrop)));
  EXPECT_EQ(Stat(tmp.File("pid")).st_uid, kUser);
}

TEST(ReclaimPidfileTest, APidFileLeftByADroppedRunIsRootsAgain) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give files away";
  test_support::TempDir tmp;
  tmp.Write("pid", "");
  ASSERT_EQ(::chown(tmp.File("pid").c_str(), kUser, kGroup), 0);
  ASSERT_OK(ReclaimPidfile(tmp.File("pid"), Plan(PrivilegePlan::Action::kNone)));
  EXPECT_EQ(Stat(tmp.File("pid")).st_uid, kUser);  // not root: not ours to touch
  ASSERT_OK(ReclaimPidfile(tmp.File("pid"), Plan(PrivilegePlan::Action::kDrop)));
  EXPECT_EQ(Stat(tmp.File("pid")).st_uid, 0u);
  ASSERT_OK(ReclaimPidfile(tmp.File("absent"), Plan(PrivilegePlan::Action::kDrop)));
}

// A start that never answers, run against a 50 ms limit.
Status NeverAnswered(EventLoop& loop, const NoAnswer& no_answer) {
  std::optional<Callback<void(Status)>> kept;  // held, never called
  return StartAndWait(
      loop, [&](Callback<void(Status)> done) { kept.emplace(std::move(done)); },
      std::chrono::milliseconds(50), no_answer);
}

TEST(StartAndWaitTest, AnAnswerInTimeIsReturned) {
  auto loop = EventLoop::Create();
  ASSERT_OK(loop);
  Status s = StartAndWait(
      **loop,
      [&](Callback<void(Status)> done) {
        (*loop)->Post([done = std::move(done)]() mutable { done(Status::NotFound("no")); });
      },
      std::chrono::milliseconds(500));
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
}

TEST(StartAndWaitTest, OnSqliteTheTimeOutBlamesTheDatabasesDisk) {
  auto loop = EventLoop::Create();
  ASSERT_OK(loop);
  Status s = NeverAnswered(**loop, nullptr);
  EXPECT_TRUE(s.IsTimedOut()) << s.ToString();
  EXPECT_NE(s.message().find("the database did not answer in 50 ms"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("file system"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find("etcd"), std::string::npos) << s.message();
}

TEST(StartAndWaitTest, OnEtcdTheTimeOutNamesTheEndpointsAndQuorum) {
  auto loop = EventLoop::Create();
  ASSERT_OK(loop);
  Status s = NeverAnswered(**loop, [](Duration limit) {
    return EtcdNoAnswer({"http://10.0.0.1:2379", "http://10.0.0.2:2379"}, "i1",
                        /*etcd_answers=*/false, /*held=*/false, limit);
  });
  EXPECT_TRUE(s.IsTimedOut()) << s.ToString();
  const std::string& m = s.message();
  EXPECT_NE(m.find("etcd did not answer in 50 ms"), std::string::npos) << m;
  EXPECT_NE(m.find("(http://10.0.0.1:2379,http://10.0.0.2:2379)"), std::string::npos) << m;
  EXPECT_NE(m.find("quorum"), std::string::npos) << m;
  EXPECT_NE(m.find("etcdctl endpoint health"), std::string::npos) << m;
  EXPECT_EQ(m.find("database"), std::string::npos) << m;
}

TEST(StartAndWaitTest, OnEtcdAnInstanceKeptByAnotherOwnerSaysSoAndHowToFreeIt) {
  const std::string m = EtcdNoAnswer({"http://10.0.0.1:2379"}, "i1", /*etcd_answers=*/true,
                                     /*held=*/false, kStartLimit);
  EXPECT_NE(m.find("instance i1 was still held by another owner after 5 min"), std::string::npos)
      << m;
  EXPECT_NE(m.find("nfsrecctl cluster remove-node"), std::string::npos) << m;
  EXPECT_EQ(m.find("quorum"), std::string::npos) << m;
}

TEST(StartAndWaitTest, OnEtcdSlowLoadsOfAHeldInstanceAskForEtcdsHealth) {
  const std::string m = EtcdNoAnswer({"http://10.0.0.1:2379"}, "i1", /*etcd_answers=*/true,
                                     /*held=*/true, std::chrono::seconds(90));
  EXPECT_NE(m.find("etcd did not complete the instance's loads in 90 s"), std::string::npos) << m;
  EXPECT_NE(m.find("etcdctl endpoint status"), std::string::npos) << m;
}

}  // namespace
}  // namespace nfsrec
