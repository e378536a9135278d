// The control socket's remove-monitor and expire-client commands: their
// request parsing and reply mapping, and a daemon without the service
// answering so over a real socket.
#include "daemon/control_admin.h"

#include <future>
#include <string>

#include "daemon/control_client.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include <gtest/gtest.h>

namespace nfsrec {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using Outcome = nfs4rec::TrackingDaemon::ExpireOutcome;

TEST(ParseRemoveMonitorRequest, HostAndOptionalCallbackFilter) {
  Result<RemoveMonitorRequest> r = ParseRemoveMonitorRequest(
      json{{"command", "remove-monitor"}, {"host", "client1"}, {"vers", 4}});
  ASSERT_OK(r);
  EXPECT_EQ(r->host, "client1");
  EXPECT_FALSE(r->filter.my_prog.has_value());
  EXPECT_EQ(r->filter.my_vers, 4);
  EXPECT_FALSE(r->filter.my_proc.has_value());
  r = ParseRemoveMonitorRequest(json{{"host", "h"}, {"prog", 100021}, {"proc", 16}});
  ASSERT_OK(r);
  EXPECT_EQ(r->filter.my_prog, 100021);
  EXPECT_EQ(r->filter.my_proc, 16);
}

TEST(ParseRemoveMonitorRequest, MissingHostOrBadNumbersAreInvalid) {
  EXPECT_TRUE(
      ParseRemoveMonitorRequest(json{{"command", "remove-monitor"}}).status().IsInvalidArgument());
  EXPECT_TRUE(ParseRemoveMonitorRequest(json{{"host", ""}}).status().IsInvalidArgument());
  EXPECT_TRUE(ParseRemoveMonitorRequest(json{{"host", 7}}).status().IsInvalidArgument());
  EXPECT_TRUE(
      ParseRemoveMonitorRequest(json{{"host", "h"}, {"prog", "1"}}).status().IsInvalidArgument());
  EXPECT_TRUE(ParseRemoveMonitorRequest(json{{"host", "h"}, {"vers", 4294967296LL}})
                  .status()
                  .IsInvalidArgument());
  EXPECT_TRUE(ParseRemoveMonitorRequest(json{{"host", "h"}, {"proc", 2147483648ULL}})
                  .status()
                  .IsInvalidArgument());
}

TEST(ParseExpireClientRequest, HexIdInEitherCaseIsDecoded) {
  Result<std::string> id = ParseExpireClientRequest(json{{"id", {{"hex", "4c6901FE"}}}});
  ASSERT_OK(id);
  EXPECT_EQ(*id, std::string("Li\x01\xfe", 4));
}

TEST(ParseExpireClientRequest, MissingOddOrNonHexIdIsInvalid) {
  EXPECT_TRUE(ParseExpireClientRequest(json{{"id", "abc"}}).status().IsInvalidArgument());
  EXPECT_TRUE(ParseExpireClientRequest(json::object()).status().IsInvalidArgument());
  EXPECT_TRUE(
      ParseExpireClientRequest(json{{"id", {{"hex", "abc"}}}}).status().IsInvalidArgument());
  EXPECT_TRUE(ParseExpireClientRequest(json{{"id", {{"hex", "zz"}}}}).status().IsInvalidArgument());
  EXPECT_TRUE(ParseExpireClientRequest(json{{"id", {{"hex", ""}}}}).status().IsInvalidArgument());
}

TEST(AdminResults, SuccessesBecomeTheDocumentedObjects) {
  Result<json> removed = RemoveMonitorResult(Result<size_t>(size_t{2}));
  ASSERT_OK(removed);
  EXPECT_EQ(*removed, (json{{"removed", 2}}));
  Result<json> nfsd = ExpireClientResult(Outcome::kExpiredThroughNfsd);
  ASSERT_OK(nfsd);
  EXPECT_EQ(*nfsd, (json{{"outcome", "expired through nfsd"}}));
  Result<json> store = ExpireClientResult(Outcome::kRemovedFromStore);
  ASSERT_OK(store);
  EXPECT_EQ(*store, (json{{"outcome", "removed from the store"}}));
}

TEST(AdminResults, ErrorsKeepTheirKindAndNameItInTheReplyLine) {
  Result<json> nf = RemoveMonitorResult(Status::NotFound("no monitor record for x"));
  EXPECT_TRUE(nf.status().IsNotFound());
  EXPECT_EQ(ControlReplyLine(nf), R"({"ok":false,"error":"Not found: no monitor record for x"})");
  Result<json> busy = ExpireClientResult(Status::Busy("may still reclaim"));
  EXPECT_TRUE(busy.status().IsBusy());
  EXPECT_EQ(busy.status().message(), "Busy: may still reclaim");
  Result<json> down = ExpireClientResult(Status::Unavailable("not loaded"));
  EXPECT_EQ(down.status().message(), "Unavailable: not loaded");
}

class AdminCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = EventLoop::Create();
    ASSERT_OK(loop);
    loop_ = std::move(loop).value();
    scheduler_ = std::make_unique<LoopScheduler>(*loop_);
    path_ = dir_.path() + "/control";
    auto s = ControlServer::Listen(*loop_, *scheduler_, log_, path_, {});
    ASSERT_OK(s);
    server_ = std::move(s).value();
  }
  Result<json> Call(const json& request) {
    auto f = std::async(std::launch::async,
                        [this, request] { return CallDaemon(path_, request, 5000ms); });
    EXPECT_TRUE(loop_->RunUntil(
        [&] { return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready; }, 10s));
    return f.get();
  }

  test_support::TempDir dir_;
  std::string path_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<LoopScheduler> scheduler_;
  CapturingLogger log_;
  std::unique_ptr<ControlServer> server_;
};

TEST_F(AdminCommandsTest, DaemonWithoutNsmOrNfs4AnswersThatItDoesNotServeIt) {
  RegisterAdminCommands(*server_, nullptr, nullptr);
  Result<json> r = Call({{"command", "remove-monitor"}, {"host", "client1"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "Unavailable: this daemon does not serve NSM (it runs in the nfsdcld role): no "
            "monitor records here");
  r = Call({{"command", "expire-client"}, {"id", {{"hex", "00"}}}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("Unavailable: this daemon does not track NFSv4 clients", 0),
            0u)
      << r.status().message();
}

}  // namespace
}  // namespace nfsrec
