#include "nfs4rec/client_id_set.h"

#include <set>
#include <string>

#include "common/base/logging.h"
#include <gtest/gtest.h>

namespace nfsrec::nfs4rec {
namespace {

// The test vectors of the SipHash paper (key 00..0f).
TEST(ClientIdSetTest, HasherIsSipHash24) {
  ClientIdSet::Hasher h(0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL);
  EXPECT_EQ(h(""), 0x726fdb47dd0e0e31ULL);
  std::string fifteen;
  for (char c = 0; c < 15; ++c) fifteen.push_back(c);
  EXPECT_EQ(h(fifteen), 0xa129ca6149be45e5ULL);
}

TEST(ClientIdSetTest, TwoSetsUseDifferentKeys) {
  ClientIdSet a;
  ClientIdSet b;
  EXPECT_NE(a.hasher()("Linux NFSv4.2 host"), b.hasher()("Linux NFSv4.2 host"));
}

TEST(ClientIdSetTest, InsertEraseCountAgreeWithAStdSetOverManyIds) {
  ClientIdSet ids;
  std::set<std::string> ref;
  // Inserts, repeats and erases interleaved, through several growths.
  for (int i = 0; i < 20000; ++i) {
    const std::string id = StrCat("Linux NFSv4.1 client-", i % 7919, std::string(1, '\0'));
    if (i % 3 == 2) {
      EXPECT_EQ(ids.erase(id), ref.erase(id)) << i;
    } else {
      EXPECT_EQ(ids.insert(id), ref.insert(id).second) << i;
    }
    ASSERT_EQ(ids.size(), ref.size());
  }
  for (int i = 0; i < 7919; ++i) {
    const std::string id = StrCat("Linux NFSv4.1 client-", i, std::string(1, '\0'));
    EXPECT_EQ(ids.count(id), ref.count(id)) << i;
  }
  EXPECT_EQ(ids.count("never inserted"), 0u);
}

TEST(ClientIdSetTest, EraseKeepsEveryOtherMemberFindable) {
  ClientIdSet ids;
  for (int i = 0; i < 1000; ++i) ids.insert(StrCat("c", i));
  for (int i = 0; i < 1000; i += 2) ASSERT_EQ(ids.erase(StrCat("c", i)), 1u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(ids.count(StrCat("c", i)), i % 2 == 0 ? 0u : 1u) << i;
  EXPECT_EQ(ids.size(), 500u);
}

TEST(ClientIdSetTest, EightBytesASlotAndClearGivesTheMemoryBack) {
  ClientIdSet ids;
  ids.reserve(1000000);
  EXPECT_EQ(ids.capacity_bytes(), size_t{2} * 1024 * 1024 * 8);  // 2^21 slots, load <= 3/4
  for (int i = 0; i < 1000000; ++i) ids.insert(StrCat("Linux NFSv4.2 bench-client-", i));
  EXPECT_EQ(ids.size(), 1000000u);
  EXPECT_EQ(ids.capacity_bytes(), size_t{2} * 1024 * 1024 * 8);  // reserve was enough
  ids.clear();
  EXPECT_EQ(ids.capacity_bytes(), 0u);
  EXPECT_TRUE(ids.empty());
}

TEST(ClientIdSetTest, FingerprintsMadeElsewhereAreTheSameMembers) {
  ClientIdSet ids;
  const ClientIdSet::Hasher h = ids.hasher();
  EXPECT_TRUE(ids.InsertFingerprint(h("a")));
  EXPECT_EQ(ids.count("a"), 1u);
  EXPECT_FALSE(ids.insert("a"));
  EXPECT_EQ(ids.EraseFingerprint(h("a")), 1u);
  EXPECT_EQ(ids.count("a"), 0u);
}

}  // namespace
}  // namespace nfsrec::nfs4rec
