#include "nfs4rec/sqlite_client_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "common/os/event_loop.h"
#include "common/store/schema.h"
#include "nfs4rec/client_sql.h"

namespace nfsrec::nfs4rec {
namespace {

using namespace std::chrono_literals;

class SqliteClientStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cldstore.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/nfsrecd.sqlite";
    loop_ = std::move(EventLoop::Create()).value();
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    queue_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    store_.reset();
    queue_.reset();
    auto db = sqlite::Db::Open(path_);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    queue_ = std::make_unique<CommitQueue>(std::move(db).value(), *loop_);
    auto s = SqliteClientStore::Open(*queue_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  template <typename T>
  T Wait(const std::function<void(std::function<void(T)>)>& call) {
    std::optional<T> out;
    call([&out](T v) { out.emplace(std::move(v)); });
    EXPECT_TRUE(loop_->RunUntil([&] { return out.has_value(); }, 10s));
    return std::move(*out);
  }
  Status Put(const std::string& id, const std::string& hash = "") {
    ClientRecord r;
    r.id = id;
    r.princhash = hash;
    return Wait<Status>([&](auto done) { store_->PutClient(r, done); });
  }
  Status Remove(const std::string& id) {
    return Wait<Status>([&](auto done) { store_->RemoveClient(id, done); });
  }
  Result<GraceStartResult> Start() {
    return Wait<Result<GraceStartResult>>([&](auto done) { store_->StartGrace(done); });
  }
  Result<EndGraceResult> End() {
    return Wait<Result<EndGraceResult>>([&](auto done) { store_->EndGrace(done); });
  }
  std::vector<std::string> Ids(uint64_t epoch) {
    std::vector<std::string> out;
    auto recs = store_->LoadClients(epoch);
    EXPECT_TRUE(recs.ok());
    for (auto& r : *recs) out.push_back(r.id);
    return out;
  }

  std::string dir_, path_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<CommitQueue> queue_;
  std::unique_ptr<SqliteClientStore> store_;
};

TEST_F(SqliteClientStoreTest, FreshDatabaseHasEpochOneAndSchemaVersion) {
  EXPECT_EQ(store_->LoadEpochs().value(), (Epochs{1, 0}));
  auto db = sqlite::Db::Open(path_).value();
  EXPECT_EQ(SchemaVersion(*db, "cld").value(), 1);
}

TEST_F(SqliteClientStoreTest, RecordsSurviveReopenWithBinaryIdsAndPrincHash) {
  std::string id("\x00\x01owner\xff", 8);
  std::string hash(32, '\x7f');
  ASSERT_TRUE(Put(id, hash).ok());
  ASSERT_TRUE(Put("plain").ok());
  Reopen();
  auto recs = store_->LoadClients(1).value();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].id, id);
  EXPECT_EQ(recs[0].princhash, hash);
  EXPECT_FALSE(recs[0].has_session.has_value());
  EXPECT_GT(recs[0].time, 1600000000);
  EXPECT_EQ(recs[1].id, "plain");
  EXPECT_TRUE(recs[1].princhash.empty());
}

TEST_F(SqliteClientStoreTest, EpochLifecycleAndRebt3) {
  ASSERT_TRUE(Put("a").ok());
  ASSERT_TRUE(Put("b").ok());
  ASSERT_TRUE(Put("x").ok());
  ASSERT_TRUE(Remove("x").ok());
  ASSERT_TRUE(Remove("never-there").ok());
  auto g = Start();
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->epochs, (Epochs{2, 1}));
  EXPECT_FALSE(g->kept_recovery);
  ASSERT_EQ(g->reclaimable.size(), 2u);
  ASSERT_TRUE(Put("a").ok());  // a reclaimed
  auto g2 = Start();           // reboot during grace
  ASSERT_TRUE(g2.ok());
  EXPECT_TRUE(g2->kept_recovery);
  EXPECT_EQ(g2->epochs, (Epochs{2, 1}));
  EXPECT_EQ(g2->reclaimable.size(), 2u);
  EXPECT_TRUE(Ids(2).empty());
  ASSERT_TRUE(Put("b").ok());
  auto e = End();
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->was_in_grace);
  EXPECT_EQ(e->dropped, 2u);
  EXPECT_EQ(store_->LoadEpochs().value(), (Epochs{2, 0}));
  EXPECT_EQ(Ids(2), std::vector<std::string>{"b"});
  auto e2 = End();
  ASSERT_TRUE(e2.ok());
  EXPECT_FALSE(e2->was_in_grace);
  EXPECT_EQ(Ids(2), std::vector<std::string>{"b"});
}

TEST_F(SqliteClientStoreTest, EpochsAreRowsNotTables) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(Start().ok());
    ASSERT_TRUE(End().ok());
  }
  auto db = sqlite::Db::Open(path_).value();
  EXPECT_EQ(db->QueryInt("SELECT count(*) FROM sqlite_master WHERE type='table' AND name LIKE 'cld%'")
                .value(),
            2);
  EXPECT_EQ(store_->LoadEpochs().value(), (Epochs{6, 0}));
}

TEST_F(SqliteClientStoreTest, CheckReclaimOpensGraceOnce) {
  ASSERT_TRUE(Put("a").ok());
  auto r = Wait<Result<CheckResult>>([&](auto done) { store_->CheckReclaim("a", done); });
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->started_grace);
  EXPECT_EQ(r->outcome, ReclaimOutcome::kReclaimed);
  auto r2 = Wait<Result<CheckResult>>([&](auto done) { store_->CheckReclaim("a", done); });
  EXPECT_FALSE(r2->started_grace);
  EXPECT_EQ(r2->outcome, ReclaimOutcome::kAlreadyCurrent);
  auto r3 = Wait<Result<CheckResult>>([&](auto done) { store_->CheckReclaim("zz", done); });
  EXPECT_EQ(r3->outcome, ReclaimOutcome::kNotFound);
  EXPECT_EQ(Ids(2), std::vector<std::string>{"a"});
}

TEST_F(SqliteClientStoreTest, ManyConcurrentPutsShareCommits) {
  int done = 0;
  for (int i = 0; i < 500; ++i) {
    ClientRecord r;
    r.id = "c" + std::to_string(i);
    store_->PutClient(r, [&done](Status st) {
      EXPECT_TRUE(st.ok());
      ++done;
    });
  }
  ASSERT_TRUE(loop_->RunUntil([&] { return done == 500; }, 30s));
  EXPECT_EQ(Ids(1).size(), 500u);
  EXPECT_LT(queue_->stats().transactions, 500u);
}

TEST_F(SqliteClientStoreTest, SecondWriterConnectionInterleavesSafely) {
  // A second process-like connection (the nfsdcltrack helper) writes with
  // BEGIN IMMEDIATE while the daemon's group commits run.
  std::thread helper([this] {
    auto db = sqlite::Db::Open(path_).value();
    for (int i = 0; i < 100; ++i) {
      auto txn = sqlite::Transaction::Begin(*db);
      ASSERT_TRUE(txn.ok()) << txn.status().ToString();
      auto e = client_sql::ReadEpochs(*db);
      ASSERT_TRUE(e.ok());
      ClientRecord r;
      r.id = "helper" + std::to_string(i);
      r.has_session = true;
      ASSERT_TRUE(client_sql::PutClient(*db, e->current, r).ok());
      ASSERT_TRUE((*txn)->Commit().ok());
    }
  });
  int done = 0;
  for (int i = 0; i < 100; ++i) {
    ClientRecord r;
    r.id = "daemon" + std::to_string(i);
    store_->PutClient(r, [&done](Status st) {
      EXPECT_TRUE(st.ok()) << st.ToString();
      ++done;
    });
  }
  ASSERT_TRUE(loop_->RunUntil([&] { return done == 100; }, 60s));
  helper.join();
  EXPECT_EQ(Ids(1).size(), 200u);
}

TEST_F(SqliteClientStoreTest, CorruptEpochRowIsReported) {
  {
    auto db = sqlite::Db::Open(path_).value();
    ASSERT_TRUE(db->Exec("UPDATE cld_grace SET recovery = 7 WHERE id = 1").ok());
  }
  auto e = store_->LoadEpochs();
  EXPECT_TRUE(e.status().IsCorruption()) << e.status().ToString();
}

TEST_F(SqliteClientStoreTest, NewerSchemaIsRefused) {
  store_.reset();
  queue_.reset();
  {
    auto db = sqlite::Db::Open(path_).value();
    ASSERT_TRUE(db->Exec("UPDATE schema_versions SET version = 99 WHERE component = 'cld'").ok());
  }
  auto db = sqlite::Db::Open(path_);
  queue_ = std::make_unique<CommitQueue>(std::move(db).value(), *loop_);
  auto s = SqliteClientStore::Open(*queue_);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.status().IsCorruption());
}

}  // namespace
}  // namespace nfsrec::nfs4rec
