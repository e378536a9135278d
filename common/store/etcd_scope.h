// EtcdScope: where an etcd-backed store keeps its keys and how it writes
// them.  The stores of one instance share the client and the fence (the
// compare on the instance's owner key, P/instances/<I>/owner) and each has
// its own prefix below P/instances/<I>/ (nsm/, v4/).
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "common/store/etcd_client.h"
#include "common/store/etcd_types.h"

namespace nfsrec {

struct EtcdScope {
  // Loop thread; outlives the store.
  etcd::Client* client = nullptr;
  // e.g. "/nfsrec/c1/instances/i1/nsm/", ends with '/'.
  std::string prefix;
  // Added to every write Txn; none in tests that do not need it.
  std::optional<etcd::Compare> fence;
  // etcd's default --max-txn-ops.
  size_t max_txn_ops = 128;
  // Under etcd's default --max-request-bytes (1.5 MiB).
  size_t max_txn_bytes = 1 << 20;
};

}  // namespace nfsrec
