#include "common/base/logging.h"

#include <syslog.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace nfsrec {

std::string Printable(std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

std::string HexBytes(const void* data, size_t len) {
  static const char kHex[] = "0123456789abcdef";
  const auto* p = static_cast<const unsigned char*>(data);
  std::string out;
  out.reserve(len * 2);
  for (size_t i = 0; i < len; ++i) {
    out.push_back(kHex[p[i] >> 4]);
    out.push_back(kHex[p[i] & 0xf]);
  }
  return out;
}

namespace {

int SyslogPriority(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return LOG_DEBUG;
    case LogLevel::kInfo:
      return LOG_INFO;
    case LogLevel::kNotice:
      return LOG_NOTICE;
    case LogLevel::kWarning:
      return LOG_WARNING;
    case LogLevel::kError:
      return LOG_ERR;
  }
  return LOG_INFO;
}

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kNotice:
      return "notice";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

}  // namespace

SyslogLogger::SyslogLogger(const char* ident, bool debug) : debug_(debug) {
  openlog(ident, LOG_PID, LOG_DAEMON);
}

SyslogLogger::~SyslogLogger() { closelog(); }

void SyslogLogger::Write(LogLevel level, std::string_view message) {
  // The message is passed as an argument to a constant format.
  syslog(SyslogPriority(level), "%.*s", static_cast<int>(message.size()), message.data());
}

void StderrLogger::Write(LogLevel level, std::string_view message) {
  std::string line = ident_;
  line += '[';
  line += std::to_string(getpid());
  line += "]: ";
  line += LevelName(level);
  line += ": ";
  line += message;
  line += '\n';
  // One write per line, so lines from concurrent writers do not interleave.
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace nfsrec
