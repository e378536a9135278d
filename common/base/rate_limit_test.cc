#include "common/base/rate_limit.h"

#include <gtest/gtest.h>

namespace nfsrec {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(RateLimitTest, LetsABurstThroughPerPeriodAndCountsTheRest) {
  RateLimit limit(seconds(10), 3);
  TimePoint t{};
  uint64_t suppressed = 99;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(limit.Allow(t + milliseconds(i), &suppressed)) << i;
    EXPECT_EQ(suppressed, 0u);
  }
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(limit.Allow(t + seconds(5)));
  EXPECT_EQ(limit.total_suppressed(), 1000u);
  // The next window: the first line says how many were held back.
  EXPECT_TRUE(limit.Allow(t + seconds(10), &suppressed));
  EXPECT_EQ(suppressed, 1000u);
  EXPECT_TRUE(limit.Allow(t + seconds(11), &suppressed));
  EXPECT_EQ(suppressed, 0u);
}

TEST(RateLimitTest, AFloodOverManyPeriodsStaysWithinBurstPerPeriod) {
  RateLimit limit(seconds(1), 2);
  TimePoint t{};
  int allowed = 0;
  // 100,000 events spread over 50 s: at most 2 per second get through.
  for (int i = 0; i < 100000; ++i) {
    if (limit.Allow(t + milliseconds(i / 2))) ++allowed;
  }
  EXPECT_EQ(allowed, 100);
  EXPECT_EQ(limit.total_suppressed(), 100000u - 100u);
}

}  // namespace
}  // namespace nfsrec
