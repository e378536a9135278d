#include "statd/etcd_nsm_layout.h"

#include <algorithm>
#include <cstdio>

#include "common/base/logging.h"
#include <nlohmann/json.hpp>

namespace nfsrec::statd {

std::string Hex(std::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

bool Unhex(std::string_view text, std::string* out) {
  if (text.size() % 2 != 0) return false;
  out->clear();
  out->reserve(text.size() / 2);
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < text.size(); i += 2) {
    int hi = digit(text[i]), lo = digit(text[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
  }
  return true;
}

std::string FixedHex(uint64_t v, int digits) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%0*llx", digits, static_cast<unsigned long long>(v));
  return buf;
}

bool ParseFixedHex(std::string_view text, size_t digits, uint64_t* v) {
  if (text.size() != digits) return false;
  std::string bytes;
  if (!Unhex(text, &bytes)) return false;
  *v = 0;
  for (unsigned char c : bytes) *v = (*v << 8) | c;
  return true;
}

std::string StateText(int32_t s) { return FixedHex(static_cast<uint32_t>(s) ^ 0x80000000u, 8); }

std::string EncodeRecord(const MonitorRecord& r, const RecordStamp& stamp) {
  nlohmann::json j;
  j["priv"] = Hex(std::string_view(reinterpret_cast<const char*>(r.priv.data()), r.priv.size()));
  j["canonical"] = Hex(r.canonical_name);
  j["peer_state"] = r.peer_state;
  j["lockd_state"] = r.lockd_state;
  j["updated"] = stamp.updated;
  j["seq"] = stamp.seq;
  return j.dump();
}

Status DecodeRecord(std::string_view value, MonitorRecord* r, RecordStamp* stamp) {
  auto j = nlohmann::json::parse(value, nullptr, false);
  auto bad = [&](const char* why) {
    return Status::Corruption(StrCat("NSM record in etcd: ", why));
  };
  if (!j.is_object()) return bad("not a JSON object");
  for (const char* f : {"priv", "canonical"}) {
    if (!j.contains(f) || !j[f].is_string()) return bad("priv or canonical is not a string");
  }
  for (const char* f : {"peer_state", "lockd_state", "updated", "seq"}) {
    if (!j.contains(f) || !j[f].is_number_integer()) return bad("a number field is missing");
  }
  std::string priv;
  if (!Unhex(j["priv"].get<std::string>(), &priv) || priv.size() != kCookieSize) {
    return bad("priv is not 16 bytes of hex");
  }
  std::copy(priv.begin(), priv.end(), r->priv.begin());
  if (!Unhex(j["canonical"].get<std::string>(), &r->canonical_name)) {
    return bad("canonical is not hex");
  }
  int64_t peer = j["peer_state"].get<int64_t>(), lockd = j["lockd_state"].get<int64_t>();
  if (peer < INT32_MIN || peer > INT32_MAX || lockd < INT32_MIN || lockd > INT32_MAX) {
    return bad("a state is outside int32");
  }
  r->peer_state = static_cast<int32_t>(peer);
  r->lockd_state = static_cast<int32_t>(lockd);
  stamp->updated = j["updated"].get<int64_t>();
  stamp->seq = j["seq"].get<int64_t>();
  return Status::Ok();
}

std::string MonitorKeyText(const MonitorKey& k) {
  return StrCat(Hex(k.mon_name), ".", Hex(k.my_name), ".",
                FixedHex(static_cast<uint32_t>(k.my_prog), 8), ".",
                FixedHex(static_cast<uint32_t>(k.my_vers), 8), ".",
                FixedHex(static_cast<uint32_t>(k.my_proc), 8));
}

bool ParseMonitorKeyText(std::string_view text, MonitorKey* key) {
  std::string_view parts[5];
  for (int i = 0; i < 5; ++i) {
    size_t dot = i < 4 ? text.find('.') : text.size();
    if (dot == std::string_view::npos) return false;
    parts[i] = text.substr(0, dot);
    text.remove_prefix(i < 4 ? dot + 1 : dot);
  }
  uint64_t n[3];
  for (int i = 0; i < 3; ++i) {
    if (!ParseFixedHex(parts[2 + i], 8, &n[i])) return false;
  }
  if (!Unhex(parts[0], &key->mon_name) || !Unhex(parts[1], &key->my_name)) return false;
  key->my_prog = static_cast<int32_t>(static_cast<uint32_t>(n[0]));
  key->my_vers = static_cast<int32_t>(static_cast<uint32_t>(n[1]));
  key->my_proc = static_cast<int32_t>(static_cast<uint32_t>(n[2]));
  return true;
}

}  // namespace nfsrec::statd
