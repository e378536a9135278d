#include "cluster/keys.h"

#include "tests/support/status_matchers.h"
#include <gtest/gtest.h>

namespace nfsrec::cluster {
namespace {

TEST(ClusterNames, AcceptOnlyTheKeySafeAlphabetUpTo64Characters) {
  EXPECT_OK(ValidateName("instance", "i1"));
  EXPECT_OK(ValidateName("node", "node-1.example_A"));
  EXPECT_OK(ValidateName("node", std::string(64, 'a')));
  EXPECT_TRUE(ValidateName("node", std::string(65, 'a')).IsInvalidArgument());
  EXPECT_TRUE(ValidateName("node", "").IsInvalidArgument());
  for (const std::string& bad :
       std::vector<std::string>{"a/b", "a b", "é", std::string("a\0b", 3), "a*"}) {
    Status s = ValidateName("instance", bad);
    EXPECT_TRUE(s.IsInvalidArgument()) << bad;
    EXPECT_NE(s.message().find("instance name"), std::string::npos) << s.ToString();
  }
}

TEST(ClusterKeys, FollowTheDesignLayout) {
  EXPECT_EQ(ClusterPrefix("c1"), "/nfsrec/c1/");
  EXPECT_EQ(OwnerKey("c1", "i1"), "/nfsrec/c1/instances/i1/owner");
  EXPECT_EQ(ParamsKey("c1", "i1"), "/nfsrec/c1/instances/i1/params");
  EXPECT_EQ(NsmPrefix("c1", "i1"), "/nfsrec/c1/instances/i1/nsm/");
  EXPECT_EQ(V4Prefix("c1", "i1"), "/nfsrec/c1/instances/i1/v4/");
  EXPECT_EQ(GraceKey("c1"), "/nfsrec/c1/grace");
  EXPECT_EQ(FlagKey("c1", "i1"), "/nfsrec/c1/flags/i1");
  EXPECT_EQ(MemberKey("c1", "i1"), "/nfsrec/c1/members/i1");
  EXPECT_EQ(HoldKey("c1"), "/nfsrec/c1/hold");
  EXPECT_EQ(InstanceOfKey(InstancesPrefix("c1"), "/nfsrec/c1/instances/i2/nsm/x/y"), "i2");
  EXPECT_EQ(InstanceOfKey(FlagsPrefix("c1"), "/nfsrec/c1/flags/i3"), "i3");
  EXPECT_EQ(InstanceOfKey(FlagsPrefix("c1"), "/nfsrec/c2/flags/i3"), "");
  EXPECT_EQ(InstanceOfKey(FlagsPrefix("c1"), "/nfsrec/c1/flags/"), "");
}

TEST(ClusterValues, RoundTrip) {
  OwnerValue o{"n1", 42, 1700000000, {"192.0.2.1", "2001:db8::1"}};
  auto od = DecodeOwner("k", EncodeOwner(o));
  ASSERT_OK(od);
  EXPECT_EQ(od->node, "n1");
  EXPECT_EQ(od->pid, 42);
  EXPECT_EQ(od->since, 1700000000);
  EXPECT_EQ(od->addresses, o.addresses);
  ParamsValue p{"scope-a", 90, 90};
  auto pd = DecodeParams("k", EncodeParams(p));
  ASSERT_OK(pd);
  EXPECT_EQ(pd->scope, "scope-a");
  EXPECT_EQ(pd->lease_time, 90);
  GraceValue g{7, 6};
  auto gd = DecodeGrace("k", EncodeGrace(g));
  ASSERT_OK(gd);
  EXPECT_EQ(*gd, g);
  EXPECT_EQ(EncodeGrace(g), R"({"current":7,"recovery":6})");
  FlagsValue f{true, false, "n2"};
  auto fd = DecodeFlags("k", EncodeFlags(f));
  ASSERT_OK(fd);
  EXPECT_EQ(*fd, f);
  MemberValue m{"n3"};
  auto md = DecodeMember("k", EncodeMember(m));
  ASSERT_OK(md);
  EXPECT_EQ(*md, m);
  HoldValue h{4, {"i1", "i2"}};
  EXPECT_EQ(EncodeHold(h), R"({"awaiting":["i1","i2"],"grace":4})");
  auto hd = DecodeHold("k", EncodeHold(h));
  ASSERT_OK(hd);
  EXPECT_EQ(*hd, h);
}

TEST(ClusterValues, HoldWithABadNameOrNoGraceIsCorruption) {
  EXPECT_TRUE(DecodeHold("k", R"({"grace":2,"awaiting":["a/b"]})").status().IsCorruption());
  EXPECT_TRUE(DecodeHold("k", R"({"grace":0,"awaiting":[]})").status().IsCorruption());
  EXPECT_TRUE(DecodeHold("k", R"({"grace":2})").status().IsCorruption());
  EXPECT_TRUE(DecodeMember("k", R"({"node":""})").status().IsCorruption());
}

TEST(ClusterValues, UnknownFieldsAreIgnored) {
  auto g = DecodeGrace("k", R"({"current":3,"recovery":0,"later":"x"})");
  ASSERT_OK(g);
  EXPECT_EQ(g->current, 3u);
}

TEST(ClusterValues, MalformedValuesAreCorruptionNamingTheKey) {
  const std::string key = "/nfsrec/c1/grace";
  for (const char* bad :
       {"", "not json", "[1,2]", "{\"current\":1}", "{\"current\":\"1\",\"recovery\":0}",
        "{\"current\":0,\"recovery\":0}", "{\"current\":5,\"recovery\":5}",
        "{\"current\":5,\"recovery\":-1}", "{\"current\":1.5,\"recovery\":0}",
        "{\"current\":18446744073709551615,\"recovery\":0}"}) {
    auto g = DecodeGrace(key, bad);
    ASSERT_FALSE(g.ok()) << bad;
    EXPECT_TRUE(g.status().IsCorruption()) << bad;
    EXPECT_NE(g.status().message().find(key), std::string::npos) << g.status().ToString();
  }
  EXPECT_TRUE(
      DecodeFlags("f", R"({"need":1,"enforcing":true,"node":"n"})").status().IsCorruption());
  EXPECT_TRUE(
      DecodeFlags("f", R"({"need":true,"enforcing":true,"node":"a/b"})").status().IsCorruption());
  EXPECT_TRUE(
      DecodeOwner("o", R"({"node":"n","pid":0,"since":1,"addresses":[]})").status().IsCorruption());
  EXPECT_TRUE(DecodeOwner("o", R"({"node":"n","pid":1,"since":1,"addresses":[1]})")
                  .status()
                  .IsCorruption());
  EXPECT_TRUE(
      DecodeParams("p", R"({"scope":"s","lease_time":0,"grace_time":90})").status().IsCorruption());
}

}  // namespace
}  // namespace nfsrec::cluster
