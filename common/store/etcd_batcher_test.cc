// TxnBatcher against one real etcd member (tests/support/etcd-cluster),
// shared by the suite; each test writes under its own prefix.  Run by
// etcd_batcher_test.sh (a private network namespace when root; SKIP
// without etcd).
#include "common/store/etcd_batcher.h"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/os/event_loop.h"
#include "tests/support/etcd_cluster.h"
#include "tests/support/status_matchers.h"
#include <gtest/gtest.h>

namespace nfsrec {
namespace {

using namespace std::chrono_literals;
using etcd::Compare;
using etcd::DeleteRequest;
using etcd::PutRequest;
using etcd::RangeRequest;
using etcd::RangeResponse;
using etcd::TxnRequest;
using etcd::TxnResponse;
using test_support::EtcdCluster;

TxnRequest PutUnit(std::string key, std::string value) {
  TxnRequest t;
  t.success.emplace_back(PutRequest{std::move(key), std::move(value), 0, false});
  return t;
}

class TxnBatcherTest : public ::testing::Test {
 protected:
  static void TearDownTestSuite() { etcd_.TearDown(); }

  void SetUp() override {
    cluster_ = etcd_.Get();
    ASSERT_NE(cluster_, nullptr) << etcd_.error().ToString();
    auto loop = EventLoop::Create();
    ASSERT_OK(loop);
    loop_ = std::move(loop).value();
    sched_ = std::make_unique<LoopScheduler>(*loop_);
    client_ = NewClient(cluster_->endpoints());
    prefix_ =
        StrCat("/batcher/", ::testing::UnitTest::GetInstance()->current_test_info()->name(), "/");
  }
  void TearDown() override {
    client_.reset();
    sched_.reset();
  }

  std::unique_ptr<etcd::Client> NewClient(std::vector<std::string> endpoints) {
    etcd::ClientOptions o;
    o.endpoints = std::move(endpoints);
    o.connect_timeout = 500ms;
    o.request_timeout = 1s;
    o.read_retry_time = 2s;
    auto c = etcd::Client::Create(*loop_, *sched_, log_, std::move(o));
    EXPECT_OK(c);
    return c.ok() ? std::move(c).value() : nullptr;
  }

  EtcdScope Scope() {
    EtcdScope s;
    s.client = client_.get();
    s.prefix = prefix_;
    return s;
  }

  // Submits every unit at once, then runs the loop until all completed.
  std::vector<Result<TxnResponse>> SubmitAll(TxnBatcher& b, std::vector<TxnRequest> units) {
    std::vector<std::optional<Result<TxnResponse>>> out(units.size());
    std::vector<size_t> order;
    for (size_t i = 0; i < units.size(); ++i) {
      b.Submit(std::move(units[i]), [&out, &order, i](Result<TxnResponse> r) {
        out[i].emplace(std::move(r));
        order.push_back(i);
      });
    }
    EXPECT_TRUE(loop_->RunUntil([&] { return order.size() == out.size(); }, 30s));
    for (size_t i = 0; i < order.size(); ++i) EXPECT_EQ(order[i], i) << "completion order";
    std::vector<Result<TxnResponse>> res;
    for (auto& o : out) {
      res.push_back(o.has_value() ? std::move(*o) : Result<TxnResponse>(Status::TimedOut("test")));
    }
    return res;
  }

  Result<RangeResponse> Get(RangeRequest r) {
    std::optional<Result<RangeResponse>> out;
    client_->Range(std::move(r), [&out](Result<RangeResponse> x) { out.emplace(std::move(x)); });
    if (!loop_->RunUntil([&] { return out.has_value(); }, 15s)) return Status::TimedOut("test");
    return std::move(*out);
  }

  static inline test_support::SharedEtcdCluster etcd_{1};
  EtcdCluster* cluster_ = nullptr;
  CapturingLogger log_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<LoopScheduler> sched_;
  std::unique_ptr<etcd::Client> client_;
  std::string prefix_;
};

TEST_F(TxnBatcherTest, UnitsSubmittedDuringATxnShareTheNextOneAndCompleteInOrder) {
  TxnBatcher b(Scope());
  std::vector<TxnRequest> units;
  for (int i = 0; i < 50; ++i) units.push_back(PutUnit(StrCat(prefix_, "k", 100 + i), "v"));
  auto res = SubmitAll(b, units);
  int64_t first_rev = 0;
  for (size_t i = 0; i < res.size(); ++i) {
    ASSERT_OK(res[i]);
    EXPECT_TRUE(res[i]->succeeded);
    ASSERT_EQ(res[i]->responses.size(), 1u);
    EXPECT_TRUE(std::holds_alternative<etcd::PutResponse>(res[i]->responses[0]));
    EXPECT_GE(res[i]->header.revision, first_rev);
    first_rev = res[i]->header.revision;
  }
  // The first unit goes alone; the 49 queued behind it share one Txn.
  EXPECT_EQ(b.stats().txns, 2u);
  EXPECT_EQ(b.stats().units, 50u);
  EXPECT_EQ(b.stats().max_group, 49u);
  auto r = Get(RangeRequest::Prefix(prefix_));
  ASSERT_OK(r);
  EXPECT_EQ(r->count, 50);
}

// etcd commits the next group while the previous group's completions run
// (a Create's completion writes its downcall to the kernel): when the last
// completions ran longer than the gathering window, the next group goes
// before the answered group's completions.
TEST_F(TxnBatcherTest, TheNextGroupIsSentBeforeThePreviousGroupsCompletionsRun) {
  TxnBatcher b(Scope());
  std::vector<std::string> order;
  uint64_t txns_at_done = 0;
  size_t queued_at_done = 0;
  auto next = [&](int i) {
    b.Submit(PutUnit(StrCat(prefix_, "next/", i), "v"), [&, i](Result<TxnResponse> r) {
      EXPECT_OK(r);
      order.push_back(StrCat("next ", i));
    });
  };
  b.Submit(PutUnit(prefix_ + "slow", "1"), [&](Result<TxnResponse> r) {
    EXPECT_OK(r);
    order.push_back("slow");
    // A completion longer than the window, as a downcall through a slow pipe.
    std::this_thread::sleep_for(3 * TxnBatcher::kMaxGatherWait);
    b.Submit(PutUnit(prefix_ + "first", "1"), [&](Result<TxnResponse> r2) {
      EXPECT_OK(r2);
      txns_at_done = b.stats().txns;
      queued_at_done = b.queued();
      order.push_back("first");
    });
    for (int i = 0; i < 5; ++i) next(i);
  });
  ASSERT_TRUE(loop_->RunUntil([&] { return order.size() == 7; }, 15s));
  EXPECT_EQ(txns_at_done, 3u) << "the queued group waited for the first unit's completion";
  EXPECT_EQ(queued_at_done, 0u);
  EXPECT_EQ(order, (std::vector<std::string>{"slow", "first", "next 0", "next 1", "next 2",
                                             "next 3", "next 4"}));
  EXPECT_EQ(b.stats().txns, 3u);
  EXPECT_EQ(b.stats().max_group, 5u);
  EXPECT_EQ(b.stats().gathers, 0u);
}

// Gathering: the units queued while a Txn is in flight wait for the writer
// whose unit it carried, and go the moment it submits again.
TEST_F(TxnBatcherTest, AGroupWaitsForTheWriterJustAnsweredAndGoesWhenItComesBack) {
  TxnBatcher b(Scope());
  size_t queued_before = 0, queued_after = 0;
  uint64_t txns_after = 0;
  int done = 0;
  b.Submit(PutUnit(prefix_ + "w0", "1"), [&](Result<TxnResponse> r) {
    EXPECT_OK(r);
    queued_before = b.queued();
    b.Submit(PutUnit(prefix_ + "w0", "2"), [&](Result<TxnResponse> r2) {
      EXPECT_OK(r2);
      ++done;
    });
    queued_after = b.queued();
    txns_after = b.stats().txns;
    ++done;
  });
  for (int i = 1; i < 8; ++i) {
    b.Submit(PutUnit(StrCat(prefix_, "w", i), "1"), [&](Result<TxnResponse> r) {
      EXPECT_OK(r);
      ++done;
    });
  }
  ASSERT_TRUE(loop_->RunUntil([&] { return done == 9; }, 15s));
  EXPECT_EQ(queued_before, 7u) << "the group did not wait for the writer answered";
  EXPECT_EQ(queued_after, 0u) << "the group did not go when the writer came back";
  EXPECT_EQ(txns_after, 2u);
  EXPECT_EQ(b.stats().max_group, 8u);
  EXPECT_EQ(b.stats().gathers, 1u);
  EXPECT_EQ(b.stats().gather_timeouts, 0u);
}

TEST_F(TxnBatcherTest, AGatheringWaitEndsAtTheWindowWhenTheWriterDoesNotComeBack) {
  TxnBatcher b(Scope());
  std::vector<int> order;
  for (int i = 0; i < 4; ++i) {
    b.Submit(PutUnit(StrCat(prefix_, i), "v"), [&, i](Result<TxnResponse> r) {
      EXPECT_OK(r);
      order.push_back(i);
    });
  }
  ASSERT_TRUE(loop_->RunUntil([&] { return order.size() == 4; }, 15s));
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(b.stats().txns, 2u);
  EXPECT_EQ(b.stats().gathers, 1u);
  EXPECT_EQ(b.stats().gather_timeouts, 1u);
}

// Concurrency 1: a lone writer's unit is sent inside Submit, never held.
TEST_F(TxnBatcherTest, ALoneWritersUnitsGoAtOnce) {
  TxnBatcher b(Scope());
  int done = 0;
  std::vector<size_t> queued_after_submit;
  std::function<void()> write = [&] {
    b.Submit(PutUnit(prefix_ + "k", StrCat(done)), [&](Result<TxnResponse> r) {
      EXPECT_OK(r);
      if (++done < 20) write();
    });
    queued_after_submit.push_back(b.queued());
  };
  write();
  ASSERT_TRUE(loop_->RunUntil([&] { return done == 20; }, 15s));
  EXPECT_EQ(queued_after_submit, std::vector<size_t>(20, 0));
  EXPECT_EQ(b.stats().txns, 20u);
  EXPECT_EQ(b.stats().gathers, 0u);
}

// A read queued during a wait ends it: later units could not join the group.
TEST_F(TxnBatcherTest, ARangeQueuedWhileGatheringSendsTheGroupAtOnce) {
  TxnBatcher b(Scope());
  std::vector<std::string> order;
  size_t queued_at_range = 0;
  b.Submit(PutUnit(prefix_ + "first", "1"), [&](Result<TxnResponse> r) {
    EXPECT_OK(r);
    order.push_back("first");
    b.Range(RangeRequest::Prefix(prefix_), [&](Result<RangeResponse> seen) {
      ASSERT_OK(seen);
      EXPECT_EQ(seen->count, 4);
      order.push_back("range");
    });
    queued_at_range = b.queued();
  });
  for (int i = 0; i < 3; ++i) {
    b.Submit(PutUnit(StrCat(prefix_, i), "v"), [&, i](Result<TxnResponse> r) {
      EXPECT_OK(r);
      order.push_back(StrCat(i));
    });
  }
  ASSERT_TRUE(loop_->RunUntil([&] { return order.size() == 5; }, 15s));
  EXPECT_EQ(queued_at_range, 1u) << "the group still waited with a read behind it";
  EXPECT_EQ(order, (std::vector<std::string>{"first", "0", "1", "2", "range"}));
  EXPECT_EQ(b.stats().gather_timeouts, 0u);
}

// Writers that submit again from their completion (as lockd and nfsd
// threads do) while the next group is already in flight: every completion
// still runs in submission order, and each unit sees its writer's earlier
// write.
TEST_F(TxnBatcherTest, CompletionsRunInSubmissionOrderWhileTheNextGroupIsInFlight) {
  TxnBatcher b(Scope());
  constexpr int kWriters = 16;
  constexpr int kRounds = 8;
  int submitted = 0;
  std::vector<int> completed;  // sequence numbers, in completion order
  std::function<void(int writer, int round)> write = [&](int writer, int round) {
    const int seq = submitted++;
    TxnRequest unit = PutUnit(StrCat(prefix_, "w/", writer), StrCat(round));
    if (round > 0) {  // holds only if the writer's previous unit committed first
      unit.compares.push_back(
          Compare::Value(StrCat(prefix_, "w/", writer), Compare::Op::kEqual, StrCat(round - 1)));
    }
    b.Submit(std::move(unit), [&, writer, round, seq](Result<TxnResponse> r) {
      ASSERT_OK(r);
      EXPECT_TRUE(r->succeeded) << "writer " << writer << " round " << round;
      completed.push_back(seq);
      if (round + 1 < kRounds) write(writer, round + 1);
    });
  };
  for (int w = 0; w < kWriters; ++w) write(w, 0);
  ASSERT_TRUE(loop_->RunUntil([&] { return completed.size() == size_t{kWriters * kRounds}; }, 30s));
  for (size_t i = 0; i < completed.size(); ++i) {
    ASSERT_EQ(completed[i], static_cast<int>(i)) << "completion order";
  }
  EXPECT_EQ(b.stats().units, uint64_t{kWriters * kRounds});
  EXPECT_EQ(b.stats().reruns, 0u);
  EXPECT_LT(b.stats().txns, uint64_t{kWriters * kRounds}) << "no unit shared a Txn";
}

// A Range queued behind a group goes out as soon as etcd answered that
// group, before the group's completions run, and its own done still runs
// after theirs; the unit queued after the Range waits for its answer.
TEST_F(TxnBatcherTest, ARangeQueuedBetweenTwoGroupsSeesTheEarlierDonesRunBeforeItsOwn) {
  TxnBatcher b(Scope());
  std::vector<std::string> order;
  size_t queued_at_a_done = 0;
  b.Submit(PutUnit(prefix_ + "first", "1"), [&](Result<TxnResponse> r) {
    EXPECT_OK(r);
    order.push_back("first");
  });
  b.Submit(PutUnit(prefix_ + "a", "A"), [&](Result<TxnResponse> r) {
    EXPECT_OK(r);
    queued_at_a_done = b.queued();
    order.push_back("a");
  });
  std::optional<Result<RangeResponse>> seen;
  b.Range(RangeRequest::Prefix(prefix_), [&](Result<RangeResponse> r) {
    order.push_back("range");
    seen.emplace(std::move(r));
  });
  b.Submit(PutUnit(prefix_ + "b", "B"), [&](Result<TxnResponse> r) {
    EXPECT_OK(r);
    order.push_back("b");
  });
  ASSERT_EQ(b.queued(), 3u);
  ASSERT_TRUE(loop_->RunUntil([&] { return order.size() == 4; }, 15s));
  EXPECT_EQ(order, (std::vector<std::string>{"first", "a", "range", "b"}));
  EXPECT_EQ(queued_at_a_done, 1u) << "the range waited for a's completion to be sent";
  ASSERT_OK(*seen);
  std::vector<std::string> keys;
  for (const auto& kv : (*seen)->kvs) keys.push_back(kv.key);
  EXPECT_EQ(keys, (std::vector<std::string>{prefix_ + "a", prefix_ + "first"}));
}

TEST_F(TxnBatcherTest, GroupsStayWithinMaxTxnOpsAndMaxTxnBytes) {
  TxnBatcher b(Scope());
  std::vector<TxnRequest> units;
  for (int i = 0; i < 300; ++i) units.push_back(PutUnit(StrCat(prefix_, "ops/", 1000 + i), "v"));
  // 100 KiB each: ten of them pass the 1 MiB budget.
  for (int i = 0; i < 30; ++i) {
    units.push_back(PutUnit(StrCat(prefix_, "big/", 100 + i), std::string(100 << 10, 'x')));
  }
  auto res = SubmitAll(b, units);
  for (auto& r : res) ASSERT_OK(r);  // etcd refuses a Txn over its limits
  // 1 alone, then 128 + 128 + (43 small + 10 big: the 11th would pass
  // 1 MiB) + 10 big + 10 big.
  EXPECT_EQ(b.stats().max_group, 128u);
  EXPECT_EQ(b.stats().txns, 6u);
  EXPECT_EQ(b.stats().reruns, 0u);
  auto r = Get(RangeRequest::Prefix(prefix_));
  ASSERT_OK(r);
  EXPECT_EQ(r->count, 330);
}

TEST_F(TxnBatcherTest, OnlyTheUnitWhoseOwnCompareFailsSeesItAndGetsItsFailureOps) {
  TxnBatcher b(Scope());
  TxnRequest failing;
  failing.compares.push_back(Compare::Version(prefix_ + "absent", Compare::Op::kEqual, 5));
  failing.success.emplace_back(PutRequest{prefix_ + "never", "x", 0, false});
  failing.failure.emplace_back(RangeRequest::Key(prefix_ + "a"));
  std::vector<TxnRequest> units;
  units.push_back(PutUnit(prefix_ + "first", "1"));  // alone: the rest queue behind it
  units.push_back(PutUnit(prefix_ + "a", "A"));
  units.push_back(std::move(failing));
  units.push_back(PutUnit(prefix_ + "c", "C"));
  auto res = SubmitAll(b, units);
  for (auto& r : res) ASSERT_OK(r);
  EXPECT_TRUE(res[1]->succeeded);
  EXPECT_FALSE(res[2]->succeeded);
  ASSERT_EQ(res[2]->responses.size(), 1u);
  const auto& seen = std::get<RangeResponse>(res[2]->responses[0]);
  ASSERT_EQ(seen.kvs.size(), 1u);
  EXPECT_EQ(seen.kvs[0].value, "A");
  EXPECT_TRUE(res[3]->succeeded);
  EXPECT_EQ(b.stats().reruns, 3u);
  EXPECT_EQ(Get(RangeRequest::Key(prefix_ + "never"))->count, 0);
  EXPECT_EQ(Get(RangeRequest::Key(prefix_ + "c"))->count, 1);
}

TEST_F(TxnBatcherTest, AUnitEtcdRefusesFailsAloneAndTheOthersOfItsGroupCommit) {
  TxnBatcher b(Scope());
  TxnRequest twice = PutUnit(prefix_ + "dup", "1");  // one key twice: etcd refuses
  twice.success.emplace_back(PutRequest{prefix_ + "dup", "2", 0, false});
  std::vector<TxnRequest> units;
  units.push_back(PutUnit(prefix_ + "first", "1"));
  units.push_back(PutUnit(prefix_ + "a", "A"));
  units.push_back(std::move(twice));
  units.push_back(PutUnit(prefix_ + "c", "C"));
  auto res = SubmitAll(b, units);
  ASSERT_OK(res[1]);
  ASSERT_FALSE(res[2].ok());
  EXPECT_FALSE(res[2].status().IsUnavailable()) << res[2].status().ToString();
  ASSERT_OK(res[3]);
  EXPECT_EQ(b.stats().reruns, 3u);
  EXPECT_EQ(Get(RangeRequest::Prefix(prefix_))->count, 3);
}

TEST_F(TxnBatcherTest, AUnitsCompareSeesTheWriteOfAUnitSubmittedBeforeIt) {
  TxnBatcher b(Scope());
  TxnRequest after;
  after.compares.push_back(Compare::Value(prefix_ + "k", Compare::Op::kEqual, "2"));
  after.success.emplace_back(PutRequest{prefix_ + "seen", "yes", 0, false});
  std::vector<TxnRequest> units;
  units.push_back(PutUnit(prefix_ + "k", "1"));
  units.push_back(PutUnit(prefix_ + "k", "2"));  // the same key: not in one Txn
  units.push_back(std::move(after));
  auto res = SubmitAll(b, units);
  for (auto& r : res) ASSERT_OK(r);
  EXPECT_TRUE(res[2]->succeeded);
  EXPECT_EQ(b.stats().txns, 3u);
  EXPECT_EQ(b.stats().reruns, 0u);
  EXPECT_EQ(Get(RangeRequest::Key(prefix_ + "seen"))->count, 1);
}

// A write submitted while a Range is in flight waits for its answer: the
// Range never sees it, and the Range's done runs first.  Also for a Range
// pinned at a revision, and behind a write already in flight.
TEST_F(TxnBatcherTest, AWriteSubmittedAfterARangeWaitsForItsAnswer) {
  TxnBatcher b(Scope());
  std::vector<std::string> order;
  std::optional<Result<RangeResponse>> seen;
  b.Range(RangeRequest::Key(prefix_ + "k"), [&](Result<RangeResponse> r) {
    order.push_back("range");
    seen.emplace(std::move(r));
  });
  int64_t put_revision = 0;
  b.Submit(PutUnit(prefix_ + "k", "later"), [&](Result<TxnResponse> r) {
    ASSERT_OK(r);
    put_revision = r->header.revision;
    order.push_back("put");
  });
  EXPECT_EQ(b.queued(), 1u) << "the put went out before the range was answered";
  ASSERT_TRUE(loop_->RunUntil([&] { return order.size() == 2; }, 15s));
  EXPECT_EQ(order, (std::vector<std::string>{"range", "put"}));
  ASSERT_OK(*seen);
  EXPECT_EQ((*seen)->count, 0) << "the range saw a write submitted after it";

  // Pinned at the first put's revision, behind a write in flight.
  order.clear();
  b.Submit(PutUnit(prefix_ + "x", "1"), [&](Result<TxnResponse>) { order.push_back("put x"); });
  RangeRequest pinned = RangeRequest::Key(prefix_ + "k");
  pinned.revision = put_revision;
  b.Range(std::move(pinned), [&](Result<RangeResponse> r) {
    order.push_back("pinned");
    seen.emplace(std::move(r));
  });
  b.Submit(PutUnit(prefix_ + "k", "last"), [&](Result<TxnResponse>) { order.push_back("put k"); });
  ASSERT_TRUE(loop_->RunUntil([&] { return order.size() == 3; }, 15s));
  ASSERT_OK(*seen);
  ASSERT_EQ((*seen)->kvs.size(), 1u);
  EXPECT_EQ((*seen)->kvs[0].value, "later");
  EXPECT_EQ(Get(RangeRequest::Key(prefix_ + "k"))->kvs.at(0).value, "last");
}

TEST_F(TxnBatcherTest, APinnedPageInFlightHoldsNoWriteBack) {
  TxnBatcher b(Scope());
  int64_t revision = 0;
  b.Submit(PutUnit(prefix_ + "p", "before"), [&](Result<TxnResponse> r) {
    ASSERT_OK(r);
    revision = r->header.revision;
  });
  ASSERT_TRUE(loop_->RunUntil([&] { return revision != 0; }, 15s));
  RangeRequest pinned = RangeRequest::Key(prefix_ + "p");
  pinned.revision = revision;
  std::optional<Result<RangeResponse>> seen;
  b.Range(std::move(pinned), [&](Result<RangeResponse> r) { seen.emplace(std::move(r)); });
  bool put_done = false;
  b.Submit(PutUnit(prefix_ + "p", "after"), [&](Result<TxnResponse> r) {
    ASSERT_OK(r);
    put_done = true;
  });
  EXPECT_EQ(b.queued(), 0u) << "the write waited for a read pinned at an older revision";
  ASSERT_TRUE(loop_->RunUntil([&] { return put_done && seen.has_value(); }, 15s));
  ASSERT_OK(*seen);
  ASSERT_EQ((*seen)->kvs.size(), 1u);
  EXPECT_EQ((*seen)->kvs[0].value, "before");
}

TEST_F(TxnBatcherTest, APutAndAPrefixDeleteOverlappingGoInSeparateTxnsInOrder) {
  TxnBatcher b(Scope());
  TxnRequest del;
  del.success.emplace_back(DeleteRequest::Prefix(prefix_ + "d/"));
  std::vector<TxnRequest> units;
  units.push_back(PutUnit(prefix_ + "first", "1"));
  units.push_back(PutUnit(prefix_ + "d/1", "x"));
  units.push_back(std::move(del));
  units.push_back(PutUnit(prefix_ + "d/2", "y"));
  auto res = SubmitAll(b, units);
  for (auto& r : res) ASSERT_OK(r);
  auto r = Get(RangeRequest::Prefix(prefix_ + "d/"));
  ASSERT_OK(r);
  ASSERT_EQ(r->kvs.size(), 1u);
  EXPECT_EQ(r->kvs[0].key, prefix_ + "d/2");
}

TEST_F(TxnBatcherTest, ARangeSeesEveryWriteSubmittedBeforeIt) {
  TxnBatcher b(Scope());
  int done = 0;
  for (int i = 0; i < 20; ++i) {
    b.Submit(PutUnit(StrCat(prefix_, i + 10), "v"), [&done](Result<TxnResponse> r) {
      EXPECT_OK(r);
      ++done;
    });
  }
  std::optional<Result<RangeResponse>> read;
  int done_at_read = -1;
  b.Range(RangeRequest::Prefix(prefix_), [&](Result<RangeResponse> r) {
    done_at_read = done;
    read.emplace(std::move(r));
  });
  ASSERT_TRUE(loop_->RunUntil([&] { return read.has_value(); }, 15s));
  ASSERT_OK(*read);
  EXPECT_EQ((*read)->count, 20);
  EXPECT_EQ(done_at_read, 20);
}

TEST_F(TxnBatcherTest, ALostFenceFailsEveryUnitFailedPreconditionAndWritesNothing) {
  const std::string owner = prefix_ + "instances/i1/owner";
  auto put = [&](const std::string& v) {
    auto r = SubmitAll(*std::make_unique<TxnBatcher>(Scope()), {PutUnit(owner, v)});
    return r[0].ok() ? r[0]->header.revision : 0;
  };
  int64_t token = put(R"({"node":"n1"})");
  ASSERT_GT(token, 0);
  EtcdScope scope = Scope();
  scope.fence = Compare::CreateRevision(owner, Compare::Op::kEqual, token);
  TxnBatcher b(scope);
  auto ok = SubmitAll(b, {PutUnit(prefix_ + "while-owner", "1")});
  ASSERT_OK(ok[0]);

  // Another node takes the instance: the key is created anew.
  TxnRequest take;
  take.success.emplace_back(DeleteRequest{owner, {}, false});
  ASSERT_OK(SubmitAll(*std::make_unique<TxnBatcher>(Scope()), {std::move(take)})[0]);
  ASSERT_GT(put(R"({"node":"n2","pid":7})"), token);

  std::vector<TxnRequest> units;
  for (int i = 0; i < 5; ++i) units.push_back(PutUnit(StrCat(prefix_, "after/", i), "x"));
  auto res = SubmitAll(b, units);
  for (auto& r : res) {
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(r.status().IsFailedPrecondition()) << r.status().ToString();
    EXPECT_EQ(r.status().message(), "lost instance i1 to node n2");
  }
  EXPECT_EQ(Get(RangeRequest::Prefix(prefix_ + "after/"))->count, 0);
  EXPECT_EQ(Get(RangeRequest::Key(prefix_ + "while-owner"))->count, 1);
}

TEST_F(TxnBatcherTest, UnitsFailUnavailableWhenNoEndpointAnswers) {
  auto dead = NewClient({"http://127.0.0.1:9"});
  ASSERT_NE(dead, nullptr);
  EtcdScope scope = Scope();
  scope.client = dead.get();
  TxnBatcher b(scope);
  auto start = std::chrono::steady_clock::now();
  auto res = SubmitAll(b, {PutUnit(prefix_ + "a", "1"), PutUnit(prefix_ + "b", "2")});
  for (auto& r : res) {
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(r.status().IsUnavailable()) << r.status().ToString();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST_F(TxnBatcherTest, DestroyingTheBatcherDropsQueuedCompletions) {
  int ran = 0;
  {
    TxnBatcher b(Scope());
    for (int i = 0; i < 5; ++i) {
      b.Submit(PutUnit(StrCat(prefix_, i), "v"), [&ran](Result<TxnResponse>) { ++ran; });
    }
    EXPECT_EQ(b.queued(), 4u);
  }
  loop_->RunUntil([] { return false; }, 300ms);
  EXPECT_EQ(ran, 0);
}

TEST_F(TxnBatcherTest, DestroyingTheBatcherInACompletionDropsEveryLaterUnit) {
  auto b = std::make_unique<TxnBatcher>(Scope());
  int ran = 0;
  b->Submit(PutUnit(prefix_ + "first", "1"), [&](Result<TxnResponse>) {
    ++ran;
    EXPECT_EQ(b->stats().gathers, 1u);  // the other three wait for this writer
    b.reset();
  });
  for (int i = 0; i < 3; ++i) {
    b->Submit(PutUnit(StrCat(prefix_, i), "v"), [&ran](Result<TxnResponse>) { ++ran; });
  }
  ASSERT_TRUE(loop_->RunUntil([&] { return b == nullptr; }, 15s));
  loop_->RunUntil([] { return false; }, 300ms);
  EXPECT_EQ(ran, 1);
}

}  // namespace
}  // namespace nfsrec
