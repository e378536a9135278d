#include "statd/ha_callout.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include <gtest/gtest.h>

namespace nfsrec::statd {
namespace {

using namespace std::chrono_literals;

class HaCalloutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(tmp_.ok());
    script_ = tmp_.File("callout");
    out_ = tmp_.File("out");
  }

  void WriteScript(const std::string& body) {
    tmp_.Write("callout", "#!/bin/sh\n" + body + "\n");
    ASSERT_EQ(chmod(script_.c_str(), 0755), 0);
  }
  std::string Output() {
    std::ifstream f(out_);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }

  test_support::TempDir tmp_;
  std::string script_, out_;
  CapturingLogger log_;
};

TEST_F(HaCalloutTest, RunsEventsInOrderWithLiteralArguments) {
  // A slow first callout must not let the second overtake it.
  WriteScript("[ \"$1\" = add-client ] && sleep 0.2\necho \"$@\" >> " + out_);
  auto loop = EventLoop::Create();
  ASSERT_OK(loop);
  LoopScheduler sched(**loop);
  HaCallout ha(**loop, sched, log_, HaCallout::Options{script_, 5s});
  ha.AddClient("10.0.0.2", "server");
  ha.SmNotify("peer; rm -rf /", "10.0.0.9", 7);
  ha.DelClient("10.0.0.2", "server");
  ASSERT_TRUE((*loop)->RunUntil([&] { return ha.completed() == 3; }, 10s));
  EXPECT_EQ(Output(),
            "add-client 10.0.0.2 server\n"
            "sm-notify peer; rm -rf / 10.0.0.9 7\n"
            "del-client 10.0.0.2 server\n");
}

TEST_F(HaCalloutTest, HungCalloutIsKilledAndTheQueueMovesOn) {
  WriteScript("[ \"$1\" = add-client ] && exec sleep 60\necho \"$@\" >> " + out_);
  auto loop = EventLoop::Create();
  ASSERT_OK(loop);
  LoopScheduler sched(**loop);
  HaCallout ha(**loop, sched, log_, HaCallout::Options{script_, 300ms});
  auto start = std::chrono::steady_clock::now();
  ha.AddClient("a", "b");
  ha.DelClient("a", "b");
  ASSERT_TRUE((*loop)->RunUntil([&] { return ha.completed() == 2; }, 10s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(Output(), "del-client a b\n");
  EXPECT_TRUE(log_.Contains("timed out"));
}

TEST_F(HaCalloutTest, MissingProgramIsLoggedNotFatal) {
  auto loop = EventLoop::Create();
  ASSERT_OK(loop);
  LoopScheduler sched(**loop);
  HaCallout ha(**loop, sched, log_, HaCallout::Options{tmp_.File("nope"), 1s});
  ha.AddClient("a", "b");
  (*loop)->RunUntil([&] { return ha.queued() == 0; }, 2s);
  EXPECT_EQ(ha.queued(), 0u);
}

}  // namespace
}  // namespace nfsrec::statd
