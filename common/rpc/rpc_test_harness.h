// Test fixture shared by the RPC server tests: an RpcServer with a test
// program, its EventLoop on a thread of its own, on real time or on a
// FakeScheduler that the test advances.  Tests talk to it over loopback
// with the blocking client from tests/support.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/base/logging.h"
#include "common/os/event_loop.h"
#include "common/rpc/rpc_message.h"
#include "common/rpc/rpc_server.h"
#include "tests/support/fake_scheduler.h"
#include "tests/support/rpc_test_client.h"
#include "tests/support/status_matchers.h"
#include <gtest/gtest.h>

namespace nfsrec::rpc::rpctest {

using std::chrono::milliseconds;
using test::Proto;

inline std::vector<uint8_t> U32s(std::initializer_list<uint32_t> words) {
  XdrWriter w;
  for (uint32_t v : words) w.PutUint32(v);
  return std::move(w).Take();
}

inline constexpr uint32_t kProg = 400123;
inline constexpr uint32_t kProcEcho = 1;       // results = args
inline constexpr uint32_t kProcDeferred = 2;   // args: delay_ms, tag; results: tag, after the delay
inline constexpr uint32_t kProcGarbage = 3;    // GARBAGE_ARGS
inline constexpr uint32_t kProcSystemErr = 4;  // SYSTEM_ERR
inline constexpr uint32_t kProcDrop = 5;       // Responder dropped unanswered
inline constexpr uint32_t kProcContext = 6;    // results describe the CallContext
inline constexpr auto kTimeout = std::chrono::seconds(5);
inline constexpr auto kNoReply = milliseconds(300);

struct Family {
  const char* name;
  const char* addr;
  bool v6;
};
inline const Family kV4{"v4", "127.0.0.1", false};
inline const Family kV6{"v6", "::1", true};

inline bool HaveIpv6Loopback() {
  int fd = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_addr = in6addr_loopback;
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&sin6), sizeof(sin6)) == 0;
  ::close(fd);
  return ok;
}

inline RpcServer::Options LoopbackOptions() {
  RpcServer::Options opt;
  opt.bind_v4 = "127.0.0.1";
  opt.bind_v6 = "::1";
  opt.ipv6_optional = false;
  opt.max_record_bytes = 4096;
  if (!HaveIpv6Loopback()) opt.udp6 = opt.tcp6 = false;
  return opt;
}

enum class Clock { kReal, kFake };

class ServerHarness {
 public:
  // With Clock::kFake the server's timers and kProcDeferred's delays run
  // only when the test calls Advance().
  static std::unique_ptr<ServerHarness> Start(RpcServer::Options opt, Clock clock = Clock::kReal,
                                              RpcServer::Prepared prepared = {}) {
    auto h = std::unique_ptr<ServerHarness>(new ServerHarness());
    auto loop = EventLoop::Create();
    if (!loop.ok()) return nullptr;
    h->loop_ = std::move(loop).value();
    if (clock == Clock::kFake) {
      h->fake_ = std::make_unique<FakeScheduler>();
      h->scheduler_ = h->fake_.get();
    } else {
      h->real_ = std::make_unique<LoopScheduler>(*h->loop_);
      h->scheduler_ = h->real_.get();
    }
    auto server =
        RpcServer::Create(*h->loop_, *h->scheduler_, h->log_, std::move(opt), std::move(prepared));
    if (!server.ok()) {
      ADD_FAILURE() << server.status().ToString();
      return nullptr;
    }
    h->server_ = std::move(server).value();
    h->AddPrograms();
    h->thread_ = std::thread([hp = h.get()] { (void)hp->loop_->Run(); });
    return h;
  }

  ~ServerHarness() {
    loop_->Post([this] { loop_->Stop(); });
    thread_.join();
    server_.reset();
    real_.reset();
    fake_.reset();
  }

  // Runs fn on the loop thread and waits for it.
  template <typename F>
  auto OnLoop(F fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto fut = task.get_future();
    loop_->Post([&task] { task(); });
    return fut.get();
  }

  // Moves fake time on (Clock::kFake only), on the loop thread.
  void Advance(Duration d) {
    OnLoop([this, d] { fake_->Advance(d); });
  }

  uint16_t Port(const std::string& netid) {
    for (const auto& l : server_->listeners()) {
      if (l.netid == netid) return l.port;
    }
    ADD_FAILURE() << "no listener " << netid;
    return 0;
  }
  uint16_t Port(const Family& f, Proto p) {
    std::string netid = p == Proto::kUdp ? "udp" : "tcp";
    if (f.v6) netid += "6";
    return Port(netid);
  }
  size_t Connections() {
    return OnLoop([this] { return server_->connection_count(); });
  }
  bool WaitConnections(size_t n) {
    return WaitFor([&] { return Connections() == n; });
  }
  // Polls pred (on the test thread) until it holds or kTimeout passes.
  template <typename Pred>
  bool WaitFor(Pred pred) {
    auto deadline = std::chrono::steady_clock::now() + kTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred()) return true;
      std::this_thread::sleep_for(milliseconds(5));
    }
    return false;
  }
  // Log lines containing `needle`, read on the loop thread.
  size_t LogCount(const std::string& needle) {
    return OnLoop([this, needle] {
      size_t n = 0;
      for (const auto& l : log_.lines()) n += l.second.find(needle) != std::string::npos;
      return n;
    });
  }

  std::atomic<int> active_deferred{0};
  std::atomic<int> max_active_deferred{0};
  std::atomic<int> handled{0};

 private:
  ServerHarness() = default;

  void AddPrograms() {
    std::map<uint32_t, Handler> procs;
    procs[kProcEcho] = [this](const CallContext&, std::span<const uint8_t> args, Responder r) {
      ++handled;
      r.Reply(std::vector<uint8_t>(args.begin(), args.end()));
    };
    procs[kProcDeferred] = [this](const CallContext&, std::span<const uint8_t> args, Responder r) {
      ++handled;
      XdrReader rd(args);
      uint32_t delay_ms, tag;
      if (!rd.GetUint32(&delay_ms) || !rd.GetUint32(&tag)) {
        r.GarbageArgs();
        return;
      }
      int now_active = ++active_deferred;
      int prev = max_active_deferred.load();
      while (now_active > prev && !max_active_deferred.compare_exchange_weak(prev, now_active)) {
      }
      auto shared = std::make_shared<Responder>(std::move(r));
      scheduler_->RunAfter(milliseconds(delay_ms), [this, shared, tag] {
        --active_deferred;
        shared->Reply(U32s({tag}));
      });
    };
    procs[kProcGarbage] = [](const CallContext&, std::span<const uint8_t>, Responder r) {
      r.GarbageArgs();
    };
    procs[kProcSystemErr] = [](const CallContext&, std::span<const uint8_t>, Responder r) {
      r.SystemErr();
      r.ReplyVoid();  // ignored: only the first answer counts
    };
    procs[kProcDrop] = [](const CallContext&, std::span<const uint8_t>, Responder) {};
    procs[kProcContext] = [](const CallContext& ctx, std::span<const uint8_t>, Responder r) {
      XdrWriter w;
      w.PutUint32(static_cast<uint32_t>(ctx.netid));
      w.PutUint32(ctx.IsLoopback());
      w.PutUint32(ctx.FromPrivilegedPort());
      w.PutUint32(ctx.PeerPort());
      w.PutString(ctx.PeerAddress());
      w.PutUint32(ctx.cred_flavor);
      w.PutUint32(ctx.xid);
      r.Reply(std::move(w).Take());
    };
    ASSERT_OK(server_->AddProgram(kProg, 2, procs));
    ASSERT_OK(server_->AddProgram(kProg, 5, procs));
    EXPECT_TRUE(server_->AddProgram(kProg, 5, {}).IsAlreadyExists());
  }

  CapturingLogger log_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<LoopScheduler> real_;
  std::unique_ptr<FakeScheduler> fake_;
  Scheduler* scheduler_ = nullptr;
  std::unique_ptr<RpcServer> server_;
  std::thread thread_;
};

}  // namespace nfsrec::rpc::rpctest
