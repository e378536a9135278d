#include "common/base/histogram.h"

#include <gtest/gtest.h>

namespace nfsrec {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(LatencyHistogram, BoundsDoubleFrom16Microseconds) {
  EXPECT_EQ(LatencyHistogram::UpperBound(0), microseconds(16));
  EXPECT_EQ(LatencyHistogram::UpperBound(1), microseconds(32));
  EXPECT_EQ(LatencyHistogram::UpperBound(10), microseconds(16 * 1024));
  EXPECT_EQ(LatencyHistogram::UpperBound(LatencyHistogram::kBounds - 1), microseconds(16LL << 20));
}

TEST(LatencyHistogram, EmptyHasZeroPercentiles) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.Percentile(0.5), Duration::zero());
  EXPECT_EQ(h.Percentile(0.99), Duration::zero());
}

TEST(LatencyHistogram, BoundaryValueFallsIntoItsOwnBucket) {
  LatencyHistogram h;
  h.Record(microseconds(16));  // inclusive upper bound of bucket 0
  h.Record(microseconds(17));  // bucket 1
  EXPECT_EQ(h.buckets()[0], 1u);
  EXPECT_EQ(h.buckets()[1], 1u);
  EXPECT_EQ(h.sum(), microseconds(33));
}

TEST(LatencyHistogram, PercentilesAreTheHoldingBucketsUpperBound) {
  LatencyHistogram h;
  // 98 fast commits (about 1 ms) and 2 slow ones (about 100 ms).
  for (int i = 0; i < 98; ++i) h.Record(microseconds(900));
  h.Record(milliseconds(100));
  h.Record(milliseconds(101));
  // 900 us lies in (512 us, 1024 us]; 100 ms in (65.536 ms, 131.072 ms].
  EXPECT_EQ(h.Percentile(0.5), microseconds(1024));
  EXPECT_EQ(h.Percentile(0.98), microseconds(1024));
  // The 99th of 100 is a slow one; its bucket's bound is capped at the max.
  EXPECT_EQ(h.Percentile(0.99), milliseconds(101));
  EXPECT_EQ(h.count(), 100u);
}

TEST(LatencyHistogram, OverflowReportsTheLongestSeen) {
  LatencyHistogram h;
  h.Record(seconds(40));
  h.Record(seconds(30));
  EXPECT_EQ(h.buckets()[LatencyHistogram::kBounds], 2u);
  EXPECT_EQ(h.Percentile(0.5), seconds(40));
  EXPECT_EQ(h.max(), seconds(40));
}

TEST(LatencyHistogram, NegativeDurationCountsAsZero) {
  LatencyHistogram h;
  h.Record(-microseconds(5));
  EXPECT_EQ(h.buckets()[0], 1u);
  EXPECT_EQ(h.sum(), Duration::zero());
}

}  // namespace
}  // namespace nfsrec
