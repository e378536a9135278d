// ONC RPC message headers (RFC 5531) on byte buffers, and XDR helpers.
//
// This is the only place that knows the layout of an RPC call or reply
// header.  The transports (common/rpc/rpc_server.h) frame records and hand
// whole messages here; procedure arguments and results stay opaque bytes
// that the protocol codecs encode and decode with rpcgen's XDR routines
// through XdrEncode / XdrDecoded below.
//
// Layouts handled (every field a big-endian 32-bit word unless noted):
//
//   call:  xid, msg_type=0 (CALL), rpcvers=2, prog, vers, proc,
//          cred {flavor, opaque body<400>}, verf {flavor, opaque body<400>},
//          procedure arguments ...
//   reply: xid, msg_type=1 (REPLY), reply_stat, then
//          MSG_ACCEPTED (0): verf {flavor, body<400>}, accept_stat,
//              SUCCESS (0):       results ...
//              PROG_MISMATCH (2): low, high
//              otherwise:         nothing
//          MSG_DENIED (1): reject_stat,
//              RPC_MISMATCH (0):  low, high
//              AUTH_ERROR (1):    auth_stat
//
// All decoders are bounds-checked and never read past the buffer.  Nothing
// here touches sockets.  Thread-compatible (no shared state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base/result.h"

// libtirpc's XDR handle (XDR); only the .cc files include <rpc/xdr.h>.
struct __rpc_xdr;

namespace nfsrec::rpc {

inline constexpr uint32_t kRpcVersion = 2;
// RFC 5531 section 8.2: opaque_auth bodies are at most 400 bytes.
inline constexpr size_t kMaxAuthBodyBytes = 400;

// Authentication flavors this code names; any other value may appear on
// the wire and is carried as a plain number.
inline constexpr uint32_t kAuthNone = 0;
inline constexpr uint32_t kAuthSys = 1;

enum class AcceptStat : uint32_t {
  kSuccess = 0,
  kProgUnavail = 1,
  kProgMismatch = 2,
  kProcUnavail = 3,
  kGarbageArgs = 4,
  kSystemErr = 5,
};

enum class RejectStat : uint32_t {
  kRpcMismatch = 0,
  kAuthError = 1,
};

enum class AuthStat : uint32_t {
  kOk = 0,
  kBadCred = 1,
  kRejectedCred = 2,
  kBadVerf = 3,
  kRejectedVerf = 4,
  kTooWeak = 5,
  kInvalidResp = 6,
  kFailed = 7,
};

struct OpaqueAuth {
  uint32_t flavor = kAuthNone;
  std::vector<uint8_t> body;  // at most kMaxAuthBodyBytes
};

// Lowest and highest supported version, as carried by PROG_MISMATCH and
// RPC_MISMATCH replies.
struct VersionRange {
  uint32_t low = 0;
  uint32_t high = 0;
};

struct CallHeader {
  uint32_t xid = 0;
  uint32_t rpcvers = 0;
  // When rpcvers != 2 decoding stops after rpcvers (the rest of the header
  // has an unknown layout), and the fields below stay zero/empty; the
  // server answers RPC_MISMATCH using xid alone.
  uint32_t prog = 0;
  uint32_t vers = 0;
  uint32_t proc = 0;
  OpaqueAuth cred;
  OpaqueAuth verf;
  // Where the procedure arguments start in the buffer given to DecodeCall,
  // and a view of them.  The view aliases that buffer and is valid only as
  // long as it is.
  size_t args_offset = 0;
  std::span<const uint8_t> args;
};

// Decodes a call header.  Fails (InvalidArgument) on a truncated header, a
// message type other than CALL, or an auth body over 400 bytes.
Result<CallHeader> DecodeCall(std::span<const uint8_t> message);

// MSG_ACCEPTED with a null verifier.  `results` is appended verbatim after
// accept_stat (the procedure results for SUCCESS, empty otherwise).
std::vector<uint8_t> EncodeAcceptedReply(uint32_t xid, AcceptStat stat,
                                         std::span<const uint8_t> results = {});
// MSG_ACCEPTED / PROG_MISMATCH with the supported version range.
std::vector<uint8_t> EncodeAcceptedReply(uint32_t xid, AcceptStat stat, VersionRange mismatch);

// MSG_DENIED.  For RPC_MISMATCH pass the supported RPC versions (2..2); for
// AUTH_ERROR pass the auth_stat.  The other argument is ignored.
std::vector<uint8_t> EncodeRejectedReply(uint32_t xid, RejectStat stat,
                                         VersionRange rpc_versions = {kRpcVersion, kRpcVersion},
                                         AuthStat auth_stat = AuthStat::kOk);

// A CALL with rpcvers 2 and a null verifier; the credential defaults to
// AUTH_NONE.  `args` is appended verbatim.
std::vector<uint8_t> EncodeCall(uint32_t xid, uint32_t prog, uint32_t vers, uint32_t proc,
                                std::span<const uint8_t> args, const OpaqueAuth& cred = {});

struct ReplyInfo {
  uint32_t xid = 0;
  bool accepted = false;  // MSG_ACCEPTED; otherwise MSG_DENIED
  // Valid when accepted:
  OpaqueAuth verf;
  AcceptStat accept_stat = AcceptStat::kSuccess;
  // Valid when !accepted:
  RejectStat reject_stat = RejectStat::kRpcMismatch;
  AuthStat auth_stat = AuthStat::kOk;
  // PROG_MISMATCH (accepted) or RPC_MISMATCH (denied):
  VersionRange mismatch;
  // SUCCESS only: where the results start, and a view of them that aliases
  // the buffer given to DecodeReply.
  size_t results_offset = 0;
  std::span<const uint8_t> results;
};

// Decodes a reply header.  Fails (InvalidArgument) on truncation, a
// message type other than REPLY, or unknown reply/accept/reject codes.
Result<ReplyInfo> DecodeReply(std::span<const uint8_t> message);

// Reads the xid and message type of any RPC message (4+4 bytes); used to
// tell calls from replies on a shared socket.
struct MessageKind {
  uint32_t xid = 0;
  bool is_call = false;
};
Result<MessageKind> PeekMessageKind(std::span<const uint8_t> message);

// Readable names for logs: "SUCCESS", "PROG_UNAVAIL", ...
std::string_view AcceptStatName(AcceptStat stat);
std::string_view AuthStatName(AuthStat stat);

// Minimal XDR primitives for headers and small hand-built bodies (rpcbind
// queries).  Protocol structures with an .x definition use the generated
// routines through XdrEncode / XdrDecoded instead.
class XdrWriter {
 public:
  void PutUint32(uint32_t v);
  void PutInt32(int32_t v) { PutUint32(static_cast<uint32_t>(v)); }
  // Variable-length opaque / string: length word, bytes, zero padding.
  void PutOpaque(std::span<const uint8_t> bytes);
  void PutString(std::string_view s);
  // Fixed-length opaque: bytes and zero padding, no length word.
  void PutFixedOpaque(std::span<const uint8_t> bytes);
  // Already-encoded XDR, appended as is.
  void PutRaw(std::span<const uint8_t> bytes);

  const std::vector<uint8_t>& bytes() const { return buf_; }
  std::vector<uint8_t> Take() && { return std::move(buf_); }

 private:
  std::vector<uint8_t> buf_;
};

// Every Get* returns false, and leaves the output unspecified, if the
// buffer is too short or a length exceeds `max`.
class XdrReader {
 public:
  explicit XdrReader(std::span<const uint8_t> buf) : buf_(buf) {}
  bool GetUint32(uint32_t* v);
  bool GetInt32(int32_t* v);
  bool GetOpaque(size_t max, std::vector<uint8_t>* out);
  bool GetString(size_t max, std::string* out);
  bool GetFixedOpaque(size_t n, std::vector<uint8_t>* out);

  size_t offset() const { return pos_; }
  size_t remaining() const { return buf_.size() - pos_; }
  std::span<const uint8_t> rest() const { return buf_.subspan(pos_); }

 private:
  bool GetPadded(size_t n, const uint8_t** data);
  std::span<const uint8_t> buf_;
  size_t pos_ = 0;
};

// libtirpc's xdrproc_t: the untyped form of the routines rpcgen emits
// (xdr_status, xdr_sm_stat_res, ...).  Convert with AsXdrProc(xdr_foo).
using XdrProc = int (*)(struct __rpc_xdr*, ...);
template <typename Fn>
XdrProc AsXdrProc(Fn* fn) {
  // Through void(*)(), the conversion GCC accepts without
  // -Wcast-function-type; libtirpc calls the routine with (XDR*, T*).
  return reinterpret_cast<XdrProc>(reinterpret_cast<void (*)()>(fn));
}

// Encodes `*object` with `proc` into a new buffer (xdr_sizeof + xdrmem).
Result<std::vector<uint8_t>> XdrEncode(XdrProc proc, const void* object);

// Decodes `bytes` with `proc` into `*object`, which must be zeroed.  On
// failure the partially decoded object is released with xdr_free (which
// resets its pointers to null).  On success the caller owns the allocations inside
// `*object` and must xdr_free it; prefer XdrDecoded<T>.
Status XdrDecodeInto(XdrProc proc, std::span<const uint8_t> bytes, void* object);
void XdrFree(XdrProc proc, void* object);

// A decoded rpcgen structure that releases its XDR allocations (strings,
// opaques) with xdr_free when destroyed.  Move-only.
template <typename T>
class XdrDecoded {
 public:
  static Result<XdrDecoded> Decode(XdrProc proc, std::span<const uint8_t> bytes) {
    auto value = std::make_unique<T>();  // value-initialised: all zero
    NFSREC_RETURN_IF_ERROR(XdrDecodeInto(proc, bytes, value.get()));
    return XdrDecoded(proc, std::move(value));
  }

  ~XdrDecoded() {
    if (value_) XdrFree(proc_, value_.get());
  }
  XdrDecoded(XdrDecoded&& other) noexcept = default;
  XdrDecoded& operator=(XdrDecoded&& other) noexcept {
    if (this != &other) {
      if (value_) XdrFree(proc_, value_.get());
      proc_ = other.proc_;
      value_ = std::move(other.value_);
    }
    return *this;
  }
  XdrDecoded(const XdrDecoded&) = delete;
  XdrDecoded& operator=(const XdrDecoded&) = delete;

  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }
  T* operator->() { return value_.get(); }
  const T* operator->() const { return value_.get(); }

 private:
  XdrDecoded(XdrProc proc, std::unique_ptr<T> value) : proc_(proc), value_(std::move(value)) {}
  XdrProc proc_;
  std::unique_ptr<T> value_;
};

}  // namespace nfsrec::rpc
