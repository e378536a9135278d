#include "statd/nsm_codec.h"

#include <cstring>
#include <utility>

#include "common/rpc/rpc_message.h"

extern "C" {
#include "sm_inter.h"
}

namespace nfsrec::statd {
namespace {

// Decodes one generated type (the XDR allocations are released when the
// decoded value goes out of scope) and copies it into plain values.
template <typename Wire, typename Out, typename Extract>
Result<Out> Decode(ByteSpan in, bool_t (*proc)(XDR*, Wire*), const char* what, Extract extract) {
  auto wire = rpc::XdrDecoded<Wire>::Decode(rpc::AsXdrProc(proc), in);
  if (!wire.ok()) return Status::InvalidArgument(std::string("undecodable ") + what);
  return extract(**wire);
}

template <typename Wire>
Result<Bytes> Encode(bool_t (*proc)(XDR*, Wire*), Wire* wire, const char* what) {
  Result<Bytes> out = rpc::XdrEncode(rpc::AsXdrProc(proc), wire);
  if (!out.ok()) return Status::InvalidArgument(std::string("cannot encode ") + what);
  return out;
}

std::string FromOpaque(u_int len, const char* val) { return std::string(val, len); }

// Points the generated counted-opaque pair at a string's bytes.  The string
// must outlive the encode.
template <typename Field>
bool ToOpaque(const std::string& s, Field& len, char*& val) {
  if (s.size() > kMaxNameLen) return false;
  len = static_cast<u_int>(s.size());
  val = const_cast<char*>(s.data());
  return true;
}

Cookie CookieFrom(const char* p) {
  Cookie c;
  std::memcpy(c.data(), p, c.size());
  return c;
}

MyId MyIdFrom(const my_id& w) {
  return MyId{FromOpaque(w.my_name.my_name_len, w.my_name.my_name_val), w.my_prog, w.my_vers,
              w.my_proc};
}

MonitorKey KeyFrom(const mon_id& w) {
  MyId id = MyIdFrom(w.my_id);
  return MonitorKey{FromOpaque(w.mon_name.mon_name_len, w.mon_name.mon_name_val),
                    std::move(id.my_name), id.my_prog, id.my_vers, id.my_proc};
}

bool FillMonId(const MonitorKey& key, mon_id& w) {
  if (!ToOpaque(key.mon_name, w.mon_name.mon_name_len, w.mon_name.mon_name_val)) return false;
  if (!ToOpaque(key.my_name, w.my_id.my_name.my_name_len, w.my_id.my_name.my_name_val)) {
    return false;
  }
  w.my_id.my_prog = key.my_prog;
  w.my_id.my_vers = key.my_vers;
  w.my_id.my_proc = key.my_proc;
  return true;
}

Status TooLong() { return Status::InvalidArgument("name longer than SM_MAXSTRLEN"); }

}  // namespace

Result<std::string> DecodeSmName(ByteSpan in) {
  return Decode<sm_name, std::string>(in, xdr_sm_name, "sm_name", [](const sm_name& w) {
    return FromOpaque(w.mon_name.mon_name_len, w.mon_name.mon_name_val);
  });
}

Result<MonArgs> DecodeMon(ByteSpan in) {
  return Decode<mon, MonArgs>(in, xdr_mon, "mon", [](const mon& w) {
    return MonArgs{KeyFrom(w.mon_id), CookieFrom(w.priv)};
  });
}

Result<MonitorKey> DecodeMonId(ByteSpan in) {
  return Decode<mon_id, MonitorKey>(in, xdr_mon_id, "mon_id",
                                    [](const mon_id& w) { return KeyFrom(w); });
}

Result<MyId> DecodeMyId(ByteSpan in) {
  return Decode<my_id, MyId>(in, xdr_my_id, "my_id", [](const my_id& w) { return MyIdFrom(w); });
}

Result<NotifyArgs> DecodeStatChge(ByteSpan in) {
  return Decode<stat_chge, NotifyArgs>(in, xdr_stat_chge, "stat_chge", [](const stat_chge& w) {
    return NotifyArgs{FromOpaque(w.mon_name.mon_name_len, w.mon_name.mon_name_val), w.state};
  });
}

Result<StatRes> DecodeSmStatRes(ByteSpan in) {
  return Decode<sm_stat_res, StatRes>(in, xdr_sm_stat_res, "sm_stat_res", [](const sm_stat_res& w) {
    return StatRes{w.res_stat == stat_succ, w.state};
  });
}

Result<int32_t> DecodeSmStat(ByteSpan in) {
  return Decode<sm_stat, int32_t>(in, xdr_sm_stat, "sm_stat",
                                  [](const sm_stat& w) { return int32_t{w.state}; });
}

Result<CallbackArgs> DecodeStatus(ByteSpan in) {
  return Decode<status, CallbackArgs>(in, xdr_status, "status", [](const status& w) {
    return CallbackArgs{FromOpaque(w.mon_name.mon_name_len, w.mon_name.mon_name_val), w.state,
                        CookieFrom(w.priv)};
  });
}

Result<Bytes> EncodeSmName(const std::string& mon_name) {
  sm_name w{};
  if (!ToOpaque(mon_name, w.mon_name.mon_name_len, w.mon_name.mon_name_val)) return TooLong();
  return Encode(xdr_sm_name, &w, "sm_name");
}

Result<Bytes> EncodeMon(const MonArgs& args) {
  mon w{};
  if (!FillMonId(args.id, w.mon_id)) return TooLong();
  std::memcpy(w.priv, args.priv.data(), args.priv.size());
  return Encode(xdr_mon, &w, "mon");
}

Result<Bytes> EncodeMonId(const MonitorKey& id) {
  mon_id w{};
  if (!FillMonId(id, w)) return TooLong();
  return Encode(xdr_mon_id, &w, "mon_id");
}

Result<Bytes> EncodeMyId(const MyId& id) {
  my_id w{};
  if (!ToOpaque(id.my_name, w.my_name.my_name_len, w.my_name.my_name_val)) return TooLong();
  w.my_prog = id.my_prog;
  w.my_vers = id.my_vers;
  w.my_proc = id.my_proc;
  return Encode(xdr_my_id, &w, "my_id");
}

Result<Bytes> EncodeStatChge(const NotifyArgs& args) {
  stat_chge w{};
  if (!ToOpaque(args.mon_name, w.mon_name.mon_name_len, w.mon_name.mon_name_val)) {
    return TooLong();
  }
  w.state = args.state;
  return Encode(xdr_stat_chge, &w, "stat_chge");
}

Bytes EncodeSmStatRes(const StatRes& res) {
  sm_stat_res w{};
  w.res_stat = res.success ? stat_succ : stat_fail;
  w.state = res.state;
  // Fixed-size: cannot fail.
  return std::move(Encode(xdr_sm_stat_res, &w, "sm_stat_res").value());
}

Bytes EncodeSmStat(int32_t state) {
  sm_stat w{};
  w.state = state;
  return std::move(Encode(xdr_sm_stat, &w, "sm_stat").value());
}

Result<Bytes> EncodeStatus(const CallbackArgs& args) {
  status w{};
  if (!ToOpaque(args.mon_name, w.mon_name.mon_name_len, w.mon_name.mon_name_val)) {
    return TooLong();
  }
  w.state = args.state;
  std::memcpy(w.priv, args.priv.data(), args.priv.size());
  return Encode(xdr_status, &w, "status");
}

}  // namespace nfsrec::statd
