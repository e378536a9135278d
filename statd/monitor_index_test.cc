#include "statd/monitor_index.h"

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "common/os/resolver.h"
#include "statd/nsm_service.h"
#include <gtest/gtest.h>

namespace nfsrec::statd {
namespace {

using Slot = MonitorIndex::Slot;
constexpr Slot kNone = MonitorIndex::kNone;

MonitorRecord Rec(const std::string& mon, const std::string& canonical,
                  const std::string& my = "server", int32_t vers = 3, uint8_t seed = 1) {
  MonitorRecord r;
  r.key = MonitorKey{mon, my, 100021, vers, 16};
  r.canonical_name = canonical;
  for (size_t i = 0; i < r.priv.size(); ++i) r.priv[i] = static_cast<uint8_t>(seed + i);
  return r;
}

std::vector<std::string> MonNames(const MonitorIndex& index, const std::vector<Slot>& slots) {
  std::vector<std::string> out;
  for (Slot s : slots) out.emplace_back(index.mon_name(s));
  return out;
}

// What NsmService matched by scanning every record before the index.
bool ScanMatches(const MonitorRecord& r, const std::vector<std::string>& names,
                 const std::vector<std::string>& addresses) {
  for (const std::string& n : names) {
    if (EqualsIgnoreCase(r.key.mon_name, n) || EqualsIgnoreCase(r.canonical_name, n)) return true;
  }
  for (const std::string* s : {&r.key.mon_name, &r.canonical_name}) {
    std::string norm;
    if (!IsNumericAddress(*s, &norm)) continue;
    if (std::find(addresses.begin(), addresses.end(), norm) != addresses.end()) return true;
  }
  return false;
}

TEST(MonitorIndexTest, PutFindsByExactKeyAndReplacesTheSameKey) {
  MonitorIndex index;
  const Slot a = index.Put({Rec("client1", "client1.example")});
  index.Put({Rec("client2", "client2.example")});
  EXPECT_EQ(index.size(), 2u);
  EXPECT_EQ(index.Find(Rec("client1", "").key), a);
  EXPECT_EQ(index.Find(Rec("CLIENT1", "").key), kNone);  // exact bytes only
  EXPECT_EQ(index.Find(Rec("client1", "", "server", 4).key), kNone);

  MonitorRecord again = Rec("client1", "client1.other", "server", 3, 9);
  again.peer_state = 5;
  again.lockd_state = 3;
  EXPECT_EQ(index.Put({again, 7, true}), a);
  EXPECT_EQ(index.size(), 2u);
  const MonitorIndex::Entry e = index.Get(a);
  EXPECT_EQ(e.record, again);
  EXPECT_EQ(e.generation, 7u);
  EXPECT_TRUE(e.ha_reported);
  // The old canonical name no longer matches; the new one does.
  EXPECT_TRUE(index.MatchHost({"client1.example"}, {}).empty());
  EXPECT_EQ(MonNames(index, index.MatchHost({"CLIENT1.OTHER"}, {})),
            std::vector<std::string>{"client1"});
}

TEST(MonitorIndexTest, NamesMatchMonNameOrCanonicalNameCaseInsensitively) {
  MonitorIndex index;
  index.Put({Rec("Client1", "client1.Example.COM")});
  index.Put({Rec("client2", "client2.example.com")});
  EXPECT_EQ(MonNames(index, index.MatchHost({"CLIENT1"}, {})), std::vector<std::string>{"Client1"});
  EXPECT_EQ(MonNames(index, index.MatchHost({"client1.example.com"}, {})),
            std::vector<std::string>{"Client1"});
  EXPECT_TRUE(index.MatchHost({"client1.example"}, {}).empty());
  EXPECT_TRUE(index.MatchHost({"client"}, {}).empty());
  // Several names: each record once, in key order.
  EXPECT_EQ(MonNames(index, index.MatchHost({"client2", "client1", "CLIENT2.example.com"}, {})),
            (std::vector<std::string>{"Client1", "client2"}));
}

TEST(MonitorIndexTest, AddressesMatchEverySpellingOfTheSameAddressButNotV4Mapped) {
  MonitorIndex index;
  index.Put({Rec("127.1", "localhost")});         // inet_aton spelling of 127.0.0.1
  index.Put({Rec("FE80:0:0::1", "fe80::1")});     // IPv6, upper case, zeros spelled out
  index.Put({Rec("::ffff:10.0.0.2", "mapped")});  // v4-mapped
  index.Put({Rec("peer", "10.0.0.3")});           // an address as canonical name
  EXPECT_EQ(MonNames(index, index.MatchHost({}, {"127.0.0.1"})), std::vector<std::string>{"127.1"});
  EXPECT_EQ(MonNames(index, index.MatchHost({}, {"fe80::1"})),
            std::vector<std::string>{"FE80:0:0::1"});
  EXPECT_TRUE(index.MatchHost({}, {"10.0.0.2"}).empty());
  EXPECT_EQ(MonNames(index, index.MatchHost({}, {"::ffff:10.0.0.2"})),
            std::vector<std::string>{"::ffff:10.0.0.2"});
  EXPECT_EQ(MonNames(index, index.MatchHost({}, {"10.0.0.3"})), std::vector<std::string>{"peer"});
  // An address given as a name matches by its bytes only.
  EXPECT_TRUE(index.MatchHost({"127.0.0.1"}, {}).empty());
  // Addresses are compared in presentation form: "127.1" is not one.
  EXPECT_TRUE(index.MatchHost({}, {"127.1"}).empty());
}

TEST(MonitorIndexTest, AdministeredHostMatchesNamesAndAnAddressOfTheMonName) {
  MonitorIndex index;
  index.Put({Rec("10.0.0.7", "seven")});
  index.Put({Rec("eight", "10.0.0.7")});
  EXPECT_EQ(MonNames(index, index.MatchAdministered("SEVEN", "")),
            std::vector<std::string>{"10.0.0.7"});
  // By address only the mon_name counts; the canonical name only by its bytes.
  EXPECT_EQ(MonNames(index, index.MatchAdministered("10.0.0.07", "10.0.0.7")),
            std::vector<std::string>{"10.0.0.7"});
  EXPECT_EQ(MonNames(index, index.MatchAdministered("10.0.0.7", "10.0.0.7")),
            (std::vector<std::string>{"10.0.0.7", "eight"}));
}

TEST(MonitorIndexTest, FindLooseFoldsNamesAndPrefersTheExactKeyThenKeyOrder) {
  MonitorIndex index;
  const Slot upper = index.Put({Rec("HOST", "host.example")});
  const Slot mixed = index.Put({Rec("Host", "host.example")});
  index.Put({Rec("host", "host.example", "other")});
  EXPECT_EQ(index.FindLoose(Rec("Host", "").key), mixed);  // exact
  // Not exact: the first match in key order ("HOST" < "Host").
  EXPECT_EQ(index.FindLoose(Rec("hOST", "", "SERVER").key), upper);
  EXPECT_EQ(index.FindLoose(Rec("HOST.EXAMPLE", "").key), upper);  // by canonical name
  EXPECT_EQ(index.FindLoose(Rec("host", "", "server", 4).key), kNone);
  EXPECT_EQ(index.FindLoose(Rec("nohost", "").key), kNone);
}

TEST(MonitorIndexTest, FindClientFoldsMyNameAndMatchesTheNumbersExactly) {
  MonitorIndex index;
  index.Put({Rec("b", "b", "server")});
  index.Put({Rec("a", "a", "SERVER")});
  index.Put({Rec("c", "c", "server", 4)});
  index.Put({Rec("d", "d", "ganesha")});
  EXPECT_EQ(MonNames(index, index.FindClient("Server", 100021, 3, 16)),
            (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(MonNames(index, index.FindClient("server", 100021, 4, 16)),
            std::vector<std::string>{"c"});
  EXPECT_TRUE(index.FindClient("server", 100021, 3, 24).empty());
}

TEST(MonitorIndexTest, EraseLeavesNoTraceAndFreesNames) {
  MonitorIndex index;
  std::vector<Slot> slots;
  for (int i = 0; i < 300; ++i) {
    const std::string n = "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250);
    slots.push_back(index.Put({Rec(n, "host" + std::to_string(i))}));
  }
  for (size_t i = 0; i < slots.size(); i += 2) index.Erase(slots[i]);
  EXPECT_EQ(index.size(), 150u);
  EXPECT_TRUE(index.MatchHost({"host0"}, {"10.1.0.0"}).empty());
  EXPECT_EQ(MonNames(index, index.MatchHost({"HOST1"}, {})), std::vector<std::string>{"10.1.0.1"});
  EXPECT_EQ(MonNames(index, index.MatchHost({}, {"10.1.1.49"})),
            std::vector<std::string>{"10.1.1.49"});
  EXPECT_EQ(index.FindClient("server", 100021, 3, 16).size(), 150u);
  for (size_t i = 1; i < slots.size(); i += 2) index.Erase(slots[i]);
  EXPECT_TRUE(index.empty());
  EXPECT_EQ(index.distinct_names(), 0u);
  EXPECT_TRUE(index.All().empty());
  EXPECT_TRUE(index.FindClient("server", 100021, 3, 16).empty());
  // Slots and names are reused.
  index.Put({Rec("10.1.0.0", "host0")});
  EXPECT_EQ(MonNames(index, index.MatchHost({}, {"10.1.0.0"})),
            std::vector<std::string>{"10.1.0.0"});
}

// Insert is a load's Put: the first record of a key stays.  A record
// whose canonical name is its mon_name holds that one name twice.
TEST(MonitorIndexTest, InsertKeepsTheFirstRecordOfAKey) {
  MonitorIndex index;
  index.Reserve(1000);
  MonitorRecord first = Rec("10.3.0.1", "10.3.0.1", "server", 3, 1);
  first.peer_state = 7;
  first.lockd_state = 5;
  const Slot a = index.Insert(first);
  ASSERT_NE(a, kNone);
  EXPECT_EQ(index.Insert(Rec("10.3.0.1", "elsewhere", "server", 3, 2)), kNone);
  EXPECT_EQ(index.Get(a).record, first);
  EXPECT_EQ(index.generation(a), 0u);
  EXPECT_FALSE(index.ha_reported(a));
  const Slot b = index.Insert(Rec("10.3.0.1", "host-b", "server", 4));
  ASSERT_NE(b, kNone);
  const Slot c = index.Insert(Rec("host-c", "10.3.0.1", "other", 3));
  ASSERT_NE(c, kNone);
  EXPECT_EQ(index.size(), 3u);
  EXPECT_EQ(index.distinct_names(), 5u);  // 10.3.0.1, host-b, host-c, server, other
  EXPECT_EQ(index.MatchHost({}, {"10.3.0.1"}), index.SortedByKey({a, b, c}));
  EXPECT_EQ(index.named(), 2u);
  index.Erase(a);
  EXPECT_EQ(index.MatchHost({}, {"10.3.0.1"}), index.SortedByKey({b, c}));
  index.Erase(b);
  index.Erase(c);
  EXPECT_TRUE(index.empty());
  EXPECT_EQ(index.distinct_names(), 0u);
}

TEST(MonitorIndexTest, ClearThenReloadRebuildsEveryIndex) {
  MonitorIndex index;
  index.Put({Rec("a", "a.example")});
  index.Put({Rec("b", "b.example")});
  index.Clear();
  EXPECT_TRUE(index.empty());
  EXPECT_TRUE(index.MatchHost({"a"}, {}).empty());
  index.Put({Rec("b", "b.example")});
  EXPECT_EQ(MonNames(index, index.All()), std::vector<std::string>{"b"});
  EXPECT_EQ(MonNames(index, index.MatchHost({"B.EXAMPLE"}, {})), std::vector<std::string>{"b"});

  MonitorIndex moved = std::move(index);
  EXPECT_EQ(moved.size(), 1u);
  EXPECT_EQ(index.size(), 0u);  // NOLINT(bugprone-use-after-move): a moved-from index is empty
  EXPECT_NE(moved.Find(Rec("b", "").key), kNone);
}

// Random records and changes, checked after each step against the scan the
// service did before it had an index.
TEST(MonitorIndexTest, MatchesWhatTheScanMatchedUnderRandomChanges) {
  const std::vector<std::string> names = {
      "alpha", "ALPHA", "Alpha.example",   "alpha.example", "beta",    "10.2.0.1", "10.2.1",
      "::1",   "0::1",  "::ffff:10.2.0.1", "fe80::a",       "FE80::A", "gamma",    ""};
  const std::vector<std::string> my_names = {"server", "Server", "nlm"};
  std::mt19937 rng(1234);
  auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
  MonitorIndex index;
  std::map<MonitorKey, MonitorRecord> model;
  for (int step = 0; step < 3000; ++step) {
    MonitorRecord r = Rec(pick(names), pick(names), pick(my_names), 3 + rng() % 2);
    if (r.key.mon_name.empty()) r.key.mon_name = "delta";
    if (rng() % 3 == 0 && !model.empty()) {
      auto it = model.begin();
      std::advance(it, rng() % model.size());
      const Slot s = index.Find(it->first);
      ASSERT_NE(s, kNone);
      index.Erase(s);
      model.erase(it);
    } else if (rng() % 2 == 0) {
      const bool fresh = model.emplace(r.key, r).second;
      ASSERT_EQ(index.Insert(r) != kNone, fresh) << "step " << step;
    } else {
      index.Put({r});
      model.insert_or_assign(r.key, r);
    }
    ASSERT_EQ(index.size(), model.size());
    const std::vector<std::string> q_names = {pick(names), pick(names)};
    std::vector<std::string> q_addresses;
    for (const std::string& n : {pick(names), pick(names)}) {
      std::string norm;
      if (IsNumericAddress(n, &norm)) q_addresses.push_back(norm);
    }
    std::vector<MonitorKey> expected;
    for (const auto& [key, rec] : model) {
      if (ScanMatches(rec, q_names, q_addresses)) expected.push_back(key);
    }
    std::vector<MonitorKey> got;
    for (Slot s : index.MatchHost(q_names, q_addresses)) got.push_back(index.Key(s));
    ASSERT_EQ(got, expected) << "step " << step;

    const MonitorKey probe = Rec(pick(names), "", pick(my_names), 3 + rng() % 2).key;
    MonitorKey loose_expected;
    bool loose_found = model.count(probe) > 0;
    if (loose_found) loose_expected = probe;
    for (auto it = model.begin(); !loose_found && it != model.end(); ++it) {
      const MonitorKey& k = it->first;
      if (k.my_vers == probe.my_vers && EqualsIgnoreCase(k.my_name, probe.my_name) &&
          (EqualsIgnoreCase(k.mon_name, probe.mon_name) ||
           EqualsIgnoreCase(it->second.canonical_name, probe.mon_name))) {
        loose_found = true;
        loose_expected = k;
      }
    }
    const Slot loose = index.FindLoose(probe);
    ASSERT_EQ(loose != kNone, loose_found) << "step " << step;
    if (loose_found) {
      ASSERT_EQ(index.Key(loose), loose_expected);
    }
  }
  std::vector<MonitorRecord> all;
  for (Slot s : index.All()) all.push_back(index.Record(s));
  std::vector<MonitorRecord> expected;
  for (const auto& [key, rec] : model) expected.push_back(rec);
  EXPECT_EQ(all, expected);
}

TEST(MonitorIndexTest, ARecordTakesUnderOneHundredFiftyBytes) {
  MonitorIndex index;
  constexpr int kRecords = 20000;
  for (int i = 0; i < kRecords; ++i) {
    const std::string addr = "10." + std::to_string(i >> 16) + "." +
                             std::to_string((i >> 8) & 255) + "." + std::to_string(i & 255);
    index.Put({Rec(addr, addr)});
  }
  const MonitorIndex::Footprint f = index.footprint();
  const size_t total = f.records + f.names + f.indexes;
  EXPECT_LT(total / kRecords, 150u)
      << "records " << f.records << ", names " << f.names << ", indexes " << f.indexes;
  EXPECT_EQ(index.distinct_names(), static_cast<size_t>(kRecords) + 1);  // + "server"
}

}  // namespace
}  // namespace nfsrec::statd
