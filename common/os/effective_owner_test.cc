#include "common/os/effective_owner.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/base/unique_fd.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include <gtest/gtest.h>

namespace nfsrec {
namespace {

TEST(EffectiveOwnerTest, FilesMadeMeanwhileBelongToTheDirectorysOwnerAndRootComesBack) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  test_support::TempDir dir;
  ASSERT_TRUE(dir.ok());
  ASSERT_EQ(::chown(dir.path().c_str(), 65534, 65534), 0);
  {
    Result<EffectiveOwner> owner = EffectiveOwner::Become(dir.path());
    ASSERT_OK(owner.status());
    EXPECT_TRUE(owner->active());
    EXPECT_EQ(::geteuid(), 65534u);
    UniqueFd fd(::open(dir.File("db-wal").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
    ASSERT_TRUE(fd.valid());
  }
  EXPECT_EQ(::geteuid(), 0u);
  EXPECT_EQ(::getegid(), 0u);
  struct stat st;
  ASSERT_EQ(::stat(dir.File("db-wal").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u);
  EXPECT_EQ(st.st_gid, 65534u);
}

TEST(EffectiveOwnerTest, ARootOwnedDirectoryChangesNothing) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  test_support::TempDir dir;
  ASSERT_TRUE(dir.ok());
  Result<EffectiveOwner> owner = EffectiveOwner::Become(dir.path());
  ASSERT_OK(owner.status());
  EXPECT_FALSE(owner->active());
  EXPECT_EQ(::geteuid(), 0u);
}

TEST(EffectiveOwnerTest, AMissingDirectoryChangesNothing) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  test_support::TempDir dir;
  ASSERT_TRUE(dir.ok());
  Result<EffectiveOwner> owner = EffectiveOwner::Become(dir.File("absent"));
  ASSERT_OK(owner.status());
  EXPECT_FALSE(owner->active());
}

}  // namespace
}  // namespace nfsrec
