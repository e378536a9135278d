// ClusterGraceControl over FakeGraceControl (the kernel) and
// FakeClusterGrace (the cluster): an instance ends its kernel grace early
// only once the cluster grace is lifted.
#include "daemon/cluster_grace_control.h"

#include <optional>

#include "tests/support/fake_cluster_grace.h"
#include "tests/support/fake_grace_control.h"
#include "tests/support/status_matchers.h"
#include <gtest/gtest.h>

namespace nfsrec {
namespace {

using Calls = std::vector<std::string>;

class ClusterGraceControlTest : public ::testing::Test {
 protected:
  nfs4rec::FakeGraceControl kernel_;
  cluster::FakeClusterGrace cluster_;
  CapturingLogger log_;
  ClusterGraceControl control_{kernel_, cluster_, log_};
};

TEST_F(ClusterGraceControlTest, GraceStartedJoinsTheClusterAndIsForwarded) {
  control_.GraceStarted(3);
  EXPECT_EQ(cluster_.calls, (Calls{"start 3"}));
  EXPECT_EQ(kernel_.events, (Calls{"started 3"}));
  EXPECT_TRUE(control_.in_grace());
  control_.GraceStarted(nfs4rec::GraceControl::kOfferedUnknown);
  EXPECT_EQ(cluster_.calls.back(), "start unknown");
}

TEST_F(ClusterGraceControlTest, EndGraceWaitsForTheLiftThenEndsTheKernelsGrace) {
  control_.GraceStarted(2);
  std::optional<Status> answer;
  control_.EndGrace([&](Status st) { answer = st; });
  EXPECT_EQ(cluster_.calls, (Calls{"start 2", "done"}));
  EXPECT_EQ(kernel_.calls, 0);  // not while the cluster is in grace
  EXPECT_TRUE(control_.end_pending());
  EXPECT_EQ(cluster_.Lift(), 1u);
  EXPECT_EQ(kernel_.calls, 1);
  EXPECT_FALSE(answer.has_value());
  ASSERT_TRUE(kernel_.Finish(Status::Ok()));
  ASSERT_TRUE(answer.has_value());
  EXPECT_OK(*answer);
}

TEST_F(ClusterGraceControlTest, KernelGraceDoneMeanwhileCancelsThePendingEnd) {
  control_.GraceStarted(2);
  std::optional<Status> answer;
  control_.EndGrace([&](Status st) { answer = st; });
  control_.GraceEnded();
  ASSERT_TRUE(answer.has_value());
  EXPECT_TRUE(answer->IsBusy()) << answer->ToString();
  EXPECT_EQ(cluster_.calls, (Calls{"start 2", "done", "kernel ended"}));
  EXPECT_EQ(kernel_.events, (Calls{"started 2", "ended"}));
  cluster_.Lift();  // a late lift ends nothing
  EXPECT_EQ(kernel_.calls, 0);
  EXPECT_FALSE(control_.in_grace());
}

TEST_F(ClusterGraceControlTest, LiftWithoutALocalEndStillEndsTheKernelsGrace) {
  control_.GraceStarted(5);
  cluster_.Lift();  // e.g. nfsrecctl cluster lift
  EXPECT_EQ(kernel_.calls, 1);
  ASSERT_TRUE(kernel_.Finish(Status::Busy("over")));
  EXPECT_TRUE(log_.Contains("cluster grace lifted while this instance still waited"));
  // The service's own ask afterwards waits for nothing more.
  std::optional<Status> answer;
  control_.EndGrace([&](Status st) { answer = st; });
  EXPECT_EQ(kernel_.calls, 2);
  ASSERT_TRUE(kernel_.Finish(Status::Busy("over")));
  ASSERT_TRUE(answer.has_value());
}

TEST_F(ClusterGraceControlTest, ALiftFromAnEarlierRoundIsIgnored) {
  control_.GraceStarted(1);
  control_.GraceEnded();
  control_.GraceStarted(1);
  control_.EndGrace([](Status) {});
  EXPECT_EQ(cluster_.Lift(), 2u);  // both rounds' waiters run
  EXPECT_EQ(kernel_.calls, 1);     // one end, for the second round
}

TEST_F(ClusterGraceControlTest, EndGraceWithoutGraceStartedJoinsWithNothingOffered) {
  std::optional<Status> answer;
  control_.EndGrace([&](Status st) { answer = st; });
  EXPECT_EQ(cluster_.calls, (Calls{"start 0", "done"}));
  EXPECT_TRUE(kernel_.events.empty());  // no start noticed to the kernel side
  EXPECT_EQ(kernel_.calls, 0);
  cluster_.Lift();
  EXPECT_EQ(kernel_.calls, 1);
}

TEST_F(ClusterGraceControlTest, ReadGraceTimeIsForwarded) {
  std::optional<Result<Duration>> t;
  control_.ReadGraceTime([&](Result<Duration> r) { t = std::move(r); });
  ASSERT_TRUE(kernel_.AnswerGraceTime(Duration(std::chrono::seconds(90))));
  ASSERT_TRUE(t.has_value());
  ASSERT_OK(*t);
  EXPECT_EQ(**t, std::chrono::seconds(90));
}

}  // namespace
}  // namespace nfsrec
