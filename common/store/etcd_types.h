// Plain values of etcd's v3 key-value, lease and watch API, as the etcd
// client (etcd_client.h) takes and returns them.  Keys and values are byte
// strings (any bytes); revisions, versions, lease ids and TTLs are int64, as
// in etcd.  Field meanings are etcd's (rpc.proto of etcd 3.4).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace nfsrec::etcd {

using LeaseId = int64_t;

// The smallest key after every key that starts with `prefix`; "\0" (every
// key) for an empty prefix.  As range_end it makes a range a prefix scan.
std::string PrefixEnd(std::string_view prefix);

struct Header {
  uint64_t cluster_id = 0;
  uint64_t member_id = 0;
  int64_t revision = 0;  // the store's revision when the request was served
  uint64_t raft_term = 0;
};

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;  // 1 on creation, +1 per put; a deleted key has none
  LeaseId lease = 0;
};

// [key, range_end); an empty range_end means the single key.
struct RangeRequest {
  std::string key;
  std::string range_end;
  int64_t limit = 0;     // 0: no limit
  int64_t revision = 0;  // 0: the newest; else a past (not compacted) revision
  // false (default): linearizable, answered only through the raft leader,
  // so it fails (Unavailable) without quorum and never returns stale data.
  // true: the member answers from its own copy, also without quorum, and
  // may be behind the cluster.
  bool serializable = false;
  bool keys_only = false;
  bool count_only = false;

  static RangeRequest Key(std::string key) {
    RangeRequest r;
    r.key = std::move(key);
    return r;
  }
  static RangeRequest Prefix(std::string prefix) {
    RangeRequest r;
    r.range_end = PrefixEnd(prefix);
    r.key = std::move(prefix);
    return r;
  }
};

struct RangeResponse {
  Header header;
  std::vector<KeyValue> kvs;
  bool more = false;  // limit cut the answer short
  int64_t count = 0;  // keys in the range
};

struct PutRequest {
  std::string key;
  std::string value;
  LeaseId lease = 0;  // 0: none; else the key is deleted when the lease ends
  bool prev_kv = false;
};

struct PutResponse {
  Header header;  // header.revision: the revision of this write
  bool has_prev_kv = false;
  KeyValue prev_kv;
};

struct DeleteRequest {
  std::string key;
  std::string range_end;
  bool prev_kv = false;

  static DeleteRequest Prefix(std::string prefix) {
    DeleteRequest r;
    r.range_end = PrefixEnd(prefix);
    r.key = std::move(prefix);
    return r;
  }
};

struct DeleteResponse {
  Header header;
  int64_t deleted = 0;
  std::vector<KeyValue> prev_kvs;
};

// One condition of a Txn, on the key (or every key of [key, range_end)).
// A key that does not exist has version, create_revision and mod_revision 0
// and lease 0, so `ModRevision(k, kEqual, 0)` means "k does not exist".
struct Compare {
  enum class Target { kVersion, kCreateRevision, kModRevision, kValue, kLease };
  enum class Op { kEqual, kGreater, kLess, kNotEqual };
  Target target = Target::kVersion;
  Op op = Op::kEqual;
  std::string key;
  std::string range_end;
  int64_t number = 0;  // version, revisions, lease
  std::string value;   // Target::kValue

  static Compare Version(std::string k, Op o, int64_t v) {
    return {Target::kVersion, o, std::move(k), {}, v, {}};
  }
  static Compare CreateRevision(std::string k, Op o, int64_t v) {
    return {Target::kCreateRevision, o, std::move(k), {}, v, {}};
  }
  static Compare ModRevision(std::string k, Op o, int64_t v) {
    return {Target::kModRevision, o, std::move(k), {}, v, {}};
  }
  static Compare Value(std::string k, Op o, std::string v) {
    return {Target::kValue, o, std::move(k), {}, 0, std::move(v)};
  }
  static Compare Lease(std::string k, Op o, LeaseId v) {
    return {Target::kLease, o, std::move(k), {}, v, {}};
  }
};

using TxnOp = std::variant<RangeRequest, PutRequest, DeleteRequest>;
using TxnOpResponse = std::variant<RangeResponse, PutResponse, DeleteResponse>;

struct TxnRequest {
  std::vector<Compare> compares;  // all must hold for `success` to run
  std::vector<TxnOp> success;
  std::vector<TxnOp> failure;
};

struct TxnResponse {
  Header header;  // header.revision: after the txn (its writes', if any)
  bool succeeded = false;
  // One per op of the branch that ran, in order.
  std::vector<TxnOpResponse> responses;
};

struct LeaseGrant {
  Header header;
  LeaseId id = 0;
  int64_t ttl = 0;  // seconds, as granted (etcd may raise a too small TTL)
};

struct LeaseTtl {
  Header header;
  LeaseId id = 0;
  int64_t ttl = -1;  // seconds left; -1: the lease does not exist
  int64_t granted_ttl = 0;
  std::vector<std::string> keys;  // with `keys` asked for
};

struct MemberStatus {
  Header header;
  std::string version;
  int64_t db_size = 0;
  uint64_t leader = 0;  // member id of the leader the member knows; 0: none
  uint64_t raft_index = 0;
  uint64_t raft_term = 0;
};

struct Event {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  KeyValue kv;  // for kDelete: the key and the deleting revision (mod_revision)
  bool has_prev_kv = false;
  KeyValue prev_kv;
};

}  // namespace nfsrec::etcd
