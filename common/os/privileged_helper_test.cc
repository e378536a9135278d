// The privileged helper, spawned from the test as the daemon spawns it,
// over a temporary --proc-root: what it serves, and that every forged
// request is refused while the helper keeps serving.
#include "common/os/privileged_helper.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <thread>

#include "common/os/signals.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include <gtest/gtest.h>

namespace nfsrec {
namespace {

constexpr char kState[] = "/proc/sys/fs/nfs/nsm_local_state";

class PrivilegedHelperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(tmp_.ok());
    tmp_.Write("proc/sys/fs/nfs/nsm_local_state", "0");
    tmp_.Write("proc/fs/nfsd/v4_end_grace", "N");
    tmp_.Write("proc/fs/nfsd/clients/7/info", "clientid: 0x1\n");
    tmp_.Write("proc/fs/lockd/nlm_end_grace", "N");
    tmp_.Write("proc/sys/kernel/hostname", "secret-host");
    tmp_.Write("etc/passwd", "root:x:0:0");
    ASSERT_EQ(::mkfifo(tmp_.File("cld").c_str(), 0600), 0);
    HelperPolicy policy;
    policy.proc_root = tmp_.path();
    policy.pipe_paths = {tmp_.File("cld"), tmp_.File("missing-cld")};
    Result<std::unique_ptr<PrivilegedHelper>> h = PrivilegedHelper::Start(policy);
    ASSERT_OK(h);
    helper_ = std::move(h).value();
  }

  HelperChannel& channel() { return *helper_->channel(); }

  // The helper still answers a legitimate request.
  void ExpectAlive() {
    Result<std::string> r = channel().ReadSmallFile(kState, ReadFileOptions{});
    ASSERT_OK(r);
  }

  void ExpectRefused(const std::string& request, const std::string& why) {
    Result<HelperChannel::Reply> r = channel().Call(request);
    ASSERT_TRUE(r.ok()) << why << ": " << r.status().ToString();
    EXPECT_TRUE(r->status.IsPermissionDenied()) << why << ": " << r->status.ToString();
    EXPECT_FALSE(r->fd.valid()) << why;
    ExpectAlive();
  }

  test_support::TempDir tmp_;
  std::unique_ptr<PrivilegedHelper> helper_;
};

TEST(IsHelperPathTest, OnlyTheKernelNfsDirectoriesGoToTheHelper) {
  EXPECT_TRUE(IsHelperPath("/proc/sys/fs/nfs/nsm_local_state"));
  EXPECT_TRUE(IsHelperPath("/proc/fs/lockd/nlm_end_grace"));
  EXPECT_TRUE(IsHelperPath("/proc/fs/nfsd/clients/3/info"));
  EXPECT_TRUE(IsHelperPath("/proc/fs/nfsd"));
  EXPECT_FALSE(IsHelperPath("/proc/fs/nfsdx/clients"));
  EXPECT_FALSE(IsHelperPath("/proc/sys/kernel/random/boot_id"));
  EXPECT_FALSE(IsHelperPath("/var/lib/nfs/sm/host"));
  EXPECT_FALSE(IsHelperPath("proc/fs/nfsd/x"));
}

TEST_F(PrivilegedHelperTest, WritesReadsAndListsAllowlistedFilesUnderTheProcRoot) {
  ASSERT_OK(channel().WriteExistingFile(kState, "17"));
  EXPECT_EQ(test_support::ReadFileBytes(tmp_.File("proc/sys/fs/nfs/nsm_local_state")), "17");
  Result<std::string> info =
      channel().ReadSmallFile("/proc/fs/nfsd/clients/7/info", ReadFileOptions{});
  ASSERT_OK(info);
  EXPECT_EQ(*info, "clientid: 0x1\n");
  Result<std::vector<DirEntry>> clients = channel().ListDirectory("/proc/fs/nfsd/clients");
  ASSERT_OK(clients);
  EXPECT_EQ(*clients, (std::vector<DirEntry>{{"7", FileType::kDirectory}}));
  // Never creates: a missing control file is a missing feature.
  Status missing = channel().WriteExistingFile("/proc/fs/nfsd/absent", "Y");
  EXPECT_TRUE(missing.IsNotFound()) << missing.ToString();
  EXPECT_FALSE(std::ifstream(tmp_.File("proc/fs/nfsd/absent")).good());
}

TEST_F(PrivilegedHelperTest, PathsOutsideTheAllowlistAreRefused) {
  for (const std::string& path :
       {std::string("/etc/passwd"), std::string("/proc/sys/kernel/hostname"),
        std::string("/proc/fs/nfsdx"), std::string("/proc/fs/nfsd/../../sys/kernel/hostname"),
        std::string("/proc/fs/nfsd/clients/../../../../etc/passwd"),
        std::string("/proc/fs/nfsd/./v4_end_grace"), std::string("/proc/fs/nfsd//v4_end_grace"),
        std::string("/proc/fs/nfsd/"), std::string("proc/fs/nfsd/v4_end_grace"),
        std::string("/proc/fs/nfsd/v4_end_grace\0/x", 30)}) {
    ExpectRefused(EncodeHelperRequest(HelperOp::kRead, 0, 1024, path), "read " + path);
    ExpectRefused(EncodeHelperRequest(HelperOp::kWrite, 0, 0, path, "Y"), "write " + path);
    ExpectRefused(EncodeHelperRequest(HelperOp::kList, 0, 0, path), "list " + path);
  }
  EXPECT_EQ(test_support::ReadFileBytes(tmp_.File("etc/passwd")), "root:x:0:0");
}

TEST_F(PrivilegedHelperTest, ASymbolicLinkBelowProcIsRefused) {
  ASSERT_EQ(::symlink(tmp_.File("etc/passwd").c_str(), tmp_.File("proc/fs/nfsd/link").c_str()), 0);
  ASSERT_EQ(::symlink(tmp_.File("etc").c_str(), tmp_.File("proc/fs/lockd/dir").c_str()), 0);
  ExpectRefused(EncodeHelperRequest(HelperOp::kRead, 0, 1024, "/proc/fs/nfsd/link"), "file link");
  ExpectRefused(EncodeHelperRequest(HelperOp::kWrite, 0, 0, "/proc/fs/nfsd/link", "x"), "write");
  ExpectRefused(EncodeHelperRequest(HelperOp::kRead, 0, 1024, "/proc/fs/lockd/dir/passwd"),
                "directory link");
  ExpectRefused(EncodeHelperRequest(HelperOp::kList, 0, 0, "/proc/fs/lockd/dir"), "list link");
  EXPECT_EQ(test_support::ReadFileBytes(tmp_.File("etc/passwd")), "root:x:0:0");
}

TEST_F(PrivilegedHelperTest, OversizedAndMalformedRequestsAreRefused) {
  ExpectRefused(EncodeHelperRequest(HelperOp::kWrite, 0, 0, kState, std::string(257, '1')),
                "write data over the limit");
  ExpectRefused(
      EncodeHelperRequest(HelperOp::kRead, 0, 64, "/proc/fs/nfsd/" + std::string(5000, 'a')),
      "path over the limit");
  ExpectRefused(std::string(200 * 1024, 'x'), "request over the limit");
  ExpectRefused("abc", "short header");
  std::string lying = EncodeHelperRequest(HelperOp::kRead, 0, 64, kState);
  lying[12] = static_cast<char>(0xff);  // path_len beyond the message
  lying[13] = static_cast<char>(0x7f);
  ExpectRefused(lying, "path length beyond the message");
  ExpectRefused(EncodeHelperRequest(static_cast<HelperOp>(0), 0, 64, kState), "op 0");
  ExpectRefused(EncodeHelperRequest(static_cast<HelperOp>(99), 0, 64, kState), "op 99");
  ExpectRefused(EncodeHelperRequest(HelperOp::kRead, 0x80, 64, kState), "unknown flags");
  ExpectRefused(EncodeHelperRequest(HelperOp::kRead, 0, 64, kState, "data"), "data on a read");
  EXPECT_EQ(test_support::ReadFileBytes(tmp_.File("proc/sys/fs/nfs/nsm_local_state")), "0");
}

TEST_F(PrivilegedHelperTest, ReadsAreBoundedWhateverTheCallerAsks) {
  tmp_.Write("proc/fs/nfsd/big", std::string(kMaxHelperReadBytes + 10, 'z'));
  Result<std::string> big =
      channel().ReadSmallFile("/proc/fs/nfsd/big", ReadFileOptions{.max_bytes = 1 << 30});
  EXPECT_TRUE(big.status().IsInvalidArgument()) << big.status().ToString();
  Result<std::string> cut = channel().ReadSmallFile(
      "/proc/fs/nfsd/big", ReadFileOptions{.max_bytes = 1 << 30, .truncate = true});
  ASSERT_OK(cut);
  EXPECT_EQ(cut->size(), kMaxHelperReadBytes);
}

TEST_F(PrivilegedHelperTest, OnlyTheConfiguredPipeIsOpenedAndPassedBack) {
  Result<UniqueFd> pipe = channel().OpenPipe(tmp_.File("cld"));
  ASSERT_OK(pipe);
  struct stat st;
  ASSERT_EQ(::fstat(pipe->get(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_TRUE(channel().OpenPipe(tmp_.File("missing-cld")).status().IsNotFound());
  ExpectRefused(EncodeHelperRequest(HelperOp::kOpenPipe, 0, 0, tmp_.File("etc/passwd")),
                "open another file");
  ExpectRefused(EncodeHelperRequest(HelperOp::kOpenPipe, 0, 0, tmp_.File("cld") + "/"),
                "a variant of the pipe path");
}

TEST_F(PrivilegedHelperTest, ConcurrentCallersEachGetTheirOwnAnswer) {
  std::vector<std::thread> threads;
  std::vector<int> failures(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([this, t, &failures] {
      for (int i = 0; i < 50; ++i) {
        Result<std::string> r = channel().ReadSmallFile(
            t % 2 ? "/proc/fs/nfsd/v4_end_grace" : "/proc/fs/lockd/nlm_end_grace", {});
        if (!r.ok() || *r != "N") ++failures[t];
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(failures, std::vector<int>(8, 0));
}

TEST_F(PrivilegedHelperTest, HelperExitsWhenTheDaemonSideGoes) {
  const pid_t pid = helper_->pid();
  std::shared_ptr<HelperChannel> kept = helper_->channel();
  helper_.reset();
  EXPECT_EQ(::kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
  EXPECT_TRUE(kept->ReadSmallFile(kState, {}).status().IsUnavailable());
}

// The daemon forks the helper with its quit signals and SIGUSR1 blocked;
// the helper blocks none (it ignores them).
TEST_F(PrivilegedHelperTest, HelperStartsWithNoSignalBlocked) {
  ASSERT_OK(BlockSignals({SIGTERM, SIGINT, SIGHUP, SIGUSR1}));
  HelperPolicy policy;
  policy.proc_root = tmp_.path();
  Result<std::unique_ptr<PrivilegedHelper>> h = PrivilegedHelper::Start(policy);
  ASSERT_OK(UnblockSignals({SIGTERM, SIGINT, SIGHUP, SIGUSR1}));
  ASSERT_OK(h);
  // Read once the helper sleeps: while it starts a thread, glibc blocks
  // every signal for a moment.
  const std::string path = "/proc/" + std::to_string((*h)->pid()) + "/status";
  std::string status;
  for (int i = 0; i < 200; ++i) {
    status = test_support::ReadFileBytes(path);
    if (status.find("\nState:\tS") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_NE(status.find("\nSigBlk:\t0000000000000000\n"), std::string::npos) << status;
}

TEST_F(PrivilegedHelperTest, AsRootTheHelperKeepsUidZeroAndOnlyReadSearch) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  std::string status =
      test_support::ReadFileBytes("/proc/" + std::to_string(helper_->pid()) + "/status");
  EXPECT_NE(status.find("\nUid:\t0\t0\t0\t0\n"), std::string::npos) << status;
  // CAP_DAC_READ_SEARCH (bit 2) only.
  EXPECT_NE(status.find("\nCapEff:\t0000000000000004\n"), std::string::npos) << status;
  EXPECT_NE(status.find("\nCapPrm:\t0000000000000004\n"), std::string::npos) << status;
  EXPECT_NE(status.find("\nCapBnd:\t0000000000000000\n"), std::string::npos) << status;
}

// nfsd makes the clients directory and each client's directory mode 0600
// and their files 0400: uid 0 without a capability could list the
// directory but not read a client's info.
TEST_F(PrivilegedHelperTest, AsRootReadsClientInfoBelowDirectoriesOfMode0600) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_EQ(::chmod(tmp_.File("proc/fs/nfsd/clients/7/info").c_str(), 0400), 0);
  ASSERT_EQ(::chmod(tmp_.File("proc/fs/nfsd/clients/7").c_str(), 0600), 0);
  ASSERT_EQ(::chmod(tmp_.File("proc/fs/nfsd/clients").c_str(), 0600), 0);
  Result<std::vector<DirEntry>> clients = channel().ListDirectory("/proc/fs/nfsd/clients");
  ASSERT_OK(clients);
  EXPECT_EQ(*clients, (std::vector<DirEntry>{{"7", FileType::kDirectory}}));
  Result<std::string> info =
      channel().ReadSmallFile("/proc/fs/nfsd/clients/7/info", ReadFileOptions{});
  ASSERT_OK(info);
  EXPECT_EQ(*info, "clientid: 0x1\n");
  ASSERT_EQ(::chmod(tmp_.File("proc/fs/nfsd/clients").c_str(), 0700), 0);  // TempDir removes it
  ASSERT_EQ(::chmod(tmp_.File("proc/fs/nfsd/clients/7").c_str(), 0700), 0);
}

TEST_F(PrivilegedHelperTest, HelperFileSystemSendsOnlyKernelNfsPathsToTheHelper) {
  tmp_.Write("state/sm/host", "record");
  // `rest` has no proc root: a /proc path reaching it would miss the tree.
  HelperFileSystem fs(helper_->channel(), std::make_shared<RealFileSystem>());
  Result<std::string> record = fs.ReadSmallFile(tmp_.File("state/sm/host"), {});
  ASSERT_OK(record);
  EXPECT_EQ(*record, "record");
  ASSERT_OK(fs.WriteExistingFile("/proc/fs/lockd/nlm_end_grace", "Y"));
  EXPECT_EQ(test_support::ReadFileBytes(tmp_.File("proc/fs/lockd/nlm_end_grace")), "Y");
  Result<std::vector<DirEntry>> listing = fs.ListDirectory(tmp_.File("state/sm"));
  ASSERT_OK(listing);
  EXPECT_EQ(listing->size(), 1u);
}

}  // namespace
}  // namespace nfsrec
