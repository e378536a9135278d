#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "daemon/nsm_endpoint.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include <gtest/gtest.h>

namespace nfsrec {
namespace {

class CheckStateDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(tmp_.ok());
    std::filesystem::create_directories(tmp_.File("state/sm"));
  }
  test_support::TempDir tmp_;
};

TEST_F(CheckStateDirectoryTest, DirectoryAndSymlinkToOneAreAccepted) {
  EXPECT_OK(CheckStateDirectory(tmp_.File("state")));
  // HA set-ups put the directory on shared storage behind a link.
  ASSERT_EQ(::symlink(tmp_.File("state").c_str(), tmp_.File("link").c_str()), 0);
  EXPECT_OK(CheckStateDirectory(tmp_.File("link")));
}

TEST_F(CheckStateDirectoryTest, RegularFileIsRefusedAsNotADirectory) {
  tmp_.Write("file", "x");
  Status st = CheckStateDirectory(tmp_.File("file"));
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << st.ToString();
  EXPECT_EQ(st.message(), "state directory " + tmp_.File("file") +
                              " is not a directory. Move the file away and create the directory "
                              "(install -d -m 0755 " +
                              tmp_.File("file") +
                              "), or set state-directory-path in the [statd] section of nfs.conf, "
                              "or -P DIR to use another");
  ASSERT_EQ(::symlink(tmp_.File("file").c_str(), tmp_.File("link").c_str()), 0);
  EXPECT_NE(CheckStateDirectory(tmp_.File("link")).message().find("is not a directory"),
            std::string::npos);
}

TEST_F(CheckStateDirectoryTest, MissingDirectoryAndDanglingLinkSayWhy) {
  Status st = CheckStateDirectory(tmp_.File("absent"));
  EXPECT_TRUE(st.IsNotFound()) << st.ToString();
  EXPECT_NE(st.message().find("No such file or directory. Create it (install -d -m 0755 " +
                              tmp_.File("absent")),
            std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("set state-directory-path in the [statd] section of nfs.conf, or -P"),
            std::string::npos)
      << st.message();
  ASSERT_EQ(::symlink(tmp_.File("absent").c_str(), tmp_.File("dangling").c_str()), 0);
  EXPECT_TRUE(CheckStateDirectory(tmp_.File("dangling")).IsNotFound());
}

TEST_F(CheckStateDirectoryTest, WorldWritableDirectoryIsRefusedWithTheFix) {
  const std::string state = tmp_.File("state");
  for (mode_t mode : {0777, 01777}) {  // the sticky bit (as on /tmp) does not help
    ASSERT_EQ(::chmod(state.c_str(), mode), 0);
    Status st = CheckStateDirectory(state);
    EXPECT_EQ(st.code(), Status::Code::kPermissionDenied) << st.ToString();
    EXPECT_NE(st.message().find("chmod o-w " + state), std::string::npos) << st.message();
  }
  ASSERT_EQ(::chmod(state.c_str(), 0755), 0);
  EXPECT_OK(CheckStateDirectory(state));
  ASSERT_EQ(::chmod((state + "/sm").c_str(), 0777), 0);
  Status sm = CheckStateDirectory(state);
  EXPECT_EQ(sm.code(), Status::Code::kPermissionDenied) << sm.ToString();
  EXPECT_NE(sm.message().find("chmod o-w " + state + "/sm"), std::string::npos) << sm.message();
  // Group-writable is the admin's choice, as with rpc.statd.
  ASSERT_EQ(::chmod((state + "/sm").c_str(), 0770), 0);
  EXPECT_OK(CheckStateDirectory(state));
}

}  // namespace
}  // namespace nfsrec
