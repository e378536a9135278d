// LogLimiter: keeps a flood of like events (refused callers, refused or
// evicted connections) from flooding the log.
//
// At most `burst` lines are written per `interval`, counted from the first
// line of the interval; the rest are only counted.  The count is reported
// in one line ("<what>: K similar messages suppressed") before the first
// line of the next interval, or by Flush once the interval is over.  Time
// comes from the caller (a Scheduler's Now()), so tests drive it.
//
// Threading: loop thread only.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "common/base/clock.h"
#include "common/base/logging.h"

namespace nfsrec::rpc {

class LogLimiter {
 public:
  LogLimiter(std::string what, size_t burst, Duration interval)
      : what_(std::move(what)), burst_(burst), interval_(interval) {}

  // Writes `line` at `level` unless this interval's lines are spent.
  // Returns whether it was written.
  bool Write(Logger& log, LogLevel level, TimePoint now, std::string_view line);
  // Reports lines left out of an interval that has ended.
  void Flush(Logger& log, TimePoint now);

  size_t suppressed() const { return suppressed_; }

 private:
  std::string what_;
  size_t burst_;
  Duration interval_;
  bool started_ = false;
  TimePoint interval_start_{};
  size_t written_ = 0;
  size_t suppressed_ = 0;
  LogLevel suppressed_level_ = LogLevel::kWarning;
};

}  // namespace nfsrec::rpc
