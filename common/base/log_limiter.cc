#include "common/base/log_limiter.h"

namespace nfsrec {

uint64_t LogLimiter::EndIntervalIfOver(TimePoint now) {
  if (!started_ || now - interval_start_ < interval_) return 0;
  uint64_t held_back = suppressed_;
  started_ = false;
  taken_ = 0;
  suppressed_ = 0;
  return held_back;
}

bool LogLimiter::Take(TimePoint now) {
  if (!started_) {
    started_ = true;
    interval_start_ = now;
  }
  if (taken_ >= burst_) {
    ++suppressed_;
    return false;
  }
  ++taken_;
  return true;
}

void LogLimiter::Flush(Logger& log, TimePoint now) {
  uint64_t held_back = EndIntervalIfOver(now);
  if (held_back > 0) {
    log.Write(suppressed_level_, StrCat(what_, ": ", held_back, " similar messages suppressed"));
  }
}

bool LogLimiter::Write(Logger& log, LogLevel level, TimePoint now, std::string_view line) {
  Flush(log, now);
  if (!Take(now)) {
    suppressed_level_ = level;
    return false;
  }
  log.Write(level, line);
  return true;
}

bool LogLimiter::Allow(TimePoint now, uint64_t* suppressed) {
  uint64_t held_back = EndIntervalIfOver(now);
  if (!Take(now)) {
    // Not reported yet: keep it for the next event let through.
    suppressed_ += held_back;
    return false;
  }
  if (suppressed != nullptr) *suppressed = held_back;
  return true;
}

}  // namespace nfsrec
