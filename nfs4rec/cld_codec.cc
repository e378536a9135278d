#include "nfs4rec/cld_codec.h"

#include <cstring>

#include "common/base/logging.h"

namespace nfsrec::nfs4rec {
namespace {

constexpr size_t kOffVersion = 0;
constexpr size_t kOffCommand = 1;
constexpr size_t kOffStatus = 2;
constexpr size_t kOffXid = 4;
constexpr size_t kOffUnion = kCldHeaderSize;
// Inside cm_u:
constexpr size_t kOffNameLen = kOffUnion;                  // u16
constexpr size_t kOffNameData = kOffUnion + 2;             // 1024 bytes
constexpr size_t kOffPrincLen = kOffUnion + kCldNameSize;  // u8 (v2), 1034
constexpr size_t kOffPrincData = kOffPrincLen + 1;         // 32 bytes, 1035
constexpr size_t kOffGraceTime = kOffUnion;                // s64 (v1)
constexpr size_t kOffMaxVersion = kOffUnion;               // u8

template <typename T>
T Load(std::span<const uint8_t> b, size_t off) {
  T v;
  std::memcpy(&v, b.data() + off, sizeof(T));
  return v;
}

template <typename T>
void Store(std::vector<uint8_t>& b, size_t off, T v) {
  std::memcpy(b.data() + off, &v, sizeof(T));
}

void PutHeader(std::vector<uint8_t>& b, const CldMessage& m) {
  b[kOffVersion] = m.version;
  b[kOffCommand] = m.command;
  Store<int16_t>(b, kOffStatus, m.status);
  Store<uint32_t>(b, kOffXid, m.xid);
}

CldMessage GetHeader(std::span<const uint8_t> b) {
  CldMessage m;
  m.version = b[kOffVersion];
  m.command = b[kOffCommand];
  m.status = Load<int16_t>(b, kOffStatus);
  m.xid = Load<uint32_t>(b, kOffXid);
  return m;
}

Status PutName(std::vector<uint8_t>& b, const std::string& name) {
  if (name.size() > kCldNameMax) {
    return Status::InvalidArgument(
        StrCat("cld name of ", name.size(), " bytes exceeds ", kCldNameMax));
  }
  Store<uint16_t>(b, kOffNameLen, static_cast<uint16_t>(name.size()));
  std::memcpy(b.data() + kOffNameData, name.data(), name.size());
  return Status::Ok();
}

Result<std::string> GetName(std::span<const uint8_t> b) {
  uint16_t len = Load<uint16_t>(b, kOffNameLen);
  if (len > kCldNameMax) {
    return Status::InvalidArgument(StrCat("cld cn_len ", len, " exceeds ", kCldNameMax));
  }
  return std::string(reinterpret_cast<const char*>(b.data() + kOffNameData), len);
}

Status PutPrincHash(std::vector<uint8_t>& b, const std::string& hash) {
  if (hash.size() > kCldPrincHashSize) {
    return Status::InvalidArgument(
        StrCat("cld princhash of ", hash.size(), " bytes exceeds ", kCldPrincHashSize));
  }
  b[kOffPrincLen] = static_cast<uint8_t>(hash.size());
  std::memcpy(b.data() + kOffPrincData, hash.data(), hash.size());
  return Status::Ok();
}

Result<std::string> GetPrincHash(std::span<const uint8_t> b) {
  uint8_t len = b[kOffPrincLen];
  if (len > kCldPrincHashSize) {
    return Status::InvalidArgument(StrCat("cld cp_len ", int{len}, " exceeds ", kCldPrincHashSize));
  }
  return std::string(reinterpret_cast<const char*>(b.data() + kOffPrincData), len);
}

bool IsInProgressRecord(const CldMessage& m) {
  return m.Is(CldCommand::kGraceStart) && m.status == kCldEInProgress;
}

Status CheckSize(std::span<const uint8_t> bytes, size_t want, uint8_t version) {
  if (bytes.size() != want) {
    return Status::InvalidArgument(
        StrCat("cld v", int{version}, " message has ", bytes.size(), " bytes, expected ", want));
  }
  return Status::Ok();
}

// ---- version 1 (struct cld_msg, 1034 bytes) ----
// Twin of the version 2 functions below, by design: each version has its
// own layout and its own per-command fields, and the kernel's two structs
// evolve apart, so each is encoded and decoded on its own.

Result<CldMessage> DecodeUpcallV1(std::span<const uint8_t> b) {
  NFSREC_RETURN_IF_ERROR(CheckSize(b, kCldMsgV1Size, kCldVersion1));
  CldMessage m = GetHeader(b);
  switch (static_cast<CldCommand>(m.command)) {
    case CldCommand::kCreate:
    case CldCommand::kRemove:
    case CldCommand::kCheck: {
      NFSREC_ASSIGN_OR_RETURN(m.name, GetName(b));
      break;
    }
    case CldCommand::kGraceDone:
      m.gracetime = Load<int64_t>(b, kOffGraceTime);
      break;
    default:
      break;
  }
  return m;
}

Result<std::vector<uint8_t>> EncodeDowncallV1(const CldMessage& m) {
  std::vector<uint8_t> b(kCldMsgV1Size, 0);
  PutHeader(b, m);
  if (m.Is(CldCommand::kGetVersion) && m.status == 0) {
    b[kOffMaxVersion] = m.max_version;
  } else if (IsInProgressRecord(m)) {
    NFSREC_RETURN_IF_ERROR(PutName(b, m.name));
  }
  return b;
}

Result<std::vector<uint8_t>> EncodeUpcallV1(const CldMessage& m) {
  std::vector<uint8_t> b(kCldMsgV1Size, 0);
  PutHeader(b, m);
  switch (static_cast<CldCommand>(m.command)) {
    case CldCommand::kCreate:
    case CldCommand::kRemove:
    case CldCommand::kCheck:
      NFSREC_RETURN_IF_ERROR(PutName(b, m.name));
      break;
    case CldCommand::kGraceDone:
      Store<int64_t>(b, kOffGraceTime, m.gracetime);
      break;
    default:
      break;
  }
  return b;
}

Result<CldMessage> DecodeDowncallV1(std::span<const uint8_t> b) {
  NFSREC_RETURN_IF_ERROR(CheckSize(b, kCldMsgV1Size, kCldVersion1));
  CldMessage m = GetHeader(b);
  if (m.Is(CldCommand::kGetVersion) && m.status == 0) {
    m.max_version = b[kOffMaxVersion];
  } else if (IsInProgressRecord(m)) {
    NFSREC_ASSIGN_OR_RETURN(m.name, GetName(b));
  }
  return m;
}

// ---- version 2 (struct cld_msg_v2, 1067 bytes) ----
// Twin of the version 1 functions above, by design (see there).

Result<CldMessage> DecodeUpcallV2(std::span<const uint8_t> b) {
  NFSREC_RETURN_IF_ERROR(CheckSize(b, kCldMsgV2Size, kCldVersion2));
  CldMessage m = GetHeader(b);
  switch (static_cast<CldCommand>(m.command)) {
    case CldCommand::kCreate: {
      NFSREC_ASSIGN_OR_RETURN(m.name, GetName(b));
      NFSREC_ASSIGN_OR_RETURN(m.princhash, GetPrincHash(b));
      break;
    }
    case CldCommand::kRemove:
    case CldCommand::kCheck: {
      NFSREC_ASSIGN_OR_RETURN(m.name, GetName(b));
      break;
    }
    default:
      break;
  }
  return m;
}

Result<std::vector<uint8_t>> EncodeDowncallV2(const CldMessage& m) {
  std::vector<uint8_t> b(kCldMsgV2Size, 0);
  PutHeader(b, m);
  if (m.Is(CldCommand::kGetVersion) && m.status == 0) {
    b[kOffMaxVersion] = m.max_version;
  } else if (IsInProgressRecord(m)) {
    NFSREC_RETURN_IF_ERROR(PutName(b, m.name));
    NFSREC_RETURN_IF_ERROR(PutPrincHash(b, m.princhash));
  }
  return b;
}

Result<std::vector<uint8_t>> EncodeUpcallV2(const CldMessage& m) {
  std::vector<uint8_t> b(kCldMsgV2Size, 0);
  PutHeader(b, m);
  switch (static_cast<CldCommand>(m.command)) {
    case CldCommand::kCreate:
      NFSREC_RETURN_IF_ERROR(PutName(b, m.name));
      NFSREC_RETURN_IF_ERROR(PutPrincHash(b, m.princhash));
      break;
    case CldCommand::kRemove:
    case CldCommand::kCheck:
      NFSREC_RETURN_IF_ERROR(PutName(b, m.name));
      break;
    default:
      break;
  }
  return b;
}

Result<CldMessage> DecodeDowncallV2(std::span<const uint8_t> b) {
  NFSREC_RETURN_IF_ERROR(CheckSize(b, kCldMsgV2Size, kCldVersion2));
  CldMessage m = GetHeader(b);
  if (m.Is(CldCommand::kGetVersion) && m.status == 0) {
    m.max_version = b[kOffMaxVersion];
  } else if (IsInProgressRecord(m)) {
    NFSREC_ASSIGN_OR_RETURN(m.name, GetName(b));
    NFSREC_ASSIGN_OR_RETURN(m.princhash, GetPrincHash(b));
  }
  return m;
}

Status UnknownVersion(uint8_t version) {
  return Status::InvalidArgument(StrCat("unsupported cld upcall version ", int{version}));
}

}  // namespace

Result<size_t> CldMessageSize(uint8_t version) {
  switch (version) {
    case kCldVersion1:
      return kCldMsgV1Size;
    case kCldVersion2:
      return kCldMsgV2Size;
    default:
      return UnknownVersion(version);
  }
}

Result<CldHeader> DecodeCldHeader(std::span<const uint8_t> bytes) {
  if (bytes.size() < kCldHeaderSize) {
    return Status::InvalidArgument(StrCat("cld header needs 8 bytes, got ", bytes.size()));
  }
  CldMessage m = GetHeader(bytes);
  return CldHeader{m.version, m.command, m.status, m.xid};
}

Result<CldMessage> DecodeCldUpcall(std::span<const uint8_t> bytes) {
  NFSREC_ASSIGN_OR_RETURN(const CldHeader h, DecodeCldHeader(bytes));
  switch (h.version) {
    case kCldVersion1:
      return DecodeUpcallV1(bytes);
    case kCldVersion2:
      return DecodeUpcallV2(bytes);
    default:
      return UnknownVersion(h.version);
  }
}

Result<std::vector<uint8_t>> EncodeCldDowncall(const CldMessage& msg) {
  if (IsInProgressRecord(msg) && msg.name.empty()) {
    return Status::InvalidArgument("refusing to encode a GraceStart record with an empty name");
  }
  switch (msg.version) {
    case kCldVersion1:
      return EncodeDowncallV1(msg);
    case kCldVersion2:
      return EncodeDowncallV2(msg);
    default:
      return UnknownVersion(msg.version);
  }
}

Result<std::vector<uint8_t>> EncodeCldUpcall(const CldMessage& msg) {
  switch (msg.version) {
    case kCldVersion1:
      return EncodeUpcallV1(msg);
    case kCldVersion2:
      return EncodeUpcallV2(msg);
    default:
      return UnknownVersion(msg.version);
  }
}

Result<CldMessage> DecodeCldDowncall(std::span<const uint8_t> bytes, uint8_t kernel_version) {
  switch (kernel_version) {
    case kCldVersion1:
      return DecodeDowncallV1(bytes);
    case kCldVersion2:
      return DecodeDowncallV2(bytes);
    default:
      return UnknownVersion(kernel_version);
  }
}

std::string CldCommandName(uint8_t command) {
  switch (command) {
    case static_cast<uint8_t>(CldCommand::kCreate):
      return "Create";
    case static_cast<uint8_t>(CldCommand::kRemove):
      return "Remove";
    case static_cast<uint8_t>(CldCommand::kCheck):
      return "Check";
    case static_cast<uint8_t>(CldCommand::kGraceDone):
      return "GraceDone";
    case static_cast<uint8_t>(CldCommand::kGraceStart):
      return "GraceStart";
    case static_cast<uint8_t>(CldCommand::kGetVersion):
      return "GetVersion";
    default:
      return StrCat("cmd#", int{command});
  }
}

}  // namespace nfsrec::nfs4rec
