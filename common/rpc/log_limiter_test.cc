// Tests for the log flood guard (common/rpc/log_limiter.h).
#include "common/rpc/log_limiter.h"

#include <gtest/gtest.h>

namespace nfsrec::rpc {
namespace {

size_t Count(const CapturingLogger& log, const std::string& needle) {
  size_t n = 0;
  for (const auto& l : log.lines()) n += l.second.find(needle) != std::string::npos;
  return n;
}

TEST(LogLimiterTest, FloodWritesBurstThenOneSuppressedSummary) {
  CapturingLogger log;
  LogLimiter limiter("refused calls", 3, std::chrono::seconds(10));
  TimePoint t{};
  for (int i = 0; i < 1000; ++i) {
    limiter.Write(log, LogLevel::kWarning, t + std::chrono::milliseconds(i), "refused");
  }
  EXPECT_EQ(log.lines().size(), 3u);
  EXPECT_EQ(limiter.suppressed(), 997u);
  // Nothing is reported while the interval lasts.
  limiter.Flush(log, t + std::chrono::seconds(9));
  EXPECT_EQ(log.lines().size(), 3u);
  // The next line after the interval is preceded by the count.
  EXPECT_TRUE(limiter.Write(log, LogLevel::kWarning, t + std::chrono::seconds(10), "refused"));
  ASSERT_EQ(log.lines().size(), 5u);
  EXPECT_EQ(log.lines()[3].second, "refused calls: 997 similar messages suppressed");
  EXPECT_EQ(log.lines()[3].first, LogLevel::kWarning);
  EXPECT_EQ(Count(log, "suppressed"), 1u);
}

TEST(LogLimiterTest, FlushReportsOnceAfterTheInterval) {
  CapturingLogger log;
  LogLimiter limiter("x", 1, std::chrono::seconds(10));
  TimePoint t{};
  EXPECT_TRUE(limiter.Write(log, LogLevel::kWarning, t, "a"));
  EXPECT_FALSE(limiter.Write(log, LogLevel::kWarning, t, "b"));
  limiter.Flush(log, t + std::chrono::seconds(10));
  limiter.Flush(log, t + std::chrono::seconds(20));
  EXPECT_EQ(Count(log, "x: 1 similar messages suppressed"), 1u);
  EXPECT_EQ(log.lines().size(), 2u);
  // A quiet interval writes nothing extra.
  EXPECT_TRUE(limiter.Write(log, LogLevel::kWarning, t + std::chrono::seconds(30), "c"));
  EXPECT_EQ(log.lines().size(), 3u);
}

}  // namespace
}  // namespace nfsrec::rpc
