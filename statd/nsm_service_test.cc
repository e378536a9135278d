#include "statd/nsm_service.h"

#include <optional>
#include <string>
#include <vector>

#include "tests/support/fake_ha_events.h"
#include "tests/support/fake_kernel_nsm.h"
#include "tests/support/fake_lockd_callbacks.h"
#include "tests/support/fake_resolver.h"
#include "tests/support/fake_scheduler.h"
#include "tests/support/mem_nsm_store.h"
#include "tests/support/status_matchers.h"
#include <gtest/gtest.h>

namespace nfsrec::statd {
namespace {

Cookie MakeCookie(uint8_t seed) {
  Cookie c;
  for (size_t i = 0; i < c.size(); ++i) c[i] = static_cast<uint8_t>(seed + i);
  return c;
}

const Caller kLockd{true, true, "127.0.0.1"};
const Caller kRemote{false, false, "10.0.0.9"};

MonArgs KernelMon(const std::string& mon_name, uint8_t seed = 1) {
  return MonArgs{MonitorKey{mon_name, "server", 100021, 3, 16}, MakeCookie(seed)};
}

class NsmServiceTest : public ::testing::Test {
 protected:
  NsmServiceTest() : service_(store_, resolver_, kernel_, callbacks_, log_) {
    resolver_.Add("10.0.0.2", HostInfo{"client2", {"10.0.0.2"}});
    resolver_.Add("client2", HostInfo{"client2.example", {"10.0.0.2"}});
    resolver_.Add("127.0.0.1", HostInfo{"localhost", {"127.0.0.1"}});
  }

  void Start(int32_t legacy = 0) {
    std::optional<Status> st;
    service_.Start(LegacyStatd{legacy, {}, {}, {}}, [&](Status s) { st = s; });
    store_.Flush();
    ASSERT_TRUE(st.has_value());
    ASSERT_TRUE(st->ok()) << st->ToString();
  }

  // Runs one store call and commits it.
  Status RunAndWaitMem(const std::function<void(NsmStore::Done)>& call) {
    std::optional<Status> st;
    call([&](Status s) { st = s; });
    store_.Flush();
    return st.value_or(Status::TimedOut("not committed"));
  }

  // Runs DNS and commits until nothing is pending.
  void Settle() {
    while (resolver_.Flush() + store_.Flush() > 0) {
    }
  }

  std::optional<StatRes> Mon(const Caller& c, MonArgs args) {
    std::optional<StatRes> res;
    service_.Mon(c, std::move(args), [&](StatRes r) { res = r; });
    Settle();
    return res;
  }

  MemNsmStore store_;
  FakeResolver resolver_;
  FakeKernelNsm kernel_;
  FakeLockdCallbacks callbacks_;
  CapturingLogger log_;
  NsmService service_;
};

TEST_F(NsmServiceTest, FreshStateIsThreeAndPublished) {
  Start();
  EXPECT_EQ(service_.local_state(), 3);
  EXPECT_EQ(store_.local_state(), 3);
  EXPECT_EQ(kernel_.published, std::vector<int32_t>{3});
  EXPECT_TRUE(log_.Contains("Local NSM state number: 3"));
}

TEST_F(NsmServiceTest, StoredEvenStateBecomesOddAndLegacyLargerWins) {
  store_.SeedLocalState(10);
  Start();
  EXPECT_EQ(service_.local_state(), 11);
  EXPECT_EQ(store_.local_state(), 11);
}

TEST_F(NsmServiceTest, LegacyStateAdoptedWhenLarger) {
  store_.SeedLocalState(5);
  Start(41);
  EXPECT_EQ(service_.local_state(), 41);
  EXPECT_EQ(store_.local_state(), 41);
}

TEST_F(NsmServiceTest, StoredOddStateIsNotRewritten) {
  store_.SeedLocalState(7);
  Start();
  EXPECT_EQ(service_.local_state(), 7);
  EXPECT_EQ(store_.local_state_writes(), 0);
}

// A database that has never stored a state takes over rpc.statd's lists in
// the transaction that stores the state; later starts ignore them.
TEST_F(NsmServiceTest, FreshStoreTakesOverStatdsListsOnce) {
  MonitorRecord mon{MonitorKey{"10.0.0.2", "server", 100021, 4, 16}, MakeCookie(1), "client2"};
  MonitorRecord late{MonitorKey{"peer3", "server", 100021, 3, 16}, MakeCookie(2), "peer3"};
  MonitorRecord not_nlm{MonitorKey{"evil", "server", 100003, 3, 16}, MakeCookie(3), "evil"};
  MonitorRecord bad_name{MonitorKey{"../x", "server", 100021, 3, 16}, MakeCookie(4), "x"};
  LegacyStatd legacy{41, {mon, not_nlm}, {late, bad_name}, {"sm/broken:1: damaged"}};
  std::optional<Status> st;
  service_.Start(legacy, [&](Status s) { st = s; });
  EXPECT_EQ(store_.local_state_writes(), 0) << "wrote before the import";
  store_.Flush();
  ASSERT_TRUE(st.has_value());
  ASSERT_TRUE(st->ok()) << st->ToString();
  EXPECT_EQ(store_.local_state_writes(), 1);  // one transaction: lists and state
  EXPECT_EQ(service_.local_state(), 41);
  EXPECT_EQ(store_.local_state(), 41);
  ASSERT_NE(store_.Find(mon.key), nullptr);
  EXPECT_EQ(store_.Find(mon.key)->priv, mon.priv);
  EXPECT_EQ(store_.monitors().size(), 1u);
  EXPECT_EQ(store_.notify_list().size(), 1u);
  EXPECT_EQ(store_.notify_list().count(late.key), 1u);
  EXPECT_EQ(service_.monitor_count(), 1u);  // in memory too
  EXPECT_TRUE(log_.Contains("Took over from rpc.statd: 1 monitor record(s) (sm/), 1 peer(s)"));
  EXPECT_TRUE(log_.Contains("rpc.statd's files: sm/broken:1: damaged"));
  EXPECT_TRUE(log_.Contains("Not taking over rpc.statd's record for"));

  // The next start has a state: the files are not read again.
  NsmService again(store_, resolver_, kernel_, callbacks_, log_);
  MonitorRecord newer{MonitorKey{"peer4", "server", 100021, 4, 16}, MakeCookie(5), "peer4"};
  st.reset();
  again.Start(LegacyStatd{41, {newer}, {}, {}}, [&](Status s) { st = s; });
  store_.Flush();
  ASSERT_TRUE(st.has_value() && st->ok());
  EXPECT_EQ(store_.Find(newer.key), nullptr);
  EXPECT_EQ(store_.local_state_writes(), 1);
}

// rpc.statd's lists (one file per host once the sm/ mirror keeps them) are
// read only by the start of a store that never held a state; a restart
// that writes nothing loads the store once and reads only the state file.
TEST_F(NsmServiceTest, RestartReadsOnlyTheStateFileAndLoadsOnce) {
  MonitorRecord mon{MonitorKey{"10.0.0.2", "server", 100021, 4, 16}, MakeCookie(1), "client2"};
  std::vector<bool> reads;
  auto reader = [&](bool with_lists) {
    reads.push_back(with_lists);
    return with_lists ? LegacyStatd{41, {mon}, {}, {}} : LegacyStatd{41, {}, {}, {}};
  };
  std::optional<Status> st;
  service_.Start(reader, [&](Status s) { st = s; });
  store_.Flush();
  ASSERT_TRUE(st.has_value() && st->ok());
  EXPECT_EQ(reads, std::vector<bool>{true});
  EXPECT_EQ(service_.monitor_count(), 1u);

  NsmService again(store_, resolver_, kernel_, callbacks_, log_);
  reads.clear();
  st.reset();
  again.Start(reader, [&](Status s) { st = s; });
  EXPECT_EQ(store_.Flush(), 1u);  // the load: nothing written, nothing read back
  ASSERT_TRUE(st.has_value() && st->ok());
  EXPECT_EQ(reads, std::vector<bool>{false});
  EXPECT_EQ(again.local_state(), 41);
  EXPECT_EQ(again.monitor_count(), 1u);
  EXPECT_EQ(store_.local_state_writes(), 1);

  // A state file ahead of the store is still adopted (and written).
  NsmService third(store_, resolver_, kernel_, callbacks_, log_);
  reads.clear();
  st.reset();
  third.Start(
      [&](bool with_lists) {
        reads.push_back(with_lists);
        return LegacyStatd{51, {}, {}, {}};
      },
      [&](Status s) { st = s; });
  store_.Flush();
  ASSERT_TRUE(st.has_value() && st->ok());
  EXPECT_EQ(reads, std::vector<bool>{false});
  EXPECT_EQ(third.local_state(), 51);
  EXPECT_EQ(store_.local_state(), 51);
  EXPECT_EQ(third.monitor_count(), 1u);
}

// The sm-notify command, started at the same first boot, took over and
// bumped the state between our load and our commit: nothing is imported
// twice and we end with its number.
TEST_F(NsmServiceTest, TakeOverByAnotherProcessMeanwhile) {
  MonitorRecord mon{MonitorKey{"10.0.0.2", "server", 100021, 4, 16}, MakeCookie(1), "client2"};
  std::optional<Status> st;
  service_.Start(LegacyStatd{3, {mon}, {}, {}}, [&](Status s) { st = s; });
  ASSERT_TRUE(store_.CommitNext());  // our load
  store_.SeedLocalState(5);          // the command's transaction commits first
  store_.SeedNotify(mon);
  store_.Flush();
  ASSERT_TRUE(st.has_value() && st->ok());
  EXPECT_EQ(service_.local_state(), 5);
  EXPECT_EQ(store_.local_state(), 5);
  EXPECT_TRUE(store_.monitors().empty());
  EXPECT_EQ(service_.notify_count(), 1u);
  EXPECT_FALSE(log_.Contains("Took over from rpc.statd"));
  EXPECT_TRUE(log_.Contains("taken over by another process"));
  EXPECT_EQ(kernel_.published.back(), 5);
}

TEST_F(NsmServiceTest, FailedTakeOverFailsTheStart) {
  MonitorRecord mon{MonitorKey{"10.0.0.2", "server", 100021, 4, 16}, MakeCookie(1), "client2"};
  store_.FailNext(Status::IOError("disk"));
  std::optional<Status> st;
  service_.Start(LegacyStatd{0, {mon}, {}, {}}, [&](Status s) { st = s; });
  store_.Flush();
  ASSERT_TRUE(st.has_value());
  EXPECT_FALSE(st->ok());
  EXPECT_EQ(store_.monitors().size(), 0u);
  EXPECT_EQ(store_.local_state(), 0);
}

TEST_F(NsmServiceTest, MonRepliesOnlyAfterCommit) {
  Start();
  std::optional<StatRes> res;
  service_.Mon(kLockd, KernelMon("10.0.0.2"), [&](StatRes r) { res = r; });
  resolver_.Flush();
  EXPECT_FALSE(res.has_value()) << "replied before the record was durable";
  EXPECT_EQ(store_.pending(), 1u);
  store_.Flush();
  ASSERT_TRUE(res.has_value());
  EXPECT_TRUE(res->success);
  EXPECT_EQ(res->state, 3);
  const MonitorRecord* rec = store_.Find(KernelMon("10.0.0.2").id);
  ASSERT_NE(rec, nullptr);
  EXPECT_EQ(rec->priv, MakeCookie(1));
  EXPECT_EQ(rec->canonical_name, "client2");
  EXPECT_TRUE(log_.Contains("MONITORING 10.0.0.2 for server"));
}

TEST_F(NsmServiceTest, MonChecksApplyInOrder) {
  Start();
  // 1. non-local caller, even with otherwise bad arguments: rejected as non-local.
  MonArgs bad = KernelMon("/etc/passwd");
  bad.id.my_prog = 1;
  auto r = Mon(kRemote, bad);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->success);
  EXPECT_EQ(r->state, -1);
  EXPECT_TRUE(log_.Contains("SM_MON call from non-local host 10.0.0.9"));
  // 2. wrong callback program or procedure.
  r = Mon(kLockd, bad);
  EXPECT_FALSE(r->success);
  EXPECT_TRUE(log_.Contains("Attempt to register callback to 1/16"));
  MonArgs proc = KernelMon("10.0.0.2");
  proc.id.my_proc = 17;
  EXPECT_FALSE(Mon(kLockd, proc)->success);
  MonArgs v4 = KernelMon("10.0.0.2");
  v4.id.my_proc = 24;
  v4.id.my_vers = 4;
  EXPECT_TRUE(Mon(kLockd, v4)->success);
  // 3. names.
  for (const std::string& name :
       std::vector<std::string>{"/etc/passwd", "a/b", ".hidden", "", std::string("a\0b", 3)}) {
    EXPECT_FALSE(Mon(kLockd, KernelMon(name))->success) << Printable(name);
  }
  EXPECT_TRUE(log_.Contains("POSSIBLE SPOOF/ATTACK ATTEMPT!"));
  EXPECT_EQ(store_.puts(), 1);  // only the v4 one
  EXPECT_EQ(resolver_.lookups(), 1);
}

TEST_F(NsmServiceTest, WhitespaceInMyNameBecomesUnderscore) {
  Start();
  MonArgs a = KernelMon("10.0.0.2");
  a.id.my_name = "my host\tname\r\n";
  EXPECT_TRUE(Mon(kLockd, a)->success);
  MonitorKey k = a.id;
  k.my_name = "my_host_name__";
  EXPECT_NE(store_.Find(k), nullptr);
}

TEST_F(NsmServiceTest, DuplicateSameCookieIsNoOpNewCookieUpdates) {
  Start();
  ASSERT_TRUE(Mon(kLockd, KernelMon("10.0.0.2", 1))->success);
  int puts = store_.puts();
  int lookups = resolver_.lookups();
  EXPECT_TRUE(Mon(kLockd, KernelMon("10.0.0.2", 1))->success);
  EXPECT_EQ(store_.puts(), puts);
  EXPECT_EQ(resolver_.lookups(), lookups);
  EXPECT_TRUE(Mon(kLockd, KernelMon("10.0.0.2", 9))->success);
  EXPECT_EQ(store_.puts(), puts + 1);
  EXPECT_EQ(store_.Find(KernelMon("10.0.0.2").id)->priv, MakeCookie(9));
  EXPECT_EQ(service_.monitor_count(), 1u);
}

TEST_F(NsmServiceTest, DuplicateWhileFirstInFlightWaitsForCommit) {
  Start();
  std::vector<StatRes> replies;
  service_.Mon(kLockd, KernelMon("10.0.0.2"), [&](StatRes r) { replies.push_back(r); });
  resolver_.Flush();
  service_.Mon(kLockd, KernelMon("10.0.0.2"), [&](StatRes r) { replies.push_back(r); });
  EXPECT_TRUE(replies.empty());
  store_.Flush();
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_TRUE(replies[0].success && replies[1].success);
}

TEST_F(NsmServiceTest, StoreFailureFailsMonAndForgetsRecord) {
  Start();
  store_.FailNext(Status::IOError("disk full"));
  auto r = Mon(kLockd, KernelMon("10.0.0.2"));
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->success);
  EXPECT_EQ(service_.monitor_count(), 0u);
  EXPECT_TRUE(log_.Contains("disk full"));
  // A retry succeeds.
  EXPECT_TRUE(Mon(kLockd, KernelMon("10.0.0.2"))->success);
}

TEST_F(NsmServiceTest, UnresolvableNameIsStillMonitored) {
  Start();
  auto r = Mon(kLockd, KernelMon("no-such-host"));
  EXPECT_TRUE(r->success);
  EXPECT_EQ(store_.Find(KernelMon("no-such-host").id)->canonical_name, "no-such-host");
  EXPECT_TRUE(log_.Contains("No canonical hostname found for no-such-host"));
}

TEST_F(NsmServiceTest, UnmonAndUnmonAll) {
  Start();
  ASSERT_TRUE(Mon(kLockd, KernelMon("10.0.0.2"))->success);
  ASSERT_TRUE(Mon(kLockd, KernelMon("client2", 2))->success);
  MonArgs other = KernelMon("10.0.0.3", 3);
  other.id.my_name = "other";
  resolver_.Add("10.0.0.3", HostInfo{"10.0.0.3", {"10.0.0.3"}});
  ASSERT_TRUE(Mon(kLockd, other)->success);
  EXPECT_EQ(store_.monitors().size(), 3u);

  // Remote callers change nothing.
  std::optional<int32_t> st;
  service_.Unmon(kRemote, KernelMon("10.0.0.2").id, [&](Result<int32_t> s) { st = *s; });
  Settle();
  EXPECT_EQ(st, -1);
  service_.UnmonAll(kRemote, MyId{"server", 100021, 3, 16}, [&](Result<int32_t> s) { st = *s; });
  Settle();
  EXPECT_EQ(st, -1);
  EXPECT_EQ(store_.monitors().size(), 3u);

  // UNMON replies after the delete commits; names match case-insensitively.
  st.reset();
  MonitorKey k = KernelMon("10.0.0.2").id;
  k.my_name = "SERVER";
  service_.Unmon(kLockd, k, [&](Result<int32_t> s) { st = *s; });
  EXPECT_FALSE(st.has_value());
  store_.Flush();
  EXPECT_EQ(st, 3);
  EXPECT_EQ(store_.Find(KernelMon("10.0.0.2").id), nullptr);
  EXPECT_TRUE(log_.Contains("UNMONITORING 10.0.0.2 for server"));

  // Unknown record: answered, logged, nothing changes.
  service_.Unmon(kLockd, KernelMon("10.9.9.9").id, [&](Result<int32_t> s) { st = *s; });
  EXPECT_TRUE(log_.Contains("Received erroneous SM_UNMON request"));

  service_.UnmonAll(kLockd, MyId{"server", 100021, 3, 16}, [&](Result<int32_t> s) { st = *s; });
  Settle();
  ASSERT_EQ(store_.monitors().size(), 1u);
  EXPECT_EQ(store_.monitors().begin()->first.my_name, "other");
}

// A delete that did not commit is answered with an error (the RPC layer
// sends SYSTEM_ERR), never with the state a success carries; the record is
// still monitored, and the same UNMON succeeds once the store works again.
TEST_F(NsmServiceTest, SmUnmonFailedDeleteIsNotAcknowledged) {
  Start();
  ASSERT_TRUE(Mon(kLockd, KernelMon("10.0.0.2"))->success);
  store_.FailNext(Status::IOError("database or disk is full"));
  std::optional<Result<int32_t>> st;
  service_.Unmon(kLockd, KernelMon("10.0.0.2").id, [&](Result<int32_t> s) { st = s; });
  Settle();
  ASSERT_TRUE(st.has_value());
  EXPECT_FALSE(st->ok());
  EXPECT_NE(st->status().message().find("disk is full"), std::string::npos)
      << st->status().ToString();
  EXPECT_NE(store_.Find(KernelMon("10.0.0.2").id), nullptr);
  EXPECT_EQ(service_.monitor_count(), 1u);
  EXPECT_TRUE(log_.Contains("Failed to delete monitor 10.0.0.2 for server"));
  EXPECT_FALSE(log_.Contains("UNMONITORING"));

  st.reset();
  service_.Unmon(kLockd, KernelMon("10.0.0.2").id, [&](Result<int32_t> s) { st = s; });
  Settle();
  ASSERT_TRUE(st.has_value());
  ASSERT_OK(*st);
  EXPECT_EQ(**st, 3);
  EXPECT_EQ(store_.Find(KernelMon("10.0.0.2").id), nullptr);
}

TEST_F(NsmServiceTest, SmUnmonAllFailedDeleteIsNotAcknowledged) {
  Start();
  ASSERT_TRUE(Mon(kLockd, KernelMon("10.0.0.2"))->success);
  ASSERT_TRUE(Mon(kLockd, KernelMon("client2", 2))->success);
  store_.FailNext(Status::IOError("attempt to write a readonly database"));
  std::optional<Result<int32_t>> st;
  const MyId lockd{"server", 100021, 3, 16};
  service_.UnmonAll(kLockd, lockd, [&](Result<int32_t> s) { st = s; });
  Settle();
  ASSERT_TRUE(st.has_value());
  EXPECT_FALSE(st->ok());
  EXPECT_EQ(store_.monitors().size(), 2u);
  EXPECT_EQ(service_.monitor_count(), 2u);
  EXPECT_TRUE(log_.Contains("SM_UNMON_ALL: failed to delete 2 monitor(s)"));

  st.reset();
  service_.UnmonAll(kLockd, lockd, [&](Result<int32_t> s) { st = s; });
  Settle();
  ASSERT_TRUE(st.has_value());
  ASSERT_OK(*st);
  EXPECT_EQ(**st, 3);
  EXPECT_TRUE(store_.monitors().empty());
}

TEST_F(NsmServiceTest, SimuCrashNeedsLoopbackAndPrivilegedPort) {
  Start();
  EXPECT_FALSE(service_.SimuCrashAllowed(kRemote));
  EXPECT_FALSE(service_.SimuCrashAllowed(Caller{true, false, "127.0.0.1"}));
  EXPECT_TRUE(log_.Contains("SM_SIMU_CRASH call from unprivileged port"));
  EXPECT_TRUE(service_.SimuCrashAllowed(kLockd));
}

TEST_F(NsmServiceTest, NotifyMatchesByNameOrAddressAndPersistsBeforeCallback) {
  Start();
  ASSERT_TRUE(Mon(kLockd, KernelMon("10.0.0.2", 1))->success);
  MonArgs unrelated = KernelMon("10.0.0.3", 5);
  resolver_.Add("10.0.0.3", HostInfo{"other", {"10.0.0.3"}});
  ASSERT_TRUE(Mon(kLockd, unrelated)->success);

  bool replied = false;
  // The peer names itself "client2" and sends from 10.0.0.2.
  service_.Notify(Caller{false, false, "10.0.0.2"}, NotifyArgs{"client2", 7},
                  [&] { replied = true; });
  resolver_.Flush();
  EXPECT_FALSE(replied);
  EXPECT_TRUE(callbacks_.requests.empty()) << "callback queued before the state was durable";
  store_.Flush();
  EXPECT_TRUE(replied);
  ASSERT_EQ(callbacks_.requests.size(), 1u);
  EXPECT_EQ(callbacks_.requests[0].mon_name, "10.0.0.2");  // as stored at SM_MON
  EXPECT_EQ(callbacks_.requests[0].new_state, 7);
  EXPECT_EQ(callbacks_.requests[0].priv, MakeCookie(1));
  EXPECT_EQ(store_.Find(KernelMon("10.0.0.2").id)->peer_state, 7);
  EXPECT_EQ(store_.Find(unrelated.id)->peer_state, 0);

  // The same state again (a retransmitted notify) is suppressed.
  replied = false;
  service_.Notify(Caller{false, false, "10.0.0.2"}, NotifyArgs{"client2", 7},
                  [&] { replied = true; });
  Settle();
  EXPECT_TRUE(replied);
  EXPECT_EQ(callbacks_.requests.size(), 1u);

  // A new state from another address, matched by canonical name only.
  service_.Notify(Caller{false, false, "192.0.2.1"}, NotifyArgs{"client2", 9}, [] {});
  Settle();
  ASSERT_EQ(callbacks_.requests.size(), 2u);
  EXPECT_EQ(callbacks_.requests[1].new_state, 9);
}

// Among many monitors, an SM_NOTIFY calls back exactly the records of its
// sender (found by name, by address in another spelling, and through the
// names the resolver gives), and a record removed by SM_UNMON or
// SM_UNMON_ALL is no longer found by any of them.
TEST_F(NsmServiceTest, NotifyAmongManyMonitorsCallsBackOnlyTheSendersRecords) {
  Start();
  for (int i = 0; i < 500; ++i) {
    store_.PutMonitor(
        MonitorRecord{MonitorKey{"10.5." + std::to_string(i / 250) + "." + std::to_string(i % 250),
                                 "server", 100021, 3, 16},
                      MakeCookie(static_cast<uint8_t>(i)), "host" + std::to_string(i), 0, 0},
        [](Status) {});
  }
  store_.Flush();
  std::optional<Status> reloaded;
  service_.Reload([&](Status st) { reloaded = st; });
  Settle();
  ASSERT_TRUE(reloaded.has_value() && reloaded->ok());
  ASSERT_EQ(service_.monitor_count(), 500u);

  // By canonical name, case folded; from an address nobody monitors.
  service_.Notify(Caller{false, false, "192.0.2.9"}, NotifyArgs{"HOST17", 5}, [] {});
  Settle();
  ASSERT_EQ(callbacks_.requests.size(), 1u);
  EXPECT_EQ(callbacks_.requests[0].mon_name, "10.5.0.17");
  EXPECT_EQ(callbacks_.requests[0].priv, MakeCookie(17));

  // By the sender's address, spelled otherwise than the monitor (10.5.1.5).
  service_.Notify(Caller{false, false, "10.5.261"}, NotifyArgs{"unknown-name", 5}, [] {});
  Settle();
  ASSERT_EQ(callbacks_.requests.size(), 2u);
  EXPECT_EQ(callbacks_.requests[1].mon_name, "10.5.1.5");

  // Through the resolver: the name it sends resolves to a monitored address.
  resolver_.Add("renamed", HostInfo{"renamed.example", {"10.5.0.99"}});
  service_.Notify(Caller{false, false, "192.0.2.9"}, NotifyArgs{"renamed", 5}, [] {});
  Settle();
  ASSERT_EQ(callbacks_.requests.size(), 3u);
  EXPECT_EQ(callbacks_.requests[2].mon_name, "10.5.0.99");

  // Removed records match no more.
  MonitorKey k{"HOST42", "SERVER", 100021, 3, 16};  // SM_UNMON's loose match
  service_.Unmon(kLockd, k, [](Result<int32_t>) {});
  Settle();
  EXPECT_EQ(service_.monitor_count(), 499u);
  EXPECT_EQ(store_.Find(MonitorKey{"10.5.0.42", "server", 100021, 3, 16}), nullptr);
  service_.Notify(Caller{false, false, "10.5.0.42"}, NotifyArgs{"host42", 5}, [] {});
  Settle();
  EXPECT_EQ(callbacks_.requests.size(), 3u);
  EXPECT_TRUE(log_.Contains("matches no monitored host"));

  service_.UnmonAll(kLockd, MyId{"Server", 100021, 3, 16}, [](Result<int32_t>) {});
  Settle();
  EXPECT_EQ(service_.monitor_count(), 0u);
  EXPECT_TRUE(store_.monitors().empty());
}

TEST_F(NsmServiceTest, NotifyStoreFailureDoesNotReplySoPeerRetries) {
  Start();
  ASSERT_TRUE(Mon(kLockd, KernelMon("10.0.0.2"))->success);
  store_.FailNext(Status::IOError("sync failed"));
  bool replied = false;
  service_.Notify(Caller{false, false, "10.0.0.2"}, NotifyArgs{"client2", 7},
                  [&] { replied = true; });
  Settle();
  EXPECT_FALSE(replied);
  EXPECT_TRUE(callbacks_.requests.empty());
  service_.Notify(Caller{false, false, "10.0.0.2"}, NotifyArgs{"client2", 7},
                  [&] { replied = true; });
  Settle();
  EXPECT_TRUE(replied);
  EXPECT_EQ(callbacks_.requests.size(), 1u);
}

TEST_F(NsmServiceTest, NotifyWhileNotMonitoring) {
  Start();
  bool replied = false;
  service_.Notify(Caller{false, false, "10.0.0.2"}, NotifyArgs{"x", 3}, [&] { replied = true; });
  EXPECT_TRUE(replied);
  EXPECT_TRUE(log_.Contains("while not monitoring any hosts"));
}

TEST_F(NsmServiceTest, FormatCharactersAreLoggedLiterally) {
  Start();
  EXPECT_FALSE(Mon(kLockd, KernelMon("%n%s/%x"))->success);
  EXPECT_TRUE(log_.Contains("%n%s/%x"));
}

TEST_F(NsmServiceTest, StatResolvesAndReportsLocalState) {
  Start();
  std::optional<StatRes> r;
  service_.Stat(kRemote, "client2", [&](StatRes s) { r = s; });
  Settle();
  EXPECT_EQ(r, (StatRes{true, 3}));
  service_.Stat(kRemote, "nope", [&](StatRes s) { r = s; });
  Settle();
  EXPECT_EQ(r, (StatRes{false, 3}));
}

TEST_F(NsmServiceTest, UnacknowledgedCallbacksAreResentAfterRestart) {
  Start();
  ASSERT_TRUE(Mon(kLockd, KernelMon("10.0.0.2", 1))->success);
  service_.Notify(Caller{false, false, "10.0.0.2"}, NotifyArgs{"client2", 7}, [] {});
  Settle();
  ASSERT_EQ(callbacks_.requests.size(), 1u);
  // lockd never acknowledged it; the daemon restarts.
  NsmService again(store_, resolver_, kernel_, callbacks_, log_);
  std::optional<Status> st;
  again.Start(LegacyStatd{}, [&](Status s) { st = s; });
  store_.Flush();
  ASSERT_TRUE(st && st->ok());
  ASSERT_EQ(callbacks_.requests.size(), 2u);
  EXPECT_EQ(callbacks_.requests[1].new_state, 7);
  EXPECT_EQ(callbacks_.requests[1].priv, MakeCookie(1));
  // Acknowledged this time: recorded, and not resent after another restart.
  callbacks_.requests[1].done(true);
  store_.Flush();
  EXPECT_EQ(store_.Find(KernelMon("10.0.0.2").id)->lockd_state, 7);
  NsmService third(store_, resolver_, kernel_, callbacks_, log_);
  third.Start(LegacyStatd{}, [&](Status s) { st = s; });
  store_.Flush();
  EXPECT_EQ(callbacks_.requests.size(), 2u);
}

// A storm of SM_NOTIFY from peers monitored by address: the sender's
// address and the numeric mon_name are matched as they are, without a
// resolver round trip, since no record has a name a reverse look-up could
// match; the callback is owed only once the new state is durable.
TEST_F(NsmServiceTest, NumericNotifyNeedsNoLookupWhenEveryRecordIsAnAddress) {
  Start();
  resolver_.Add("10.0.0.3", HostInfo{"10.0.0.3", {"10.0.0.3"}});
  resolver_.Add("10.0.0.4", HostInfo{"10.0.0.4", {"10.0.0.4"}});
  ASSERT_TRUE(Mon(kLockd, KernelMon("10.0.0.3", 3))->success);
  ASSERT_TRUE(Mon(kLockd, KernelMon("10.0.0.4", 4))->success);
  const int lookups = resolver_.lookups();
  bool replied = false;
  // Sent from the loopback address (a peer namespace's relay), named by mon_name;
  // the address is spelled otherwise than the record.
  service_.Notify(Caller{false, false, "127.0.0.1"}, NotifyArgs{"10.0.3", 7},
                  [&] { replied = true; });
  EXPECT_EQ(resolver_.lookups(), lookups) << "looked up an address";
  EXPECT_FALSE(replied);
  EXPECT_TRUE(callbacks_.requests.empty()) << "callback owed before the state was durable";
  store_.Flush();
  EXPECT_TRUE(replied);
  ASSERT_EQ(callbacks_.requests.size(), 1u);
  EXPECT_EQ(callbacks_.requests[0].mon_name, "10.0.0.3");
  EXPECT_EQ(callbacks_.requests[0].priv, MakeCookie(3));
  EXPECT_EQ(store_.Find(KernelMon("10.0.0.3").id)->peer_state, 7);
  EXPECT_EQ(store_.Find(KernelMon("10.0.0.4").id)->peer_state, 0);
}

// Once a record has a host name, a numeric SM_NOTIFY is looked up again:
// its reverse name may be that record's canonical name.
TEST_F(NsmServiceTest, NumericNotifyIsLookedUpWhenARecordHasAHostName) {
  Start();
  ASSERT_TRUE(Mon(kLockd, KernelMon("client2", 2))->success);  // canonical client2.example
  resolver_.Add("10.0.0.7", HostInfo{"client2.example", {"10.0.0.7"}});
  const int lookups = resolver_.lookups();
  service_.Notify(Caller{false, false, "192.0.2.1"}, NotifyArgs{"10.0.0.7", 9}, [] {});
  Settle();
  EXPECT_EQ(resolver_.lookups(), lookups + 2);
  ASSERT_EQ(callbacks_.requests.size(), 1u);
  EXPECT_EQ(callbacks_.requests[0].mon_name, "client2");
  EXPECT_EQ(callbacks_.requests[0].new_state, 9);
}

// lockd's acknowledgements are written in batches (one write in flight, the
// rest gathered behind it), each one recorded in the end, and none that a
// record no longer holds (unmonitored meanwhile).
TEST_F(NsmServiceTest, LockdAcknowledgementsAreWrittenInBatches) {
  Start();
  constexpr int kPeers = 50;
  for (int i = 0; i < kPeers; ++i) {
    const std::string a = "10.1.0." + std::to_string(i);
    resolver_.Add(a, HostInfo{a, {a}});
    ASSERT_TRUE(Mon(kLockd, KernelMon(a, static_cast<uint8_t>(i)))->success);
  }
  for (int i = 0; i < kPeers; ++i) {
    service_.Notify(kRemote, NotifyArgs{"10.1.0." + std::to_string(i), 5}, [] {});
  }
  Settle();
  ASSERT_EQ(callbacks_.requests.size(), static_cast<size_t>(kPeers));
  const int writes = store_.writes();
  for (auto& r : callbacks_.requests) r.done(true);
  // 10.1.0.49 is unmonitored and monitored again while its acknowledgement
  // waits behind the first one's write: the new record owes nothing to it.
  service_.Unmon(kLockd, KernelMon("10.1.0.49").id, [](Result<int32_t>) {});
  ASSERT_TRUE(Mon(kLockd, KernelMon("10.1.0.49", 99))->success);
  Settle();
  EXPECT_EQ(store_.writes(), writes + 4) << "the first, one batch, SM_UNMON, SM_MON";
  for (int i = 0; i < kPeers - 1; ++i) {
    EXPECT_EQ(store_.Find(KernelMon("10.1.0." + std::to_string(i)).id)->lockd_state, 5) << i;
  }
  EXPECT_EQ(store_.Find(KernelMon("10.1.0.49").id)->lockd_state, 0);
}

TEST_F(NsmServiceTest, HaEventsFollowDurableChanges) {
  FakeHaEvents ha;
  service_.SetHaEvents(&ha);
  Start();
  std::optional<StatRes> res;
  service_.Mon(kLockd, KernelMon("10.0.0.2"), [&](StatRes r) { res = r; });
  resolver_.Flush();
  EXPECT_TRUE(ha.events.empty()) << "callout before the record was durable";
  store_.Flush();
  EXPECT_EQ(ha.Flush(), 1u);
  ASSERT_TRUE(res && res->success);
  EXPECT_TRUE(Mon(kLockd, KernelMon("10.0.0.2"))->success);  // duplicate: no callout
  service_.Notify(Caller{false, false, "10.0.0.2"}, NotifyArgs{"client2", 5}, [] {});
  Settle();
  service_.Unmon(kLockd, KernelMon("10.0.0.2").id, [](Result<int32_t>) {});
  Settle();
  EXPECT_EQ(ha.Flush(), 1u);
  EXPECT_EQ(ha.events,
            (std::vector<std::string>{"add-client 10.0.0.2 server", "sm-notify client2 10.0.0.2 5",
                                      "del-client 10.0.0.2 server"}));
}

TEST_F(NsmServiceTest, SmMonReplyWaitsForAddClientCallout) {
  FakeHaEvents ha;
  service_.SetHaEvents(&ha);
  Start();
  std::optional<StatRes> res;
  service_.Mon(kLockd, KernelMon("10.0.0.2"), [&](StatRes r) { res = r; });
  Settle();
  ASSERT_NE(store_.Find(KernelMon("10.0.0.2").id), nullptr) << "committed";
  EXPECT_EQ(ha.events, std::vector<std::string>{"add-client 10.0.0.2 server"});
  EXPECT_FALSE(res.has_value()) << "replied before the callout finished";
  ha.Flush(CalloutOutcome::kTimedOut);  // a hung callout, killed: the reply goes on
  ASSERT_TRUE(res.has_value());
  EXPECT_TRUE(res->success);
  EXPECT_EQ(res->state, service_.local_state());
}

TEST_F(NsmServiceTest, SmUnmonAndUnmonAllRepliesWaitForDelClientCallouts) {
  FakeHaEvents ha;
  service_.SetHaEvents(&ha);
  Start();
  for (const char* n : {"10.0.0.2", "client2", "10.0.0.3"}) {
    service_.Mon(kLockd, KernelMon(n), [](StatRes) {});
    Settle();
    ha.Flush();
  }
  std::optional<int32_t> unmon;
  service_.Unmon(kLockd, KernelMon("10.0.0.3").id, [&](Result<int32_t> s) { unmon = *s; });
  Settle();
  EXPECT_EQ(store_.Find(KernelMon("10.0.0.3").id), nullptr) << "deleted";
  EXPECT_FALSE(unmon.has_value());
  ha.Flush();
  EXPECT_EQ(unmon, service_.local_state());

  std::optional<int32_t> all;
  service_.UnmonAll(kLockd, MyId{"server", 100021, 3, 16}, [&](Result<int32_t> s) { all = *s; });
  Settle();
  ASSERT_EQ(ha.pending.size(), 2u);
  ha.pending[0](CalloutOutcome::kFinished);
  EXPECT_FALSE(all.has_value()) << "replied before every del-client finished";
  ha.pending[1](CalloutOutcome::kFinished);
  ha.pending.clear();
  EXPECT_EQ(all, service_.local_state());
}

TEST_F(NsmServiceTest, MonWhoseCalloutWasDroppedIsNotAnsweredAndARepeatRunsIt) {
  FakeHaEvents ha;
  service_.SetHaEvents(&ha);
  Start();
  std::optional<StatRes> res;
  service_.Mon(kLockd, KernelMon("10.0.0.2"), [&](StatRes r) { res = r; });
  Settle();
  ha.Flush(CalloutOutcome::kDropped);  // shutdown cut it short
  EXPECT_FALSE(res.has_value()) << "acknowledged without its callout";
  // After a restart lockd asks again with the same cookie: the record is
  // already durable, but the callout has not run in this process.
  NsmService again(store_, resolver_, kernel_, callbacks_, log_);
  again.SetHaEvents(&ha);
  std::optional<Status> st;
  again.Start(LegacyStatd{}, [&](Status s) { st = s; });
  store_.Flush();
  ASSERT_TRUE(st && st->ok());
  again.Mon(kLockd, KernelMon("10.0.0.2"), [&](StatRes r) { res = r; });
  Settle();
  EXPECT_FALSE(res.has_value());
  EXPECT_EQ(ha.Flush(), 1u);
  ASSERT_TRUE(res && res->success);
  EXPECT_EQ(ha.events,
            (std::vector<std::string>{"add-client 10.0.0.2 server", "add-client 10.0.0.2 server"}));
  // Once it has run, a repeat is answered at once, as rpc.statd does.
  res.reset();
  again.Mon(kLockd, KernelMon("10.0.0.2"), [&](StatRes r) { res = r; });
  ASSERT_TRUE(res && res->success);
  EXPECT_EQ(ha.events.size(), 2u);
}

TEST_F(NsmServiceTest, NotifyFromUnknownHostsIsLoggedRateLimited) {
  NsmService service(store_, resolver_, kernel_, callbacks_, log_);
  // The limit runs on the time the transport read each call.
  Caller stranger{false, false, "10.0.0.9", 700, TimePoint{} + std::chrono::hours(1)};
  std::optional<Status> st;
  service.Start(LegacyStatd{}, [&](Status s) { st = s; });
  store_.Flush();
  ASSERT_TRUE(st && st->ok());
  auto count = [&](const std::string& needle) {
    size_t n = 0;
    for (const auto& l : log_.lines()) {
      n += l.first >= LogLevel::kInfo && l.second.find(needle) != std::string::npos;
    }
    return n;
  };
  int replies = 0;
  // Not monitoring anybody.
  for (int i = 0; i < 1000; ++i) {
    service.Notify(stranger, NotifyArgs{StrCat("u", i), 3}, [&] { ++replies; });
  }
  EXPECT_EQ(replies, 1000);
  EXPECT_EQ(count("while not monitoring any hosts"), 10u);
  // Monitoring one host, notified by others.
  service.Mon(kLockd, KernelMon("10.0.0.2"), [](StatRes) {});
  Settle();
  for (int i = 0; i < 1000; ++i) {
    service.Notify(stranger, NotifyArgs{StrCat("u", i), 3}, [&] { ++replies; });
  }
  Settle();
  EXPECT_EQ(replies, 2000);
  EXPECT_EQ(count("matches no monitored host"), 0u) << "the minute's budget is spent";
  stranger.received += std::chrono::minutes(1);
  service.Notify(stranger, NotifyArgs{"stranger", 3}, [&] { ++replies; });
  Settle();
  EXPECT_EQ(count("matches no monitored host"), 1u);
  EXPECT_EQ(count("1990 similar line(s) suppressed"), 1u);
  EXPECT_EQ(service.monitor_count(), 1u);
  EXPECT_TRUE(callbacks_.requests.empty());
}

TEST_F(NsmServiceTest, RebootMovesMonitorsAndBumpsStateOnce) {
  Start();
  ASSERT_TRUE(Mon(kLockd, KernelMon("10.0.0.2"))->success);
  std::optional<Result<NsmService::RebootPlan>> plan;
  service_.PrepareReboot("boot-1", false, true,
                         [&](Result<NsmService::RebootPlan> p) { plan = std::move(p); });
  EXPECT_EQ(service_.monitor_count(), 0u);  // emptied at once
  EXPECT_FALSE(plan.has_value()) << "plan before the commit";
  store_.Flush();
  ASSERT_TRUE(plan && plan->ok());
  EXPECT_TRUE((*plan)->new_boot);
  EXPECT_EQ((*plan)->state, 5);
  EXPECT_EQ((*plan)->peers.size(), 1u);
  EXPECT_EQ(store_.local_state(), 5);
  EXPECT_EQ(store_.notify_list().size(), 1u);
  EXPECT_TRUE(store_.monitors().empty());
  EXPECT_EQ(kernel_.published.back(), 5);
  // The same boot again: no bump, the notify list is returned as it is.
  plan.reset();
  service_.PrepareReboot("boot-1", false, true,
                         [&](Result<NsmService::RebootPlan> p) { plan = std::move(p); });
  ASSERT_TRUE(plan && plan->ok());
  EXPECT_FALSE((*plan)->new_boot);
  EXPECT_EQ((*plan)->state, 5);
  EXPECT_EQ((*plan)->peers.size(), 1u);
  service_.PeerNotified(KernelMon("10.0.0.2").id);
  store_.Flush();
  EXPECT_TRUE(store_.notify_list().empty());
  // A new boot with nobody to notify keeps the state.
  plan.reset();
  service_.PrepareReboot("boot-2", false, true,
                         [&](Result<NsmService::RebootPlan> p) { plan = std::move(p); });
  store_.Flush();
  ASSERT_TRUE(plan && plan->ok());
  EXPECT_EQ((*plan)->state, 5);
  EXPECT_TRUE((*plan)->peers.empty());
}

TEST_F(NsmServiceTest, RebootStoreFailureRestoresMonitors) {
  Start();
  ASSERT_TRUE(Mon(kLockd, KernelMon("10.0.0.2"))->success);
  store_.FailNext(Status::IOError("disk gone"));
  std::optional<Result<NsmService::RebootPlan>> plan;
  service_.PrepareReboot("boot-1", false, true,
                         [&](Result<NsmService::RebootPlan> p) { plan = std::move(p); });
  store_.Flush();
  ASSERT_TRUE(plan.has_value());
  EXPECT_FALSE(plan->ok());
  EXPECT_EQ(service_.monitor_count(), 1u);
  EXPECT_EQ(service_.local_state(), 3);
}

TEST_F(NsmServiceTest, RestartKeepsMonitors) {
  Start();
  ASSERT_TRUE(Mon(kLockd, KernelMon("10.0.0.2"))->success);
  NsmService again(store_, resolver_, kernel_, callbacks_, log_);
  std::optional<Status> st;
  again.Start(LegacyStatd{}, [&](Status s) { st = s; });
  store_.Flush();
  ASSERT_TRUE(st && st->ok());
  EXPECT_EQ(again.monitor_count(), 1u);
  EXPECT_EQ(again.local_state(), 3);
}

// SIGUSR1: the lists are re-read without blocking.  While the load is in
// flight, SM_STAT is answered; calls that change the lists wait and then
// run on the reloaded lists, in order.
TEST_F(NsmServiceTest, ReloadLetsReadsThroughAndHoldsChangesUntilLoaded) {
  Start();
  ASSERT_TRUE(Mon(kLockd, KernelMon("10.0.0.2"))->success);
  // The sm-notify command moved the monitors and bumped the state.
  store_.SeedNotify(*store_.Find(KernelMon("10.0.0.2").id));
  ASSERT_OK(RunAndWaitMem(
      [&](NsmStore::Done d) { store_.DeleteMonitors({KernelMon("10.0.0.2").id}, std::move(d)); }));
  store_.SeedLocalState(5);
  std::optional<Status> reloaded;
  service_.Reload([&](Status s) { reloaded = s; });
  EXPECT_TRUE(service_.loading());

  std::optional<StatRes> stat;
  service_.Stat(kRemote, "client2", [&](StatRes r) { stat = r; });
  resolver_.Flush();
  EXPECT_EQ(stat, (StatRes{true, 3})) << "SM_STAT waited for the reload";

  std::optional<int32_t> unmon;
  service_.Unmon(kLockd, KernelMon("10.0.0.2").id, [&](Result<int32_t> s) { unmon = *s; });
  std::optional<StatRes> mon;
  service_.Mon(kLockd, KernelMon("client2", 7), [&](StatRes r) { mon = r; });
  resolver_.Flush();
  EXPECT_EQ(service_.waiting(), 2u);
  EXPECT_FALSE(reloaded.has_value());

  Settle();
  ASSERT_TRUE(reloaded.has_value());
  EXPECT_OK(*reloaded);
  EXPECT_FALSE(service_.loading());
  EXPECT_EQ(service_.local_state(), 5);
  EXPECT_EQ(kernel_.published.back(), 5);
  EXPECT_EQ(service_.notify_count(), 1u);
  // The UNMON ran on the reloaded list, where 10.0.0.2 no longer is.
  EXPECT_EQ(unmon, 5);
  EXPECT_TRUE(log_.Contains("Received erroneous SM_UNMON request"));
  ASSERT_TRUE(mon.has_value());
  EXPECT_TRUE(mon->success);
  EXPECT_EQ(mon->state, 5);
  EXPECT_EQ(service_.monitor_count(), 1u);
  EXPECT_TRUE(log_.Contains("Reloaded: 0 monitor record(s), 1 peer(s) to notify, NSM state 5"));
}

TEST_F(NsmServiceTest, ReloadsAskedForDuringALoadShareTheNextOne) {
  Start();
  std::vector<Status> done;
  service_.Reload([&](Status s) { done.push_back(s); });
  service_.Reload([&](Status s) { done.push_back(s); });
  service_.Reload([&](Status s) { done.push_back(s); });
  EXPECT_EQ(store_.pending(), 1u);
  ASSERT_TRUE(store_.CommitNext());
  EXPECT_EQ(done.size(), 1u);
  EXPECT_TRUE(service_.loading()) << "the second load follows at once";
  EXPECT_EQ(store_.pending(), 1u);
  store_.Flush();
  EXPECT_EQ(done.size(), 3u);
  EXPECT_FALSE(service_.loading());
}

TEST_F(NsmServiceTest, FailedReloadKeepsTheListsAndRunsWaitingCalls) {
  Start();
  ASSERT_TRUE(Mon(kLockd, KernelMon("10.0.0.2"))->success);
  store_.FailNextLoad(Status::Corruption("damaged"));
  std::optional<Status> reloaded;
  service_.Reload([&](Status s) { reloaded = s; });
  std::optional<int32_t> unmon;
  service_.Unmon(kLockd, KernelMon("10.0.0.2").id, [&](Result<int32_t> s) { unmon = *s; });
  Settle();
  ASSERT_TRUE(reloaded.has_value());
  EXPECT_TRUE(reloaded->IsCorruption());
  EXPECT_TRUE(log_.Contains("Reload failed"));
  EXPECT_EQ(unmon, 3);
  EXPECT_EQ(service_.monitor_count(), 0u);
}

}  // namespace
}  // namespace nfsrec::statd
