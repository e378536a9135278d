// The JSON of etcd's v3 gRPC gateway (etcd 3.4 serves it at /v3/...), both
// ways.  The format, as etcd 3.4.23 writes and reads it:
//  - one JSON object per request body and per unary answer; field names as
//    in rpc.proto (snake_case; "ID" and "TTL" in lease messages; the
//    maintenance status answer uses camelCase: dbSize, raftIndex);
//  - bytes fields (key, value, range_end) are base64 (RFC 4648, padded);
//  - int64/uint64 are JSON strings ("42"); numbers are accepted too;
//  - fields at their zero value are left out (false, 0, "", PUT events'
//    "type"), so a missing field reads as zero;
//  - enums by name: Compare "target" VERSION|CREATE|MOD|VALUE|LEASE,
//    "result" EQUAL|GREATER|LESS|NOT_EQUAL; Event "type" PUT|DELETE;
//  - an error: an HTTP status other than 200 and
//    {"error": text, "message": text, "code": gRPC code};
//  - streams (/v3/watch, /v3/lease/keepalive): one {"result": message}
//    object per line ("\n" after each), or {"error": {...}} on failure.
// Decoders never throw; a malformed answer is Status::Corruption.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"
#include "common/store/etcd_types.h"

namespace nfsrec::etcd::codec {

std::string Base64Encode(std::string_view bytes);
Result<std::string> Base64Decode(std::string_view text);

std::string EncodeRange(const RangeRequest& r);
std::string EncodePut(const PutRequest& r);
std::string EncodeDelete(const DeleteRequest& r);
std::string EncodeTxn(const TxnRequest& r);
std::string EncodeLeaseGrant(int64_t ttl_seconds);
// {"ID": id}: lease revoke and keep-alive.
std::string EncodeLeaseId(LeaseId id);
std::string EncodeTimeToLive(LeaseId id, bool keys);
std::string EncodeCompact(int64_t revision, bool physical);
// A watch create_request; start_revision 0 means "from now".
std::string EncodeWatchCreate(std::string_view key, std::string_view range_end,
                              int64_t start_revision, bool prev_kv);

Result<RangeResponse> DecodeRange(std::string_view body);
Result<PutResponse> DecodePut(std::string_view body);
Result<DeleteResponse> DecodeDelete(std::string_view body);
Result<TxnResponse> DecodeTxn(std::string_view body);
Result<LeaseGrant> DecodeLeaseGrant(std::string_view body);
Result<LeaseTtl> DecodeTimeToLive(std::string_view body);
Result<MemberStatus> DecodeMemberStatus(std::string_view body);
Result<Header> DecodeHeaderOnly(std::string_view body);
// One line of /v3/lease/keepalive: ttl <= 0 means the lease is gone.
Result<LeaseTtl> DecodeKeepAlive(std::string_view line);

// An answer with an HTTP status other than 200, as a Status by its gRPC
// code: Unavailable (14, and 4 DeadlineExceeded: no leader, request timed
// out, leader changed; the write may still commit), NotFound (5: lease
// not found), InvalidArgument (3, 9, 11: compacted or future revision),
// PermissionDenied (7, 16), AlreadyExists (6), Busy (8), else IOError.
Status DecodeError(long http_status, std::string_view body);

struct WatchMessage {
  Header header;
  int64_t watch_id = 0;
  bool created = false;
  bool canceled = false;
  int64_t compact_revision = 0;  // set when canceled because it was compacted
  std::string cancel_reason;
  std::vector<Event> events;
};
// One line of the /v3/watch stream; an {"error": ...} line is its Status.
Result<WatchMessage> DecodeWatchMessage(std::string_view line);

// Splits a stream into its lines (one JSON object each), across reads.
class LineSplitter {
 public:
  void Append(std::string_view bytes) { buffer_.append(bytes); }
  // The next complete line without its "\n"; false if none yet.
  bool Next(std::string* line);
  size_t buffered() const { return buffer_.size(); }

 private:
  std::string buffer_;
  size_t start_ = 0;
};

}  // namespace nfsrec::etcd::codec
