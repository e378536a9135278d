// nfsrecctl import: its command line, and how it tells a running daemon
// (pid file lock, control socket) from a stopped one.
#include "daemon/nfsrecctl_import.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "common/base/unique_fd.h"
#include "tests/support/temp_dir.h"
#include <gtest/gtest.h>

namespace nfsrec {
namespace {

using test_support::TempDir;

TEST(NfsrecctlImport, FromOptionsAreParsedForImportOnly) {
  options::ParseResult<CtlCommandLine> cl =
      ParseCtlCommandLine({"nfsrecctl", "import", "--from-nfsdcld", "/a", "--from-nfsdcltrack=/b",
                           "--from-v4recovery", "/c"});
  ASSERT_TRUE(cl.ok()) << cl.status().message;
  EXPECT_EQ(cl->command, "import");
  EXPECT_EQ(cl->import_from.nfsdcld_dir, "/a");
  EXPECT_EQ(cl->import_from.nfsdcltrack_dir, "/b");
  EXPECT_EQ(cl->import_from.v4recovery_dir, "/c");
  options::ParseResult<CtlCommandLine> plain = ParseCtlCommandLine({"nfsrecctl", "import"});
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(plain->import_from.nfsdcld_dir.empty());
  options::ParseResult<CtlCommandLine> wrong =
      ParseCtlCommandLine({"nfsrecctl", "export", "--nfs-utils", "/o", "--from-nfsdcld", "/a"});
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().kind, options::ErrorKind::kUsage);
}

TEST(NfsrecctlImport, LockedPidFileMeansRunning) {
  TempDir dir;
  const std::string pid = dir.File("pid");
  EXPECT_FALSE(DaemonIsRunning(pid, dir.File("control")));  // neither exists
  UniqueFd fd(::open(pid.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  ASSERT_GE(fd.get(), 0);
  EXPECT_FALSE(DaemonIsRunning(pid, dir.File("control")));  // left by a daemon that exited
  // flock locks belong to the open file description: a second open of the
  // same file in this process is refused like another process would be.
  ASSERT_EQ(::flock(fd.get(), LOCK_EX | LOCK_NB), 0);
  EXPECT_TRUE(DaemonIsRunning(pid, dir.File("control")));
}

TEST(NfsrecctlImport, ListeningControlSocketMeansRunning) {
  TempDir dir;
  const std::string path = dir.File("control");
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof(addr.sun_path));
  std::memcpy(addr.sun_path, path.data(), path.size());
  ASSERT_EQ(::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  EXPECT_FALSE(DaemonIsRunning("", path));  // bound, not listening: refused
  ASSERT_EQ(::listen(sock.get(), 1), 0);
  EXPECT_TRUE(DaemonIsRunning("", path));
}

}  // namespace
}  // namespace nfsrec
