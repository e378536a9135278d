// The key layout of cluster mode on etcd, and the JSON values this folder
// owns.  Every key of a cluster sits under P = "/nfsrec/<cluster>/":
//
//   P/instances/<I>/owner    OwnerValue, bound to the owner's lease; its
//                            create_revision is the fencing token
//   P/instances/<I>/params   ParamsValue, written by the owner at start
//   P/instances/<I>/nsm/     the instance's NSM store (its own layout)
//   P/instances/<I>/v4/      the instance's NFSv4 client store (its own layout)
//   P/grace                  GraceValue: the cluster grace epochs
//   P/flags/<I>              FlagsValue, bound to the owner's lease
//   P/members/<I>            MemberValue: the instance has run in this
//                            cluster (no lease: it outlives every node)
//   P/hold                   HoldValue: members a cluster grace waits for,
//                            bound to a lease of its own (the hold time)
//
// Cluster, instance and node names are [A-Za-z0-9._-]{1,64}, so a name
// never holds '/' and every key above has exactly one meaning.
//
// Values are JSON objects.  Decoding is strict about what it reads: a value
// that is not an object, lacks a field or holds a field of the wrong type
// or out of range is Corruption naming the key; fields it does not know are
// ignored, so that a later version may add some.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"
#include "common/base/status.h"

namespace nfsrec::cluster {

inline constexpr size_t kMaxNameLength = 64;

// OK if `name` is [A-Za-z0-9._-]{1,64}; else InvalidArgument naming `what`
// ("cluster", "instance", "node").
Status ValidateName(std::string_view what, std::string_view name);

// Keys and prefixes.  Prefixes end with '/'.  The names are not checked
// here: callers validate them once (ValidateName) where they come in.
std::string ClusterPrefix(std::string_view cluster);
std::string InstancesPrefix(std::string_view cluster);
std::string InstancePrefix(std::string_view cluster, std::string_view instance);
std::string OwnerKey(std::string_view cluster, std::string_view instance);
std::string ParamsKey(std::string_view cluster, std::string_view instance);
std::string NsmPrefix(std::string_view cluster, std::string_view instance);
std::string V4Prefix(std::string_view cluster, std::string_view instance);
std::string GraceKey(std::string_view cluster);
std::string FlagsPrefix(std::string_view cluster);
std::string FlagKey(std::string_view cluster, std::string_view instance);
std::string MembersPrefix(std::string_view cluster);
std::string MemberKey(std::string_view cluster, std::string_view instance);
std::string HoldKey(std::string_view cluster);

// The instance name in `key`, a key under `prefix` (InstancesPrefix or
// FlagsPrefix): the part after the prefix up to the next '/'.  Empty if
// the key is not under the prefix.
std::string_view InstanceOfKey(std::string_view prefix, std::string_view key);

// P/instances/<I>/owner: who serves the instance.
struct OwnerValue {
  std::string node;                    // a valid name
  int64_t pid = 0;                     // > 0
  int64_t since = 0;                   // unix seconds, >= 0
  std::vector<std::string> addresses;  // the instance's service addresses, as configured
};

// P/instances/<I>/params: what must agree between the nodes that may serve
// the instance (preflight).
struct ParamsValue {
  std::string scope;       // the server scope
  int64_t lease_time = 0;  // seconds, > 0
  int64_t grace_time = 0;  // seconds, > 0
};

// P/grace: the cluster grace epochs.  recovery 0: no cluster grace; else
// recovery < current.  A missing key reads as {1, 0}.
struct GraceValue {
  uint64_t current = 1;  // >= 1
  uint64_t recovery = 0;
  bool in_grace() const { return recovery != 0; }
  bool operator==(const GraceValue&) const = default;
};

// P/flags/<I>: an instance's part in the cluster grace.
struct FlagsValue {
  bool need = false;       // it still has clients that may reclaim
  bool enforcing = false;  // its kernel is in grace
  std::string node;        // the owner's node, for the administrator
  bool operator==(const FlagsValue&) const = default;
};

// P/members/<I>: written by the instance when it takes part in a grace.
struct MemberValue {
  std::string node;  // the node it last ran on, a valid name
  bool operator==(const MemberValue&) const = default;
};

// P/hold: written for cluster grace `grace` (its current epoch) by each
// instance that starts or joins it: every other member then.  Each
// removes itself once it runs and has started; while one is left, the
// grace is not lifted (cluster_grace.h).  Bound to a lease of the hold
// time, so members that never come back hold the grace that long at most.
struct HoldValue {
  uint64_t grace = 0;                 // >= 1
  std::vector<std::string> awaiting;  // valid names, sorted
  bool operator==(const HoldValue&) const = default;
};

std::string EncodeOwner(const OwnerValue& v);
std::string EncodeParams(const ParamsValue& v);
std::string EncodeGrace(const GraceValue& v);
std::string EncodeFlags(const FlagsValue& v);
std::string EncodeMember(const MemberValue& v);
std::string EncodeHold(const HoldValue& v);

// `key` only names the value in the error.
Result<OwnerValue> DecodeOwner(std::string_view key, std::string_view value);
Result<ParamsValue> DecodeParams(std::string_view key, std::string_view value);
Result<GraceValue> DecodeGrace(std::string_view key, std::string_view value);
Result<FlagsValue> DecodeFlags(std::string_view key, std::string_view value);
Result<MemberValue> DecodeMember(std::string_view key, std::string_view value);
Result<HoldValue> DecodeHold(std::string_view key, std::string_view value);

}  // namespace nfsrec::cluster
