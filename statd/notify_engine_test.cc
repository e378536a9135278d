#include "statd/notify_engine.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/rpc/rpc_message.h"
#include "statd/nsm_codec.h"
#include "tests/support/fake_datagram_port.h"
#include "tests/support/fake_resolver.h"
#include "tests/support/fake_scheduler.h"
#include <gtest/gtest.h>

namespace nfsrec::statd {
namespace {

using namespace std::chrono_literals;
using rpc::Bytes;
using rpc::Endpoint;

Cookie MakeCookie(uint8_t seed) {
  Cookie c;
  for (size_t i = 0; i < c.size(); ++i) c[i] = static_cast<uint8_t>(seed + i);
  return c;
}

class NotifyEngineTest : public ::testing::Test {
 protected:
  NotifyEngineTest()
      : local_net_(sched_),
        remote_net_(sched_),
        resolver_(&sched_),
        local_(local_net_, sched_, log_),
        remote_(remote_net_, sched_, log_) {}

  void Build(NotifyEngine::Options options = {}) {
    engine_ = std::make_unique<NotifyEngine>(local_, remote_, resolver_, sched_, log_, options);
  }

  void AddPeer(const std::string& name, const std::string& addr, bool up = true,
               bool statd = true) {
    resolver_.Add(name, HostInfo{name, {addr}});
    FakeDatagramPort::Host h;
    h.up = up;
    if (statd) h.ports[{kNsmProgram, kNsmVersion}] = 1011;
    remote_net_.hosts[addr] = h;
  }

  NotifyEngine::Peer PeerFor(const std::string& name, const std::string& my_name = "server") {
    return NotifyEngine::Peer{MonitorKey{name, my_name, 100021, 3, 16}, name, my_name};
  }

  FakeScheduler sched_;
  CapturingLogger log_;
  FakeDatagramPort local_net_;
  FakeDatagramPort remote_net_;
  FakeResolver resolver_;
  rpc::UdpRpcClient local_;
  rpc::UdpRpcClient remote_;
  std::unique_ptr<NotifyEngine> engine_;
  std::map<std::string, bool> done_;
  NotifyEngine::PeerDone Record() {
    return [this](const NotifyEngine::Peer& p, bool ok) { done_[p.host] = ok; };
  }
};

TEST_F(NotifyEngineTest, NotifiesReachablePeerWithOurNameAndState) {
  Build();
  AddPeer("client2", "10.0.0.2");
  engine_->NotifyPeers({PeerFor("client2", "server")}, 7, Record());
  sched_.Advance(1s);
  ASSERT_EQ(done_.count("client2"), 1u);
  EXPECT_TRUE(done_["client2"]);
  ASSERT_EQ(remote_net_.delivered.size(), 1u);
  const auto& d = remote_net_.delivered[0];
  EXPECT_EQ(d.prog, kNsmProgram);
  EXPECT_EQ(d.proc, static_cast<uint32_t>(NsmProc::kNotify));
  EXPECT_EQ(d.port, 1011);
  NotifyArgs args = DecodeStatChge(d.args).value();
  EXPECT_EQ(args.mon_name, "server");
  EXPECT_EQ(args.state, 7);
  // Port lookup went to the peer's rpcbind first.
  EXPECT_EQ(remote_net_.sent.front().port, rpc::kRpcbindPort);
}

TEST_F(NotifyEngineTest, QualifiedNameIsFollowedByShortName) {
  Build();
  AddPeer("client2", "10.0.0.2");
  engine_->NotifyPeers({PeerFor("client2", "server.example.org")}, 9, Record());
  sched_.Advance(1s);
  ASSERT_EQ(remote_net_.delivered.size(), 2u);
  EXPECT_EQ(DecodeStatChge(remote_net_.delivered[0].args)->mon_name, "server.example.org");
  EXPECT_EQ(DecodeStatChge(remote_net_.delivered[1].args)->mon_name, "server");
  EXPECT_TRUE(done_["client2"]);
}

TEST_F(NotifyEngineTest, BackoffDoublesFromTwoSecondsToTwoMinutesWithinWindow) {
  Build();
  AddPeer("dead", "10.0.0.66", /*up=*/false);
  engine_->NotifyPeers({PeerFor("dead")}, 7, Record());
  sched_.Advance(20min);
  ASSERT_EQ(done_.count("dead"), 1u);
  EXPECT_FALSE(done_["dead"]);
  std::vector<FakeDatagramPort::Sent> s = remote_net_.SentTo("10.0.0.66");
  ASSERT_GE(s.size(), 10u);
  std::vector<int64_t> gaps;
  for (size_t i = 1; i < s.size(); ++i) {
    gaps.push_back(std::chrono::duration_cast<std::chrono::seconds>(s[i].at - s[i - 1].at).count());
  }
  // 2, 4, 8, 16, 32, 64, 120, 120, ...
  EXPECT_EQ(gaps[0], 2);
  EXPECT_EQ(gaps[1], 4);
  EXPECT_EQ(gaps[2], 8);
  EXPECT_EQ(gaps[3], 16);
  EXPECT_EQ(gaps[4], 32);
  EXPECT_EQ(gaps[5], 64);
  for (size_t i = 6; i < gaps.size(); ++i) EXPECT_LE(gaps[i], 120) << i;
  EXPECT_EQ(gaps[6], 120);
  // Nothing after the 15-minute window.
  EXPECT_LE(s.back().at - s.front().at, 15min);
  EXPECT_TRUE(log_.Contains("Unable to notify dead, giving up"));
}

TEST_F(NotifyEngineTest, ZeroWindowRetriesForever) {
  NotifyEngine::Options o;
  o.notify_window = Duration::zero();
  Build(o);
  AddPeer("dead", "10.0.0.66", false);
  engine_->NotifyPeers({PeerFor("dead")}, 7, Record());
  sched_.Advance(2h);
  EXPECT_EQ(done_.count("dead"), 0u);
  EXPECT_EQ(engine_->peers_in_progress(), 1u);
  // Then the peer comes back and is notified.
  remote_net_.hosts["10.0.0.66"].up = true;
  sched_.Advance(3min);
  EXPECT_TRUE(done_["dead"]);
}

TEST_F(NotifyEngineTest, UnreachablePeersDoNotDelayReachableOnes) {
  Build();
  for (int i = 0; i < 10; ++i) AddPeer(StrCat("dead", i), StrCat("10.0.1.", i), false);
  resolver_.Add("nxdomain-later", HostInfo{});  // resolves to no address
  for (int i = 0; i < 10; ++i) AddPeer(StrCat("live", i), StrCat("10.0.2.", i));
  std::vector<NotifyEngine::Peer> peers;
  for (int i = 0; i < 10; ++i) peers.push_back(PeerFor(StrCat("dead", i)));
  peers.push_back(PeerFor("no-such-name"));
  for (int i = 0; i < 10; ++i) peers.push_back(PeerFor(StrCat("live", i)));
  engine_->NotifyPeers(peers, 5, Record());
  sched_.Advance(100ms);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(done_[StrCat("live", i)]) << i;
  EXPECT_EQ(done_.count("dead0"), 0u);
  sched_.Advance(16min);
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(done_[StrCat("dead", i)]);
  EXPECT_FALSE(done_["no-such-name"]);
  EXPECT_TRUE(log_.Contains("DNS resolution of no-such-name failed; retrying later"));
}

// max_parallel bounds first attempts: three slots, each held for at most
// the hold (fixed here at 500 ms) by a peer that does not answer; those
// peers go on retrying outside the slots, each with its own full window.
TEST_F(NotifyEngineTest, FirstAttemptsAreBoundedBySlots) {
  NotifyEngine::Options o;
  o.max_parallel = 3;
  o.slot_hold_min = o.slot_hold = 500ms;
  Build(o);
  std::vector<NotifyEngine::Peer> peers;
  for (int i = 0; i < 7; ++i) {
    AddPeer(StrCat("p", i), StrCat("10.0.3.", i), false);
    peers.push_back(PeerFor(StrCat("p", i)));
  }
  engine_->NotifyPeers(peers, 5, Record());
  auto contacted = [&] {
    std::set<std::string> c;
    for (const auto& s : remote_net_.sent) c.insert(s.to);
    return c.size();
  };
  sched_.Advance(400ms);
  EXPECT_EQ(contacted(), 3u);
  EXPECT_EQ(engine_->peers_in_slots(), 3u);
  EXPECT_EQ(engine_->peers_queued(), 4u);
  sched_.Advance(500ms);
  EXPECT_EQ(contacted(), 6u);
  sched_.Advance(500ms);
  EXPECT_EQ(contacted(), 7u);
  EXPECT_EQ(engine_->peers_in_slots(), 1u);
  EXPECT_EQ(engine_->peers_in_progress(), 7u);
  // Each gives up after its own 15 minutes, counted from its first attempt.
  sched_.Advance(15min - 2s);
  EXPECT_TRUE(done_.empty());
  sched_.Advance(3s);
  EXPECT_EQ(done_.size(), 7u);
  for (const auto& [host, ok] : done_) EXPECT_FALSE(ok) << host;
  EXPECT_EQ(engine_->peers_in_progress(), 0u);
}

// A second NotifyPeers (SIGUSR1) while peers are active or queued adds only
// the peers not in progress; a peer that finished can be notified again.
TEST_F(NotifyEngineTest, PeersInProgressAreNotDuplicatedAndFinishedOnesCanRunAgain) {
  NotifyEngine::Options o;
  o.max_parallel = 2;
  Build(o);
  std::vector<NotifyEngine::Peer> peers;
  for (int i = 0; i < 5; ++i) {
    AddPeer(StrCat("p", i), StrCat("10.0.4.", i), /*up=*/false);
    peers.push_back(PeerFor(StrCat("p", i)));
  }
  std::map<std::string, int> finished;
  auto count = [&finished](const NotifyEngine::Peer& p, bool) { ++finished[p.host]; };
  engine_->NotifyPeers({peers[0], peers[1], peers[2], peers[0]}, 5, count);
  EXPECT_EQ(engine_->peers_in_progress(), 3u);
  EXPECT_EQ(engine_->peers_queued(), 1u);
  // p1 is active, p2 queued: both skipped; p3 and p4 join the queue.
  engine_->NotifyPeers({peers[1], peers[2], peers[3], peers[4]}, 5, count);
  EXPECT_EQ(engine_->peers_in_progress(), 5u);
  EXPECT_EQ(engine_->peers_queued(), 3u);
  sched_.Advance(60min);
  EXPECT_EQ(engine_->peers_in_progress(), 0u);
  EXPECT_EQ(finished,
            (std::map<std::string, int>{{"p0", 1}, {"p1", 1}, {"p2", 1}, {"p3", 1}, {"p4", 1}}));
  engine_->NotifyPeers({peers[0]}, 7, count);
  EXPECT_EQ(engine_->peers_in_progress(), 1u);
  sched_.Advance(16min);
  EXPECT_EQ(finished["p0"], 2);
}

TEST_F(NotifyEngineTest, NoStatdWaitsTwoMinutes) {
  Build();
  AddPeer("nostatd", "10.0.0.7", true, /*statd=*/false);
  engine_->NotifyPeers({PeerFor("nostatd")}, 5, Record());
  sched_.Advance(1s);
  EXPECT_EQ(remote_net_.SentTo("10.0.0.7").size(), 1u);
  sched_.Advance(118s);
  EXPECT_EQ(remote_net_.SentTo("10.0.0.7").size(), 1u);
  remote_net_.hosts["10.0.0.7"].ports[{kNsmProgram, kNsmVersion}] = 1011;
  sched_.Advance(2s);
  EXPECT_TRUE(done_["nostatd"]);
}

TEST_F(NotifyEngineTest, ProgressShowsPendingQueuedThenFinishedPeersNewestFirst) {
  NotifyEngine::Options o;
  o.max_parallel = 1;
  o.slot_hold_min = o.slot_hold = 500ms;  // a fixed hold: live queued behind dead
  Build(o);
  AddPeer("nostatd", "10.0.0.7", true, /*statd=*/false);
  AddPeer("dead", "10.0.0.6", /*up=*/false);
  AddPeer("live", "10.0.0.8");
  remote_net_.latency = 10ms;
  engine_->NotifyPeers({PeerFor("nostatd"), PeerFor("dead"), PeerFor("live")}, 5, Record());
  sched_.Advance(100ms);
  using State = NotifyEngine::PeerProgress::State;
  std::vector<NotifyEngine::PeerProgress> p = engine_->Progress(10);
  ASSERT_EQ(p.size(), 3u);
  // "No statd" ended nostatd's first attempt at once: it waits outside the
  // slot, and dead took the slot; live waits for it.
  EXPECT_EQ(p[0].host, "nostatd");
  EXPECT_EQ(p[0].state, State::kPending);
  EXPECT_EQ(p[0].attempts, 1u);  // one rpcbind lookup, which said "no statd"
  EXPECT_GT(p[0].next_retry, sched_.Now());
  EXPECT_LE(p[0].next_retry, sched_.Now() + 120s);
  EXPECT_EQ(p[1].host, "dead");
  EXPECT_EQ(p[1].state, State::kPending);
  EXPECT_EQ(p[2].host, "live");
  EXPECT_EQ(p[2].state, State::kQueued);
  EXPECT_EQ(engine_->Progress(1).size(), 1u);
  EXPECT_EQ(engine_->peers_queued(), 1u);

  sched_.Advance(1s);  // dead's hold passed: live was answered
  p = engine_->Progress(10);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[2].host, "live");
  EXPECT_EQ(p[2].state, State::kAnswered);
  EXPECT_EQ(p[2].attempts, 2u);  // rpcbind, then SM_NOTIFY

  remote_net_.hosts["10.0.0.7"].ports[{kNsmProgram, kNsmVersion}] = 1011;
  sched_.Advance(121s);
  p = engine_->Progress(10);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].host, "dead");
  EXPECT_EQ(p[0].state, State::kPending);
  EXPECT_EQ(p[1].host, "nostatd");
  EXPECT_EQ(p[1].state, State::kAnswered);
  EXPECT_EQ(p[1].attempts, 3u);
  EXPECT_EQ(p[2].host, "live");
}

TEST_F(NotifyEngineTest, CallbackGoesToLockdWithStoredNameStateAndCookie) {
  Build();
  FakeDatagramPort::Host lockd;
  lockd.ports[{100021, 3}] = 4045;
  local_net_.hosts["127.0.0.1"] = lockd;
  CallbackRequest r{MonitorKey{"10.0.0.2", "server", 100021, 3, 16}, "10.0.0.2", 7, MakeCookie(3),
                    nullptr};
  engine_->Enqueue(r);
  sched_.Advance(1s);
  ASSERT_EQ(local_net_.delivered.size(), 1u);
  const auto& d = local_net_.delivered[0];
  EXPECT_EQ(d.port, 4045);
  EXPECT_EQ(d.prog, 100021u);
  EXPECT_EQ(d.vers, 3u);
  EXPECT_EQ(d.proc, 16u);
  CallbackArgs args = DecodeStatus(d.args).value();
  EXPECT_EQ(args.mon_name, "10.0.0.2");
  EXPECT_EQ(args.state, 7);
  EXPECT_EQ(args.priv, MakeCookie(3));
  EXPECT_EQ(engine_->stats().callbacks_ok, 1u);
  EXPECT_EQ(engine_->callbacks_in_progress(), 0u);
}

TEST_F(NotifyEngineTest, CallbackRetriesUntilLockdRegistersThenGivesUpAfterWindow) {
  Build();
  local_net_.hosts["127.0.0.1"] = FakeDatagramPort::Host{};  // rpcbind up, lockd not registered
  engine_->Enqueue(CallbackRequest{MonitorKey{"a", "server", 100021, 3, 16}, "a", 3, {}, nullptr});
  sched_.Advance(40s);
  EXPECT_EQ(engine_->callbacks_in_progress(), 1u);
  EXPECT_GE(local_net_.sent.size(), 4u);
  local_net_.hosts["127.0.0.1"].ports[{100021, 3}] = 4045;
  sched_.Advance(31s);
  EXPECT_EQ(engine_->stats().callbacks_ok, 1u);

  engine_->Enqueue(CallbackRequest{MonitorKey{"b", "server", 100021, 4, 16}, "b", 3, {}, nullptr});
  sched_.Advance(11min);
  EXPECT_EQ(engine_->stats().callbacks_failed, 1u);
  EXPECT_TRUE(log_.Contains("giving up"));
}

TEST_F(NotifyEngineTest, NewerCallbackReplacesOlder) {
  Build();
  local_net_.hosts["127.0.0.1"] = FakeDatagramPort::Host{};
  MonitorKey k{"a", "server", 100021, 3, 16};
  std::optional<bool> first_done;
  engine_->Enqueue(CallbackRequest{k, "a", 3, {}, [&](bool ok) { first_done = ok; }});
  sched_.Advance(3s);
  engine_->Enqueue(CallbackRequest{k, "a", 5, {}, nullptr});
  EXPECT_EQ(engine_->callbacks_in_progress(), 1u);
  local_net_.hosts["127.0.0.1"].ports[{100021, 3}] = 4045;
  sched_.Advance(5s);
  ASSERT_EQ(local_net_.delivered.size(), 1u);
  EXPECT_EQ(DecodeStatus(local_net_.delivered[0].args)->state, 5);
  EXPECT_EQ(first_done, false) << "the replaced request must be told";
}

TEST_F(NotifyEngineTest, RepeatedNotifiesKeepOneCallbackChainPerMonitor) {
  Build();
  local_net_.hosts["127.0.0.1"] = FakeDatagramPort::Host{};  // rpcbind up, lockd silent
  MonitorKey k{"10.0.0.2", "server", 100021, 3, 16};
  auto getports = [&] {
    size_t n = 0;
    for (const auto& s : local_net_.sent) n += s.port == rpc::kRpcbindPort;
    return n;
  };
  int replaced = 0;
  int32_t state = 1;
  // 60,000 SM_NOTIFY with rising states over 10 minutes (100 a second).
  size_t before = 0;
  size_t worst_per_30s = 0;
  for (int sec = 0; sec < 600; ++sec) {
    for (int i = 0; i < 100; ++i) {
      state += 2;
      engine_->Enqueue(CallbackRequest{k, "10.0.0.2", state, MakeCookie(1), [&](bool ok) {
                                         EXPECT_FALSE(ok);
                                         ++replaced;
                                       }});
    }
    sched_.Advance(1s);
    ASSERT_EQ(engine_->callbacks_in_progress(), 1u) << "at " << sec << " s";
    if (sec % 30 == 29) {
      worst_per_30s = std::max(worst_per_30s, getports() - before);
      before = getports();
    }
  }
  EXPECT_EQ(replaced, 60000 - 1);
  EXPECT_EQ(engine_->stats().callbacks_replaced, 60000u - 1u);
  // One schedule (1 s doubling to 30 s, two GETPORT transmissions a round),
  // not one per notification.
  EXPECT_LE(worst_per_30s, 8u);
  EXPECT_LE(getports(), 70u);
  EXPECT_LE(sched_.pending(), 4u) << "timers pile up";
  EXPECT_TRUE(local_net_.delivered.empty());

  // lockd comes back: it hears the newest state, once.
  std::optional<bool> last;
  engine_->Enqueue(
      CallbackRequest{k, "10.0.0.2", state + 2, MakeCookie(1), [&](bool ok) { last = ok; }});
  local_net_.hosts["127.0.0.1"].ports[{100021, 3}] = 4045;
  sched_.Advance(61s);
  ASSERT_EQ(local_net_.delivered.size(), 1u);
  EXPECT_EQ(DecodeStatus(local_net_.delivered[0].args)->state, state + 2);
  EXPECT_EQ(last, true);
  EXPECT_EQ(engine_->callbacks_in_progress(), 0u);
  EXPECT_EQ(engine_->stats().callbacks_ok, 1u);
}

TEST_F(NotifyEngineTest, NewerStateDuringACallInFlightIsSentAfterIt) {
  Build();
  FakeDatagramPort::Host lockd;
  lockd.ports[{100021, 3}] = 4045;
  local_net_.hosts["127.0.0.1"] = lockd;
  local_net_.latency = 100ms;
  MonitorKey k{"a", "server", 100021, 3, 16};
  std::optional<bool> newest;
  engine_->Enqueue(CallbackRequest{k, "a", 3, {}, nullptr});
  sched_.Advance(150ms);  // GETPORT answered, the callback (state 3) in flight
  engine_->Enqueue(CallbackRequest{k, "a", 5, {}, [&](bool ok) { newest = ok; }});
  sched_.Advance(1s);
  ASSERT_EQ(local_net_.delivered.size(), 2u);
  EXPECT_EQ(DecodeStatus(local_net_.delivered[0].args)->state, 3);
  EXPECT_EQ(DecodeStatus(local_net_.delivered[1].args)->state, 5);
  EXPECT_EQ(newest, true);
  EXPECT_EQ(engine_->callbacks_in_progress(), 0u);
}

// A storm of callbacks asks rpcbind for lockd's port once, not once each.
TEST_F(NotifyEngineTest, LockdPortIsLookedUpOnceForManyCallbacks) {
  Build();
  FakeDatagramPort::Host lockd;
  lockd.ports[{100021, 3}] = 4045;
  local_net_.hosts["127.0.0.1"] = lockd;
  local_net_.latency = 10ms;
  int delivered = 0;
  for (int i = 0; i < 200; ++i) {
    const std::string name = "10.2.0." + std::to_string(i);
    engine_->Enqueue(CallbackRequest{MonitorKey{name, "server", 100021, 3, 16}, name, 7,
                                     MakeCookie(static_cast<uint8_t>(i)),
                                     [&](bool ok) { delivered += ok; }});
  }
  sched_.Advance(1s);
  // More callbacks after the answer use the kept port.
  engine_->Enqueue(
      CallbackRequest{MonitorKey{"late", "server", 100021, 3, 16}, "late", 7, {}, [&](bool ok) {
                        delivered += ok;
                      }});
  sched_.Advance(1s);
  EXPECT_EQ(delivered, 201);
  EXPECT_EQ(local_net_.delivered.size(), 201u);
  size_t getports = 0;
  for (const auto& s : local_net_.sent) getports += s.port == rpc::kRpcbindPort;
  EXPECT_EQ(getports, 1u);
  EXPECT_EQ(engine_->stats().lockd_port_lookups, 1u);
}

// lockd restarted on another port: the call to the kept port fails, and
// the retry asks rpcbind again and reaches lockd on its new port.
TEST_F(NotifyEngineTest, FailedCallbackLooksUpLockdPortAgain) {
  Build();
  FakeDatagramPort::Host lockd;
  lockd.ports[{100021, 3}] = 4045;
  local_net_.hosts["127.0.0.1"] = lockd;
  std::optional<bool> first, second;
  engine_->Enqueue(CallbackRequest{
      MonitorKey{"a", "server", 100021, 3, 16}, "a", 3, {}, [&](bool ok) { first = ok; }});
  sched_.Advance(1s);
  ASSERT_EQ(first, true);
  local_net_.hosts["127.0.0.1"].ports[{100021, 3}] = 4046;
  engine_->Enqueue(CallbackRequest{
      MonitorKey{"b", "server", 100021, 3, 16}, "b", 5, {}, [&](bool ok) { second = ok; }});
  sched_.Advance(30s);
  EXPECT_EQ(second, true);
  ASSERT_EQ(local_net_.delivered.size(), 2u);
  EXPECT_EQ(local_net_.delivered[1].port, 4046);
  EXPECT_EQ(DecodeStatus(local_net_.delivered[1].args)->state, 5);
  EXPECT_EQ(engine_->stats().lockd_port_lookups, 2u);
}

// Dead peers first in the list never delay live ones: 300 peers nobody
// answers take every slot, but each gives its slot up after its hold and
// goes on retrying outside the slots, so the 10 live peers behind them are
// answered before any dead peer's first time-out (2 s), let alone its
// give-up (15 min).  The dead ones keep sm-notify's back-off meanwhile.
TEST_F(NotifyEngineTest, DeadPeersNeverDelayLiveOnes) {
  Build();  // 256 slots, held 20 ms (no answer yet) to 500 ms
  std::vector<NotifyEngine::Peer> peers;
  for (int i = 0; i < 300; ++i) {
    const std::string a = "10.66." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    AddPeer(a, a, /*up=*/false);
    peers.push_back(PeerFor(a));
  }
  for (int i = 0; i < 10; ++i) {
    const std::string a = "10.9.0." + std::to_string(i + 1);
    AddPeer(a, a);
    peers.push_back(PeerFor(a));
  }
  remote_net_.latency = 5ms;
  engine_->NotifyPeers(std::move(peers), 7, Record());
  EXPECT_EQ(engine_->peers_in_slots(), 256u);
  size_t most_in_slots = 0;
  for (int ms = 0; ms < 1500; ms += 10) {
    sched_.Advance(10ms);
    most_in_slots = std::max(most_in_slots, engine_->peers_in_slots());
  }
  EXPECT_LE(most_in_slots, 256u);
  for (int i = 0; i < 10; ++i) {
    const std::string a = "10.9.0." + std::to_string(i + 1);
    ASSERT_EQ(done_.count(a), 1u) << a << " waited for the dead peers";
    EXPECT_TRUE(done_[a]);
  }
  EXPECT_EQ(done_.size(), 10u) << "a dead peer was given up early";
  EXPECT_EQ(engine_->peers_in_progress(), 300u);
  EXPECT_EQ(engine_->peers_queued(), 0u);
  // Every dead peer has had its first transmission, and retries on its own.
  EXPECT_EQ(remote_net_.SentTo("10.66.0.1").size(), 1u);
  EXPECT_EQ(remote_net_.SentTo("10.66.0.50").size(), 1u);
  sched_.Advance(3s);
  EXPECT_EQ(remote_net_.SentTo("10.66.0.1").size(), 2u) << "the back-off: 2 s, then 4 s";
  EXPECT_EQ(engine_->stats().peers_notified, 10u);
}

// The hold of a slot follows the peers' round trip: slot_hold_min before
// any answer, then kHoldRoundTrips x the smoothed time to a first answer,
// within [slot_hold_min, slot_hold].  Dead peers taken after slow live ones
// hold their slots longer, so first calls in flight stay bounded on a slow
// network; on a fast one a dead peer gives its slot up after 20 ms.
// Only a first call's answer within the first timeout is a sample.
TEST_F(NotifyEngineTest, SlotHoldFollowsTheRoundTrip) {
  NotifyEngine::Options o;
  o.max_parallel = 1;
  Build(o);
  EXPECT_EQ(engine_->slot_hold(), 20ms);
  remote_net_.latency = 30ms;
  AddPeer("10.5.0.1", "10.5.0.1");
  AddPeer("10.5.0.2", "10.5.0.2");
  AddPeer("10.5.0.3", "10.5.0.3", /*up=*/false);
  AddPeer("10.5.0.4", "10.5.0.4", /*up=*/false);
  engine_->NotifyPeers(
      {PeerFor("10.5.0.1"), PeerFor("10.5.0.2"), PeerFor("10.5.0.3"), PeerFor("10.5.0.4")}, 7,
      Record());
  // 10.5.0.1 gives the only slot up after 20 ms, then answers its GETPORT
  // at 30 ms: the first sample, so the hold becomes 4 x 30 ms.
  sched_.Advance(25ms);
  EXPECT_EQ(remote_net_.SentTo("10.5.0.2").size(), 1u) << "the hold (20 ms) passed";
  sched_.Advance(10ms);
  EXPECT_EQ(engine_->slot_hold(), 120ms);
  // 10.5.0.2 leaves at 40 ms; the dead 10.5.0.3 takes the slot for 120 ms.
  sched_.Advance(115ms);
  EXPECT_EQ(remote_net_.SentTo("10.5.0.3").size(), 1u);
  EXPECT_EQ(remote_net_.SentTo("10.5.0.4").size(), 0u) << "10.5.0.3 still holds the slot";
  sched_.Advance(15ms);
  EXPECT_EQ(remote_net_.SentTo("10.5.0.4").size(), 1u) << "its hold passed";
  EXPECT_TRUE(done_["10.5.0.1"]);
  EXPECT_TRUE(done_["10.5.0.2"]);
  // Slow answers raise the hold up to slot_hold, never beyond.
  remote_net_.latency = 1s;
  for (int i = 0; i < 3; ++i) {
    const std::string a = "10.5.1." + std::to_string(i + 1);
    AddPeer(a, a);
    engine_->NotifyPeers({PeerFor(a)}, 7, Record());
    sched_.Advance(1500ms);
  }
  EXPECT_EQ(engine_->slot_hold(), 500ms);
}

// An address is sent to as it is: boot notification of peers recorded by
// address makes no resolver call.
TEST_F(NotifyEngineTest, NumericPeerIsNotifiedWithoutTheResolver) {
  Build();
  FakeDatagramPort::Host h;
  h.ports[{kNsmProgram, kNsmVersion}] = 1011;
  remote_net_.hosts["10.0.0.8"] = h;
  remote_net_.hosts["10.0.0.9"] = h;
  // Another spelling of 10.0.0.9: sent to in its presentation form.
  engine_->NotifyPeers({PeerFor("10.0.0.8"), PeerFor("10.0.9")}, 7, Record());
  sched_.Advance(1s);
  EXPECT_EQ(resolver_.lookups(), 0);
  EXPECT_TRUE(done_["10.0.0.8"]);
  EXPECT_TRUE(done_["10.0.9"]);
  ASSERT_EQ(remote_net_.delivered.size(), 2u);
  EXPECT_EQ(remote_net_.delivered[1].to, "10.0.0.9");
}

}  // namespace
}  // namespace nfsrec::statd
