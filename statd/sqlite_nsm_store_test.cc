// SqliteNsmStore beyond the shared contract: reopening, exact bytes on disk,
// migrations, corruption checks, and I/O fault injection.
#include "statd/sqlite_nsm_store.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/store/commit_queue.h"
#include "tests/support/fault_vfs.h"
#include "tests/support/nsm_store_testutil.h"
#include "tests/support/store_harness.h"
#include <gtest/gtest.h>

namespace nfsrec::statd {
namespace {

using sqlite::Db;
using sqlite::FaultVfs;
using test_support::DbHarness;
using test_support::StoreHarness;
using test_support::SweepNthFault;
using namespace std::chrono_literals;

std::vector<MonitorRecord> Sorted(std::vector<MonitorRecord> v) {
  std::sort(v.begin(), v.end(),
            [](const MonitorRecord& a, const MonitorRecord& b) { return a.key < b.key; });
  return v;
}

class SqliteNsmStoreTest : public ::testing::Test {
 protected:
  Status OpenStore() { return h_.Open(); }
  void Close() { h_.Close(); }
  std::unique_ptr<Db> Peek() { return h_.Peek(); }
  NsmStore& store() { return h_.store(); }

  Status Put(const MonitorRecord& r) {
    return RunAndWait(h_.loop(), [&](NsmStore::Done d) { store().PutMonitor(r, std::move(d)); });
  }
  // Submits every put at once (they share commits) and waits for all.
  Status PutAll(const std::vector<MonitorRecord>& records) {
    size_t done = 0;
    Status first_error;
    for (const auto& r : records) {
      store().PutMonitor(r, [&](Status st) {
        if (!st.ok() && first_error.ok()) first_error = st;
        ++done;
      });
    }
    if (!h_.loop().RunUntil([&] { return done == records.size(); }, DbHarness::kWait)) {
      return Status::TimedOut("puts did not complete");
    }
    return first_error;
  }
  Status SetLocal(int32_t s) {
    return RunAndWait(h_.loop(), [&](NsmStore::Done d) { store().SetLocalState(s, std::move(d)); });
  }
  Result<NsmSnapshot> Snap() { return LoadAndWait(h_.loop(), store()); }
  std::vector<MonitorRecord> Load() {
    auto r = Snap();
    EXPECT_OK(r);
    return r.ok() ? Sorted(std::move(r)->monitors) : std::vector<MonitorRecord>{};
  }
  int32_t LocalState() {
    auto r = Snap();
    EXPECT_OK(r);
    return r.ok() ? r->local_state : -1;
  }

  StoreHarness<SqliteNsmStore> h_;
};

TEST_F(SqliteNsmStoreTest, MigratesAnEmptyDatabase) {
  ASSERT_OK(OpenStore());
  auto db = Peek();
  ASSERT_NE(db, nullptr);
  auto version = SchemaVersion(*db, SqliteNsmStore::kComponent);
  ASSERT_OK(version);
  EXPECT_EQ(*version, static_cast<int>(SqliteNsmStore::Migrations().size()));
  for (const char* table : {"monitors", "nsm_state", "notify_list", "nsm_boot"}) {
    auto n = db->Prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1");
    ASSERT_OK(n);
    ASSERT_OK(n->BindText(1, table));
    auto row = n->Step();
    ASSERT_OK(row);
    ASSERT_TRUE(*row);
    EXPECT_EQ(n->ColumnInt(0), 1) << table;
  }

  auto cols = db->Prepare("SELECT name, type, pk FROM pragma_table_info('monitors') ORDER BY cid");
  ASSERT_OK(cols);
  std::vector<std::string> names;
  for (;;) {
    auto row = cols->Step();
    ASSERT_OK(row);
    if (!*row) break;
    names.push_back(cols->ColumnText(0) + ":" + cols->ColumnText(1));
  }
  EXPECT_EQ(names,
            (std::vector<std::string>{
                "id:INTEGER", "mon_name:BLOB", "my_name:BLOB", "my_prog:INTEGER", "my_vers:INTEGER",
                "my_proc:INTEGER", "priv:BLOB", "canonical_name:BLOB", "peer_state:INTEGER",
                "created:INTEGER", "updated:INTEGER", "lockd_state:INTEGER"}));
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM nsm_state"), 0);
}

TEST_F(SqliteNsmStoreTest, UpgradesEachVersionKeepingData) {
  const std::vector<Migration>& all = SqliteNsmStore::Migrations();
  for (size_t from = 1; from < all.size(); ++from) {
    SCOPED_TRACE("from version " + std::to_string(from));
    h_.RemoveDatabase();
    {
      // A database as an older nfsrecd left it, with a monitor and a state.
      auto db = Db::Open(h_.path());
      ASSERT_OK(db);
      std::vector<Migration> old(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(from));
      ASSERT_OK(ApplyMigrations(**db, SqliteNsmStore::kComponent, old));
      ASSERT_OK((*db)->Exec(
          "INSERT INTO monitors (mon_name, my_name, my_prog, my_vers, my_proc, priv,"
          " canonical_name, peer_state, created, updated)"
          " VALUES (x'6f6c64', x'6d65', 100021, 3, 16, zeroblob(16), x'6f6c64', 0, 1, 1);"
          "INSERT INTO nsm_state VALUES (1, 9)"));
    }
    ASSERT_OK(OpenStore());
    auto db = Peek();
    ASSERT_NE(db, nullptr);
    EXPECT_EQ(*SchemaVersion(*db, SqliteNsmStore::kComponent), static_cast<int>(all.size()));
    std::vector<MonitorRecord> loaded = Load();
    ASSERT_EQ(loaded.size(), 1u);
    EXPECT_EQ(loaded[0].key.mon_name, "old");
    EXPECT_EQ(loaded[0].key.my_name, "me");
    EXPECT_EQ(LocalState(), 9);
  }
}

TEST_F(SqliteNsmStoreTest, OpenTwiceIsIdempotent) {
  ASSERT_OK(OpenStore());
  ASSERT_OK(Put(SampleRecord(1)));
  ASSERT_OK(OpenStore());
  ASSERT_OK(OpenStore());
  EXPECT_EQ(Load(), (std::vector<MonitorRecord>{SampleRecord(1)}));
}

TEST_F(SqliteNsmStoreTest, ReopenKeepsEverything) {
  ASSERT_OK(OpenStore());
  std::vector<MonitorRecord> want;
  for (int i = 0; i < 10; ++i) {
    MonitorRecord r = SampleRecord(i);
    r.key.my_vers = 3 + i % 2;
    want.push_back(r);
    ASSERT_OK(Put(r));
  }
  ASSERT_OK(RunAndWait(h_.loop(), [&](NsmStore::Done d) {
    store().SetPeerStates({{want[2].key, 41}, {want[5].key, 43}}, std::move(d));
  }));
  want[2].peer_state = 41;
  want[5].peer_state = 43;
  ASSERT_OK(RunAndWait(
      h_.loop(), [&](NsmStore::Done d) { store().DeleteMonitors({want[9].key}, std::move(d)); }));
  want.pop_back();
  ASSERT_OK(SetLocal(7));
  Close();

  ASSERT_OK(OpenStore());
  EXPECT_EQ(Load(), Sorted(want));
  EXPECT_EQ(LocalState(), 7);
}

// The records go to the sink on the commit thread, as they are read: the
// loop thread (this one) only gets done, with the journal's states applied.
TEST_F(SqliteNsmStoreTest, LoadIntoFillsTheSinkOnTheCommitThread) {
  ASSERT_OK(OpenStore());
  std::vector<MonitorRecord> want;
  for (int i = 0; i < 50; ++i) want.push_back(SampleRecord(i));
  ASSERT_OK(PutAll(want));
  ASSERT_OK(RunAndWait(h_.loop(), [&](NsmStore::Done d) {
    store().SetPeerStates({{want[7].key, 13}}, std::move(d));
  }));
  want[7].peer_state = 13;

  class ThreadSink final : public NsmLoadSink {
   public:
    Status Add(NsmList list, MonitorRecord&& record) override {
      EXPECT_EQ(list, NsmList::kMonitors);
      threads.insert(std::this_thread::get_id());
      records.push_back(std::move(record));
      return Status::Ok();
    }
    std::set<std::thread::id> threads;
    std::vector<MonitorRecord> records;
  };
  auto sink = std::make_shared<ThreadSink>();
  std::optional<Result<NsmLoadInfo>> info;
  store().LoadInto(sink, [&](Result<NsmLoadInfo> r) { info = std::move(r); });
  ASSERT_TRUE(h_.loop().RunUntil([&] { return info.has_value(); }, DbHarness::kWait));
  ASSERT_OK(*info);
  ASSERT_EQ(sink->threads.size(), 1u);
  EXPECT_NE(*sink->threads.begin(), std::this_thread::get_id());
  EXPECT_EQ(sink->records, want);  // in insertion order
}

// --- The state journal (schema version 5, sqlite_nsm_store.cc) ---

class SqliteNsmJournalTest : public SqliteNsmStoreTest {
 protected:
  // A database at schema version 4 (no journal) holding one monitor,
  // peer_state 3 and lockd_state 2.
  void MakeVersion4WithOneMonitor() {
    const std::vector<Migration>& all = SqliteNsmStore::Migrations();
    auto db = Db::Open(h_.path());
    ASSERT_OK(db);
    ASSERT_OK(ApplyMigrations(**db, SqliteNsmStore::kComponent,
                              std::vector<Migration>(all.begin(), all.begin() + 4)));
    ASSERT_OK((*db)->Exec(
        "INSERT INTO monitors (mon_name, my_name, my_prog, my_vers, my_proc, priv,"
        " canonical_name, peer_state, created, updated, lockd_state)"
        " VALUES (x'6f6c64', x'6d65', 100021, 3, 16, zeroblob(16), x'6f6c64', 3, 1, 1, 2)"));
  }
  // Opens the store with idle work held back (for the length of the test),
  // so that journaled states stay in the journal until a test folds them.
  Status OpenHeld() {
    test_support::DbOpenOptions options;
    options.queue.idle_after = std::chrono::hours(1);
    return h_.Open(options);
  }
  Status SetPeer(const std::vector<std::pair<MonitorKey, int32_t>>& v) {
    return RunAndWait(h_.loop(), [&](NsmStore::Done d) { store().SetPeerStates(v, std::move(d)); });
  }
  Status SetLockd(const std::vector<std::pair<MonitorKey, int32_t>>& v) {
    return RunAndWait(h_.loop(),
                      [&](NsmStore::Done d) { store().SetLockdStates(v, std::move(d)); });
  }
  int64_t Journaled() {
    auto n = h_.PeekInt("SELECT count(*) FROM nsm_state_log");
    EXPECT_OK(n);
    return n.ok() ? *n : -1;
  }
  // monitors.<column> of the record named mon_name, as stored in the row.
  int64_t Column(const std::string& mon_name, const std::string& column) {
    auto n = h_.PeekInt(StrCat("SELECT ", column, " FROM monitors WHERE mon_name = CAST('",
                               mon_name, "' AS BLOB)"));
    EXPECT_OK(n);
    return n.ok() ? *n : -1;
  }
  // What nfsrecctl and the nfs-utils export read: a read-only connection.
  Result<NsmSnapshot> ReadOffline() {
    NFSREC_ASSIGN_OR_RETURN(
        std::unique_ptr<Db> db,
        Db::Open(sqlite::FileUri(h_.path()) + "?mode=ro", test_support::ReadOnlyDbOptions()));
    NFSREC_RETURN_IF_ERROR(db->Exec("BEGIN"));
    Result<NsmSnapshot> snap = SqliteNsmStore::ReadOffline(*db);
    NFSREC_RETURN_IF_ERROR(db->Exec("COMMIT"));
    return snap;
  }
};

TEST_F(SqliteNsmJournalTest, StatesAreAppendedAndEveryReaderAppliesThem) {
  ASSERT_OK(OpenHeld());
  std::vector<MonitorRecord> want = {SampleRecord(0), SampleRecord(1), SampleRecord(2)};
  ASSERT_OK(PutAll(want));
  ASSERT_OK(SetPeer({{want[0].key, 5}, {want[1].key, 6}}));
  ASSERT_OK(SetLockd({{want[0].key, 5}}));
  ASSERT_OK(SetPeer({{want[0].key, 8}}));          // the latest row wins
  ASSERT_OK(SetPeer({{SampleRecord(9).key, 3}}));  // no such record: skipped
  EXPECT_EQ(Journaled(), 4);
  EXPECT_EQ(Column("host-0", "peer_state"), 0);  // not written in place
  EXPECT_EQ(Column("host-0", "lockd_state"), 0);
  want[0].peer_state = 8;
  want[0].lockd_state = 5;
  want[1].peer_state = 6;
  EXPECT_EQ(Load(), want);
  auto offline = ReadOffline();
  ASSERT_OK(offline);
  EXPECT_EQ(Sorted(offline->monitors), want);
  Close();
  ASSERT_OK(OpenHeld());
  EXPECT_EQ(Load(), want);
}

// The point of the journal: a group of peer states, each on another page of
// a big monitors table, lands in the WAL as a few pages, not one each.
TEST_F(SqliteNsmJournalTest, AGroupOfStatesWritesAFewPages) {
  ASSERT_OK(OpenHeld());
  constexpr int kRecords = 6400;
  constexpr int kNotified = 64;
  constexpr int kSpacing = kRecords / kNotified;  // more rows than a page holds
  std::vector<MonitorRecord> records;
  for (int i = 0; i < kRecords; ++i) records.push_back(SampleRecord(i));
  ASSERT_OK(PutAll(records));
  const int64_t page = *h_.PeekInt("PRAGMA page_size");
  ASSERT_LT(page / 60, kSpacing);                                // a row takes more than 60 bytes
  ASSERT_EQ(*h_.PeekInt("PRAGMA wal_checkpoint(TRUNCATE)"), 0);  // not busy
  const uint64_t commits_before = h_.queue().stats().transactions;
  size_t done = 0;
  for (int i = 0; i < kNotified; ++i) {
    // One call per peer, as SM_NOTIFY makes them, all queued at once.
    store().SetPeerStates({{records[static_cast<size_t>(i * kSpacing)].key, 7}}, [&](Status st) {
      EXPECT_OK(st);
      ++done;
    });
  }
  ASSERT_TRUE(h_.loop().RunUntil([&] { return done == kNotified; }, DbHarness::kWait));
  const auto commits = static_cast<int64_t>(h_.queue().stats().transactions - commits_before);
  struct stat wal;
  ASSERT_EQ(::stat((h_.path() + "-wal").c_str(), &wal), 0);
  const int64_t frames = (wal.st_size - 32) / (page + 24);  // WAL header, frame headers
  // Updated in place, each of the 64 rows would be a page (a frame) of its own.
  ASSERT_LE(commits, kNotified / 8) << "the calls did not share commits";
  EXPECT_LE(frames, 3 * commits) << commits << " commits";
  EXPECT_EQ(Journaled(), kNotified);
}

TEST_F(SqliteNsmJournalTest, IdleFoldMovesTheJournalIntoMonitors) {
  test_support::DbOpenOptions options;
  options.queue.idle_after = 20ms;
  ASSERT_OK(h_.Open(options));
  std::vector<MonitorRecord> want = {SampleRecord(0), SampleRecord(1)};
  ASSERT_OK(PutAll(want));
  ASSERT_OK(SetPeer({{want[0].key, 5}, {want[1].key, 6}}));
  ASSERT_OK(SetLockd({{want[0].key, 5}}));
  ASSERT_OK(SetPeer({{want[0].key, 9}}));
  ASSERT_TRUE(h_.loop().RunUntil([&] { return Journaled() == 0; }, DbHarness::kWait));
  EXPECT_EQ(Column("host-0", "peer_state"), 9);
  EXPECT_EQ(Column("host-0", "lockd_state"), 5);
  EXPECT_EQ(Column("host-1", "peer_state"), 6);
  EXPECT_GT(h_.queue().stats().idle_runs, 0u);
  want[0].peer_state = 9;
  want[0].lockd_state = 5;
  want[1].peer_state = 6;
  EXPECT_EQ(Load(), want);
}

TEST_F(SqliteNsmJournalTest, PutReplacesAJournaledState) {
  ASSERT_OK(OpenHeld());
  MonitorRecord r = SampleRecord(0);
  ASSERT_OK(Put(r));
  ASSERT_OK(SetPeer({{r.key, 5}}));
  ASSERT_OK(SetLockd({{r.key, 5}}));
  r.peer_state = 2;
  r.lockd_state = 1;
  ASSERT_OK(Put(r));
  EXPECT_EQ(Journaled(), 0);
  EXPECT_EQ(Load(), (std::vector<MonitorRecord>{r}));
}

// A record deleted with journaled states, then a new record given the same
// id (SQLite reuses the largest rowid once its row is gone): the new record
// never takes the old one's states.
TEST_F(SqliteNsmJournalTest, ADeletedRecordsStatesNeverReachItsSuccessor) {
  ASSERT_OK(OpenHeld());
  MonitorRecord a = SampleRecord(0), b = SampleRecord(1), c = SampleRecord(2);
  ASSERT_OK(PutAll({a, b}));
  const int64_t b_id = *h_.PeekInt("SELECT max(id) FROM monitors");
  ASSERT_OK(SetPeer({{b.key, 5}}));
  ASSERT_OK(RunAndWait(h_.loop(),
                       [&](NsmStore::Done d) { store().DeleteMonitors({b.key}, std::move(d)); }));
  ASSERT_OK(Put(c));
  ASSERT_EQ(*h_.PeekInt("SELECT id FROM monitors WHERE mon_name = CAST('host-2' AS BLOB)"), b_id);
  EXPECT_EQ(Load(), Sorted({a, c}));
}

TEST_F(SqliteNsmJournalTest, PrepareRebootMovesJournaledStatesToTheNotifyList) {
  ASSERT_OK(OpenHeld());
  std::vector<MonitorRecord> want = {SampleRecord(0), SampleRecord(1)};
  ASSERT_OK(PutAll(want));
  ASSERT_OK(SetPeer({{want[1].key, 6}}));
  ASSERT_OK(SetLockd({{want[1].key, 4}}));
  ASSERT_OK(RunAndWait(h_.loop(), [&](NsmStore::Done d) {
    store().PrepareReboot(true, 3, "boot-b", std::move(d));
  }));
  EXPECT_EQ(Journaled(), 0);
  want[1].peer_state = 6;
  want[1].lockd_state = 4;
  auto snap = Snap();
  ASSERT_OK(snap);
  EXPECT_TRUE(snap->monitors.empty());
  EXPECT_EQ(Sorted(snap->notify), want);
}

TEST_F(SqliteNsmJournalTest, UpgradeFromVersion4KeepsStatesAndJournalsNewOnes) {
  ASSERT_EQ(SqliteNsmStore::Migrations().size(), 5u);
  ASSERT_NO_FATAL_FAILURE(MakeVersion4WithOneMonitor());
  ASSERT_OK(OpenHeld());
  EXPECT_EQ(*SchemaVersion(*Peek(), SqliteNsmStore::kComponent), 5);
  std::vector<MonitorRecord> loaded = Load();
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded[0].peer_state, 3);
  EXPECT_EQ(loaded[0].lockd_state, 2);
  ASSERT_OK(SetPeer({{loaded[0].key, 4}}));
  EXPECT_EQ(Journaled(), 1);
  Close();
  ASSERT_OK(OpenHeld());
  loaded = Load();
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded[0].peer_state, 4);
  EXPECT_EQ(loaded[0].lockd_state, 2);
}

// nfsrecctl, upgraded, reads the database of a daemon that has not yet
// migrated it (version 4, no journal).
TEST_F(SqliteNsmJournalTest, ReadOfflineReadsADatabaseNotYetMigrated) {
  ASSERT_NO_FATAL_FAILURE(MakeVersion4WithOneMonitor());
  auto offline = ReadOffline();
  ASSERT_OK(offline);
  ASSERT_EQ(offline->monitors.size(), 1u);
  EXPECT_EQ(offline->monitors[0].peer_state, 3);
  EXPECT_EQ(offline->monitors[0].lockd_state, 2);
}

// Durability before the reply, with the fold still to come: a process that
// had its SetPeerStates acknowledged is killed (SIGKILL, no destructor), and
// the state is there for the next one, read from the journal.
TEST_F(SqliteNsmJournalTest, KilledBetweenTheAcknowledgementAndTheFoldLosesNothing) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    // The child's own copy of the harness (same file); it never returns.
    bool ok = OpenHeld().ok();
    ok = ok && PutAll({SampleRecord(0), SampleRecord(1)}).ok();
    ok = ok && SetPeer({{SampleRecord(1).key, 11}}).ok();
    ok = ok && SetLockd({{SampleRecord(1).key, 10}}).ok();
    const char byte = ok ? 'y' : 'n';
    (void)!::write(ready[1], &byte, 1);
    ::pause();
    ::_exit(1);
  }
  ::close(ready[1]);
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  ::close(ready[0]);
  ::kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_EQ(byte, 'y');
  EXPECT_EQ(Journaled(), 2);  // not folded before the kill
  EXPECT_EQ(Column("host-1", "peer_state"), 0);
  MonitorRecord r1 = SampleRecord(1);
  r1.peer_state = 11;
  r1.lockd_state = 10;
  auto offline = ReadOffline();
  ASSERT_OK(offline);
  EXPECT_EQ(Sorted(offline->monitors), Sorted({SampleRecord(0), r1}));
  ASSERT_OK(OpenStore());
  EXPECT_EQ(Load(), Sorted({SampleRecord(0), r1}));
}

TEST_F(SqliteNsmStoreTest, BinaryAndMaximumLengthNamesRoundTripThroughReopen) {
  ASSERT_OK(OpenStore());
  std::string all_bytes;
  for (int i = 0; i < 1024; ++i) all_bytes.push_back(static_cast<char>(i % 256));
  std::vector<MonitorRecord> want;
  MonitorRecord a = SampleRecord(1);
  a.key.mon_name = all_bytes;  // 1024 bytes, every byte value incl. NUL
  a.key.my_name = std::string(1024, '\xff');
  a.canonical_name = all_bytes;
  MonitorRecord b = SampleRecord(2);
  b.key.mon_name = std::string("\0\0", 2);
  b.key.my_name = "";
  b.canonical_name = "";
  MonitorRecord c = SampleRecord(3);
  c.key.mon_name = std::string("\0", 1);  // differs from b only in length
  c.key.my_name = "";
  for (const auto& r : {a, b, c}) ASSERT_OK(Put(r));
  Close();

  ASSERT_OK(OpenStore());
  EXPECT_EQ(Load(), Sorted({a, b, c}));

  // On disk they are BLOBs of the exact length.
  auto db = Peek();
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM monitors WHERE typeof(mon_name) = 'blob'"
                          " AND typeof(my_name) = 'blob' AND typeof(canonical_name) = 'blob'"),
            3);
  EXPECT_EQ(*db->QueryInt("SELECT max(length(mon_name)) FROM monitors"), 1024);
}

TEST_F(SqliteNsmStoreTest, PutKeepsRowIdentityAndCreationTime) {
  ASSERT_OK(OpenStore());
  MonitorRecord r = SampleRecord(1);
  ASSERT_OK(Put(r));
  auto db = Peek();
  ASSERT_NE(db, nullptr);
  const int64_t id = *db->QueryInt("SELECT id FROM monitors");
  ASSERT_OK(db->Exec("UPDATE monitors SET created = 1, updated = 1"));
  r.priv.fill(1);
  ASSERT_OK(Put(r));
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM monitors"), 1);
  EXPECT_EQ(*db->QueryInt("SELECT id FROM monitors"), id);
  EXPECT_EQ(*db->QueryInt("SELECT created FROM monitors"), 1);
  EXPECT_GT(*db->QueryInt("SELECT updated FROM monitors"), 1);
}

TEST_F(SqliteNsmStoreTest, NewerSchemaIsRefused) {
  ASSERT_OK(OpenStore());
  ASSERT_OK(Put(SampleRecord(1)));
  Close();
  {
    auto db = Peek();
    ASSERT_NE(db, nullptr);
    ASSERT_OK(db->Exec("UPDATE schema_versions SET version = 9 WHERE component = 'nsm'"));
  }
  Status st = OpenStore();
  ASSERT_TRUE(st.IsCorruption()) << st.ToString();
  EXPECT_NE(st.message().find("version 9"), std::string::npos) << st.message();
  EXPECT_FALSE(h_.has_store());
  auto db = Peek();
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM monitors"), 1);  // untouched
}

TEST_F(SqliteNsmStoreTest, WrongCookieLengthIsCorruption) {
  ASSERT_OK(OpenStore());
  ASSERT_OK(Put(SampleRecord(1)));
  ASSERT_OK(Put(SampleRecord(2)));
  {
    auto db = Peek();
    ASSERT_NE(db, nullptr);
    // The CHECK constraint stops this through the store; a damaged or
    // hand-edited file gets past it.
    EXPECT_FALSE(db->Exec("UPDATE monitors SET priv = zeroblob(15) WHERE id = 2").ok());
    ASSERT_OK(
        db->Exec("PRAGMA ignore_check_constraints = ON;"
                 "UPDATE monitors SET priv = zeroblob(15) WHERE id = 2"));
  }
  auto loaded = Snap();
  ASSERT_FALSE(loaded.ok());
  EXPECT_TRUE(loaded.status().IsCorruption()) << loaded.status().ToString();
  EXPECT_NE(loaded.status().message().find("priv is 15 bytes"), std::string::npos)
      << loaded.status().message();
}

TEST_F(SqliteNsmStoreTest, WrongColumnTypesAreCorruption) {
  ASSERT_OK(OpenStore());
  ASSERT_OK(Put(SampleRecord(1)));
  auto db = Peek();
  ASSERT_NE(db, nullptr);
  ASSERT_OK(
      db->Exec("PRAGMA ignore_check_constraints = ON;"
               "UPDATE monitors SET mon_name = 'text'"));
  EXPECT_TRUE(Snap().status().IsCorruption());
  ASSERT_OK(db->Exec("UPDATE monitors SET mon_name = x'41', my_vers = 4294967296"));
  EXPECT_TRUE(Snap().status().IsCorruption());
  ASSERT_OK(db->Exec("UPDATE monitors SET my_vers = 3"));
  EXPECT_OK(Snap());
  ASSERT_OK(db->Exec("INSERT INTO nsm_state VALUES (1, 5)"));
  EXPECT_EQ(LocalState(), 5);
  ASSERT_OK(db->Exec("UPDATE nsm_state SET local_state = 'x'"));
  EXPECT_TRUE(Snap().status().IsCorruption());
}

TEST_F(SqliteNsmStoreTest, ConcurrentPutsShareCommits) {
  ASSERT_OK(OpenStore());
  const CommitQueue::Stats before = h_.queue().stats();
  constexpr int kPuts = 64;
  int done = 0;
  for (int i = 0; i < kPuts; ++i) {
    store().PutMonitor(SampleRecord(i), [&done](Status st) {
      EXPECT_OK(st);
      ++done;
    });
  }
  ASSERT_TRUE(h_.loop().RunUntil([&] { return done == kPuts; }, 30s));
  const CommitQueue::Stats after = h_.queue().stats();
  EXPECT_EQ(after.units - before.units, static_cast<uint64_t>(kPuts));
  EXPECT_LT(after.transactions - before.transactions, static_cast<uint64_t>(kPuts));
  EXPECT_EQ(Load().size(), static_cast<size_t>(kPuts));
}

// The Nth write or fsync under a PutMonitor + SetLocalState fails, for
// N = 1, 2, ... until they no longer reach N operations.  Each time the
// error is clean, the database reopens intact with everything committed
// before, every change reported OK is there, and a change reported failed
// is either entirely there or entirely absent.
class SqliteNsmStoreFaultTest : public SqliteNsmStoreTest,
                                public ::testing::WithParamInterface<FaultVfs::Op> {
 protected:
  static constexpr int kMaxN = 100;
  static constexpr std::chrono::seconds kBudget{120};

  // Starts run n on a new file: `setup` through the fault VFS, unarmed,
  // then arms it for the nth operation.
  void StartRun(int n, const std::function<void()>& setup) {
    h_.RemoveDatabase();
    ASSERT_OK(h_.OpenFaulty());
    setup();
    if (HasFatalFailure()) return;
    h_.fault_vfs().Arm(GetParam(), n, /*persistent=*/false);
  }
  // Ends the faulted part: closes, disarms, returns the faults injected,
  // checks the file and reopens it without faults.
  int EndRun() {
    const int injected = h_.fault_vfs().injected();
    Close();
    h_.fault_vfs().Disarm();
    EXPECT_OK(h_.CheckIntegrity());
    EXPECT_OK(OpenStore());
    return injected;
  }
};

TEST_P(SqliteNsmStoreFaultTest, NthOperationFails) {
  constexpr int kBaseline = 12;
  std::vector<MonitorRecord> baseline;
  for (int i = 0; i < kBaseline; ++i) baseline.push_back(SampleRecord(i));
  MonitorRecord added = SampleRecord(500);
  added.key.mon_name = std::string(1024, 'n');
  MonitorRecord replaced = baseline[3];
  replaced.priv.fill(0x5a);
  replaced.canonical_name = "moved.example";

  auto run = [&](int n, int* injected) {
    StartRun(n, [&] {
      ASSERT_OK(PutAll(baseline));
      ASSERT_OK(SetLocal(3));
    });
    if (HasFatalFailure()) return;
    std::optional<Status> put_added, put_replaced, set_state;
    store().PutMonitor(added, [&](Status st) { put_added = st; });
    store().PutMonitor(replaced, [&](Status st) { put_replaced = st; });
    store().SetLocalState(5, [&](Status st) { set_state = st; });
    ASSERT_TRUE(h_.loop().RunUntil([&] { return put_added && put_replaced && set_state; },
                                   DbHarness::kWait));
    *injected = EndRun();
    ASSERT_TRUE(h_.has_store());

    for (const auto* st : {&put_added, &put_replaced, &set_state}) {
      if (!(*st)->ok()) {
        EXPECT_TRUE((*st)->IsIOError()) << (*st)->ToString();
      }
    }
    std::vector<MonitorRecord> loaded = Load();
    auto find = [&](const MonitorKey& k) -> const MonitorRecord* {
      for (const auto& r : loaded) {
        if (r.key == k) return &r;
      }
      return nullptr;
    };
    for (const auto& r : baseline) {
      const MonitorRecord* got = find(r.key);
      ASSERT_NE(got, nullptr) << "baseline record lost";
      if (r.key != replaced.key) {
        EXPECT_EQ(*got, r);
      }
    }
    const MonitorRecord* got_added = find(added.key);
    if (put_added->ok()) {
      ASSERT_NE(got_added, nullptr) << "acknowledged put lost";
    }
    if (got_added != nullptr) {
      EXPECT_EQ(*got_added, added);
    }
    const MonitorRecord* got_replaced = find(replaced.key);
    if (put_replaced->ok()) {
      EXPECT_EQ(*got_replaced, replaced) << "acknowledged replace lost";
    } else {
      EXPECT_TRUE(*got_replaced == replaced || *got_replaced == baseline[3]);
    }
    const int32_t state = LocalState();
    if (set_state->ok()) {
      EXPECT_EQ(state, 5);
    } else {
      EXPECT_TRUE(state == 3 || state == 5) << state;
    }
    Close();
  };
  SweepNthFault(kMaxN, kBudget, [&](int n) {
    int injected = 0;
    run(n, &injected);
    return injected;
  });
}

// Boot notification's move of the monitor list is all or nothing under I/O
// faults: afterwards either the old state (monitors, state 3, no boot id) or
// the new one (notify list, state 5, boot id) is on disk, never a mix.
TEST_P(SqliteNsmStoreFaultTest, PrepareRebootIsAllOrNothing) {
  constexpr int kRecords = 30;
  std::vector<MonitorRecord> records;
  for (int i = 0; i < kRecords; ++i) {
    MonitorRecord r = SampleRecord(i);
    r.key.mon_name.append(200, 'x');  // spread over several pages
    records.push_back(r);
  }
  records = Sorted(records);
  // Every third record has a journaled peer state, which moves with it.
  const std::vector<MonitorRecord> put = records;
  std::vector<std::pair<MonitorKey, int32_t>> journaled;
  for (size_t i = 0; i < records.size(); i += 3) {
    records[i].peer_state = 40 + static_cast<int32_t>(i);
    journaled.emplace_back(records[i].key, records[i].peer_state);
  }

  auto run = [&](int n, int* injected) {
    StartRun(n, [&] {
      ASSERT_OK(PutAll(put));
      ASSERT_OK(RunAndWait(
          h_.loop(), [&](NsmStore::Done d) { store().SetPeerStates(journaled, std::move(d)); }));
      ASSERT_OK(SetLocal(3));
    });
    if (HasFatalFailure()) return;
    Status st = RunAndWait(h_.loop(), [&](NsmStore::Done d) {
      store().PrepareReboot(true, 5, "boot-b", std::move(d));
    });
    *injected = EndRun();
    ASSERT_TRUE(h_.has_store());
    if (!st.ok()) {
      EXPECT_TRUE(st.IsIOError()) << st.ToString();
    }

    std::vector<MonitorRecord> monitors = Load();
    auto snap = Snap();
    ASSERT_OK(snap);
    std::vector<MonitorRecord> notified = Sorted(snap->notify);
    const int32_t state = snap->local_state;
    const std::string boot_id = snap->boot_id;
    const bool moved = monitors.empty() && notified == records && state == 5 && boot_id == "boot-b";
    const bool untouched = monitors == records && notified.empty() && state == 3 && boot_id.empty();
    EXPECT_TRUE(moved || untouched)
        << "monitors " << monitors.size() << ", notify " << notified.size() << ", state " << state;
    if (st.ok()) {
      EXPECT_TRUE(moved) << "acknowledged move lost";
    }
    Close();
  };
  SweepNthFault(kMaxN, kBudget, [&](int n) {
    int injected = 0;
    run(n, &injected);
    return injected;
  });
}

INSTANTIATE_TEST_SUITE_P(Faults, SqliteNsmStoreFaultTest,
                         ::testing::Values(FaultVfs::Op::kWrite, FaultVfs::Op::kSync),
                         [](const ::testing::TestParamInfo<FaultVfs::Op>& param_info) {
                           return std::string(param_info.param == FaultVfs::Op::kWrite ? "Write"
                                                                                       : "Sync");
                         });

}  // namespace
}  // namespace nfsrec::statd
