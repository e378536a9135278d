#include "common/store/etcd_codec.h"

#include <charconv>
#include <utility>

#include "common/base/logging.h"
#include <nlohmann/json.hpp>

namespace nfsrec::etcd {

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  // The last byte that can grow, grown; the bytes after it dropped.
  while (!end.empty()) {
    auto last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

namespace codec {

using nlohmann::json;

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int Sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

// Reads fields of one decoded object; the first type mismatch is kept in
// `error` and later reads return zero values.
class Reader {
 public:
  Status error;

  const json* Find(const json& o, std::string_view name, std::string_view alt = {}) {
    if (!o.is_object()) return nullptr;
    auto it = o.find(name);
    if (it == o.end() && !alt.empty()) it = o.find(alt);
    return it == o.end() || it->is_null() ? nullptr : &*it;
  }
  int64_t Int(const json& o, std::string_view name, std::string_view alt = {}) {
    const json* v = Find(o, name, alt);
    if (v == nullptr) return 0;
    if (v->is_number_integer()) return v->get<int64_t>();
    if (v->is_string()) {
      const auto& s = v->get_ref<const std::string&>();
      int64_t n = 0;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
      if (ec == std::errc() && p == s.data() + s.size()) return n;
      // uint64 ids above INT64_MAX
      uint64_t u = 0;
      auto [p2, ec2] = std::from_chars(s.data(), s.data() + s.size(), u);
      if (ec2 == std::errc() && p2 == s.data() + s.size()) return static_cast<int64_t>(u);
    }
    Fail(name);
    return 0;
  }
  uint64_t Uint(const json& o, std::string_view name, std::string_view alt = {}) {
    return static_cast<uint64_t>(Int(o, name, alt));
  }
  bool Bool(const json& o, std::string_view name) {
    const json* v = Find(o, name);
    if (v == nullptr) return false;
    if (v->is_boolean()) return v->get<bool>();
    Fail(name);
    return false;
  }
  std::string Text(const json& o, std::string_view name) {
    const json* v = Find(o, name);
    if (v == nullptr) return {};
    if (v->is_string()) return v->get<std::string>();
    Fail(name);
    return {};
  }
  std::string Bytes(const json& o, std::string_view name) {
    const json* v = Find(o, name);
    if (v == nullptr) return {};
    if (v->is_string()) {
      auto r = Base64Decode(v->get_ref<const std::string&>());
      if (r.ok()) return std::move(r).value();
    }
    Fail(name);
    return {};
  }
  Header ReadHeader(const json& o) {
    Header h;
    const json* v = Find(o, "header");
    if (v == nullptr) return h;
    h.cluster_id = Uint(*v, "cluster_id");
    h.member_id = Uint(*v, "member_id");
    h.revision = Int(*v, "revision");
    h.raft_term = Uint(*v, "raft_term");
    return h;
  }
  KeyValue ReadKv(const json& o) {
    KeyValue kv;
    kv.key = Bytes(o, "key");
    kv.value = Bytes(o, "value");
    kv.create_revision = Int(o, "create_revision");
    kv.mod_revision = Int(o, "mod_revision");
    kv.version = Int(o, "version");
    kv.lease = Int(o, "lease");
    return kv;
  }
  std::vector<KeyValue> Kvs(const json& o, std::string_view name) {
    std::vector<KeyValue> out;
    const json* v = Find(o, name);
    if (v == nullptr) return out;
    if (!v->is_array()) {
      Fail(name);
      return out;
    }
    for (const auto& e : *v) out.push_back(ReadKv(e));
    return out;
  }

  void Fail(std::string_view name) {
    if (error.ok()) error = Status::Corruption(StrCat("etcd answer: bad field \"", name, "\""));
  }
};

Result<json> Parse(std::string_view body) {
  json j = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::Corruption(
        StrCat("etcd answer is not a JSON object: ", Printable(body.substr(0, 120))));
  }
  return j;
}

json RangeJson(const RangeRequest& r) {
  json j = {{"key", Base64Encode(r.key)}};
  if (!r.range_end.empty()) j["range_end"] = Base64Encode(r.range_end);
  if (r.limit != 0) j["limit"] = std::to_string(r.limit);
  if (r.revision != 0) j["revision"] = std::to_string(r.revision);
  if (r.serializable) j["serializable"] = true;
  if (r.keys_only) j["keys_only"] = true;
  if (r.count_only) j["count_only"] = true;
  return j;
}

json PutJson(const PutRequest& r) {
  json j = {{"key", Base64Encode(r.key)}, {"value", Base64Encode(r.value)}};
  if (r.lease != 0) j["lease"] = std::to_string(r.lease);
  if (r.prev_kv) j["prev_kv"] = true;
  return j;
}

json DeleteJson(const DeleteRequest& r) {
  json j = {{"key", Base64Encode(r.key)}};
  if (!r.range_end.empty()) j["range_end"] = Base64Encode(r.range_end);
  if (r.prev_kv) j["prev_kv"] = true;
  return j;
}

json OpJson(const TxnOp& op) {
  if (const auto* r = std::get_if<RangeRequest>(&op)) return {{"request_range", RangeJson(*r)}};
  if (const auto* p = std::get_if<PutRequest>(&op)) return {{"request_put", PutJson(*p)}};
  return {{"request_delete_range", DeleteJson(std::get<DeleteRequest>(op))}};
}

RangeResponse ReadRange(Reader& rd, const json& j) {
  RangeResponse r;
  r.header = rd.ReadHeader(j);
  r.kvs = rd.Kvs(j, "kvs");
  r.more = rd.Bool(j, "more");
  r.count = rd.Int(j, "count");
  return r;
}

PutResponse ReadPut(Reader& rd, const json& j) {
  PutResponse r;
  r.header = rd.ReadHeader(j);
  if (const json* p = rd.Find(j, "prev_kv")) {
    r.has_prev_kv = true;
    r.prev_kv = rd.ReadKv(*p);
  }
  return r;
}

DeleteResponse ReadDelete(Reader& rd, const json& j) {
  DeleteResponse r;
  r.header = rd.ReadHeader(j);
  r.deleted = rd.Int(j, "deleted");
  r.prev_kvs = rd.Kvs(j, "prev_kvs");
  return r;
}

template <typename T, typename F>
Result<T> DecodeWith(std::string_view body, F read) {
  NFSREC_ASSIGN_OR_RETURN(json j, Parse(body));
  Reader rd;
  T out = read(rd, j);
  if (!rd.error.ok()) return rd.error;
  return out;
}

// Indexed by the enums' order (etcd_types.h), which is etcd's.
const char* TargetName(Compare::Target t) {
  static constexpr const char* kNames[] = {"VERSION", "CREATE", "MOD", "VALUE", "LEASE"};
  return kNames[static_cast<int>(t)];
}

const char* OpName(Compare::Op o) {
  static constexpr const char* kNames[] = {"EQUAL", "GREATER", "LESS", "NOT_EQUAL"};
  return kNames[static_cast<int>(o)];
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  auto at = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t n = at(i) << 16 | at(i + 1) << 8 | at(i + 2);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(n >> s) & 0x3f]);
  }
  size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t n = at(i) << 16 | (rest == 2 ? at(i + 1) << 8 : 0);
    out.push_back(kAlphabet[(n >> 18) & 0x3f]);
    out.push_back(kAlphabet[(n >> 12) & 0x3f]);
    out.push_back(rest == 2 ? kAlphabet[(n >> 6) & 0x3f] : '=');
    out.push_back('=');
  }
  return out;
}

Result<std::string> Base64Decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return Status::Corruption("base64: bad length");
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = Sextet(c);
    if (v < 0) return Status::Corruption("base64: bad character");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::string EncodeRange(const RangeRequest& r) { return RangeJson(r).dump(); }
std::string EncodePut(const PutRequest& r) { return PutJson(r).dump(); }
std::string EncodeDelete(const DeleteRequest& r) { return DeleteJson(r).dump(); }

std::string EncodeTxn(const TxnRequest& r) {
  json compares = json::array();
  for (const auto& c : r.compares) {
    json j = {
        {"key", Base64Encode(c.key)}, {"target", TargetName(c.target)}, {"result", OpName(c.op)}};
    if (!c.range_end.empty()) j["range_end"] = Base64Encode(c.range_end);
    switch (c.target) {
      case Compare::Target::kVersion:
        j["version"] = std::to_string(c.number);
        break;
      case Compare::Target::kCreateRevision:
        j["create_revision"] = std::to_string(c.number);
        break;
      case Compare::Target::kModRevision:
        j["mod_revision"] = std::to_string(c.number);
        break;
      case Compare::Target::kValue:
        j["value"] = Base64Encode(c.value);
        break;
      case Compare::Target::kLease:
        j["lease"] = std::to_string(c.number);
        break;
    }
    compares.push_back(std::move(j));
  }
  json success = json::array();
  for (const auto& op : r.success) success.push_back(OpJson(op));
  json failure = json::array();
  for (const auto& op : r.failure) failure.push_back(OpJson(op));
  return json{{"compare", compares}, {"success", success}, {"failure", failure}}.dump();
}

std::string EncodeLeaseGrant(int64_t ttl_seconds) {
  return json{{"TTL", std::to_string(ttl_seconds)}}.dump();
}
std::string EncodeLeaseId(LeaseId id) { return json{{"ID", std::to_string(id)}}.dump(); }
std::string EncodeTimeToLive(LeaseId id, bool keys) {
  return json{{"ID", std::to_string(id)}, {"keys", keys}}.dump();
}
std::string EncodeCompact(int64_t revision, bool physical) {
  return json{{"revision", std::to_string(revision)}, {"physical", physical}}.dump();
}

std::string EncodeWatchCreate(std::string_view key, std::string_view range_end,
                              int64_t start_revision, bool prev_kv) {
  json c = {{"key", Base64Encode(key)}};
  if (!range_end.empty()) c["range_end"] = Base64Encode(range_end);
  if (start_revision != 0) c["start_revision"] = std::to_string(start_revision);
  if (prev_kv) c["prev_kv"] = true;
  return json{{"create_request", c}}.dump();
}

Result<RangeResponse> DecodeRange(std::string_view body) {
  return DecodeWith<RangeResponse>(body, ReadRange);
}
Result<PutResponse> DecodePut(std::string_view body) {
  return DecodeWith<PutResponse>(body, ReadPut);
}
Result<DeleteResponse> DecodeDelete(std::string_view body) {
  return DecodeWith<DeleteResponse>(body, ReadDelete);
}

Result<TxnResponse> DecodeTxn(std::string_view body) {
  return DecodeWith<TxnResponse>(body, [](Reader& rd, const json& j) {
    TxnResponse r;
    r.header = rd.ReadHeader(j);
    r.succeeded = rd.Bool(j, "succeeded");
    const json* ops = rd.Find(j, "responses");
    if (ops == nullptr) return r;
    if (!ops->is_array()) {
      rd.Fail("responses");
      return r;
    }
    for (const auto& op : *ops) {
      if (const json* v = rd.Find(op, "response_range")) {
        r.responses.emplace_back(ReadRange(rd, *v));
      } else if (const json* p = rd.Find(op, "response_put")) {
        r.responses.emplace_back(ReadPut(rd, *p));
      } else if (const json* d = rd.Find(op, "response_delete_range")) {
        r.responses.emplace_back(ReadDelete(rd, *d));
      } else {
        rd.Fail("responses[]");
      }
    }
    return r;
  });
}

Result<LeaseGrant> DecodeLeaseGrant(std::string_view body) {
  return DecodeWith<LeaseGrant>(body, [](Reader& rd, const json& j) {
    LeaseGrant g;
    g.header = rd.ReadHeader(j);
    g.id = rd.Int(j, "ID");
    g.ttl = rd.Int(j, "TTL");
    if (rd.Find(j, "error") != nullptr) rd.error = Status::IOError(rd.Text(j, "error"));
    return g;
  });
}

Result<LeaseTtl> DecodeTimeToLive(std::string_view body) {
  return DecodeWith<LeaseTtl>(body, [](Reader& rd, const json& j) {
    LeaseTtl t;
    t.header = rd.ReadHeader(j);
    t.id = rd.Int(j, "ID");
    t.ttl = rd.Int(j, "TTL");
    t.granted_ttl = rd.Int(j, "grantedTTL");
    if (const json* keys = rd.Find(j, "keys"); keys != nullptr && keys->is_array()) {
      for (const auto& k : *keys) {
        if (!k.is_string()) continue;
        auto d = Base64Decode(k.get_ref<const std::string&>());
        if (d.ok()) t.keys.push_back(std::move(d).value());
      }
    }
    return t;
  });
}

Result<MemberStatus> DecodeMemberStatus(std::string_view body) {
  return DecodeWith<MemberStatus>(body, [](Reader& rd, const json& j) {
    MemberStatus s;
    s.header = rd.ReadHeader(j);
    s.version = rd.Text(j, "version");
    s.db_size = rd.Int(j, "dbSize", "db_size");
    s.leader = rd.Uint(j, "leader");
    s.raft_index = rd.Uint(j, "raftIndex", "raft_index");
    s.raft_term = rd.Uint(j, "raftTerm", "raft_term");
    return s;
  });
}

Result<Header> DecodeHeaderOnly(std::string_view body) {
  return DecodeWith<Header>(body, [](Reader& rd, const json& j) { return rd.ReadHeader(j); });
}

namespace {

Status StreamError(Reader& rd, const json& e) {
  long code = e.is_object() ? static_cast<long>(rd.Int(e, "grpc_code", "code")) : 0;
  std::string message = e.is_object() ? rd.Text(e, "message") : std::string();
  return DecodeError(500, json{{"code", code}, {"message", message}}.dump());
}

}  // namespace

Result<LeaseTtl> DecodeKeepAlive(std::string_view line) {
  NFSREC_ASSIGN_OR_RETURN(json j, Parse(line));
  Reader rd;
  if (const json* e = rd.Find(j, "error")) return StreamError(rd, *e);
  const json* r = rd.Find(j, "result");
  if (r == nullptr) return Status::Corruption("etcd keep-alive answer without result");
  LeaseTtl t;
  t.header = rd.ReadHeader(*r);
  t.id = rd.Int(*r, "ID");
  t.ttl = rd.Int(*r, "TTL");
  if (!rd.error.ok()) return rd.error;
  return t;
}

Status DecodeError(long http_status, std::string_view body) {
  json j = json::parse(body.begin(), body.end(), nullptr, false);
  Reader rd;
  int64_t code = 0;
  std::string message;
  if (j.is_object()) {
    code = rd.Int(j, "code");
    message = rd.Text(j, "message");
    if (message.empty()) message = rd.Text(j, "error");
  }
  if (message.empty()) message = StrCat("HTTP status ", http_status);
  message = StrCat("etcd: ", Printable(message));
  switch (code) {
    case 4:
    case 14:
      return Status::Unavailable(message);
    case 5:
      return Status::NotFound(message);
    case 3:
    case 9:
    case 11:
      return Status::InvalidArgument(message);
    case 6:
      return Status::AlreadyExists(message);
    case 7:
    case 16:
      return Status::PermissionDenied(message);
    case 8:
      return Status::Busy(message);
    default:
      break;
  }
  if (http_status == 503) return Status::Unavailable(message);
  return Status::IOError(message);
}

Result<WatchMessage> DecodeWatchMessage(std::string_view line) {
  NFSREC_ASSIGN_OR_RETURN(json j, Parse(line));
  Reader rd;
  if (const json* e = rd.Find(j, "error")) return StreamError(rd, *e);
  const json* r = rd.Find(j, "result");
  if (r == nullptr) return Status::Corruption("etcd watch message without result");
  WatchMessage m;
  m.header = rd.ReadHeader(*r);
  m.watch_id = rd.Int(*r, "watch_id");
  m.created = rd.Bool(*r, "created");
  m.canceled = rd.Bool(*r, "canceled");
  m.compact_revision = rd.Int(*r, "compact_revision");
  m.cancel_reason = rd.Text(*r, "cancel_reason");
  if (const json* events = rd.Find(*r, "events")) {
    if (!events->is_array()) return Status::Corruption("etcd watch events is not an array");
    for (const auto& e : *events) {
      Event ev;
      std::string type = rd.Text(e, "type");
      ev.type = type == "DELETE" ? Event::Type::kDelete : Event::Type::kPut;
      if (const json* kv = rd.Find(e, "kv")) ev.kv = rd.ReadKv(*kv);
      if (const json* pkv = rd.Find(e, "prev_kv")) {
        ev.has_prev_kv = true;
        ev.prev_kv = rd.ReadKv(*pkv);
      }
      m.events.push_back(std::move(ev));
    }
  }
  if (!rd.error.ok()) return rd.error;
  return m;
}

bool LineSplitter::Next(std::string* line) {
  size_t nl = buffer_.find('\n', start_);
  if (nl == std::string::npos) {
    if (start_ > 0) {
      buffer_.erase(0, start_);
      start_ = 0;
    }
    return false;
  }
  line->assign(buffer_, start_, nl - start_);
  start_ = nl + 1;
  return true;
}

}  // namespace codec
}  // namespace nfsrec::etcd
