#include "daemon/cluster_preflight.h"

#include <gtest/gtest.h>

namespace nfsrec {
namespace {

bool HasError(const std::vector<PreflightFinding>& f) {
  for (const PreflightFinding& x : f) {
    if (x.error) return true;
  }
  return false;
}

std::string All(const std::vector<PreflightFinding>& f) {
  std::string s;
  for (const PreflightFinding& x : f) s += (x.error ? "E: " : "W: ") + x.text + "\n";
  return s;
}

TEST(ClusterPreflightTest, LocalParamsComeFromNfsdSectionElseHostAndKernelDefaults) {
  InstanceParams d = LocalInstanceParams(NfsConf::FromText(""), "host1", "n1");
  EXPECT_EQ(d, (InstanceParams{"host1", 90, 90, "n1"}));
  InstanceParams c = LocalInstanceParams(
      NfsConf::FromText("[nfsd]\nscope = nfs.example\nlease-time = 30\ngrace-time = 45\n"), "host1",
      "n1");
  EXPECT_EQ(c, (InstanceParams{"nfs.example", 30, 45, "n1"}));
}

TEST(ClusterPreflightTest, SameValuesEverywhereFindNothing) {
  InstanceParams p{"s", 90, 90, "n1"};
  EXPECT_TRUE(CheckPreflight("i1", p, p, {{"i2", {"s", 90, 90, "n2"}}}).empty());
  EXPECT_TRUE(CheckPreflight("i1", p, std::nullopt, {}).empty());
}

// The failover that would fail: the instance moves to a node with another
// host name and no [nfsd] scope.
TEST(ClusterPreflightTest, ScopeChangedSinceTheLastRunIsAnErrorWithTheFix) {
  std::vector<PreflightFinding> f = CheckPreflight("i1", {"nodeB", 90, 90, "nodeB"},
                                                   InstanceParams{"nodeA", 90, 90, "nodeA"}, {});
  ASSERT_TRUE(HasError(f)) << All(f);
  EXPECT_NE(All(f).find("scope = nodeA"), std::string::npos) << All(f);
}

TEST(ClusterPreflightTest, ScopeDifferentFromAnotherInstanceIsAnError) {
  std::vector<PreflightFinding> f =
      CheckPreflight("i1", {"a", 90, 90, "n1"}, std::nullopt,
                     {{"i1", {"ignored-self", 1, 1, "x"}}, {"i2", {"b", 90, 90, "n2"}}});
  ASSERT_EQ(f.size(), 1u) << All(f);
  EXPECT_TRUE(f[0].error);
  EXPECT_NE(f[0].text.find("i2"), std::string::npos);
}

TEST(ClusterPreflightTest, TimesThatDifferOrGraceBelowLeaseAreWarnings) {
  std::vector<PreflightFinding> f = CheckPreflight(
      "i1", {"s", 90, 60, "n1"}, InstanceParams{"s", 90, 90, "n0"}, {{"i2", {"s", 45, 90, "n2"}}});
  EXPECT_FALSE(HasError(f)) << All(f);
  EXPECT_EQ(f.size(), 3u) << All(f);
}

}  // namespace
}  // namespace nfsrec
