// NSM wire codec: XDR bytes <-> plain values, using the routines that rpcgen
// generates from rpcgen/sm_inter.x.  Handlers never see generated types.
//
// Decoders fail (InvalidArgument) on truncated or malformed XDR and on names
// longer than SM_MAXSTRLEN; the RPC layer answers those with GARBAGE_ARGS.
// Semantic checks (caller, my_prog, '/' in names, ...) belong to the service,
// because NSM defines the order in which they apply.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/base/result.h"
#include "statd/monitor.h"

namespace nfsrec::statd {

inline constexpr uint32_t kNsmProgram = 100024;
inline constexpr uint32_t kNsmVersion = 1;
inline constexpr uint32_t kNlmProgram = 100021;
inline constexpr int32_t kNlmProcSmNotify = 16;   // NLMPROC_NSM_NOTIFY (v1-3)
inline constexpr int32_t kNlm4ProcSmNotify = 24;  // accepted by statd as well
inline constexpr size_t kMaxNameLen = 1024;       // SM_MAXSTRLEN

enum class NsmProc : uint32_t {
  kNull = 0,
  kStat = 1,
  kMon = 2,
  kUnmon = 3,
  kUnmonAll = 4,
  kSimuCrash = 5,
  kNotify = 6,
};

struct MyId {
  std::string my_name;
  int32_t my_prog = 0;
  int32_t my_vers = 0;
  int32_t my_proc = 0;
  bool operator==(const MyId&) const = default;
};

struct MonArgs {
  MonitorKey id;  // mon_name + my_id
  Cookie priv{};
  bool operator==(const MonArgs&) const = default;
};

struct NotifyArgs {  // stat_chge
  std::string mon_name;
  int32_t state = 0;
  bool operator==(const NotifyArgs&) const = default;
};

struct StatRes {  // sm_stat_res
  bool success = false;
  int32_t state = 0;
  bool operator==(const StatRes&) const = default;
};

struct CallbackArgs {  // status: statd -> lockd
  std::string mon_name;
  int32_t state = 0;
  Cookie priv{};
  bool operator==(const CallbackArgs&) const = default;
};

using Bytes = std::vector<uint8_t>;
using ByteSpan = std::span<const uint8_t>;

Result<std::string> DecodeSmName(ByteSpan in);
Result<MonArgs> DecodeMon(ByteSpan in);
Result<MonitorKey> DecodeMonId(ByteSpan in);
Result<MyId> DecodeMyId(ByteSpan in);
Result<NotifyArgs> DecodeStatChge(ByteSpan in);
Result<StatRes> DecodeSmStatRes(ByteSpan in);
Result<int32_t> DecodeSmStat(ByteSpan in);
Result<CallbackArgs> DecodeStatus(ByteSpan in);

// Encoders return InvalidArgument only for names over SM_MAXSTRLEN.
Result<Bytes> EncodeSmName(const std::string& mon_name);
Result<Bytes> EncodeMon(const MonArgs& args);
Result<Bytes> EncodeMonId(const MonitorKey& id);
Result<Bytes> EncodeMyId(const MyId& id);
Result<Bytes> EncodeStatChge(const NotifyArgs& args);
Bytes EncodeSmStatRes(const StatRes& res);
Bytes EncodeSmStat(int32_t state);
Result<Bytes> EncodeStatus(const CallbackArgs& args);

}  // namespace nfsrec::statd
