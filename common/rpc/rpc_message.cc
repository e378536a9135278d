#include "common/rpc/rpc_message.h"

#include <rpc/xdr.h>

#include <type_traits>

namespace nfsrec::rpc {

static_assert(std::is_same_v<XdrProc, xdrproc_t>, "XdrProc must match libtirpc's xdrproc_t");

namespace {

constexpr uint32_t kMsgCall = 0;
constexpr uint32_t kMsgReply = 1;
constexpr uint32_t kMsgAccepted = 0;
constexpr uint32_t kMsgDenied = 1;

size_t Padded(size_t n) { return (n + 3) & ~size_t{3}; }

bool GetAuth(XdrReader& r, OpaqueAuth* auth) {
  return r.GetUint32(&auth->flavor) && r.GetOpaque(kMaxAuthBodyBytes, &auth->body);
}

void PutNullAuth(XdrWriter& w) {
  w.PutUint32(kAuthNone);
  w.PutUint32(0);
}

void PutReplyPrefix(XdrWriter& w, uint32_t xid, uint32_t reply_stat) {
  w.PutUint32(xid);
  w.PutUint32(kMsgReply);
  w.PutUint32(reply_stat);
}

Status Truncated(std::string_view what) {
  std::string msg = "truncated or malformed RPC ";
  msg += what;
  return Status::InvalidArgument(msg);
}

}  // namespace

// ---- XdrWriter / XdrReader ----

void XdrWriter::PutUint32(uint32_t v) {
  buf_.push_back(static_cast<uint8_t>(v >> 24));
  buf_.push_back(static_cast<uint8_t>(v >> 16));
  buf_.push_back(static_cast<uint8_t>(v >> 8));
  buf_.push_back(static_cast<uint8_t>(v));
}

void XdrWriter::PutOpaque(std::span<const uint8_t> bytes) {
  PutUint32(static_cast<uint32_t>(bytes.size()));
  PutFixedOpaque(bytes);
}

void XdrWriter::PutString(std::string_view s) {
  PutOpaque(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

void XdrWriter::PutFixedOpaque(std::span<const uint8_t> bytes) {
  buf_.insert(buf_.end(), bytes.begin(), bytes.end());
  buf_.resize(buf_.size() + (Padded(bytes.size()) - bytes.size()), 0);
}

void XdrWriter::PutRaw(std::span<const uint8_t> bytes) {
  buf_.insert(buf_.end(), bytes.begin(), bytes.end());
}

bool XdrReader::GetUint32(uint32_t* v) {
  if (remaining() < 4) return false;
  const uint8_t* p = buf_.data() + pos_;
  *v = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
  pos_ += 4;
  return true;
}

bool XdrReader::GetInt32(int32_t* v) {
  uint32_t u;
  if (!GetUint32(&u)) return false;
  *v = static_cast<int32_t>(u);
  return true;
}

bool XdrReader::GetPadded(size_t n, const uint8_t** data) {
  // Compare without computing pos_ + Padded(n), which could overflow for a
  // hostile length near 2^32 on 32-bit size_t.
  if (n > remaining() || Padded(n) > remaining()) return false;
  *data = buf_.data() + pos_;
  pos_ += Padded(n);
  return true;
}

bool XdrReader::GetOpaque(size_t max, std::vector<uint8_t>* out) {
  uint32_t len;
  if (!GetUint32(&len) || len > max) return false;
  return GetFixedOpaque(len, out);
}

bool XdrReader::GetString(size_t max, std::string* out) {
  uint32_t len;
  if (!GetUint32(&len) || len > max) return false;
  const uint8_t* data;
  if (!GetPadded(len, &data)) return false;
  out->assign(reinterpret_cast<const char*>(data), len);
  return true;
}

bool XdrReader::GetFixedOpaque(size_t n, std::vector<uint8_t>* out) {
  const uint8_t* data;
  if (!GetPadded(n, &data)) return false;
  out->assign(data, data + n);
  return true;
}

// ---- headers ----

Result<MessageKind> PeekMessageKind(std::span<const uint8_t> message) {
  XdrReader r(message);
  MessageKind k;
  uint32_t type;
  if (!r.GetUint32(&k.xid) || !r.GetUint32(&type)) return Truncated("message");
  if (type != kMsgCall && type != kMsgReply) {
    return Status::InvalidArgument("RPC message type is neither CALL nor REPLY");
  }
  k.is_call = type == kMsgCall;
  return k;
}

Result<CallHeader> DecodeCall(std::span<const uint8_t> message) {
  XdrReader r(message);
  CallHeader h;
  uint32_t type;
  if (!r.GetUint32(&h.xid) || !r.GetUint32(&type) || !r.GetUint32(&h.rpcvers)) {
    return Truncated("call header");
  }
  if (type != kMsgCall) return Status::InvalidArgument("RPC message is not a CALL");
  if (h.rpcvers == kRpcVersion) {
    if (!r.GetUint32(&h.prog) || !r.GetUint32(&h.vers) || !r.GetUint32(&h.proc) ||
        !GetAuth(r, &h.cred) || !GetAuth(r, &h.verf)) {
      return Truncated("call header");
    }
  }
  h.args_offset = r.offset();
  h.args = r.rest();
  return h;
}

std::vector<uint8_t> EncodeAcceptedReply(uint32_t xid, AcceptStat stat,
                                         std::span<const uint8_t> results) {
  XdrWriter w;
  PutReplyPrefix(w, xid, kMsgAccepted);
  PutNullAuth(w);
  w.PutUint32(static_cast<uint32_t>(stat));
  w.PutRaw(results);
  return std::move(w).Take();
}

std::vector<uint8_t> EncodeAcceptedReply(uint32_t xid, AcceptStat stat, VersionRange mismatch) {
  XdrWriter w;
  PutReplyPrefix(w, xid, kMsgAccepted);
  PutNullAuth(w);
  w.PutUint32(static_cast<uint32_t>(stat));
  w.PutUint32(mismatch.low);
  w.PutUint32(mismatch.high);
  return std::move(w).Take();
}

std::vector<uint8_t> EncodeRejectedReply(uint32_t xid, RejectStat stat, VersionRange rpc_versions,
                                         AuthStat auth_stat) {
  XdrWriter w;
  PutReplyPrefix(w, xid, kMsgDenied);
  w.PutUint32(static_cast<uint32_t>(stat));
  if (stat == RejectStat::kRpcMismatch) {
    w.PutUint32(rpc_versions.low);
    w.PutUint32(rpc_versions.high);
  } else {
    w.PutUint32(static_cast<uint32_t>(auth_stat));
  }
  return std::move(w).Take();
}

std::vector<uint8_t> EncodeCall(uint32_t xid, uint32_t prog, uint32_t vers, uint32_t proc,
                                std::span<const uint8_t> args, const OpaqueAuth& cred) {
  XdrWriter w;
  w.PutUint32(xid);
  w.PutUint32(kMsgCall);
  w.PutUint32(kRpcVersion);
  w.PutUint32(prog);
  w.PutUint32(vers);
  w.PutUint32(proc);
  w.PutUint32(cred.flavor);
  w.PutOpaque(cred.body);
  PutNullAuth(w);
  w.PutRaw(args);
  return std::move(w).Take();
}

Result<ReplyInfo> DecodeReply(std::span<const uint8_t> message) {
  XdrReader r(message);
  ReplyInfo info;
  uint32_t type, reply_stat;
  if (!r.GetUint32(&info.xid) || !r.GetUint32(&type)) return Truncated("reply header");
  if (type != kMsgReply) return Status::InvalidArgument("RPC message is not a REPLY");
  if (!r.GetUint32(&reply_stat)) return Truncated("reply header");
  if (reply_stat == kMsgAccepted) {
    info.accepted = true;
    uint32_t stat;
    if (!GetAuth(r, &info.verf) || !r.GetUint32(&stat)) return Truncated("accepted reply");
    if (stat > static_cast<uint32_t>(AcceptStat::kSystemErr)) {
      return Status::InvalidArgument("RPC reply has an unknown accept_stat");
    }
    info.accept_stat = static_cast<AcceptStat>(stat);
    if (info.accept_stat == AcceptStat::kProgMismatch) {
      if (!r.GetUint32(&info.mismatch.low) || !r.GetUint32(&info.mismatch.high)) {
        return Truncated("PROG_MISMATCH reply");
      }
    }
    if (info.accept_stat == AcceptStat::kSuccess) {
      info.results_offset = r.offset();
      info.results = r.rest();
    } else {
      info.results_offset = message.size();
    }
    return info;
  }
  if (reply_stat != kMsgDenied)
    return Status::InvalidArgument("RPC reply has an unknown reply_stat");
  uint32_t stat;
  if (!r.GetUint32(&stat)) return Truncated("denied reply");
  if (stat == static_cast<uint32_t>(RejectStat::kRpcMismatch)) {
    info.reject_stat = RejectStat::kRpcMismatch;
    if (!r.GetUint32(&info.mismatch.low) || !r.GetUint32(&info.mismatch.high)) {
      return Truncated("RPC_MISMATCH reply");
    }
  } else if (stat == static_cast<uint32_t>(RejectStat::kAuthError)) {
    info.reject_stat = RejectStat::kAuthError;
    uint32_t auth;
    if (!r.GetUint32(&auth)) return Truncated("AUTH_ERROR reply");
    if (auth > static_cast<uint32_t>(AuthStat::kFailed)) {
      return Status::InvalidArgument("RPC reply has an unknown auth_stat");
    }
    info.auth_stat = static_cast<AuthStat>(auth);
  } else {
    return Status::InvalidArgument("RPC reply has an unknown reject_stat");
  }
  info.results_offset = message.size();
  return info;
}

std::string_view AcceptStatName(AcceptStat stat) {
  switch (stat) {
    case AcceptStat::kSuccess:
      return "SUCCESS";
    case AcceptStat::kProgUnavail:
      return "PROG_UNAVAIL";
    case AcceptStat::kProgMismatch:
      return "PROG_MISMATCH";
    case AcceptStat::kProcUnavail:
      return "PROC_UNAVAIL";
    case AcceptStat::kGarbageArgs:
      return "GARBAGE_ARGS";
    case AcceptStat::kSystemErr:
      return "SYSTEM_ERR";
  }
  return "ACCEPT_STAT_UNKNOWN";
}

std::string_view AuthStatName(AuthStat stat) {
  switch (stat) {
    case AuthStat::kOk:
      return "AUTH_OK";
    case AuthStat::kBadCred:
      return "AUTH_BADCRED";
    case AuthStat::kRejectedCred:
      return "AUTH_REJECTEDCRED";
    case AuthStat::kBadVerf:
      return "AUTH_BADVERF";
    case AuthStat::kRejectedVerf:
      return "AUTH_REJECTEDVERF";
    case AuthStat::kTooWeak:
      return "AUTH_TOOWEAK";
    case AuthStat::kInvalidResp:
      return "AUTH_INVALIDRESP";
    case AuthStat::kFailed:
      return "AUTH_FAILED";
  }
  return "AUTH_STAT_UNKNOWN";
}

// ---- generated-XDR helpers ----

Result<std::vector<uint8_t>> XdrEncode(XdrProc proc, const void* object) {
  // The xdr routines take a non-const pointer for every direction; in
  // XDR_ENCODE mode they only read the object.
  void* obj = const_cast<void*>(object);
  unsigned long size = xdr_sizeof(proc, obj);
  std::vector<uint8_t> out(size);
  XDR xdrs;
  // xdr_sizeof yields 0 both for an empty encoding (xdr_void) and for an
  // object that does not encode; encoding into the empty buffer tells them
  // apart.
  xdrmem_create(&xdrs, reinterpret_cast<char*>(out.data()), static_cast<u_int>(size), XDR_ENCODE);
  bool ok = proc(&xdrs, obj) != 0;
  u_int used = xdr_getpos(&xdrs);
  xdr_destroy(&xdrs);
  if (!ok) return Status::InvalidArgument("XDR encode failed (field over its limit?)");
  out.resize(used);
  return out;
}

Status XdrDecodeInto(XdrProc proc, std::span<const uint8_t> bytes, void* object) {
  XDR xdrs;
  // XDR_DECODE never writes to the buffer.
  xdrmem_create(&xdrs, const_cast<char*>(reinterpret_cast<const char*>(bytes.data())),
                static_cast<u_int>(bytes.size()), XDR_DECODE);
  bool ok = proc(&xdrs, object) != 0;
  xdr_destroy(&xdrs);
  if (!ok) {
    XdrFree(proc, object);
    return Status::InvalidArgument("XDR decode failed");
  }
  return Status::Ok();
}

void XdrFree(XdrProc proc, void* object) { xdr_free(proc, object); }

}  // namespace nfsrec::rpc
