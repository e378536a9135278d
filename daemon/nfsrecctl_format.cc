#include "daemon/nfsrecctl_format.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <ctime>

#include "common/base/logging.h"
#include "statd/nsm_service.h"

namespace nfsrec {
namespace {

constexpr std::string_view kHexPrefix = "hex:";

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Hex(std::string_view bytes) { return HexBytes(bytes.data(), bytes.size()); }

bool SameAddress(const std::string& name, const std::array<uint8_t, 16>& address) {
  std::optional<std::array<uint8_t, 16>> parsed = ParseAddress(name);
  return parsed && *parsed == address;
}

}  // namespace

bool IsPrintableAscii(std::string_view bytes) {
  if (bytes.empty()) return false;
  return std::all_of(bytes.begin(), bytes.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u <= 0x7e;
  });
}

CtlJson BytesJson(std::string_view bytes) {
  CtlJson j = CtlJson::object();
  j["hex"] = Hex(bytes);
  if (IsPrintableAscii(bytes)) j["text"] = std::string(bytes);
  return j;
}

std::string ShowBytes(std::string_view bytes) {
  if (IsPrintableAscii(bytes) && bytes.substr(0, kHexPrefix.size()) != kHexPrefix) {
    return std::string(bytes);
  }
  return std::string(kHexPrefix) + Hex(bytes);
}

Result<std::string> ParseClientId(const std::string& arg) {
  if (std::string_view(arg).substr(0, kHexPrefix.size()) != kHexPrefix) return arg;
  const std::string_view digits = std::string_view(arg).substr(kHexPrefix.size());
  if (digits.empty() || digits.size() % 2 != 0) {
    return Status::InvalidArgument(
        StrCat("'", Printable(arg), "': hex: needs an even, non-zero number of hex digits"));
  }
  std::string bytes;
  for (size_t i = 0; i < digits.size(); i += 2) {
    const int hi = HexDigit(digits[i]);
    const int lo = HexDigit(digits[i + 1]);
    if (hi < 0 || lo < 0) {
      return Status::InvalidArgument(StrCat("'", Printable(arg), "': not a hex digit after hex:"));
    }
    bytes.push_back(static_cast<char>(hi * 16 + lo));
  }
  return bytes;
}

std::string RecordTimeUtc(int64_t unix_seconds) {
  const time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm;
  if (::gmtime_r(&t, &tm) == nullptr) return StrCat(unix_seconds);
  char buf[40];
  if (std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) return StrCat(unix_seconds);
  return buf;
}

std::optional<std::array<uint8_t, 16>> ParseAddress(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  if (auto pct = text.find('%'); pct != std::string_view::npos) text = text.substr(0, pct);
  const std::string s(text);
  std::array<uint8_t, 16> out{};
  struct in_addr v4;
  if (::inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    out[10] = 0xff;
    out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return out;
  }
  struct in6_addr v6;
  if (::inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    return out;
  }
  return std::nullopt;
}

bool HostMatches(const statd::MonitorRecord& record, const std::string& host) {
  if (statd::EqualsIgnoreCase(record.key.mon_name, host) ||
      statd::EqualsIgnoreCase(record.canonical_name, host)) {
    return true;
  }
  std::optional<std::array<uint8_t, 16>> address = ParseAddress(host);
  return address && (SameAddress(record.key.mon_name, *address) ||
                     SameAddress(record.canonical_name, *address));
}

std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  };
  measure(header);
  for (const auto& row : rows) measure(row);
  std::string out;
  auto emit = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    out += line;
    out += '\n';
  };
  emit(header);
  for (const auto& row : rows) emit(row);
  return out;
}

}  // namespace nfsrec
