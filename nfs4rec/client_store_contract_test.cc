// The ClientStore contract (tests/support/client_store_contract.h) on
// SqliteClientStore and MemClientStore, and MemClientStore's own controls.
#include "tests/support/client_store_contract.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nfs4rec/sqlite_client_store.h"
#include "tests/support/client_store_testutil.h"
#include "tests/support/mem_client_store.h"
#include "tests/support/store_harness.h"
#include <gtest/gtest.h>

namespace nfsrec::nfs4rec {
namespace {

using test_support::Settle;
using test_support::StoreHarness;

class SqliteClientHarness : public StoreHarness<SqliteClientStore> {
 public:
  void Init() { ASSERT_OK(Open()); }
  // A daemon restart: a new connection, queue and store on the same file.
  void Restart() { ASSERT_OK(Open()); }
  // Rows of any epoch, read past the port on a second connection.
  int64_t StoredRows(uint64_t epoch) {
    Result<int64_t> n =
        PeekInt("SELECT count(*) FROM cld_clients WHERE epoch = " + std::to_string(epoch));
    EXPECT_OK(n);
    return n.ok() ? *n : -1;
  }
};

class MemClientHarness {
 public:
  void Init() {}
  // The in-memory store is the state a restarted process would load.
  void Restart() {}
  ClientStore& store() { return store_; }
  int64_t StoredRows(uint64_t epoch) { return static_cast<int64_t>(store_.Count(epoch)); }
  Settle settle() {
    return [this](const std::function<bool()>& pred) {
      store_.RunPending();
      return pred();
    };
  }

 private:
  MemClientStore store_;
};

using Harnesses = ::testing::Types<SqliteClientHarness, MemClientHarness>;
INSTANTIATE_TYPED_TEST_SUITE_P(Store, ClientStoreContractTest, Harnesses);

// --- MemClientStore's own controls ---

TEST(MemClientStoreTest, CompletionsWaitForRunPending) {
  MemClientStore store;
  bool done = false;
  store.PutClient(Client("a"), [&](Status st) {
    EXPECT_OK(st);
    done = true;
  });
  EXPECT_FALSE(done);
  EXPECT_EQ(store.pending(), 1u);
  EXPECT_EQ(store.RunPending(), 1u);
  EXPECT_TRUE(done);
  EXPECT_TRUE(store.Has(1, "a"));
  EXPECT_EQ(store.mutations(), 1u);
}

TEST(MemClientStoreTest, FailNextFailsALoadToo) {
  MemClientStore store;
  store.FailNext(Status::Corruption("bad epochs"));
  std::optional<Result<ClientSnapshot>> loaded;
  store.Load([&](Result<ClientSnapshot> s) { loaded.emplace(std::move(s)); });
  EXPECT_FALSE(loaded.has_value());
  store.RunPending();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_TRUE(loaded->status().IsCorruption());
  EXPECT_EQ(store.mutations(), 0u);
}

TEST(MemClientStoreTest, FailNextFailsOneCallAndAppliesNothing) {
  MemClientStore store;
  store.Insert(1, Client("kept"));
  store.FailNext(Status::IOError("disk gone"));
  std::optional<Result<GraceStartResult>> failed;
  std::optional<Status> next;
  store.StartGrace([&](Result<GraceStartResult> g) { failed = std::move(g); });
  store.RemoveClient("kept", [&](Status st) { next = st; });
  store.RunPending();
  ASSERT_TRUE(failed && next);
  EXPECT_TRUE(failed->status().IsIOError());
  EXPECT_EQ(failed->status().message(), "disk gone");
  EXPECT_OK(*next);
  EXPECT_EQ(store.epochs(), (Epochs{1, 0}));
  EXPECT_FALSE(store.Has(1, "kept"));
  EXPECT_EQ(store.mutations(), 1u);
}

}  // namespace
}  // namespace nfsrec::nfs4rec
