// The control socket end to end: a real Unix socket in a temporary
// directory, the server on the test's loop, clients on other threads.
#include "daemon/control_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <future>
#include <optional>
#include <string>
#include <thread>

#include "daemon/control_client.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include <gtest/gtest.h>

namespace nfsrec {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr auto kWait = 10s;

UniqueFd Connect(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path.data(), path.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) != 0) return {};
  return fd;
}

// Everything the server sends until it closes (or 10 s pass).
std::string ReadAll(int fd) {
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::string in;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return in;
    in.append(buf, static_cast<size_t>(n));
  }
}

// Sends `bytes` then reads the answer, on its own thread.
std::future<std::string> Exchange(const std::string& path, std::string bytes) {
  return std::async(std::launch::async, [path, bytes = std::move(bytes)] {
    UniqueFd fd = Connect(path);
    if (!fd) return std::string("(connect failed)");
    size_t sent = 0;
    while (sent < bytes.size()) {
      ssize_t n = ::send(fd.get(), bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;  // the server may close once it has refused
      sent += static_cast<size_t>(n);
    }
    return ReadAll(fd.get());
  });
}

class ControlServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = EventLoop::Create();
    ASSERT_OK(loop);
    loop_ = std::move(loop).value();
    scheduler_ = std::make_unique<LoopScheduler>(*loop_);
    path_ = dir_.path() + "/control";
  }
  void Start(ControlServer::Options options = {}) {
    auto s = ControlServer::Listen(*loop_, *scheduler_, log_, path_, options);
    ASSERT_OK(s);
    server_ = std::move(s).value();
    server_->Register("status", [](const json& request, ControlServer::Reply reply) {
      reply(json{{"echo", request}});
    });
  }
  template <typename T>
  T Await(std::future<T>& f) {
    EXPECT_TRUE(loop_->RunUntil(
        [&] { return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready; }, kWait));
    return f.get();
  }
  Result<json> Call(const json& request) {
    auto f = std::async(std::launch::async,
                        [this, request] { return CallDaemon(path_, request, 5000ms); });
    return Await(f);
  }

  test_support::TempDir dir_;
  std::string path_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<LoopScheduler> scheduler_;
  CapturingLogger log_;
  std::unique_ptr<ControlServer> server_;
};

TEST(ControlPeerAllowed, OnlyRootAndTheDaemonsOwnUser) {
  EXPECT_TRUE(ControlPeerAllowed(0, 105));
  EXPECT_TRUE(ControlPeerAllowed(105, 105));
  EXPECT_FALSE(ControlPeerAllowed(1000, 105));  // neither root nor the daemon's user
  EXPECT_FALSE(ControlPeerAllowed(65534, 105));
  EXPECT_TRUE(ControlPeerAllowed(0, 0));
  EXPECT_FALSE(ControlPeerAllowed(1000, 0));
}

TEST(ControlReplyLine, OneLineWithOkAndResultOrError) {
  EXPECT_EQ(ControlReplyLine(json{{"a", 1}}), R"({"ok":true,"result":{"a":1}})");
  EXPECT_EQ(ControlReplyLine(Result<json>(Status::InvalidArgument("two\nlines"))),
            R"({"ok":false,"error":"two lines"})");
}

TEST_F(ControlServerTest, RequestIsAnsweredWithOneLineThenTheConnectionCloses) {
  Start();
  auto f = Exchange(path_, "{\"command\":\"status\",\"verbose\":true}\n");
  EXPECT_EQ(Await(f),
            "{\"ok\":true,\"result\":{\"echo\":{\"command\":\"status\",\"verbose\":true}}}\n");
  EXPECT_TRUE(loop_->RunUntil([&] { return server_->connection_count() == 0; }, kWait));
}

TEST_F(ControlServerTest, CallDaemonReturnsTheResult) {
  Start();
  Result<json> r = Call({{"command", "status"}});
  ASSERT_OK(r);
  EXPECT_EQ((*r)["echo"]["command"], "status");
}

TEST_F(ControlServerTest, HandlerMayAnswerLater) {
  Start();
  server_->Register("slow", [this](const json&, ControlServer::Reply reply) {
    auto held = std::make_shared<ControlServer::Reply>(std::move(reply));
    scheduler_->RunAfter(50ms, [held] { (*held)(json{{"late", true}}); });
  });
  Result<json> r = Call({{"command", "slow"}});
  ASSERT_OK(r);
  EXPECT_EQ((*r)["late"], true);
}

TEST_F(ControlServerTest, HandlerErrorIsAnErrorReply) {
  Start();
  server_->Register("fail", [](const json&, ControlServer::Reply reply) {
    reply(Status::Unavailable("no NSM service in this role"));
  });
  auto f = Exchange(path_, "{\"command\":\"fail\"}\n");
  EXPECT_EQ(Await(f), "{\"ok\":false,\"error\":\"no NSM service in this role\"}\n");
}

TEST_F(ControlServerTest, RequestLineOver64KiBIsRefusedBeforeItEnds) {
  Start();
  // No newline at all: refused once more than the limit has arrived.
  auto f = Exchange(path_, std::string(64 * 1024 + 100, 'x'));
  EXPECT_EQ(Await(f), "{\"ok\":false,\"error\":\"request line over 65536 bytes\"}\n");
}

TEST_F(ControlServerTest, NotJsonMissingCommandAndUnknownCommandAreRefused) {
  Start();
  auto bad = Exchange(path_, "status please\n");
  EXPECT_EQ(Await(bad), "{\"ok\":false,\"error\":\"request is not a JSON object\"}\n");
  auto array = Exchange(path_, "[\"status\"]\n");
  EXPECT_EQ(Await(array), "{\"ok\":false,\"error\":\"request is not a JSON object\"}\n");
  auto nameless = Exchange(path_, "{\"cmd\":\"status\"}\n");
  EXPECT_EQ(Await(nameless),
            "{\"ok\":false,\"error\":\"request has no \\\"command\\\" string\"}\n");
  Result<json> unknown = Call({{"command", "reboot"}});
  EXPECT_TRUE(unknown.status().IsNotFound()) << unknown.status().ToString();
  EXPECT_EQ(unknown.status().message(), "unknown command 'reboot'");
}

TEST_F(ControlServerTest, IdleConnectionIsClosedAfterTheLimit) {
  ControlServer::Options o;
  o.idle_timeout = 100ms;
  Start(o);
  auto f = Exchange(path_, "{\"command\":");  // never finished
  EXPECT_TRUE(loop_->RunUntil([&] { return server_->connection_count() == 1; }, kWait));
  EXPECT_EQ(Await(f), "");  // closed without a reply
  EXPECT_EQ(server_->connection_count(), 0u);
}

TEST_F(ControlServerTest, HandlerThatNeverAnswersIsCutOffByTheIdleLimit) {
  ControlServer::Options o;
  o.idle_timeout = 100ms;
  Start(o);
  std::optional<ControlServer::Reply> kept;
  server_->Register("hang", [&kept](const json&, ControlServer::Reply r) { kept = std::move(r); });
  auto f = Exchange(path_, "{\"command\":\"hang\"}\n");
  EXPECT_EQ(Await(f), "");
  EXPECT_EQ(server_->connection_count(), 0u);
  ASSERT_TRUE(kept.has_value());
  (*kept)(json::object());  // too late: nothing happens
}

TEST_F(ControlServerTest, ConnectionsBeyondTheLimitAreTurnedAwayBusy) {
  ControlServer::Options o;
  o.max_connections = 2;
  Start(o);
  UniqueFd a = Connect(path_);
  UniqueFd b = Connect(path_);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(loop_->RunUntil([&] { return server_->connection_count() == 2; }, kWait));
  auto f = Exchange(path_, "{\"command\":\"status\"}\n");
  EXPECT_EQ(Await(f), "{\"ok\":false,\"error\":\"busy: 2 control connections open; try again\"}\n");
}

TEST_F(ControlServerTest, SocketIsMode0600AndRemovedAtExit) {
  Start();
  struct stat st;
  ASSERT_EQ(::lstat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  server_.reset();
  EXPECT_NE(::lstat(path_.c_str(), &st), 0);
}

TEST_F(ControlServerTest, StaleSocketIsReplacedButALiveOneStopsTheSecondServer) {
  {
    // A socket file nobody listens on, as a killed daemon leaves it.
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, path_.data(), path_.size());
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_EQ(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)), 0);
  }
  Result<json> dead = CallDaemon(path_, {{"command", "status"}}, 1000ms);
  EXPECT_TRUE(dead.status().IsUnavailable()) << dead.status().ToString();
  Start();
  EXPECT_OK(Call({{"command", "status"}}));
  auto second = ControlServer::Listen(*loop_, *scheduler_, log_, path_, {});
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(second.status().IsAlreadyExists());
  EXPECT_NE(second.status().message().find("another nfsrecd answers there"), std::string::npos);
  // The first one still serves.
  EXPECT_OK(Call({{"command", "status"}}));
}

TEST_F(ControlServerTest, SomethingElseAtThePathStopsStartUp) {
  ASSERT_EQ(::mkdir(path_.c_str(), 0700), 0);
  auto s = ControlServer::Listen(*loop_, *scheduler_, log_, path_, {});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("something other than a socket"), std::string::npos);
}

TEST(CallDaemon, NoSocketIsNotFound) {
  test_support::TempDir dir;
  Result<json> r = CallDaemon(dir.path() + "/control", {{"command", "status"}}, 1000ms);
  EXPECT_TRUE(r.status().IsNotFound()) << r.status().ToString();
}

TEST_F(ControlServerTest, CallDaemonMapsAPermissionReplyToPermissionDenied) {
  Start();
  server_->Register("deny", [](const json&, ControlServer::Reply reply) {
    reply(Status::PermissionDenied("permission denied: uid 1000 may not use the control socket"));
  });
  Result<json> r = Call({{"command", "deny"}});
  EXPECT_TRUE(r.status().IsPermissionDenied()) << r.status().ToString();
}

}  // namespace
}  // namespace nfsrec
