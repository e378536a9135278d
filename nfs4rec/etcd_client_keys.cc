#include "nfs4rec/etcd_client_keys.h"

#include <charconv>
#include <cstdio>
#include <vector>

#include "common/base/logging.h"

namespace nfsrec::nfs4rec::etcd_keys {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Parses all of `text` as a decimal integer of type T.
template <typename T>
bool ParseAll(std::string_view text, T* out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

std::vector<std::string_view> SplitSpaces(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t sp = s.find(' ', start);
    out.push_back(s.substr(start, sp == std::string_view::npos ? sp : sp - start));
    if (sp == std::string_view::npos) return out;
    start = sp + 1;
  }
}

}  // namespace

std::string Hex(std::string_view bytes) { return HexBytes(bytes.data(), bytes.size()); }

Result<std::string> Unhex(std::string_view hex) {
  if (hex.size() % 2 != 0) return Status::InvalidArgument("odd number of hex digits");
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = HexValue(hex[i]), lo = HexValue(hex[i + 1]);
    if (hi < 0 || lo < 0) return Status::InvalidArgument("not a lowercase hex digit");
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  return out;
}

std::string EpochPart(uint64_t epoch) {
  char buf[17];
  snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(epoch));
  return StrCat(kRecords, buf, "/");
}

std::string RecordPart(uint64_t epoch, std::string_view id) {
  return StrCat(EpochPart(epoch), Hex(id));
}

Result<std::string> IdOfKey(std::string_view key, std::string_view epoch_prefix) {
  if (key.size() <= epoch_prefix.size() || key.substr(0, epoch_prefix.size()) != epoch_prefix) {
    return Status::InvalidArgument("not a record key of the epoch");
  }
  return Unhex(key.substr(epoch_prefix.size()));
}

std::string EncodeEpochs(const Epochs& e) {
  return StrCat("{\"current\":", e.current, ",\"recovery\":", e.recovery, "}");
}

Result<Epochs> DecodeEpochs(std::string_view value) {
  constexpr std::string_view kHead = "{\"current\":", kMid = ",\"recovery\":", kTail = "}";
  Epochs e;
  size_t mid = value.find(kMid);
  if (value.substr(0, kHead.size()) != kHead || mid == std::string_view::npos ||
      value.size() < kTail.size() || value.substr(value.size() - kTail.size()) != kTail ||
      !ParseAll(value.substr(kHead.size(), mid - kHead.size()), &e.current) ||
      !ParseAll(value.substr(mid + kMid.size(), value.size() - kTail.size() - mid - kMid.size()),
                &e.recovery)) {
    return Status::Corruption(StrCat("v4 epochs: not {\"current\":C,\"recovery\":R}"));
  }
  if (e.current == 0 || (e.recovery != 0 && e.recovery >= e.current)) {
    return Status::Corruption(
        StrCat("v4 epochs: impossible current ", e.current, ", recovery ", e.recovery));
  }
  return e;
}

std::string EncodeRecord(const ClientRecord& r) {
  const char* session = !r.has_session ? "-" : (*r.has_session ? "1" : "0");
  return StrCat(r.time, " ", session, " ", r.lease_expired ? "1" : "0", " ",
                r.princhash.empty() ? std::string("-") : Hex(r.princhash));
}

Result<ClientRecord> DecodeRecord(std::string id, std::string_view value) {
  auto bad = [&] {
    return Status::Corruption(StrCat("v4 record value \"", Printable(value), "\""));
  };
  std::vector<std::string_view> f = SplitSpaces(value);
  if (f.size() != 4) return bad();
  ClientRecord r;
  r.id = std::move(id);
  if (!ParseAll(f[0], &r.time)) return bad();
  if (f[1] == "1" || f[1] == "0") {
    r.has_session = f[1] == "1";
  } else if (f[1] != "-") {
    return bad();
  }
  if (f[2] != "0" && f[2] != "1") return bad();
  r.lease_expired = f[2] == "1";
  if (f[3] != "-") {
    Result<std::string> hash = Unhex(f[3]);
    if (!hash.ok() || hash->empty()) return bad();
    r.princhash = std::move(hash).value();
  }
  return r;
}

}  // namespace nfsrec::nfs4rec::etcd_keys
