#include "cluster/keys.h"

#include "common/base/logging.h"
#include <nlohmann/json.hpp>

namespace nfsrec::cluster {

namespace {

using nlohmann::json;

bool NameChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

// Reads one value's fields; the first problem is kept and named with the
// key, so a caller checks status() once at the end.
class Reader {
 public:
  Reader(std::string_view key, std::string_view value) : key_(key) {
    j_ = json::parse(value.begin(), value.end(), nullptr, /*allow_exceptions=*/false);
    if (j_.is_discarded()) {
      Fail("is not JSON");
    } else if (!j_.is_object()) {
      Fail("is not a JSON object");
    }
  }

  const json* Field(const char* name, bool (json::*is)() const noexcept, const char* type) {
    if (!status_.ok()) return nullptr;
    auto it = j_.find(name);
    if (it == j_.end()) {
      Fail(StrCat("has no \"", name, "\""));
      return nullptr;
    }
    if (!((*it).*is)()) {
      Fail(StrCat("field \"", name, "\" is not ", type));
      return nullptr;
    }
    return &*it;
  }
  int64_t Int(const char* name, int64_t min) {
    const json* f = Field(name, &json::is_number_integer, "an integer");
    if (f == nullptr) return 0;
    if (f->is_number_unsigned() && f->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      Fail(StrCat("field \"", name, "\" is out of range"));
      return 0;
    }
    const int64_t v = f->get<int64_t>();
    if (v < min) Fail(StrCat("field \"", name, "\" is below ", min));
    return v;
  }
  bool Bool(const char* name) {
    const json* f = Field(name, &json::is_boolean, "a boolean");
    return f != nullptr && f->get<bool>();
  }
  std::string String(const char* name) {
    const json* f = Field(name, &json::is_string, "a string");
    return f != nullptr ? f->get<std::string>() : std::string();
  }
  std::string Name(const char* name) {
    std::string s = String(name);
    if (status_.ok()) {
      Status v = ValidateName(name, s);
      if (!v.ok()) Fail(StrCat("field \"", name, "\": ", v.message()));
    }
    return s;
  }
  std::vector<std::string> Strings(const char* name) {
    std::vector<std::string> out;
    const json* f = Field(name, &json::is_array, "an array");
    if (f == nullptr) return out;
    for (const json& e : *f) {
      if (!e.is_string()) {
        Fail(StrCat("field \"", name, "\" holds a value that is not a string"));
        return {};
      }
      out.push_back(e.get<std::string>());
    }
    return out;
  }
  void Fail(std::string_view why) {
    if (status_.ok()) status_ = Status::Corruption(StrCat("etcd key ", Printable(key_), " ", why));
  }
  const Status& status() const { return status_; }

 private:
  std::string_view key_;
  json j_;
  Status status_;
};

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

Status ValidateName(std::string_view what, std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) {
    return Status::InvalidArgument(StrCat(what, " name '", Printable(name), "' must have 1 to ",
                                          kMaxNameLength, " characters"));
  }
  for (char c : name) {
    if (!NameChar(c)) {
      return Status::InvalidArgument(StrCat(what, " name '", Printable(name),
                                            "' may hold only letters, digits, '.', '_' and '-'"));
    }
  }
  return Status::Ok();
}

std::string ClusterPrefix(std::string_view cluster) { return StrCat("/nfsrec/", cluster, "/"); }
std::string InstancesPrefix(std::string_view cluster) {
  return StrCat(ClusterPrefix(cluster), "instances/");
}
std::string InstancePrefix(std::string_view cluster, std::string_view instance) {
  return StrCat(InstancesPrefix(cluster), instance, "/");
}
std::string OwnerKey(std::string_view cluster, std::string_view instance) {
  return StrCat(InstancePrefix(cluster, instance), "owner");
}
std::string ParamsKey(std::string_view cluster, std::string_view instance) {
  return StrCat(InstancePrefix(cluster, instance), "params");
}
std::string NsmPrefix(std::string_view cluster, std::string_view instance) {
  return StrCat(InstancePrefix(cluster, instance), "nsm/");
}
std::string V4Prefix(std::string_view cluster, std::string_view instance) {
  return StrCat(InstancePrefix(cluster, instance), "v4/");
}
std::string GraceKey(std::string_view cluster) { return StrCat(ClusterPrefix(cluster), "grace"); }
std::string FlagsPrefix(std::string_view cluster) {
  return StrCat(ClusterPrefix(cluster), "flags/");
}
std::string FlagKey(std::string_view cluster, std::string_view instance) {
  return StrCat(FlagsPrefix(cluster), instance);
}

std::string MembersPrefix(std::string_view cluster) {
  return StrCat(ClusterPrefix(cluster), "members/");
}
std::string MemberKey(std::string_view cluster, std::string_view instance) {
  return StrCat(MembersPrefix(cluster), instance);
}
std::string HoldKey(std::string_view cluster) { return StrCat(ClusterPrefix(cluster), "hold"); }

std::string_view InstanceOfKey(std::string_view prefix, std::string_view key) {
  if (key.size() <= prefix.size() || key.substr(0, prefix.size()) != prefix) return {};
  key.remove_prefix(prefix.size());
  return key.substr(0, key.find('/'));
}

std::string EncodeOwner(const OwnerValue& v) {
  return Dump(
      json{{"node", v.node}, {"pid", v.pid}, {"since", v.since}, {"addresses", v.addresses}});
}
std::string EncodeParams(const ParamsValue& v) {
  return Dump(json{{"scope", v.scope}, {"lease_time", v.lease_time}, {"grace_time", v.grace_time}});
}
std::string EncodeGrace(const GraceValue& v) {
  return Dump(json{{"current", v.current}, {"recovery", v.recovery}});
}
std::string EncodeFlags(const FlagsValue& v) {
  return Dump(json{{"need", v.need}, {"enforcing", v.enforcing}, {"node", v.node}});
}
std::string EncodeMember(const MemberValue& v) { return Dump(json{{"node", v.node}}); }
std::string EncodeHold(const HoldValue& v) {
  return Dump(json{{"grace", v.grace}, {"awaiting", v.awaiting}});
}

Result<OwnerValue> DecodeOwner(std::string_view key, std::string_view value) {
  Reader r(key, value);
  OwnerValue v;
  v.node = r.Name("node");
  v.pid = r.Int("pid", 1);
  v.since = r.Int("since", 0);
  v.addresses = r.Strings("addresses");
  if (!r.status().ok()) return r.status();
  return v;
}

Result<ParamsValue> DecodeParams(std::string_view key, std::string_view value) {
  Reader r(key, value);
  ParamsValue v;
  v.scope = r.String("scope");
  v.lease_time = r.Int("lease_time", 1);
  v.grace_time = r.Int("grace_time", 1);
  if (!r.status().ok()) return r.status();
  return v;
}

Result<GraceValue> DecodeGrace(std::string_view key, std::string_view value) {
  Reader r(key, value);
  GraceValue v;
  v.current = static_cast<uint64_t>(r.Int("current", 1));
  v.recovery = static_cast<uint64_t>(r.Int("recovery", 0));
  if (r.status().ok() && v.recovery >= v.current) {
    r.Fail(StrCat("has recovery epoch ", v.recovery, " not below current epoch ", v.current));
  }
  if (!r.status().ok()) return r.status();
  return v;
}

Result<FlagsValue> DecodeFlags(std::string_view key, std::string_view value) {
  Reader r(key, value);
  FlagsValue v;
  v.need = r.Bool("need");
  v.enforcing = r.Bool("enforcing");
  v.node = r.Name("node");
  if (!r.status().ok()) return r.status();
  return v;
}

Result<MemberValue> DecodeMember(std::string_view key, std::string_view value) {
  Reader r(key, value);
  MemberValue v;
  v.node = r.Name("node");
  if (!r.status().ok()) return r.status();
  return v;
}

Result<HoldValue> DecodeHold(std::string_view key, std::string_view value) {
  Reader r(key, value);
  HoldValue v;
  v.grace = static_cast<uint64_t>(r.Int("grace", 1));
  v.awaiting = r.Strings("awaiting");
  for (const std::string& name : v.awaiting) {
    Status valid = ValidateName("instance", name);
    if (!valid.ok()) r.Fail(StrCat("field \"awaiting\": ", valid.message()));
  }
  if (!r.status().ok()) return r.status();
  return v;
}

}  // namespace nfsrec::cluster
