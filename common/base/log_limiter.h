// LogLimiter: keeps a flood of like log lines that a peer can trigger at will
// (refused callers or connections, SM_NOTIFY from anybody, dropped HA
// callouts) from flooding the log.
//
// Fixed intervals: the first event at or after the end of the current
// interval opens the next one.  At most `burst` events are let through per
// interval; the rest are only counted.  The count is reported once, in one
// of two ways:
// - Write/Flush: as its own line, "<what>: K similar messages suppressed",
//   written before the first line of the next interval, or by Flush once the
//   interval is over (call it from a periodic timer so a flood that stops is
//   still reported);
// - Allow: handed to the caller with the next event let through, for callers
//   that fold the count into their own line.
// Time comes from the caller (a Scheduler's Now()), so tests drive it.
//
// Threading: not thread-safe; one per owner, on its thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "common/base/clock.h"
#include "common/base/logging.h"

namespace nfsrec {

class LogLimiter {
 public:
  LogLimiter(std::string what, size_t burst, Duration interval)
      : what_(std::move(what)), burst_(burst), interval_(interval) {}

  // Writes `line` at `level` unless this interval's lines are spent.
  // Returns whether it was written.
  bool Write(Logger& log, LogLevel level, TimePoint now, std::string_view line);
  // Writes the summary line for an interval that has ended, if it held
  // back any lines.
  void Flush(Logger& log, TimePoint now);
  // True if the event at `now` may be logged; the caller writes the line.
  // Then *suppressed (if given) gets the number of events held back since
  // the last one let through (zero within an interval), and that count is
  // reported.
  bool Allow(TimePoint now, uint64_t* suppressed = nullptr);

  // Events held back and not yet reported.
  uint64_t suppressed() const { return suppressed_; }

 private:
  // Ends the current interval if it is over; returns the count it held back.
  uint64_t EndIntervalIfOver(TimePoint now);
  // Counts the event at `now` against the interval, opening one if needed.
  bool Take(TimePoint now);

  std::string what_;
  size_t burst_;
  Duration interval_;
  bool started_ = false;
  TimePoint interval_start_{};
  size_t taken_ = 0;
  uint64_t suppressed_ = 0;
  LogLevel suppressed_level_ = LogLevel::kWarning;  // of the last line held back by Write
};

}  // namespace nfsrec
