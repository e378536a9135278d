// Logging sink and helpers.
//
// Messages are built with StrCat from pieces, never from a printf format,
// so a string that came off the wire cannot act as a format (CVE-2000-0666).
// Wire strings should be wrapped in Printable() so that control bytes and
// high bytes are escaped before they reach syslog or a terminal.
#pragma once

#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nfsrec {

enum class LogLevel { kDebug, kInfo, kNotice, kWarning, kError };

class Logger {
 public:
  virtual ~Logger() = default;
  virtual void Write(LogLevel level, std::string_view message) = 0;
  virtual bool DebugEnabled() const = 0;

  void Debug(std::string_view m) {
    if (DebugEnabled()) Write(LogLevel::kDebug, m);
  }
  void Info(std::string_view m) { Write(LogLevel::kInfo, m); }
  void Notice(std::string_view m) { Write(LogLevel::kNotice, m); }
  void Warning(std::string_view m) { Write(LogLevel::kWarning, m); }
  void Error(std::string_view m) { Write(LogLevel::kError, m); }
};

// Concatenates anything that has operator<<.
template <typename... Args>
std::string StrCat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

// Escapes bytes outside printable ASCII, and backslash, as \xNN.
std::string Printable(std::string_view s);

// Hex of arbitrary bytes, lowercase, no separators.
std::string HexBytes(const void* data, size_t len);

// Writes to syslog(3) with the given identity; debug lines only if enabled.
class SyslogLogger final : public Logger {
 public:
  SyslogLogger(const char* ident, bool debug);
  ~SyslogLogger() override;
  SyslogLogger(const SyslogLogger&) = delete;
  SyslogLogger& operator=(const SyslogLogger&) = delete;
  void Write(LogLevel level, std::string_view message) override;
  bool DebugEnabled() const override { return debug_; }

 private:
  bool debug_;
};

// Writes "<ident>[pid]: <level>: message" lines to stderr.
class StderrLogger final : public Logger {
 public:
  StderrLogger(std::string ident, bool debug) : ident_(std::move(ident)), debug_(debug) {}
  void Write(LogLevel level, std::string_view message) override;
  bool DebugEnabled() const override { return debug_; }

 private:
  std::string ident_;
  bool debug_;
};

// Keeps every line in memory; for tests.
class CapturingLogger final : public Logger {
 public:
  void Write(LogLevel level, std::string_view message) override {
    lines_.emplace_back(level, std::string(message));
  }
  bool DebugEnabled() const override { return true; }
  const std::vector<std::pair<LogLevel, std::string>>& lines() const { return lines_; }
  bool Contains(std::string_view needle) const {
    for (const auto& l : lines_) {
      if (l.second.find(needle) != std::string::npos) return true;
    }
    return false;
  }

 private:
  std::vector<std::pair<LogLevel, std::string>> lines_;
};

}  // namespace nfsrec
