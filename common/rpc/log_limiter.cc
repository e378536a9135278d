#include "common/rpc/log_limiter.h"

namespace nfsrec::rpc {

void LogLimiter::Flush(Logger& log, TimePoint now) {
  if (!started_ || now - interval_start_ < interval_) return;
  if (suppressed_ > 0) {
    log.Write(suppressed_level_, StrCat(what_, ": ", suppressed_, " similar messages suppressed"));
  }
  started_ = false;
  written_ = 0;
  suppressed_ = 0;
}

bool LogLimiter::Write(Logger& log, LogLevel level, TimePoint now, std::string_view line) {
  Flush(log, now);
  if (!started_) {
    started_ = true;
    interval_start_ = now;
  }
  if (written_ >= burst_) {
    ++suppressed_;
    suppressed_level_ = level;
    return false;
  }
  ++written_;
  log.Write(level, line);
  return true;
}

}  // namespace nfsrec::rpc
