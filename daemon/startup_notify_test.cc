// Startup reports readiness and teardown to systemd (sd_notify) through
// $NOTIFY_SOCKET.
#include <sys/socket.h>
#include <sys/un.h>

#include <cstdlib>
#include <string>

#include "common/base/logging.h"
#include "common/base/unique_fd.h"
#include "config.h"
#include "daemon/process.h"
#include "tests/support/temp_dir.h"
#include <gtest/gtest.h>

namespace nfsrec {
namespace {

// A datagram socket standing in for systemd's notification socket.
class NotifySocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
#ifndef HAVE_LIBSYSTEMD
    GTEST_SKIP() << "built without libsystemd: sd_notify is a no-op";
#endif
    ASSERT_TRUE(tmp_.ok());
    path_ = tmp_.File("notify");
    sock_ = UniqueFd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    ASSERT_TRUE(sock_.valid());
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    ASSERT_LT(path_.size(), sizeof(addr.sun_path));
    path_.copy(addr.sun_path, path_.size());
    ASSERT_EQ(::bind(sock_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ASSERT_EQ(::setenv("NOTIFY_SOCKET", path_.c_str(), 1), 0);
  }
  void TearDown() override { ::unsetenv("NOTIFY_SOCKET"); }

  // The next message, or "" when none is queued.
  std::string Received() {
    char buf[512];
    ssize_t n = ::recv(sock_.get(), buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }

  test_support::TempDir tmp_;
  std::string path_;
  UniqueFd sock_;
  StderrLogger log_{"test", false};
};

TEST_F(NotifySocketTest, ReadySendsReadyWithOneLineStatus) {
  Startup startup(log_, "nfsrecd", /*foreground=*/true, /*echo=*/false);
  startup.Ready("NSM registered with rpcbind, NFSv4 client tracking off");
  EXPECT_EQ(Received(), "READY=1\nSTATUS=NSM registered with rpcbind, NFSv4 client tracking off");
  EXPECT_EQ(Received(), "");
}

TEST_F(NotifySocketTest, ReadyWithoutStatusSendsOnlyReady) {
  Startup startup(log_, "nfsrecd", /*foreground=*/true, /*echo=*/false);
  startup.Ready();
  EXPECT_EQ(Received(), "READY=1");
}

TEST_F(NotifySocketTest, StoppingSendsStoppingAndKeepsTheSocketForLaterReports) {
  Startup startup(log_, "nfsrecd", /*foreground=*/true, /*echo=*/false);
  startup.Ready();
  Startup::Stopping();
  EXPECT_EQ(Received(), "READY=1");
  EXPECT_EQ(Received(), "STOPPING=1\nSTATUS=stopping");
}

TEST_F(NotifySocketTest, FailureSendsNothing) {
  Startup startup(log_, "nfsrecd", /*foreground=*/true, /*echo=*/false);
  EXPECT_EQ(startup.Fail("open database", Status::NotFound("no such file")), 1);
  EXPECT_EQ(Received(), "");
}

}  // namespace
}  // namespace nfsrec
