// etcd::Client against real etcd members (tests/support/etcd-cluster): one
// member for the API, three for failures, one with TLS.  Run by
// etcd_client_test.sh (a private network namespace when root; SKIP
// without etcd).  Short TTLs and time-outs keep it well under a minute.
#include "common/store/etcd_client.h"

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "common/os/event_loop.h"
#include "tests/support/etcd_cluster.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include <gtest/gtest.h>

namespace nfsrec::etcd {
namespace {

using namespace std::chrono_literals;
using test_support::EtcdCluster;

class EtcdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = EventLoop::Create();
    ASSERT_OK(loop);
    loop_ = std::move(loop).value();
    sched_ = std::make_unique<LoopScheduler>(*loop_);
  }
  void TearDown() override {
    clients_.clear();
    sched_.reset();
  }

  ClientOptions Options(std::vector<std::string> endpoints) {
    ClientOptions o;
    o.endpoints = std::move(endpoints);
    o.connect_timeout = 500ms;
    o.request_timeout = 1s;
    o.read_retry_time = 2s;
    o.watch_probe_interval = 1s;
    return o;
  }
  Client& NewClient(ClientOptions o) {
    auto c = Client::Create(*loop_, *sched_, log_, std::move(o));
    EXPECT_OK(c);
    clients_.push_back(std::move(c).value());
    return *clients_.back();
  }

  // Runs the loop until the call completes.
  template <typename T>
  Result<T> Sync(const std::function<void(Callback<void(Result<T>)>)>& start) {
    std::optional<Result<T>> out;
    start([&out](Result<T> r) { out.emplace(std::move(r)); });
    if (!loop_->RunUntil([&] { return out.has_value(); }, 15s)) {
      return Status::TimedOut("test: no completion within 15 s");
    }
    return std::move(*out);
  }
  Result<PutResponse> Put(Client& c, std::string k, std::string v, LeaseId lease = 0) {
    return Sync<PutResponse>([&](auto cb) {
      c.Put(PutRequest{std::move(k), std::move(v), lease, false}, std::move(cb));
    });
  }
  Result<RangeResponse> Get(Client& c, RangeRequest r) {
    return Sync<RangeResponse>([&](auto cb) { c.Range(std::move(r), std::move(cb)); });
  }
  Result<TxnResponse> Txn(Client& c, TxnRequest t) {
    return Sync<TxnResponse>([&](auto cb) { c.Txn(std::move(t), std::move(cb)); });
  }
  Result<LeaseGrant> Grant(Client& c, int64_t ttl) {
    return Sync<LeaseGrant>([&](auto cb) { c.Grant(ttl, std::move(cb)); });
  }
  Status StatusSync(const std::function<void(Callback<void(Status)>)>& start) {
    std::optional<Status> out;
    start([&out](Status s) { out = std::move(s); });
    if (!loop_->RunUntil([&] { return out.has_value(); }, 15s)) return Status::TimedOut("test");
    return *out;
  }
  void Spin(Duration d) {
    loop_->RunUntil([] { return false; }, d);
  }
  // The key's count in a linearizable read, polled until it is `want`.
  bool WaitCount(Client& c, const std::string& key, int64_t want, Duration limit) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      auto r = Get(c, RangeRequest::Key(key));
      if (r.ok() && r->count == want) return true;
      Spin(100ms);
    }
    return false;
  }

  CapturingLogger log_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<LoopScheduler> sched_;
  std::vector<std::unique_ptr<Client>> clients_;
};

// ---------------------------------------------------------------------------
// One member, shared by the suite.
class EtcdOneMember : public EtcdTest {
 protected:
  static void TearDownTestSuite() { etcd_.TearDown(); }
  void SetUp() override {
    EtcdTest::SetUp();
    cluster_ = etcd_.Get();
    ASSERT_NE(cluster_, nullptr) << etcd_.error().ToString();
    client_ = &NewClient(Options(cluster_->endpoints()));
  }
  static inline test_support::SharedEtcdCluster etcd_{1};
  EtcdCluster* cluster_ = nullptr;
  Client* client_ = nullptr;
};

TEST_F(EtcdOneMember, PutRangeDeleteRoundTripBinaryKeysAndRevisions) {
  const std::string key("/t1/\0\xff", 6), value("v\0\x80", 3);
  auto p1 = Put(*client_, key, value);
  ASSERT_OK(p1);
  EXPECT_GT(p1->header.revision, 0);
  auto r = Get(*client_, RangeRequest::Key(key));
  ASSERT_OK(r);
  ASSERT_EQ(r->kvs.size(), 1u);
  EXPECT_EQ(r->kvs[0].key, key);
  EXPECT_EQ(r->kvs[0].value, value);
  EXPECT_EQ(r->kvs[0].mod_revision, p1->header.revision);
  EXPECT_EQ(r->kvs[0].version, 1);
  auto p2 = Put(*client_, key, "second");
  ASSERT_OK(p2);
  ASSERT_OK(Put(*client_, "/t1/b", "b"));
  auto all = Get(*client_, RangeRequest::Prefix("/t1/"));
  ASSERT_OK(all);
  ASSERT_EQ(all->count, 2);
  EXPECT_EQ(all->kvs[0].key, key);  // byte order: "\0" before "b"
  EXPECT_EQ(all->kvs[0].version, 2);
  EXPECT_EQ(all->kvs[1].key, "/t1/b");
  RangeRequest limited = RangeRequest::Prefix("/t1/");
  limited.limit = 1;
  auto one = Get(*client_, limited);
  ASSERT_OK(one);
  EXPECT_EQ(one->kvs.size(), 1u);
  EXPECT_TRUE(one->more);
  RangeRequest past = RangeRequest::Key(key);
  past.revision = p1->header.revision;
  auto old = Get(*client_, past);
  ASSERT_OK(old);
  ASSERT_EQ(old->kvs.size(), 1u);
  EXPECT_EQ(old->kvs[0].value, value);
  auto del = Sync<DeleteResponse>(
      [&](auto cb) { client_->Delete(DeleteRequest::Prefix("/t1/"), std::move(cb)); });
  ASSERT_OK(del);
  EXPECT_EQ(del->deleted, 2);
  auto none = Get(*client_, RangeRequest::Prefix("/t1/"));
  ASSERT_OK(none);
  EXPECT_EQ(none->count, 0);
}

TEST_F(EtcdOneMember, TxnCompareAndSwapSucceedsOnCurrentRevisionAndFailsOnStale) {
  auto first = Put(*client_, "/t2/grace", "C=1,R=0");
  ASSERT_OK(first);
  int64_t read_rev = first->header.revision;
  TxnRequest cas;
  cas.compares.push_back(Compare::ModRevision("/t2/grace", Compare::Op::kEqual, read_rev));
  cas.success.emplace_back(PutRequest{"/t2/grace", "C=2,R=1", 0, false});
  cas.failure.emplace_back(RangeRequest::Key("/t2/grace"));
  auto won = Txn(*client_, cas);
  ASSERT_OK(won);
  EXPECT_TRUE(won->succeeded);
  ASSERT_EQ(won->responses.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<PutResponse>(won->responses[0]));
  EXPECT_GT(won->header.revision, read_rev);
  // Same compare again: the revision read is stale now.
  auto lost = Txn(*client_, cas);
  ASSERT_OK(lost);
  EXPECT_FALSE(lost->succeeded);
  ASSERT_EQ(lost->responses.size(), 1u);
  const auto& now = std::get<RangeResponse>(lost->responses[0]);
  ASSERT_EQ(now.kvs.size(), 1u);
  EXPECT_EQ(now.kvs[0].value, "C=2,R=1");
  EXPECT_EQ(now.kvs[0].mod_revision, won->header.revision);
  // Create-if-absent (version 0) wins once.
  TxnRequest create;
  create.compares.push_back(Compare::Version("/t2/node", Compare::Op::kEqual, 0));
  create.success.emplace_back(PutRequest{"/t2/node", "a", 0, false});
  auto c1 = Txn(*client_, create);
  auto c2 = Txn(*client_, create);
  ASSERT_OK(c1);
  ASSERT_OK(c2);
  EXPECT_TRUE(c1->succeeded);
  EXPECT_FALSE(c2->succeeded);
}

TEST_F(EtcdOneMember, LeaseExpiryRemovesBoundKeys) {
  auto g = Grant(*client_, 1);
  ASSERT_OK(g);
  EXPECT_GE(g->ttl, 1);
  ASSERT_OK(Put(*client_, "/t3/alive", "n1", g->id));
  auto r = Get(*client_, RangeRequest::Key("/t3/alive"));
  ASSERT_OK(r);
  ASSERT_EQ(r->kvs.size(), 1u);
  EXPECT_EQ(r->kvs[0].lease, g->id);
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(WaitCount(*client_, "/t3/alive", 0, 6s));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 500ms);
  auto ttl = Sync<LeaseTtl>([&](auto cb) { client_->TimeToLive(g->id, false, std::move(cb)); });
  ASSERT_OK(ttl);
  EXPECT_EQ(ttl->ttl, -1);
}

TEST_F(EtcdOneMember, KeepAliveKeepsLeaseAliveBeyondItsTtl) {
  auto g = Grant(*client_, 1);
  ASSERT_OK(g);
  bool lost = false;
  auto lease = client_->KeepAlive(g->id, g->ttl, [&](Status) { lost = true; });
  ASSERT_OK(Put(*client_, "/t4/alive", "n1", g->id));
  Spin(std::chrono::seconds(g->ttl) * 3);
  EXPECT_FALSE(lost);
  EXPECT_FALSE(lease->lost());
  auto r = Get(*client_, RangeRequest::Key("/t4/alive"));
  ASSERT_OK(r);
  EXPECT_EQ(r->count, 1);
  auto ttl = Sync<LeaseTtl>([&](auto cb) { client_->TimeToLive(g->id, true, std::move(cb)); });
  ASSERT_OK(ttl);
  EXPECT_GE(ttl->ttl, 0);  // whole seconds left: 0 just before a renewal, -1 when gone
  EXPECT_EQ(ttl->keys, std::vector<std::string>{"/t4/alive"});
  EXPECT_GT(lease->expires(), sched_->Now());
}

TEST_F(EtcdOneMember, LeaseReportsLossWhenEtcdSaysItIsGone) {
  auto g = Grant(*client_, 2);
  ASSERT_OK(g);
  std::optional<Status> lost;
  auto lease = client_->KeepAlive(g->id, g->ttl, [&](Status s) { lost = std::move(s); });
  Spin(200ms);
  ASSERT_OK(StatusSync([&](auto cb) { client_->Revoke(g->id, std::move(cb)); }));
  ASSERT_TRUE(loop_->RunUntil([&] { return lost.has_value(); }, 3s));
  EXPECT_TRUE(lost->IsNotFound()) << lost->ToString();
  EXPECT_TRUE(lease->lost());
}

TEST_F(EtcdOneMember, LeaseReportsLossWhenItCannotRenewBeforeExpiryAndItsKeysGo) {
  auto g = Grant(*client_, 2);
  ASSERT_OK(g);
  std::optional<Status> lost;
  auto lease = client_->KeepAlive(g->id, g->ttl, [&](Status s) { lost = std::move(s); });
  ASSERT_OK(Put(*client_, "/t6/alive", "n1", g->id));
  Spin(300ms);
  ASSERT_OK(cluster_->Freeze(1));
  auto frozen = std::chrono::steady_clock::now();
  bool reported = loop_->RunUntil([&] { return lost.has_value(); }, 4s);
  auto took = std::chrono::steady_clock::now() - frozen;
  ASSERT_OK(cluster_->Thaw(1));
  ASSERT_TRUE(reported);
  EXPECT_TRUE(lost->IsUnavailable()) << lost->ToString();
  // Not before the TTL could have run out, not after it surely did.
  // (The last renewal was sent at most ttl/3 and a round trip before.)
  EXPECT_GE(took, std::chrono::seconds(g->ttl) - 1s);
  EXPECT_LE(took, std::chrono::seconds(g->ttl) + 700ms);
  EXPECT_TRUE(WaitCount(*client_, "/t6/alive", 0, 6s));
}

TEST_F(EtcdOneMember, WatchSeesPutsAndDeletesInRevisionOrder) {
  std::vector<Event> seen;
  std::vector<size_t> batches;
  auto w = client_->StartWatch(
      WatchRequest{"/t7/", PrefixEnd("/t7/"), 0, false},
      [&](const std::vector<Event>& ev) {
        seen.insert(seen.end(), ev.begin(), ev.end());
        batches.push_back(ev.size());
      },
      [&](const WatchError& e) { ADD_FAILURE() << e.status.ToString(); });
  ASSERT_TRUE(loop_->RunUntil([&] { return w->connected(); }, 5s));
  ASSERT_OK(Put(*client_, "/t7/a", "1"));
  ASSERT_OK(Put(*client_, "/t7/b", "2"));
  ASSERT_OK(Sync<DeleteResponse>([&](auto cb) {
    client_->Delete(DeleteRequest{"/t7/a", "", false}, std::move(cb));
  }));
  TxnRequest both;
  both.success.emplace_back(PutRequest{"/t7/c", "3", 0, false});
  both.success.emplace_back(DeleteRequest{"/t7/b", "", false});
  ASSERT_OK(Txn(*client_, both));
  ASSERT_OK(Put(*client_, "/t8/other", "not watched"));
  ASSERT_TRUE(loop_->RunUntil([&] { return seen.size() >= 5; }, 5s));
  Spin(100ms);
  ASSERT_EQ(seen.size(), 5u);
  std::vector<std::pair<Event::Type, std::string>> got;
  for (const auto& e : seen) got.emplace_back(e.type, e.kv.key);
  using T = Event::Type;
  std::vector<std::pair<Event::Type, std::string>> want = {{T::kPut, "/t7/a"},
                                                           {T::kPut, "/t7/b"},
                                                           {T::kDelete, "/t7/a"},
                                                           {T::kPut, "/t7/c"},
                                                           {T::kDelete, "/t7/b"}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(seen[0].kv.value, "1");
  for (size_t i = 1; i < seen.size(); ++i)
    EXPECT_GE(seen[i].kv.mod_revision, seen[i - 1].kv.mod_revision);
  // The txn's two events share a revision and arrive together.
  EXPECT_EQ(seen[3].kv.mod_revision, seen[4].kv.mod_revision);
  EXPECT_EQ(batches.back(), 2u);
}

TEST_F(EtcdOneMember, WatchFromCompactedRevisionReportsCompacted) {
  auto p1 = Put(*client_, "/t9/k", "1");
  ASSERT_OK(p1);
  ASSERT_OK(Put(*client_, "/t9/k", "2"));
  auto p3 = Put(*client_, "/t9/k", "3");
  ASSERT_OK(p3);
  ASSERT_OK(StatusSync([&](auto cb) { client_->Compact(p3->header.revision, std::move(cb)); }));
  std::optional<WatchError> err;
  bool events = false;
  auto w = client_->StartWatch(
      WatchRequest{"/t9/k", "", p1->header.revision, false},
      [&](const std::vector<Event>&) { events = true; }, [&](const WatchError& e) { err = e; });
  ASSERT_TRUE(loop_->RunUntil([&] { return err.has_value(); }, 5s));
  EXPECT_EQ(err->kind, WatchError::Kind::kCompacted);
  EXPECT_EQ(err->compact_revision, p3->header.revision);
  EXPECT_FALSE(events);
}

// ---------------------------------------------------------------------------
// Three members, a fresh cluster per test (the tests kill members).
class EtcdThreeMembers : public EtcdTest {
 protected:
  void SetUp() override {
    EtcdTest::SetUp();
    auto c = EtcdCluster::Start(3);
    ASSERT_OK(c);
    cluster_ = std::move(c).value();
  }
  void TearDown() override {
    EtcdTest::TearDown();
    cluster_.reset();
  }
  // 1-based number of the member that leads.
  int Leader() {
    std::map<uint64_t, int> ids;
    uint64_t leader = 0;
    for (int i = 0; i < 3; ++i) {
      Client& c = NewClient(Options({cluster_->endpoints()[i]}));
      auto s = Sync<MemberStatus>([&](auto cb) { c.GetMemberStatus(std::move(cb)); });
      if (!s.ok()) continue;
      ids[s->header.member_id] = i + 1;
      if (s->leader != 0) leader = s->leader;
    }
    return ids.count(leader) != 0 ? ids[leader] : 0;
  }
  std::unique_ptr<EtcdCluster> cluster_;
};

TEST_F(EtcdThreeMembers, WatchResumesOnAnotherMemberWithoutMissingOrRepeatingEvents) {
  const auto& ep = cluster_->endpoints();
  Client& watcher = NewClient(Options(ep));
  Client& writer = NewClient(Options({ep[2]}));
  std::vector<std::string> values;
  auto w = watcher.StartWatch(
      WatchRequest{"/w/", PrefixEnd("/w/"), 0, false},
      [&](const std::vector<Event>& ev) {
        for (const auto& e : ev) values.push_back(e.kv.value);
      },
      [&](const WatchError& e) { ADD_FAILURE() << e.status.ToString(); });
  ASSERT_TRUE(loop_->RunUntil([&] { return w->connected(); }, 5s));
  ASSERT_EQ(w->endpoint(), ep[0]);
  constexpr int kWrites = 60;
  for (int i = 0; i < kWrites; ++i) {
    if (i == 20) {
      // Delivered so far, then the watch's member dies mid-stream.
      ASSERT_TRUE(loop_->RunUntil([&] { return values.size() == 20; }, 5s));
      ASSERT_OK(cluster_->Kill(1));
    }
    // Created once even when retried (the watch's member may have led):
    // the safe-retry idiom of etcd_client.h.
    TxnRequest create;
    std::string key = "/w/" + std::to_string(1000 + i);
    create.compares.push_back(Compare::Version(key, Compare::Op::kEqual, 0));
    create.success.emplace_back(PutRequest{key, std::to_string(i), 0, false});
    Result<TxnResponse> r = Status::Unavailable("not tried");
    for (int attempt = 0; attempt < 10 && !r.ok(); ++attempt) r = Txn(writer, create);
    ASSERT_OK(r);
  }
  ASSERT_TRUE(loop_->RunUntil([&] { return values.size() >= kWrites; }, 10s))
      << values.size() << " events";
  Spin(200ms);
  ASSERT_EQ(values.size(), static_cast<size_t>(kWrites));
  for (int i = 0; i < kWrites; ++i) EXPECT_EQ(values[i], std::to_string(i));
  EXPECT_NE(w->endpoint(), ep[0]);
  EXPECT_GE(w->streams(), 2u);
}

TEST_F(EtcdThreeMembers, WatchLeavesAHungMemberFoundByTheStatusProbe) {
  const auto& ep = cluster_->endpoints();
  Client& watcher = NewClient(Options(ep));  // probes every second
  Client& writer = NewClient(Options({ep[2], ep[1]}));
  std::vector<std::string> values;
  auto w = watcher.StartWatch(
      WatchRequest{"/h/", PrefixEnd("/h/"), 0, false},
      [&](const std::vector<Event>& ev) {
        for (const auto& e : ev) values.push_back(e.kv.value);
      },
      [&](const WatchError& e) { ADD_FAILURE() << e.status.ToString(); });
  ASSERT_TRUE(loop_->RunUntil([&] { return w->connected(); }, 5s));
  ASSERT_EQ(w->endpoint(), ep[0]);
  ASSERT_OK(Put(writer, "/h/0", "0"));
  ASSERT_TRUE(loop_->RunUntil([&] { return values.size() == 1; }, 5s));
  // SIGSTOP: the stream stays open, the member's kernel still ACKs, and
  // nothing arrives; only the probe tells.
  ASSERT_OK(cluster_->Freeze(1));
  for (int i = 1; i <= 5; ++i) {
    TxnRequest create;
    std::string key = "/h/" + std::to_string(i);
    create.compares.push_back(Compare::Version(key, Compare::Op::kEqual, 0));
    create.success.emplace_back(PutRequest{key, std::to_string(i), 0, false});
    Result<TxnResponse> r = Status::Unavailable("not tried");
    for (int attempt = 0; attempt < 10 && !r.ok(); ++attempt) r = Txn(writer, create);
    ASSERT_OK(r);
  }
  bool all = loop_->RunUntil([&] { return values.size() >= 6; }, 8s);
  ASSERT_OK(cluster_->Thaw(1));
  ASSERT_TRUE(all) << values.size() << " events";
  EXPECT_EQ(values, (std::vector<std::string>{"0", "1", "2", "3", "4", "5"}));
  EXPECT_NE(w->endpoint(), ep[0]);
}

TEST_F(EtcdThreeMembers, EveryAcknowledgedWriteSurvivesKillingTheLeaderMidStream) {
  int leader = Leader();
  ASSERT_NE(leader, 0);
  Client& c = NewClient(Options(cluster_->endpoints()));
  constexpr int kWrites = 300, kConcurrency = 8;
  int next = 0, completed = 0, acked_after_kill = 0;
  bool killed = false;
  std::set<int> acked;
  std::function<void()> issue = [&] {
    if (next >= kWrites) return;
    int i = next++;
    c.Put(PutRequest{"/ack/" + std::to_string(i), std::to_string(i), 0, false},
          [&, i](Result<PutResponse> r) {
            ++completed;
            if (r.ok()) {
              acked.insert(i);
              acked_after_kill += killed;
            } else {
              EXPECT_TRUE(r.status().IsUnavailable()) << r.status().ToString();
            }
            issue();
          });
  };
  for (int k = 0; k < kConcurrency; ++k) issue();
  ASSERT_TRUE(loop_->RunUntil([&] { return completed >= 100; }, 20s));
  ASSERT_OK(cluster_->Kill(leader));
  killed = true;
  ASSERT_TRUE(loop_->RunUntil([&] { return completed == kWrites; }, 30s)) << completed;
  EXPECT_GT(acked_after_kill, 0);
  auto all = Get(c, RangeRequest::Prefix("/ack/"));
  ASSERT_OK(all);
  std::map<std::string, std::string> stored;
  for (const auto& kv : all->kvs) stored[kv.key] = kv.value;
  for (int i : acked) {
    auto it = stored.find("/ack/" + std::to_string(i));
    ASSERT_NE(it, stored.end()) << "acknowledged write " << i << " is lost";
    EXPECT_EQ(it->second, std::to_string(i));
  }
}

TEST_F(EtcdThreeMembers, WithoutQuorumWritesAndLinearizableReadsFailSerializableReadsAnswer) {
  const auto& ep = cluster_->endpoints();
  Client& c = NewClient(Options(ep));
  ASSERT_OK(Put(c, "/q/k", "before"));
  ASSERT_OK(cluster_->Kill(2));
  ASSERT_OK(cluster_->Kill(3));
  auto t0 = std::chrono::steady_clock::now();
  auto w = Put(c, "/q/k", "during");
  EXPECT_TRUE(w.status().IsUnavailable()) << w.status().ToString();
  EXPECT_LE(std::chrono::steady_clock::now() - t0, 3s);
  t0 = std::chrono::steady_clock::now();
  auto lin = Get(c, RangeRequest::Key("/q/k"));
  EXPECT_TRUE(lin.status().IsUnavailable()) << lin.status().ToString();
  EXPECT_LE(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_FALSE(c.available());
  // The surviving member answers from its own copy.
  Client& local = NewClient(Options({ep[0]}));
  RangeRequest ser = RangeRequest::Key("/q/k");
  ser.serializable = true;
  auto s = Get(local, ser);
  ASSERT_OK(s);
  ASSERT_EQ(s->kvs.size(), 1u);
  EXPECT_TRUE(s->kvs[0].value == "before" || s->kvs[0].value == "during");
  // Quorum back: writes succeed again.
  ASSERT_OK(cluster_->Restart(2));
  ASSERT_OK(cluster_->Restart(3));
  ASSERT_OK(cluster_->WaitHealthy());
  Result<PutResponse> after = Status::Unavailable("not tried");
  for (int i = 0; i < 20 && !after.ok(); ++i) {
    after = Put(c, "/q/k", "after");
    if (!after.ok()) Spin(200ms);
  }
  ASSERT_OK(after);
  EXPECT_TRUE(c.available());
  auto r = Get(c, RangeRequest::Key("/q/k"));
  ASSERT_OK(r);
  EXPECT_EQ(r->kvs.at(0).value, "after");
  int down = 0, up = 0;
  for (const auto& [level, text] : log_.lines()) {
    down += text.find("no endpoint answers") != std::string::npos;
    up += text.find("reachable again") != std::string::npos;
  }
  EXPECT_EQ(down, 1);
  EXPECT_EQ(up, 1);
}

// ---------------------------------------------------------------------------
// TLS: one member that wants a client certificate.
class EtcdTls : public EtcdTest {
 protected:
  void SetUp() override {
    EtcdTest::SetUp();
    ASSERT_OK(EtcdCluster::Certs(dir_.path() + "/good"));
    ASSERT_OK(EtcdCluster::Certs(dir_.path() + "/other"));
    auto c = EtcdCluster::Start(1, dir_.path() + "/good");
    ASSERT_OK(c);
    cluster_ = std::move(c).value();
  }
  void TearDown() override {
    EtcdTest::TearDown();
    cluster_.reset();
  }
  ClientOptions Tls(const std::string& ca_dir, bool client_cert) {
    ClientOptions o = Options(cluster_->endpoints());
    o.tls.ca_file = ca_dir + "/ca.pem";
    if (client_cert) {
      o.tls.cert_file = dir_.path() + "/good/client.pem";
      o.tls.key_file = dir_.path() + "/good/client-key.pem";
    }
    return o;
  }
  test_support::TempDir dir_;
  std::unique_ptr<EtcdCluster> cluster_;
};

TEST_F(EtcdTls, ClientCertificateSignedByTheCaWorks) {
  ASSERT_EQ(cluster_->endpoints()[0].rfind("https://", 0), 0u);
  Client& c = NewClient(Tls(dir_.path() + "/good", true));
  ASSERT_OK(Put(c, "/tls/k", "v"));
  auto r = Get(c, RangeRequest::Key("/tls/k"));
  ASSERT_OK(r);
  EXPECT_EQ(r->kvs.at(0).value, "v");
}

TEST_F(EtcdTls, ServerCertificateFromAnotherCaIsRefused) {
  Client& c = NewClient(Tls(dir_.path() + "/other", true));
  auto p = Put(c, "/tls/k", "v");
  EXPECT_TRUE(p.status().IsUnavailable()) << p.status().ToString();
  EXPECT_NE(p.status().message().find("certificate"), std::string::npos) << p.status().ToString();
}

TEST_F(EtcdTls, MissingClientCertificateIsRefused) {
  Client& c = NewClient(Tls(dir_.path() + "/good", false));
  auto p = Put(c, "/tls/k", "v");
  EXPECT_FALSE(p.ok());
}

}  // namespace
}  // namespace nfsrec::etcd
