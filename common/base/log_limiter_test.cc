// Tests for the log flood guard (common/base/log_limiter.h).
#include "common/base/log_limiter.h"

#include <gtest/gtest.h>

namespace nfsrec {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

size_t Count(const CapturingLogger& log, const std::string& needle) {
  size_t n = 0;
  for (const auto& l : log.lines()) n += l.second.find(needle) != std::string::npos;
  return n;
}

TEST(LogLimiterTest, FloodWritesBurstThenOneSuppressedSummary) {
  CapturingLogger log;
  LogLimiter limiter("refused calls", 3, seconds(10));
  TimePoint t{};
  for (int i = 0; i < 1000; ++i) {
    limiter.Write(log, LogLevel::kWarning, t + milliseconds(i), "refused");
  }
  EXPECT_EQ(log.lines().size(), 3u);
  EXPECT_EQ(limiter.suppressed(), 997u);
  // Nothing is reported while the interval lasts.
  limiter.Flush(log, t + seconds(9));
  EXPECT_EQ(log.lines().size(), 3u);
  // The next line after the interval is preceded by the count.
  EXPECT_TRUE(limiter.Write(log, LogLevel::kWarning, t + seconds(10), "refused"));
  ASSERT_EQ(log.lines().size(), 5u);
  EXPECT_EQ(log.lines()[3].second, "refused calls: 997 similar messages suppressed");
  EXPECT_EQ(log.lines()[3].first, LogLevel::kWarning);
  EXPECT_EQ(Count(log, "suppressed"), 1u);
  EXPECT_EQ(limiter.suppressed(), 0u);
}

TEST(LogLimiterTest, FlushReportsOnceAfterTheInterval) {
  CapturingLogger log;
  LogLimiter limiter("x", 1, seconds(10));
  TimePoint t{};
  EXPECT_TRUE(limiter.Write(log, LogLevel::kWarning, t, "a"));
  EXPECT_FALSE(limiter.Write(log, LogLevel::kNotice, t, "b"));
  limiter.Flush(log, t + seconds(10));
  limiter.Flush(log, t + seconds(20));
  EXPECT_EQ(Count(log, "x: 1 similar messages suppressed"), 1u);
  ASSERT_EQ(log.lines().size(), 2u);
  // The summary has the level of the lines it stands for.
  EXPECT_EQ(log.lines()[1].first, LogLevel::kNotice);
  // A quiet interval writes nothing extra.
  EXPECT_TRUE(limiter.Write(log, LogLevel::kWarning, t + seconds(30), "c"));
  EXPECT_EQ(log.lines().size(), 3u);
}

TEST(LogLimiterTest, AllowLetsABurstThroughPerIntervalAndHandsOverTheCount) {
  LogLimiter limiter("x", 3, seconds(10));
  TimePoint t{};
  uint64_t suppressed = 99;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(limiter.Allow(t + milliseconds(i), &suppressed)) << i;
    EXPECT_EQ(suppressed, 0u);
  }
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(limiter.Allow(t + seconds(5)));
  EXPECT_EQ(limiter.suppressed(), 1000u);
  // The next interval: the first event let through gets the count, once.
  EXPECT_TRUE(limiter.Allow(t + seconds(10), &suppressed));
  EXPECT_EQ(suppressed, 1000u);
  EXPECT_EQ(limiter.suppressed(), 0u);
  EXPECT_TRUE(limiter.Allow(t + seconds(11), &suppressed));
  EXPECT_EQ(suppressed, 0u);
}

TEST(LogLimiterTest, AFloodOverManyIntervalsStaysWithinBurstAndLosesNoCount) {
  LogLimiter limiter("x", 2, seconds(1));
  TimePoint t{};
  int allowed = 0;
  uint64_t reported = 0;
  // 100,000 events spread over 50 s: at most 2 per second get through.
  for (int i = 0; i < 100000; ++i) {
    uint64_t suppressed = 0;
    if (limiter.Allow(t + milliseconds(i / 2), &suppressed)) ++allowed;
    reported += suppressed;
  }
  EXPECT_EQ(allowed, 100);
  // Every event held back is reported with a later one, or still pending.
  EXPECT_EQ(reported + limiter.suppressed(), 100000u - 100u);
  EXPECT_EQ(limiter.suppressed(), 1998u);
}

}  // namespace
}  // namespace nfsrec
