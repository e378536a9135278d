// The knfsd client-tracking upcall ABI ("cld", include/uapi/linux/nfsd/cld.h)
// as plain values.
//
// Wire format (all structs packed, integers in host byte order):
//
//   offset  size  field
//   0       1     cm_vers     upcall version: 1 or 2
//   1       1     cm_cmd      CldCommand
//   2       2     cm_status   s16; 0, a negative errno, or -EINPROGRESS
//   4       4     cm_xid      u32; the kernel's transaction id, echoed back
//   8       ...   cm_u        union, depends on cm_cmd and direction:
//     cld_name      { u16 cn_len; u8 cn_id[1024]; }            1026 bytes
//     cld_princhash { u8 cp_len; u8 cp_data[32]; }               33 bytes
//     cld_clntinfo  { cld_name; cld_princhash; }               1059 bytes
//     cm_gracetime  s64 (v1 only; v0 kernels send it in GraceDone)
//     cm_version    u8  (GetVersion reply)
//
//   v1 message (struct cld_msg):    1034 bytes = 8 + 1026
//   v2 message (struct cld_msg_v2): 1067 bytes = 8 + 1059
//
// Which union member is meaningful:
//   upcall   Create            v1 cm_name, v2 cm_clntinfo
//   upcall   Remove, Check     cm_name (v2 kernels use the v1 layout inside
//                              the 1067-byte buffer)
//   upcall   GraceDone         v1 cm_gracetime (v0 kernels; 0 otherwise)
//   upcall   GraceStart,
//            GetVersion        nothing
//   downcall GetVersion        cm_version
//   downcall GraceStart with
//            -EINPROGRESS      v1 cm_name, v2 cm_clntinfo (one client record)
//   downcall anything else     status only
//
// A downcall must be exactly as long as the kernel's negotiated message
// (v1 1034, v2 1067) and carry the upcall's xid; the kernel refuses any other
// size or an unknown xid with EINVAL.  One decoder and one encoder per
// version; callers see only CldMessage.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/base/result.h"

namespace nfsrec::nfs4rec {

inline constexpr size_t kCldHeaderSize = 8;
inline constexpr size_t kCldNameMax = 1024;                              // NFS4_OPAQUE_LIMIT
inline constexpr size_t kCldPrincHashSize = 32;                          // SHA256_DIGEST_SIZE
inline constexpr size_t kCldNameSize = 2 + kCldNameMax;                  // 1026
inline constexpr size_t kCldPrincHashFieldSize = 1 + kCldPrincHashSize;  // 33
inline constexpr size_t kCldMsgV1Size = kCldHeaderSize + kCldNameSize;   // 1034
inline constexpr size_t kCldMsgV2Size =
    kCldHeaderSize + kCldNameSize + kCldPrincHashFieldSize;  // 1067
// Largest message of any version; a read buffer of this size always suffices.
inline constexpr size_t kCldMsgMaxSize = kCldMsgV2Size;

inline constexpr uint8_t kCldVersion1 = 1;
inline constexpr uint8_t kCldVersion2 = 2;
// The highest version we speak; the GetVersion answer.
inline constexpr uint8_t kCldMaxVersion = kCldVersion2;

enum class CldCommand : uint8_t {
  kCreate = 0,
  kRemove = 1,
  kCheck = 2,
  kGraceDone = 3,
  kGraceStart = 4,
  kGetVersion = 5,
};

// Linux errno values as the kernel puts them on the wire (negated).
inline constexpr int16_t kCldEInProgress = -115;  // -EINPROGRESS
inline constexpr int16_t kCldEOpNotSupp = -95;    // -EOPNOTSUPP
inline constexpr int16_t kCldERemoteIo = -121;    // -EREMOTEIO
inline constexpr int16_t kCldEAcces = -13;        // -EACCES
inline constexpr int16_t kCldEInval = -22;        // -EINVAL

// One message in either direction.  `command` is kept raw so that an unknown
// command survives decoding and can be answered with -EOPNOTSUPP.
struct CldMessage {
  uint8_t version = kCldVersion1;
  uint8_t command = 0;
  int16_t status = 0;
  uint32_t xid = 0;
  std::string name;         // cn_id[0..cn_len), raw bytes
  std::string princhash;    // cp_data[0..cp_len), v2 only, 0..32 bytes
  int64_t gracetime = 0;    // v1 GraceDone upcall from a v0 kernel
  uint8_t max_version = 0;  // GetVersion downcall

  bool Is(CldCommand c) const { return command == static_cast<uint8_t>(c); }
  bool operator==(const CldMessage&) const = default;
};

struct CldHeader {
  uint8_t version = 0;
  uint8_t command = 0;
  int16_t status = 0;
  uint32_t xid = 0;
};

// Size of a whole message of this version; InvalidArgument for versions
// other than 1 and 2.
Result<size_t> CldMessageSize(uint8_t version);

// Parses the 8-byte header; InvalidArgument if fewer than 8 bytes.
Result<CldHeader> DecodeCldHeader(std::span<const uint8_t> bytes);

// Daemon side: a kernel upcall.  `bytes` must be one whole message of the
// size its header's version implies.  Fails with InvalidArgument for an
// unknown version, a wrong size, cn_len > 1024 or cp_len > 32.  An unknown
// command decodes (header only).
Result<CldMessage> DecodeCldUpcall(std::span<const uint8_t> bytes);

// Daemon side: a downcall of exactly CldMessageSize(msg.version) bytes.
// Fails with InvalidArgument for an unknown version, a name over 1024 bytes,
// a princhash over 32 bytes, and an -EINPROGRESS GraceStart record whose name
// is empty (the kernel rejects those).  A v1 record drops the princhash: v1
// cannot carry one.
Result<std::vector<uint8_t>> EncodeCldDowncall(const CldMessage& msg);

// Kernel side (the test emulator): the inverse pair.
Result<std::vector<uint8_t>> EncodeCldUpcall(const CldMessage& msg);
// `bytes` must be exactly CldMessageSize(kernel_version) long; the header's
// cm_vers is not trusted (the kernel does not read it either).
Result<CldMessage> DecodeCldDowncall(std::span<const uint8_t> bytes, uint8_t kernel_version);

// "Create", "GraceStart", ... or "cmd#N".
std::string CldCommandName(uint8_t command);

}  // namespace nfsrec::nfs4rec
