// The emulator itself, driven by hand through its FUSE mount: sizes, xids,
// partial reads, re-sending, poll, and the pipe going away.
#include "tests/cld_emulator/kernel_emulator.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <thread>

#include "common/base/unique_fd.h"
#include "tests/cld_emulator/harness.h"
#include "tests/support/status_matchers.h"
#include <gtest/gtest.h>

namespace nfsrec::cldemu {
namespace {

using namespace std::chrono_literals;
using nfs4rec::CldCommand;

class EmulatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(tmp_.ok());
    mnt_ = tmp_.path() + "/mnt";
    ASSERT_EQ(mkdir(mnt_.c_str(), 0755), 0);
    EmulatorOptions o;
    o.mountpoint = mnt_;
    auto k = KernelEmulator::Mount(o);
    if (!k.ok()) GTEST_SKIP() << "FUSE unavailable: " << k.status().ToString();
    k_ = std::move(k).value();
  }
  void OpenPipe() {
    for (int i = 0; i < 200 && !fd_; ++i) {
      fd_.reset(open(k_->pipe_path().c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
      if (!fd_) std::this_thread::sleep_for(5ms);
    }
    ASSERT_TRUE(fd_.valid());
  }
  // Reads one message: header, then the rest by version.
  std::vector<uint8_t> ReadMsg(int timeout_ms = 5000) {
    pollfd p{fd_.get(), POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return {};
    std::vector<uint8_t> b(2048);
    ssize_t n = read(fd_.get(), b.data(), 8);
    if (n != 8) return {};
    size_t rest = nfs4rec::CldMessageSize(b[0]).value() - 8;
    ssize_t m = read(fd_.get(), b.data() + 8, rest);
    EXPECT_EQ(m, static_cast<ssize_t>(rest));
    b.resize(8 + rest);
    return b;
  }
  ssize_t Write(const CldMessage& m) {
    auto b = nfs4rec::EncodeCldDowncall(m).value();
    return write(fd_.get(), b.data(), b.size());
  }
  CldMessage Reply(const std::vector<uint8_t>& up, int16_t status) {
    CldMessage m = nfs4rec::DecodeCldUpcall(up).value();
    CldMessage r;
    r.version = m.version;
    r.command = m.command;
    r.xid = m.xid;
    r.status = status;
    return r;
  }
  // Boots nfsd, answering GetVersion and GraceStart by hand.
  void Boot(std::vector<std::string> records = {}) {
    auto boot = std::async(std::launch::async, [this] { return k_->StartNfsd(); });
    OpenPipe();
    auto gv = ReadMsg();
    ASSERT_EQ(gv.size(), 1034u);
    CldMessage r = Reply(gv, 0);
    r.max_version = 2;
    ASSERT_EQ(Write(r), 1034);
    auto gs = ReadMsg();
    ASSERT_EQ(gs.size(), 1067u);
    for (const std::string& name : records) {
      CldMessage rec = Reply(gs, nfs4rec::kCldEInProgress);
      rec.name = name;
      ASSERT_EQ(Write(rec), 1067);
    }
    ASSERT_EQ(Write(Reply(gs, 0)), 1067);
    if (records.empty()) {
      auto gd = ReadMsg();  // skipped grace: GraceDone at once
      ASSERT_EQ(gd[1], static_cast<uint8_t>(CldCommand::kGraceDone));
      ASSERT_EQ(Write(Reply(gd, 0)), 1067);
    }
    BootResult br = boot.get();
    ASSERT_OK(br.status);
    EXPECT_EQ(br.version, 2);
  }

  TempDir tmp_;
  std::string mnt_;
  std::unique_ptr<KernelEmulator> k_;
  UniqueFd fd_;
};

TEST_F(EmulatorTest, NegotiatesAndRejectsWrongSizesAndXids) {
  auto boot = std::async(std::launch::async, [this] { return k_->StartNfsd(); });
  OpenPipe();
  auto gv = ReadMsg();
  ASSERT_EQ(gv.size(), 1034u);  // GetVersion always goes out v1-sized
  EXPECT_EQ(gv[0], 1);
  std::vector<uint8_t> big(1067, 0);
  std::memcpy(big.data(), gv.data(), 8);
  errno = 0;
  EXPECT_EQ(write(fd_.get(), big.data(), big.size()), -1);
  EXPECT_EQ(errno, EINVAL);
  CldMessage wrong = Reply(gv, 0);
  wrong.xid += 1000;
  EXPECT_EQ(Write(wrong), -1);
  EXPECT_EQ(errno, EINVAL);
  CldMessage r = Reply(gv, 0);
  r.max_version = 2;
  EXPECT_EQ(Write(r), 1034);
  // Answered already, so refused: by the size check if the kernel side has
  // switched to v2-sized messages by now, else by the xid check.  Which one
  // comes first is a race in the kernel too (the switch happens in the
  // waiter that the answer wakes).
  EXPECT_EQ(Write(r), -1);
  EXPECT_EQ(errno, EINVAL);
  auto gs = ReadMsg();
  ASSERT_EQ(gs.size(), 1067u);
  CldMessage rec = Reply(gs, nfs4rec::kCldEInProgress);
  rec.name = "n";
  std::vector<uint8_t> empty = nfs4rec::EncodeCldDowncall(rec).value();
  empty[8] = 0;  // cn_len = 0: our codec refuses to build this, so patch it
  EXPECT_EQ(write(fd_.get(), empty.data(), empty.size()), -1);
  EXPECT_EQ(errno, EINVAL);
  rec.name = "hash:0123456789abcdef0123456789abcdef";
  rec.princhash = std::string(32, 'p');
  EXPECT_EQ(Write(rec), 1067);
  EXPECT_EQ(Write(Reply(gs, 0)), 1067);
  BootResult br = boot.get();
  ASSERT_OK(br.status);
  EXPECT_EQ(br.uploaded, 1u);
  auto table = k_->reclaim_table();
  ASSERT_EQ(table.count("0123456789abcdef0123456789abcdef"), 1u);  // "hash:" stripped
  // Wrong size (1067 before negotiation), wrong xid, and the repeated answer
  // counted under one of the two.
  EXPECT_GE(k_->counters().einval_size, 1u);
  EXPECT_GE(k_->counters().einval_xid, 1u);
  EXPECT_EQ(k_->counters().einval_size + k_->counters().einval_xid, 3u);
  EXPECT_EQ(k_->counters().einval_record, 1u);
}

TEST_F(EmulatorTest, NobodyOpensThePipeTimesOut) {
  BootResult br = k_->StartNfsd();
  EXPECT_TRUE(br.status.IsTimedOut()) << br.status.ToString();
}

TEST_F(EmulatorTest, HalfReadUpcallIsResentAfterClose) {
  Boot({"x"});
  CldMessage c;
  c.command = static_cast<uint8_t>(CldCommand::kCreate);
  c.name = "client";
  uint32_t xid = k_->Post(c);
  std::vector<uint8_t> b(8);
  pollfd p{fd_.get(), POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 5000), 1);
  ASSERT_EQ(read(fd_.get(), b.data(), 8), 8);
  fd_.reset();  // the last close: -EAGAIN, the kernel re-sends
  OpenPipe();
  auto again = ReadMsg();
  ASSERT_EQ(again.size(), 1067u);
  auto m = nfs4rec::DecodeCldUpcall(again).value();
  EXPECT_EQ(m.xid, xid);
  EXPECT_EQ(m.name, "client");
  ASSERT_EQ(Write(Reply(again, 0)), 1067);
  EXPECT_TRUE(k_->WaitFor(xid, 1s).ok() || k_->answers().size() > 0);
  EXPECT_GE(k_->counters().requeued, 1u);
}

TEST_F(EmulatorTest, AnswersInAnyOrderAndNonBlockingReads) {
  Boot({"x"});
  std::vector<uint8_t> b(8);
  errno = 0;
  EXPECT_EQ(read(fd_.get(), b.data(), 8), -1);
  EXPECT_EQ(errno, EAGAIN);
  pollfd p{fd_.get(), POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 0), 0);
  std::vector<uint32_t> xids;
  for (int i = 0; i < 3; ++i) {
    CldMessage c;
    c.command = static_cast<uint8_t>(CldCommand::kCreate);
    c.name = "c" + std::to_string(i);
    xids.push_back(k_->Post(c));
  }
  std::vector<std::vector<uint8_t>> ups;
  for (int i = 0; i < 3; ++i) ups.push_back(ReadMsg());
  for (int i = 2; i >= 0; --i) ASSERT_EQ(Write(Reply(ups[i], 0)), 1067);
  for (uint32_t x : xids) (void)x;
  auto order = k_->answer_order();
  ASSERT_GE(order.size(), 3u);
  EXPECT_EQ(order[order.size() - 3], xids[2]);
  EXPECT_EQ(order.back(), xids[0]);
}

TEST_F(EmulatorTest, StoppedNfsdBreaksThePipe) {
  Boot({"x"});
  k_->StopNfsd();
  pollfd p{fd_.get(), POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 1000), 1);
  EXPECT_TRUE(p.revents & (POLLHUP | POLLERR));
  std::vector<uint8_t> b(8);
  EXPECT_EQ(read(fd_.get(), b.data(), 8), -1);
  EXPECT_EQ(errno, EPIPE);
  struct stat st;
  EXPECT_NE(stat((mnt_ + "/rpc_pipefs/nfsd").c_str(), &st), 0);  // directory gone too
}

TEST_F(EmulatorTest, EndGraceFileReadsAndRefuses) {
  std::string path = k_->proc_root() + "/proc/fs/nfsd/v4_end_grace";
  UniqueFd fd(open(path.c_str(), O_RDWR));
  ASSERT_TRUE(fd.valid());
  EXPECT_EQ(write(fd.get(), "Y", 1), -1);
  EXPECT_EQ(errno, EBUSY);  // nfsd not running
  EXPECT_EQ(write(fd.get(), "x", 1), -1);
  EXPECT_EQ(errno, EINVAL);
}

}  // namespace
}  // namespace nfsrec::cldemu
