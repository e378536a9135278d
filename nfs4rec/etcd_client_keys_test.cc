// EtcdClientStore's keys and values without etcd: hex ids sort as the ids
// do, and every value round-trips or is refused as Corruption.
#include "nfs4rec/etcd_client_keys.h"

#include <algorithm>
#include <string>
#include <vector>

#include "tests/support/status_matchers.h"
#include <gtest/gtest.h>

namespace nfsrec::nfs4rec::etcd_keys {
namespace {

TEST(EtcdClientKeysTest, HexIdsSortAsTheIdsBytesUnsigned) {
  std::vector<std::string> ids = {std::string("a\0", 2), "a", "\xff", "\x7f", "ab", "",
                                  std::string("\0", 1),  "b"};
  std::vector<std::string> by_bytes = ids, by_hex = ids;
  std::sort(by_bytes.begin(), by_bytes.end());  // std::string compares chars as unsigned
  std::sort(by_hex.begin(), by_hex.end(),
            [](const std::string& x, const std::string& y) { return Hex(x) < Hex(y); });
  EXPECT_EQ(by_hex, by_bytes);
  for (const std::string& id : ids) {
    Result<std::string> back = Unhex(Hex(id));
    ASSERT_OK(back);
    EXPECT_EQ(*back, id);
  }
  EXPECT_FALSE(Unhex("abc").ok());
  EXPECT_FALSE(Unhex("AB").ok());
}

TEST(EtcdClientKeysTest, RecordKeysNestUnderTheirEpoch) {
  EXPECT_EQ(EpochPart(1), "rec/0000000000000001/");
  EXPECT_EQ(RecordPart(0x1a, std::string("a\0", 2)), "rec/000000000000001a/6100");
  Result<std::string> id = IdOfKey("/p/rec/0000000000000001/6100", "/p/rec/0000000000000001/");
  ASSERT_OK(id);
  EXPECT_EQ(*id, std::string("a\0", 2));
  EXPECT_FALSE(IdOfKey("/p/rec/0000000000000002/61", "/p/rec/0000000000000001/").ok());
  EXPECT_FALSE(IdOfKey("/p/rec/0000000000000001/", "/p/rec/0000000000000001/").ok());
}

TEST(EtcdClientKeysTest, EpochsRoundTripAndImpossibleOnesAreCorruption) {
  EXPECT_EQ(EncodeEpochs(Epochs{7, 6}), "{\"current\":7,\"recovery\":6}");
  Result<Epochs> e = DecodeEpochs(EncodeEpochs(Epochs{7, 6}));
  ASSERT_OK(e);
  EXPECT_EQ(*e, (Epochs{7, 6}));
  for (const char* bad : {"", "{}", "{\"current\":1}", "{\"current\":0,\"recovery\":0}",
                          "{\"current\":2,\"recovery\":2}", "{\"current\":-1,\"recovery\":0}",
                          "{\"current\":2,\"recovery\":1} ", "{\"current\":x,\"recovery\":1}"}) {
    EXPECT_TRUE(DecodeEpochs(bad).status().IsCorruption()) << bad;
  }
}

TEST(EtcdClientKeysTest, RecordsRoundTripEveryField) {
  ClientRecord r;
  r.id = std::string("id\0\xff", 4);
  r.time = 1767225600;
  for (std::optional<bool> session :
       {std::optional<bool>(), std::optional<bool>(true), std::optional<bool>(false)}) {
    for (bool expired : {false, true}) {
      for (const std::string& hash : {std::string(), std::string(32, '\x9c')}) {
        r.has_session = session;
        r.lease_expired = expired;
        r.princhash = hash;
        Result<ClientRecord> back = DecodeRecord(r.id, EncodeRecord(r));
        ASSERT_OK(back);
        EXPECT_EQ(*back, r) << EncodeRecord(r);
      }
    }
  }
  EXPECT_EQ(EncodeRecord(r), "1767225600 0 1 " + Hex(std::string(32, '\x9c')));
  for (const char* bad : {"", "1 - 0", "1 - 0 - x", "x - 0 -", "1 2 0 -", "1 - 2 -", "1 - 0 zz",
                          "1 - 0 ", "1  - 0 -"}) {
    EXPECT_TRUE(DecodeRecord("id", bad).status().IsCorruption()) << bad;
  }
}

}  // namespace
}  // namespace nfsrec::nfs4rec::etcd_keys
