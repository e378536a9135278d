#include "nfs4rec/sqlite_client_store.h"

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "common/store/schema.h"
#include "nfs4rec/client_sql.h"
#include "tests/support/client_store_testutil.h"
#include "tests/support/store_harness.h"
#include <gtest/gtest.h>

// SqliteClientStore beyond the shared contract (client_store_contract_test.cc):
// the schema on disk, reopening, group commit, a second writer connection,
// corruption and version checks.
namespace nfsrec::nfs4rec {
namespace {

using namespace std::chrono_literals;
using test_support::DbHarness;
using test_support::StoreHarness;

class SqliteClientStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK(h_.Open()); }
  void Reopen() { ASSERT_OK(h_.Open()); }
  ClientStoreCalls calls() { return ClientStoreCalls(h_.store(), h_.settle()); }
  Status Put(const std::string& id, const std::string& hash = "") {
    return calls().Put(Client(id, hash));
  }
  std::vector<std::string> Ids(uint64_t epoch) { return calls().Ids(epoch); }

  StoreHarness<SqliteClientStore> h_;
};

TEST_F(SqliteClientStoreTest, FreshDatabaseHasEpochOneAndSchemaVersion) {
  Result<ClientSnapshot> s = calls().Load();
  ASSERT_OK(s);
  EXPECT_EQ(s->epochs, (Epochs{1, 0}));
  auto db = h_.Peek();
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(SchemaVersion(*db, "cld").value(), static_cast<int>(client_sql::Migrations().size()));
}

TEST_F(SqliteClientStoreTest, RecordsSurviveReopenWithBinaryIdsAndPrincHash) {
  std::string id("\x00\x01owner\xff", 8);
  std::string hash(32, '\x7f');
  ASSERT_OK(Put(id, hash));
  ASSERT_OK(Put("plain"));
  Reopen();
  Result<ClientSnapshot> s = calls().Load();
  ASSERT_OK(s);
  const std::vector<ClientRecord>& recs = s->current;
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].id, id);
  EXPECT_EQ(recs[0].princhash, hash);
  EXPECT_FALSE(recs[0].has_session.has_value());
  EXPECT_GT(recs[0].time, 1600000000);
  EXPECT_EQ(recs[1].id, "plain");
  EXPECT_TRUE(recs[1].princhash.empty());
  // On disk: BLOBs of the exact length, NULL for no hash and unknown session.
  EXPECT_EQ(h_.PeekInt("SELECT count(*) FROM cld_clients WHERE typeof(id) = 'blob'").value(), 2);
  EXPECT_EQ(h_.PeekInt("SELECT count(*) FROM cld_clients WHERE princhash IS NULL"
                       " AND has_session IS NULL")
                .value(),
            1);
}

TEST_F(SqliteClientStoreTest, EpochsAreRowsNotTables) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK(calls().StartGrace());
    ASSERT_OK(calls().EndGrace());
  }
  EXPECT_EQ(h_.PeekInt("SELECT count(*) FROM sqlite_master WHERE type='table' AND name LIKE 'cld%'")
                .value(),
            2);
  Result<ClientSnapshot> s = calls().Load();
  ASSERT_OK(s);
  EXPECT_EQ(s->epochs, (Epochs{6, 0}));
}

TEST_F(SqliteClientStoreTest, ManyConcurrentPutsShareCommits) {
  int done = 0;
  for (int i = 0; i < 500; ++i) {
    h_.store().PutClient(Client("c" + std::to_string(i)), [&done](Status st) {
      EXPECT_OK(st);
      ++done;
    });
  }
  ASSERT_TRUE(h_.loop().RunUntil([&] { return done == 500; }, DbHarness::kWait));
  EXPECT_EQ(Ids(1).size(), 500u);
  EXPECT_LT(h_.queue().stats().transactions, 500u);
}

TEST_F(SqliteClientStoreTest, SecondWriterConnectionInterleavesSafely) {
  // A second process-like connection (the nfsdcltrack helper) writes with
  // BEGIN IMMEDIATE while the daemon's group commits run.
  std::thread helper([this] {
    auto db = h_.Peek();
    ASSERT_NE(db, nullptr);
    for (int i = 0; i < 100; ++i) {
      auto txn = sqlite::Transaction::Begin(*db);
      ASSERT_OK(txn);
      auto e = client_sql::ReadEpochs(*db);
      ASSERT_OK(e);
      ASSERT_OK(
          client_sql::PutClient(*db, e->current, Client("helper" + std::to_string(i), "", true)));
      ASSERT_OK((*txn)->Commit());
    }
  });
  int done = 0;
  for (int i = 0; i < 100; ++i) {
    h_.store().PutClient(Client("daemon" + std::to_string(i)), [&done](Status st) {
      EXPECT_OK(st);
      ++done;
    });
  }
  ASSERT_TRUE(h_.loop().RunUntil([&] { return done == 100; }, 60s));
  helper.join();
  EXPECT_EQ(Ids(1).size(), 200u);
}

TEST_F(SqliteClientStoreTest, CorruptEpochRowIsReported) {
  {
    auto db = h_.Peek();
    ASSERT_NE(db, nullptr);
    ASSERT_OK(db->Exec("UPDATE cld_grace SET recovery = 7 WHERE id = 1"));
  }
  Result<ClientSnapshot> s = calls().Load();
  EXPECT_TRUE(s.status().IsCorruption()) << s.status().ToString();
}

TEST_F(SqliteClientStoreTest, LoadIsOneUnitOfTheQueue) {
  ASSERT_OK(Put("a"));
  const uint64_t units = h_.queue().stats().units;
  ASSERT_OK(calls().Load());
  EXPECT_EQ(h_.queue().stats().units, units + 1);
}

TEST_F(SqliteClientStoreTest, CompletionsAfterTheStoreIsGoneAreDropped) {
  bool ran = false;
  h_.store().Load([&ran](Result<ClientSnapshot>) { ran = true; });
  h_.store().PutClient(Client("late"), [&ran](Status) { ran = true; });
  h_.store().EndGrace([&ran](Result<EndGraceResult>) { ran = true; });
  // Destroys the store, then the queue, which finishes the units and posts
  // their completions to the loop.
  h_.Close();
  h_.loop().RunUntil([] { return false; }, 200ms);
  EXPECT_FALSE(ran);
  ASSERT_OK(h_.Open());
  EXPECT_EQ(Ids(1), std::vector<std::string>{"late"});
}

// Version 1 to 2 adds cld_clients.lease_expired: every record of an older
// database, in both epochs, keeps all it had and comes out unmarked (such a
// database predates the marks, so each of its clients is offered at the
// next GraceStart, as before).
TEST_F(SqliteClientStoreTest, UpgradeFromVersionOneKeepsRecordsUnmarked) {
  h_.Close();
  h_.RemoveDatabase();
  {
    auto db = sqlite::Db::Open(h_.path());
    ASSERT_OK(db);
    const std::vector<Migration>& all = client_sql::Migrations();
    ASSERT_GE(all.size(), 2u);
    std::vector<Migration> v1(all.begin(), all.begin() + 1);
    ASSERT_OK(ApplyMigrations(**db, client_sql::kComponent, v1));
    ASSERT_OK(
        (*db)->Exec("UPDATE cld_grace SET current = 3, recovery = 2;"
                    "INSERT INTO cld_clients (epoch, id, princhash, has_session, time)"
                    " VALUES (2, x'6f6c64', zeroblob(32), 1, 7), (3, x'6e6577', NULL, NULL, 8)"));
  }
  ASSERT_OK(h_.Open());
  auto db = h_.Peek();
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(SchemaVersion(*db, "cld").value(), 2);
  Result<ClientSnapshot> s = calls().Load();
  ASSERT_OK(s);
  EXPECT_EQ(s->epochs, (Epochs{3, 2}));
  ClientRecord old = Client("old", std::string(32, '\0'), true);
  old.time = 7;
  ClientRecord fresh = Client("new");
  fresh.time = 8;
  EXPECT_EQ(s->recovery, std::vector<ClientRecord>{old});
  EXPECT_EQ(s->current, std::vector<ClientRecord>{fresh});
  // The new column is usable at once.
  ASSERT_OK(calls().SetLeaseExpired("new", true));
  EXPECT_EQ(h_.PeekInt("SELECT count(*) FROM cld_clients WHERE lease_expired = 1").value(), 1);
}

TEST_F(SqliteClientStoreTest, NewerSchemaIsRefused) {
  h_.Close();
  {
    auto db = h_.Peek();
    ASSERT_NE(db, nullptr);
    ASSERT_OK(db->Exec("UPDATE schema_versions SET version = 99 WHERE component = 'cld'"));
  }
  Status st = h_.Open();
  EXPECT_TRUE(st.IsCorruption()) << st.ToString();
  EXPECT_FALSE(h_.has_store());
}

}  // namespace
}  // namespace nfsrec::nfs4rec
