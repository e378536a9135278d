// The NsmStore contract as type-parameterized tests, shared by the programs
// that instantiate them for a store: statd/nsm_store_contract_test.cc
// (SqliteNsmStore, MemNsmStore) and statd/etcd_nsm_store_test.cc
// (EtcdNsmStore, against real etcd).  A Harness has Init() (ASSERTs
// allowed), NsmStore& store() and EventLoop& loop(), and gives each test an
// empty store:
//   INSTANTIATE_TYPED_TEST_SUITE_P(Name, NsmStoreContractTest, Types<H...>);
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "statd/nsm_store.h"
#include "tests/support/nsm_store_testutil.h"
#include "tests/support/status_matchers.h"
#include <gtest/gtest.h>

namespace nfsrec::statd {

template <typename Harness>
class NsmStoreContractTest : public ::testing::Test {
 protected:
  void SetUp() override { h_.Init(); }

  NsmStore& store() { return h_.store(); }
  Status Put(const MonitorRecord& r) {
    return RunAndWait(h_.loop(), [&](NsmStore::Done d) { store().PutMonitor(r, std::move(d)); });
  }
  Status Delete(const std::vector<MonitorKey>& keys) {
    return RunAndWait(h_.loop(),
                      [&](NsmStore::Done d) { store().DeleteMonitors(keys, std::move(d)); });
  }
  Status SetPeers(const std::vector<std::pair<MonitorKey, int32_t>>& states) {
    return RunAndWait(h_.loop(),
                      [&](NsmStore::Done d) { store().SetPeerStates(states, std::move(d)); });
  }
  Status SetLocal(int32_t state) {
    return RunAndWait(h_.loop(),
                      [&](NsmStore::Done d) { store().SetLocalState(state, std::move(d)); });
  }
  Status PrepareReboot(bool move, int32_t state, const std::string& boot_id) {
    return RunAndWait(h_.loop(), [&](NsmStore::Done d) {
      store().PrepareReboot(move, state, boot_id, std::move(d));
    });
  }
  Result<bool> Import(int32_t state, const std::vector<MonitorRecord>& monitors,
                      const std::vector<MonitorRecord>& notify) {
    return RunAndWait<Result<bool>>(h_.loop(), [&](auto done) {
      store().ImportLegacy(state, monitors, notify, std::move(done));
    });
  }
  Status DeleteNotified(const std::vector<MonitorKey>& keys) {
    return RunAndWait(h_.loop(),
                      [&](NsmStore::Done d) { store().DeleteNotified(keys, std::move(d)); });
  }
  NsmSnapshot Snap() {
    Result<NsmSnapshot> r = LoadAndWait(h_.loop(), store());
    EXPECT_OK(r);
    return r.ok() ? std::move(r).value() : NsmSnapshot{};
  }
  static std::vector<MonitorRecord> Sorted(std::vector<MonitorRecord> v) {
    std::sort(v.begin(), v.end(),
              [](const MonitorRecord& a, const MonitorRecord& b) { return a.key < b.key; });
    return v;
  }
  std::vector<MonitorRecord> LoadNotify() { return Sorted(Snap().notify); }
  std::vector<MonitorRecord> Load() { return Sorted(Snap().monitors); }
  EventLoop& loop() { return h_.loop(); }

  Harness h_;
};

TYPED_TEST_SUITE_P(NsmStoreContractTest);

TYPED_TEST_P(NsmStoreContractTest, StartsEmpty) {
  NsmSnapshot s = this->Snap();
  EXPECT_TRUE(s.monitors.empty());
  EXPECT_EQ(s.local_state, 0);
}

TYPED_TEST_P(NsmStoreContractTest, PutThenLoad) {
  MonitorRecord a = SampleRecord(1);
  MonitorRecord b = SampleRecord(2);
  b.peer_state = 7;
  ASSERT_OK(this->Put(a));
  ASSERT_OK(this->Put(b));
  EXPECT_EQ(this->Load(), (std::vector<MonitorRecord>{a, b}));
}

TYPED_TEST_P(NsmStoreContractTest, PutReplacesTheRecordWithTheSameKey) {
  MonitorRecord a = SampleRecord(1);
  ASSERT_OK(this->Put(a));
  MonitorRecord changed = a;
  changed.priv.fill(0xee);
  changed.canonical_name = "elsewhere.example";
  changed.peer_state = 9;
  ASSERT_OK(this->Put(changed));
  EXPECT_EQ(this->Load(), (std::vector<MonitorRecord>{changed}));
}

TYPED_TEST_P(NsmStoreContractTest, KeyIsTheWholeMyId) {
  MonitorRecord kernel = SampleRecord(1);
  MonitorRecord ganesha = kernel;
  ganesha.key.my_vers = 4;
  MonitorRecord other_proc = kernel;
  other_proc.key.my_proc = 24;
  MonitorRecord other_name = kernel;
  other_name.key.my_name = "second.example";
  for (const auto& r : {kernel, ganesha, other_proc, other_name}) ASSERT_OK(this->Put(r));
  EXPECT_EQ(this->Load().size(), 4u);
}

TYPED_TEST_P(NsmStoreContractTest, NamesAreBytes) {
  MonitorRecord r = SampleRecord(1);
  r.key.mon_name = std::string("a\0b\xff\x01 \n", 7);
  r.key.my_name = std::string(1024, '\xc3');
  r.canonical_name = std::string("\0", 1);
  MonitorRecord prefix = r;
  prefix.key.mon_name = "a";  // equal up to the NUL: must stay a distinct key
  ASSERT_OK(this->Put(r));
  ASSERT_OK(this->Put(prefix));
  std::vector<MonitorRecord> loaded = this->Load();
  ASSERT_EQ(loaded.size(), 2u);
  EXPECT_EQ(loaded[0], prefix);
  EXPECT_EQ(loaded[1], r);
}

TYPED_TEST_P(NsmStoreContractTest, DeleteRemovesOnlyTheGivenKeys) {
  for (int i = 1; i <= 3; ++i) ASSERT_OK(this->Put(SampleRecord(i)));
  MonitorKey absent = SampleRecord(99).key;
  ASSERT_OK(this->Delete({SampleRecord(1).key, SampleRecord(3).key, absent}));
  EXPECT_EQ(this->Load(), (std::vector<MonitorRecord>{SampleRecord(2)}));
  ASSERT_OK(this->Delete({}));
  ASSERT_OK(this->Delete({absent}));
  EXPECT_EQ(this->Load().size(), 1u);
}

TYPED_TEST_P(NsmStoreContractTest, PeerStatesUpdateExistingRecordsOnly) {
  for (int i = 1; i <= 3; ++i) ASSERT_OK(this->Put(SampleRecord(i)));
  ASSERT_OK(this->SetPeers(
      {{SampleRecord(1).key, 5}, {SampleRecord(3).key, -7}, {SampleRecord(42).key, 11}}));
  std::vector<MonitorRecord> loaded = this->Load();
  ASSERT_EQ(loaded.size(), 3u);
  EXPECT_EQ(loaded[0].peer_state, 5);
  EXPECT_EQ(loaded[1].peer_state, 0);
  EXPECT_EQ(loaded[2].peer_state, -7);
  EXPECT_EQ(loaded[0].priv, SampleRecord(1).priv);
}

TYPED_TEST_P(NsmStoreContractTest, LocalStateIsStored) {
  ASSERT_OK(this->SetLocal(3));
  EXPECT_EQ(this->Snap().local_state, 3);
  ASSERT_OK(this->SetLocal(INT32_MAX));
  EXPECT_EQ(this->Snap().local_state, INT32_MAX);
}

TYPED_TEST_P(NsmStoreContractTest, NotifyListAndBootIdStartEmpty) {
  EXPECT_TRUE(this->LoadNotify().empty());
  EXPECT_EQ(this->Snap().boot_id, "");
}

TYPED_TEST_P(NsmStoreContractTest, PrepareRebootMovesMonitorsToTheNotifyList) {
  MonitorRecord a = SampleRecord(1);
  MonitorRecord b = SampleRecord(2);
  b.key.mon_name = std::string("\0b", 2);
  b.peer_state = 9;
  ASSERT_OK(this->Put(a));
  ASSERT_OK(this->Put(b));
  ASSERT_OK(this->PrepareReboot(true, 5, "boot-1"));
  EXPECT_TRUE(this->Load().empty());
  std::vector<MonitorRecord> want = {a, b};
  std::sort(want.begin(), want.end(),
            [](const MonitorRecord& x, const MonitorRecord& y) { return x.key < y.key; });
  EXPECT_EQ(this->LoadNotify(), want);
  EXPECT_EQ(this->Snap().local_state, 5);
  EXPECT_EQ(this->Snap().boot_id, "boot-1");

  // A second reboot before the peer answered: the newer record replaces
  // the one with the same key, the others stay.
  MonitorRecord a2 = a;
  a2.priv.fill(0x77);
  ASSERT_OK(this->Put(a2));
  ASSERT_OK(this->PrepareReboot(true, 7, "boot-2"));
  std::vector<MonitorRecord> notify = this->LoadNotify();
  ASSERT_EQ(notify.size(), 2u);
  EXPECT_TRUE(std::find(notify.begin(), notify.end(), a2) != notify.end());
  EXPECT_TRUE(std::find(notify.begin(), notify.end(), b) != notify.end());
  EXPECT_EQ(this->Snap().boot_id, "boot-2");
}

TYPED_TEST_P(NsmStoreContractTest, ImportLegacyAddsBothListsAndTheStateTogether) {
  MonitorRecord existing = SampleRecord(1);
  ASSERT_OK(this->Put(existing));
  MonitorRecord replaced = existing;
  replaced.priv.fill(0x42);
  MonitorRecord mon = SampleRecord(2);
  MonitorRecord late = SampleRecord(3);
  Result<bool> imported = this->Import(41, {replaced, mon}, {late});
  ASSERT_OK(imported);
  EXPECT_TRUE(*imported);
  EXPECT_EQ(this->Load(), (std::vector<MonitorRecord>{replaced, mon}));
  EXPECT_EQ(this->LoadNotify(), (std::vector<MonitorRecord>{late}));
  EXPECT_EQ(this->Snap().local_state, 41);
}

TYPED_TEST_P(NsmStoreContractTest, ImportLegacyChangesNothingOnceAStateIsStored) {
  ASSERT_OK(this->SetLocal(5));
  Result<bool> imported = this->Import(41, {SampleRecord(1)}, {SampleRecord(2)});
  ASSERT_OK(imported);
  EXPECT_FALSE(*imported);
  EXPECT_TRUE(this->Load().empty());
  EXPECT_TRUE(this->LoadNotify().empty());
  EXPECT_EQ(this->Snap().local_state, 5);
}

TYPED_TEST_P(NsmStoreContractTest, LocalStateNeverGoesDown) {
  ASSERT_OK(this->PrepareReboot(false, 7, "boot"));
  ASSERT_OK(this->SetLocal(3));
  EXPECT_EQ(this->Snap().local_state, 7);
  ASSERT_OK(this->PrepareReboot(false, 5, "boot"));
  EXPECT_EQ(this->Snap().local_state, 7);
}

TYPED_TEST_P(NsmStoreContractTest, PrepareRebootWithoutMoveKeepsMonitors) {
  ASSERT_OK(this->Put(SampleRecord(1)));
  ASSERT_OK(this->PrepareReboot(false, 3, "boot-x"));
  EXPECT_EQ(this->Load(), (std::vector<MonitorRecord>{SampleRecord(1)}));
  EXPECT_TRUE(this->LoadNotify().empty());
  EXPECT_EQ(this->Snap().local_state, 3);
  EXPECT_EQ(this->Snap().boot_id, "boot-x");
}

TYPED_TEST_P(NsmStoreContractTest, DeleteNotifiedRemovesOnlyThoseKeys) {
  for (int i = 1; i <= 3; ++i) ASSERT_OK(this->Put(SampleRecord(i)));
  ASSERT_OK(this->PrepareReboot(true, 5, "b"));
  ASSERT_OK(this->DeleteNotified({SampleRecord(2).key, SampleRecord(42).key}));
  EXPECT_EQ(this->LoadNotify(), (std::vector<MonitorRecord>{SampleRecord(1), SampleRecord(3)}));
  EXPECT_TRUE(this->Load().empty());
}

// Load is ordered with the calls before it: it sees what they changed and
// completes after their completions, never inside the call.
TYPED_TEST_P(NsmStoreContractTest, LoadSeesAndFollowsEarlierCalls) {
  std::vector<std::string> order;
  this->store().PutMonitor(SampleRecord(1), [&](Status st) {
    EXPECT_OK(st);
    order.push_back("put");
  });
  this->store().SetLocalState(9, [&](Status st) {
    EXPECT_OK(st);
    order.push_back("state");
  });
  std::optional<Result<NsmSnapshot>> snap;
  this->store().Load([&](Result<NsmSnapshot> r) {
    order.push_back("load");
    snap = std::move(r);
  });
  EXPECT_FALSE(snap.has_value());
  ASSERT_TRUE(this->loop().RunUntil([&] { return snap.has_value(); }, std::chrono::seconds(30)));
  EXPECT_EQ(order, (std::vector<std::string>{"put", "state", "load"}));
  ASSERT_OK(*snap);
  EXPECT_EQ((*snap)->monitors, (std::vector<MonitorRecord>{SampleRecord(1)}));
  EXPECT_EQ((*snap)->local_state, 9);
}

// Records what a load hands its sink.
class RecordingSink final : public NsmLoadSink {
 public:
  explicit RecordingSink(size_t fail_at = SIZE_MAX) : fail_at_(fail_at) {}
  void Expect(size_t monitor_count, size_t notify_count) override {
    expected = {monitor_count, notify_count};
  }
  Status Add(NsmList list, MonitorRecord&& record) override {
    if (added == fail_at_) {
      ++added;
      return Status::InvalidArgument("the sink refused a record");
    }
    ++added;
    (list == NsmList::kMonitors ? monitors : notify).push_back(std::move(record));
    return Status::Ok();
  }
  std::optional<std::pair<size_t, size_t>> expected;
  size_t added = 0;  // calls of Add
  std::vector<MonitorRecord> monitors;
  std::vector<MonitorRecord> notify;

 private:
  size_t fail_at_;
};

// A load hands every record of both lists to the sink, each on its list,
// in the list's order (notify: most recently used first), and the rest to
// done; a hint of the sizes, if given, is the truth.
TYPED_TEST_P(NsmStoreContractTest, LoadIntoStreamsBothListsToTheSink) {
  for (int i = 1; i <= 3; ++i) ASSERT_OK(this->Put(SampleRecord(i)));
  ASSERT_OK(this->PrepareReboot(true, 5, "boot-1"));
  ASSERT_OK(this->Put(SampleRecord(4)));
  ASSERT_OK(this->Put(SampleRecord(5)));
  const NsmSnapshot snap = this->Snap();

  auto sink = std::make_shared<RecordingSink>();
  std::optional<Result<NsmLoadInfo>> info;
  this->store().LoadInto(sink, [&](Result<NsmLoadInfo> r) { info = std::move(r); });
  EXPECT_FALSE(info.has_value());
  ASSERT_TRUE(this->loop().RunUntil([&] { return info.has_value(); }, std::chrono::seconds(30)));
  ASSERT_OK(*info);
  EXPECT_EQ((*info)->local_state, 5);
  EXPECT_EQ((*info)->boot_id, "boot-1");
  EXPECT_EQ(this->Sorted(sink->monitors),
            (std::vector<MonitorRecord>{SampleRecord(4), SampleRecord(5)}));
  EXPECT_EQ(this->Sorted(sink->notify),
            (std::vector<MonitorRecord>{SampleRecord(1), SampleRecord(2), SampleRecord(3)}));
  EXPECT_EQ(sink->monitors, snap.monitors);
  EXPECT_EQ(sink->notify, snap.notify);
  if (sink->expected) {
    EXPECT_EQ(*sink->expected, std::make_pair(size_t{2}, size_t{3}));
  }
}

// A sink that refuses a record ends the load with its error, and gets no
// record after that; the next load is whole.
TYPED_TEST_P(NsmStoreContractTest, SinkErrorEndsTheLoad) {
  for (int i = 1; i <= 5; ++i) ASSERT_OK(this->Put(SampleRecord(i)));
  auto sink = std::make_shared<RecordingSink>(/*fail_at=*/1);
  std::optional<Result<NsmLoadInfo>> info;
  this->store().LoadInto(sink, [&](Result<NsmLoadInfo> r) { info = std::move(r); });
  ASSERT_TRUE(this->loop().RunUntil([&] { return info.has_value(); }, std::chrono::seconds(30)));
  ASSERT_FALSE(info->ok());
  EXPECT_TRUE(info->status().IsInvalidArgument()) << info->status().ToString();
  EXPECT_NE(info->status().message().find("the sink refused a record"), std::string::npos);
  EXPECT_EQ(sink->added, 2u);
  EXPECT_EQ(this->Load().size(), 5u);
}

REGISTER_TYPED_TEST_SUITE_P(NsmStoreContractTest, StartsEmpty, PutThenLoad,
                            PutReplacesTheRecordWithTheSameKey, KeyIsTheWholeMyId, NamesAreBytes,
                            DeleteRemovesOnlyTheGivenKeys, PeerStatesUpdateExistingRecordsOnly,
                            LocalStateIsStored, NotifyListAndBootIdStartEmpty,
                            PrepareRebootMovesMonitorsToTheNotifyList,
                            ImportLegacyAddsBothListsAndTheStateTogether,
                            ImportLegacyChangesNothingOnceAStateIsStored, LocalStateNeverGoesDown,
                            PrepareRebootWithoutMoveKeepsMonitors,
                            DeleteNotifiedRemovesOnlyThoseKeys, LoadSeesAndFollowsEarlierCalls,
                            LoadIntoStreamsBothListsToTheSink, SinkErrorEndsTheLoad);

}  // namespace nfsrec::statd
