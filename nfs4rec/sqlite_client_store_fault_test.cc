// I/O fault injection under SqliteClientStore: for N = 1, 2, ... the Nth
// write (or fsync) through the fault VFS fails while a sequence of client
// tracking operations runs, until the sequence completes without reaching
// the Nth operation.  A MemClientStore replaying the same operations is the
// oracle (the contract test keeps the two alike).  Each run checks:
//  - every operation completes, with OK or an I/O error, and an OK result
//    equals the oracle's;
//  - the state the live store reads after a failure is the state before or
//    after the failed operation, never a mix;
//  - after a transient fault the store keeps working (a marker Put is OK);
//  - reopened without faults, the file passes integrity_check and holds
//    exactly what was acknowledged: the oracle's state (plus the marker),
//    with a failed operation either wholly there or wholly absent.
#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "nfs4rec/sqlite_client_store.h"
#include "tests/support/client_store_testutil.h"
#include "tests/support/mem_client_store.h"
#include "tests/support/store_harness.h"
#include <gtest/gtest.h>

namespace nfsrec::nfs4rec {
namespace {

using sqlite::FaultVfs;
using test_support::FaultCase;
using test_support::StoreHarness;
using test_support::SweepNthFault;

constexpr int kMaxN = 400;  // far above the I/O operations of the sequence
constexpr std::chrono::seconds kBudget{150};
constexpr int kBaseline = 10;
// Long ids spread the records over several pages, and a tiny auto-checkpoint
// threshold makes commits checkpoint into the main file, so its writes and
// fsyncs are in the fault window too.
constexpr size_t kIdBytes = 900;
constexpr char kSetup[] = "PRAGMA wal_autocheckpoint=4";

std::string Id(int i) {
  std::string id = "client-" + std::to_string(i) + "-";
  id.resize(kIdBytes, static_cast<char>('a' + i % 26));
  return id;
}

// One operation of the sequence: issues one store call; done gets its
// status and, if OK, a summary of its result to compare with the oracle's.
using OpDone = std::function<void(Status, std::string)>;
using Op = std::function<void(ClientStore&, OpDone)>;

std::string Summary(std::vector<ClientRecord> recs) {
  std::sort(recs.begin(), recs.end(),
            [](const ClientRecord& a, const ClientRecord& b) { return a.id < b.id; });
  std::ostringstream os;
  for (const ClientRecord& r : recs) {
    os << " " << r.id.substr(0, 10) << "/" << r.princhash.size() << "/"
       << (r.has_session ? (*r.has_session ? 1 : 0) : -1);
  }
  return os.str();
}

Op Put(const ClientRecord& r) {
  return [r](ClientStore& s, OpDone d) { s.PutClient(r, [d](Status st) { d(st, ""); }); };
}
Op Remove(const std::string& id) {
  return [id](ClientStore& s, OpDone d) { s.RemoveClient(id, [d](Status st) { d(st, ""); }); };
}
Op StartGrace() {
  return [](ClientStore& s, OpDone d) {
    s.StartGrace([d](Result<GraceStartResult> g) {
      if (!g.ok()) return d(g.status(), "");
      d(Status::Ok(), "start " + std::to_string(g->epochs.current) + "/" +
                          std::to_string(g->epochs.recovery) +
                          " kept=" + std::to_string(g->kept_recovery) + Summary(g->reclaimable));
    });
  };
}
Op Check(const std::string& id) {
  return [id](ClientStore& s, OpDone d) {
    s.CheckReclaim(id, [d](Result<CheckResult> c) {
      if (!c.ok()) return d(c.status(), "");
      d(Status::Ok(), "check " + std::to_string(static_cast<int>(c->outcome)) +
                          " started=" + std::to_string(c->started_grace) + " " +
                          std::to_string(c->epochs.current) + "/" +
                          std::to_string(c->epochs.recovery));
    });
  };
}
Op EndGrace() {
  return [](ClientStore& s, OpDone d) {
    s.EndGrace([d](Result<EndGraceResult> e) {
      if (!e.ok()) return d(e.status(), "");
      d(Status::Ok(), "end " + std::to_string(e->was_in_grace) + " dropped=" +
                          std::to_string(e->dropped) + " " + std::to_string(e->epochs.current));
    });
  };
}
Op Load() {
  return [](ClientStore& s, OpDone d) {
    s.Load([d](Result<ClientSnapshot> l) {
      if (!l.ok()) return d(l.status(), "");
      d(Status::Ok(), "load " + std::to_string(l->epochs.current) + "/" +
                          std::to_string(l->epochs.recovery) + Summary(l->current) + " |" +
                          Summary(l->recovery));
    });
  };
}

// A server's life across two reboots, one of them during grace: every call
// of the port, with reclaims, removals and new clients in between.
std::vector<Op> Sequence() {
  return {
      StartGrace(),                                    // reboot: 1 becomes recovery
      Put(Client(Id(0), std::string(32, 'h'), true)),  // reclaim
      Check(Id(1)),                                    // v0 reclaim, copied
      Check("unknown"),
      Remove(Id(0)),
      StartGrace(),  // reboot during grace: current emptied, recovery kept
      Put(Client(Id(2), "", true)),
      Put(Client(Id(100), std::string(32, 'n'), false)),  // a new client
      Load(),                                             // what a restart now would read
      EndGrace(),
      Remove("never-there"),
      Put(Client(Id(3))),
      StartGrace(),  // the next reboot
      Check(Id(3)),
      EndGrace(),
      Load(),
  };
}

std::vector<Op> Baseline() {
  std::vector<Op> ops;
  for (int i = 0; i < kBaseline; ++i) {
    ops.push_back(Put(Client(Id(i), i % 3 == 0 ? std::string(32, 'b') : "")));
  }
  return ops;
}

// Runs one op on a store and waits for its completion.
std::pair<Status, std::string> RunOp(const Op& op, ClientStore& store,
                                     const test_support::Settle& settle) {
  std::optional<std::pair<Status, std::string>> out;
  op(store, [&out](Status st, std::string summary) { out.emplace(std::move(st), summary); });
  if (!settle([&] { return out.has_value(); })) {
    return {Status::TimedOut("operation did not complete"), ""};
  }
  return std::move(*out);
}

// The oracle's state after the baseline and the first `ops` operations of
// the sequence; their summaries go to *summaries when it is given.
ClientSnapshot Model(size_t ops, std::vector<std::string>* summaries = nullptr) {
  MemClientStore mem;
  test_support::Settle settle = [&mem](const std::function<bool()>& pred) {
    mem.RunPending();
    return pred();
  };
  for (const Op& op : Baseline()) EXPECT_OK(RunOp(op, mem, settle).first);
  std::vector<Op> seq = Sequence();
  for (size_t i = 0; i < ops && i < seq.size(); ++i) {
    auto [st, summary] = RunOp(seq[i], mem, settle);
    EXPECT_OK(st);
    if (summaries != nullptr) summaries->push_back(summary);
  }
  Result<ClientSnapshot> s = LoadState(mem, settle);
  EXPECT_OK(s);
  return s.ok() ? *s : ClientSnapshot{};
}

class SqliteClientStoreFaultTest : public ::testing::TestWithParam<FaultCase> {
 protected:
  void SetUp() override {
    full_ = Model(Sequence().size(), &oracle_);
    ASSERT_EQ(oracle_.size(), Sequence().size());
  }

  // One run with the fault at the nth operation; *injected: the faults
  // injected (0: the sequence needs fewer than n operations).
  void RunOnce(int n, int* injected);

  std::vector<std::string> oracle_;  // summary of each op's result
  ClientSnapshot full_;              // the oracle's state after the sequence
  StoreHarness<SqliteClientStore> h_;
};

void SqliteClientStoreFaultTest::RunOnce(int n, int* injected) {
  const FaultCase fc = GetParam();
  h_.RemoveDatabase();
  ASSERT_OK(h_.OpenFaulty(kSetup));
  FaultVfs& vfs = h_.fault_vfs();
  const test_support::Settle settle = h_.settle();
  // The baseline in one group commit: submitted together, then waited for.
  int baseline_ok = 0;
  for (const Op& op : Baseline()) {
    op(h_.store(), [&baseline_ok](Status st, std::string) {
      EXPECT_OK(st);
      if (st.ok()) ++baseline_ok;
    });
  }
  ASSERT_TRUE(settle([&] { return baseline_ok == kBaseline; }));

  vfs.Arm(fc.op, n, fc.persistent);
  const std::vector<Op> seq = Sequence();
  size_t acknowledged = 0;
  std::optional<Status> failure;
  for (; acknowledged < seq.size(); ++acknowledged) {
    auto [st, summary] = RunOp(seq[acknowledged], h_.store(), settle);
    ASSERT_FALSE(st.IsTimedOut()) << "op " << acknowledged << " never completed";
    if (!st.ok()) {
      failure = st;
      break;
    }
    EXPECT_EQ(summary, oracle_[acknowledged]) << "op " << acknowledged;
  }
  *injected = vfs.injected();

  // What may be on disk: the acknowledged prefix, or that and the failed op.
  std::vector<ClientSnapshot> allowed = {Model(acknowledged)};
  if (failure) {
    EXPECT_TRUE(failure->IsIOError()) << "op " << acknowledged << ": " << failure->ToString();
    allowed.push_back(Model(acknowledged + 1));
  } else {
    EXPECT_EQ(allowed[0], full_);
  }
  auto is_allowed = [&](const ClientSnapshot& s) {
    return std::find(allowed.begin(), allowed.end(), s) != allowed.end();
  };

  ClientSnapshot expected_on_disk;
  bool marker = false;
  if (failure && !fc.persistent) {
    // A transient fault: the daemon goes on with the same connection.
    vfs.Disarm();
    Result<ClientSnapshot> live = LoadState(h_.store(), settle);
    ASSERT_OK(live);
    EXPECT_TRUE(is_allowed(*live)) << ::testing::PrintToString(*live);
    ClientRecord m = Client("marker", "", true);
    ASSERT_OK(ClientStoreCalls(h_.store(), settle).Put(m));
    expected_on_disk = *live;
    expected_on_disk.current.push_back(m);
    std::sort(expected_on_disk.current.begin(), expected_on_disk.current.end(),
              [](const ClientRecord& a, const ClientRecord& b) { return a.id < b.id; });
    marker = true;
  }
  // ORDER: closed while a persistent fault still fails the close-time
  // checkpoint, so the reopen below must recover from the WAL.
  h_.Close();
  vfs.Disarm();

  EXPECT_OK(h_.CheckIntegrity());
  ASSERT_OK(h_.Open());
  Result<ClientSnapshot> reopened = LoadState(h_.store(), settle);
  ASSERT_OK(reopened);
  if (marker) {
    EXPECT_EQ(*reopened, expected_on_disk);
  } else {
    EXPECT_TRUE(is_allowed(*reopened)) << ::testing::PrintToString(*reopened);
  }
  // Epochs are rows: no record outside the current and recovery epochs.
  Result<int64_t> strays = h_.PeekInt(
      "SELECT count(*) FROM cld_clients, cld_grace WHERE epoch <> current AND epoch <> recovery");
  ASSERT_OK(strays);
  EXPECT_EQ(*strays, 0);
  h_.Close();
}

TEST_P(SqliteClientStoreFaultTest, NthOperationFails) {
  SweepNthFault(kMaxN, kBudget, [this](int n) {
    int injected = 0;
    RunOnce(n, &injected);
    return injected;
  });
}

INSTANTIATE_TEST_SUITE_P(Faults, SqliteClientStoreFaultTest, test_support::AllFaultCases(),
                         test_support::FaultCaseName);

}  // namespace
}  // namespace nfsrec::nfs4rec
