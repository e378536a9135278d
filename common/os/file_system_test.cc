// The FileSystem contract, on the real files (under a TempDir standing in
// for the proc root) and on FakeFileSystem, which tests use in its place.
#include "common/os/file_system.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

#include "tests/support/fake_file_system.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include <gtest/gtest.h>

namespace nfsrec {
namespace {

TEST(RealFileSystemTest, TheProcRootAppliesToProcPathsOnly) {
  RealFileSystem none;
  EXPECT_EQ(none.Resolve("/proc/sys/x"), "/proc/sys/x");
  RealFileSystem fs("/tmp/root/");
  EXPECT_EQ(fs.Resolve("/proc/sys/x"), "/tmp/root/proc/sys/x");
  EXPECT_EQ(fs.Resolve("/proc"), "/tmp/root/proc");
  EXPECT_EQ(fs.Resolve("/var/lib/nfs/statd/state"), "/var/lib/nfs/statd/state");
  EXPECT_EQ(fs.Resolve("/procfs/x"), "/procfs/x");
}

class RealFileSystemFilesTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(tmp_.ok()); }
  test_support::TempDir tmp_;
  RealFileSystem fs_{tmp_.path()};
};

TEST_F(RealFileSystemFilesTest, ReadsAndWritesUnderTheRoot) {
  tmp_.Write("proc/sys/fs/nfs/nsm_local_state", "1");
  EXPECT_EQ(*fs_.ReadSmallFile("/proc/sys/fs/nfs/nsm_local_state", {}), "1");
  ASSERT_OK(fs_.WriteExistingFile("/proc/sys/fs/nfs/nsm_local_state", "5"));
  EXPECT_EQ(*fs_.ReadSmallFile("/proc/sys/fs/nfs/nsm_local_state", {}), "5");
  // Outside /proc the path is taken as given.
  EXPECT_EQ(*fs_.ReadSmallFile(tmp_.File("proc/sys/fs/nfs/nsm_local_state"), {}), "5");
}

TEST_F(RealFileSystemFilesTest, WritingNeverCreates) {
  Status st = fs_.WriteExistingFile("/proc/fs/lockd/nlm_end_grace", "Y");
  EXPECT_TRUE(st.IsNotFound()) << st.ToString();
  EXPECT_FALSE(std::filesystem::exists(tmp_.File("proc/fs/lockd/nlm_end_grace")));
}

TEST_F(RealFileSystemFilesTest, ReadBoundsFifosAndSymlinks) {
  tmp_.Write("big", std::string(100, 'x'));
  const std::string big = tmp_.File("big");
  EXPECT_TRUE(fs_.ReadSmallFile(big, {.max_bytes = 99}).status().IsInvalidArgument());
  EXPECT_EQ(*fs_.ReadSmallFile(big, {.max_bytes = 10, .truncate = true}), std::string(10, 'x'));
  EXPECT_TRUE(fs_.ReadSmallFile(tmp_.File("absent"), {}).status().IsNotFound());
  ASSERT_EQ(::mkfifo(tmp_.File("fifo").c_str(), 0600), 0);
  EXPECT_EQ(*fs_.ReadSmallFile(tmp_.File("fifo"), {}), "");  // does not block
  ASSERT_EQ(::symlink(big.c_str(), tmp_.File("link").c_str()), 0);
  EXPECT_OK(fs_.ReadSmallFile(tmp_.File("link"), {}));
  EXPECT_FALSE(fs_.ReadSmallFile(tmp_.File("link"), {.no_follow = true}).ok());
  EXPECT_OK(fs_.ReadSmallFile(big, {.shared_lock = true}));
}

TEST_F(RealFileSystemFilesTest, ListsOneLevelSortedWithTypes) {
  tmp_.Write("d/b", "");
  tmp_.Write("d/a/inner", "");
  ASSERT_EQ(::symlink("b", tmp_.File("d/c").c_str()), 0);
  ASSERT_EQ(::mkfifo(tmp_.File("d/.f").c_str(), 0600), 0);
  Result<std::vector<DirEntry>> l = fs_.ListDirectory(tmp_.File("d"));
  ASSERT_OK(l);
  EXPECT_EQ(*l, (std::vector<DirEntry>{{".f", FileType::kOther},
                                       {"a", FileType::kDirectory},
                                       {"b", FileType::kRegular},
                                       {"c", FileType::kSymlink}}));
  EXPECT_TRUE(fs_.ListDirectory(tmp_.File("none")).status().IsNotFound());
  EXPECT_TRUE(fs_.ListDirectory(tmp_.File("d/b")).status().IsNotFound());
}

TEST(FakeFileSystemTest, BehavesLikeTheRealOne) {
  FakeFileSystem fs;
  fs.SetFile("/proc/fs/nfsd/clients/2/info", "x");
  fs.SetFile("/proc/fs/nfsd/clients/10/info", "y");
  fs.MakeSpecial("/proc/fs/nfsd/clients/link", FileType::kSymlink);
  Result<std::vector<DirEntry>> l = fs.ListDirectory("/proc/fs/nfsd/clients");
  ASSERT_OK(l);
  EXPECT_EQ(*l, (std::vector<DirEntry>{{"10", FileType::kDirectory},
                                       {"2", FileType::kDirectory},
                                       {"link", FileType::kSymlink}}));
  EXPECT_TRUE(fs.ListDirectory("/proc/fs/nfsd/clients/2/info").status().IsNotFound());
  EXPECT_TRUE(fs.ListDirectory("/nowhere").status().IsNotFound());
  EXPECT_EQ(*fs.ReadSmallFile("/proc/fs/nfsd/clients/2/info", {}), "x");
  EXPECT_TRUE(fs.ReadSmallFile("/proc/x", {}).status().IsNotFound());
  EXPECT_FALSE(fs.ReadSmallFile("/proc/fs/nfsd/clients/link", {.no_follow = true}).ok());
  fs.SetFile("/big", "0123456789");
  EXPECT_TRUE(fs.ReadSmallFile("/big", {.max_bytes = 4}).status().IsInvalidArgument());
  EXPECT_EQ(*fs.ReadSmallFile("/big", {.max_bytes = 4, .truncate = true}), "0123");

  EXPECT_TRUE(fs.WriteExistingFile("/proc/absent", "Y").IsNotFound());
  ASSERT_OK(fs.WriteExistingFile("/big", "Y"));
  EXPECT_EQ(fs.Content("/big"), "Y");
  fs.FailWrites("/big", Status::Busy("nfsd is not running"));
  EXPECT_TRUE(fs.WriteExistingFile("/big", "Z").IsBusy());
  EXPECT_EQ(fs.writes(), (std::vector<FakeFileSystem::Write>{{"/big", "Y"}}));
  fs.Remove("/proc/fs/nfsd/clients");
  EXPECT_TRUE(fs.ListDirectory("/proc/fs/nfsd/clients").status().IsNotFound());
  EXPECT_OK(fs.ListDirectory("/proc/fs/nfsd"));
}

}  // namespace
}  // namespace nfsrec
