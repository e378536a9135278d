// Shared pieces of the fuzz targets (tests/fuzz/*_fuzz.cc): a logger that
// formats every line and keeps none, a reader that splits the fuzzer's bytes
// into records, and the invariant check.  Header-only, so that both the
// clang fuzz build and the g++ replay build compile it with each target.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/logging.h"

namespace nfsrec::fuzz {

// Debug lines enabled, so the formatting of every log line runs too.
class DiscardingLogger final : public Logger {
 public:
  void Write(LogLevel, std::string_view message) override { bytes_ += message.size(); }
  bool DebugEnabled() const override { return true; }

 private:
  size_t bytes_ = 0;
};

// A broken invariant is a finding: report it and abort, which libFuzzer
// (and the replay driver) turn into a crash with the input saved.
[[noreturn]] inline void Fail(const char* what, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
  std::abort();
}
#define NFSREC_FUZZ_CHECK(cond) \
  ((cond) ? static_cast<void>(0) : ::nfsrec::fuzz::Fail(#cond, __FILE__, __LINE__))

// Consumes the fuzzer's input front to back.  Every read past the end
// yields zeros / what is left, so any input is a valid sequence of records.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : bytes_(data, size) {}

  bool empty() const { return pos_ >= bytes_.size(); }
  size_t remaining() const { return bytes_.size() - pos_; }

  uint8_t Byte() { return empty() ? 0 : bytes_[pos_++]; }
  // Big-endian 16 bits.
  uint16_t U16() {
    uint16_t hi = Byte();
    return static_cast<uint16_t>(hi << 8 | Byte());
  }
  // Up to n bytes (fewer at the end).
  std::span<const uint8_t> Take(size_t n) {
    n = n < remaining() ? n : remaining();
    std::span<const uint8_t> out = bytes_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  std::span<const uint8_t> Rest() { return Take(remaining()); }

 private:
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
};

// Splits text at NUL bytes: the way the file-based targets put several
// files in one input.
inline std::vector<std::string_view> SplitAtNul(std::string_view text) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t nul = text.find('\0', start);
    if (nul == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, nul - start));
    start = nul + 1;
  }
}

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

}  // namespace nfsrec::fuzz
