// ClusterAdmin: what `nfsrecctl cluster` reads and changes in etcd.
//
// ReadStatus reads the cluster grace, the flags and every instance's owner and
// params, all at one revision (the first read's), so the picture is one
// consistent snapshot.  Instances are found by stepping from one instance
// prefix to the next (a one-key read each), never by listing their records.
//
// Lift and RemoveNode change the same keys as ClusterGrace, by the same
// rules: compare-and-swap on the revisions read, a bounded number of
// retries, R=0 only when no flag says need and no member is awaited
// (P/hold, cluster_grace.h).
//
// Loop thread only; every completion runs later on the loop thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cluster/keys.h"
#include "common/base/callback.h"
#include "common/base/liveness.h"
#include "common/store/etcd_client.h"

namespace nfsrec::cluster {

struct InstanceStatus {
  std::string name;
  std::optional<OwnerValue> owner;  // none: nobody serves it now
  etcd::LeaseId owner_lease = 0;
  std::optional<ParamsValue> params;
  std::optional<FlagsValue> flags;  // none: not taking part in a grace
  etcd::LeaseId flags_lease = 0;
  // Values that could not be decoded (Corruption messages naming the key).
  std::vector<std::string> problems;
};

struct NodeStatus {
  std::string node;
  std::vector<std::string> instances;  // owned now, by name
};

struct ClusterStatus {
  std::string cluster;
  int64_t revision = 0;  // the snapshot's
  GraceValue grace;
  // Members the running grace waits for (not started since the whole
  // cluster went down), until P/hold's lease ends.
  std::vector<std::string> awaiting;
  std::vector<InstanceStatus> instances;  // by name
  std::vector<NodeStatus> nodes;          // by name, from the owners
  std::vector<std::string> problems;      // an unreadable P/grace
};

struct LiftResult {
  std::vector<std::string> cleared;   // instances whose need was cleared
  std::vector<std::string> released;  // awaited members no longer waited for
  GraceValue grace;                   // after the change
  bool lifted = false;                // this call wrote R=0
  uint64_t lifted_epoch = 0;          // the lifted grace's current epoch
};

struct RemoveNodeResult {
  std::string node;
  std::vector<std::string> instances;  // whose lease was revoked
  std::vector<std::string> members;    // forgotten: last ran on the node
  int revoked = 0;                     // leases revoked (a gone one is not counted)
  LiftResult lift;                     // the lift that followed, if no need remained
};

class ClusterAdmin {
 public:
  ClusterAdmin(etcd::Client& client, std::string cluster);
  ClusterAdmin(const ClusterAdmin&) = delete;
  ClusterAdmin& operator=(const ClusterAdmin&) = delete;

  void ReadStatus(Callback<void(Result<ClusterStatus>)> done);
  // Clears need of the named instances (every instance with a flag if
  // none) and stops waiting for them if the grace awaits them (every
  // awaited member if none), and lifts the grace when no need remains.
  // NotFound if a named instance has no flag and is not awaited.
  void Lift(std::vector<std::string> instances, Callback<void(Result<LiftResult>)> done);
  // Revokes the leases of the instances whose owner (or, without owner,
  // whose flag) names `node`, after reading that it still does, then lifts
  // the grace if no need remains.  The members that last ran on the node
  // are forgotten (P/members/<I> deleted, no longer awaited): the node is
  // gone for good.  NotFound if the node owns nothing and left no member.
  void RemoveNode(std::string node, Callback<void(Result<RemoveNodeResult>)> done);

 private:
  struct StatusWalk;
  struct LiftRun;
  void WalkNext(std::shared_ptr<StatusWalk> w, std::string cursor);
  void ReadInstance(std::shared_ptr<StatusWalk> w, std::string name, std::string next_cursor);
  void FinishStatus(std::shared_ptr<StatusWalk> w);
  void LiftAttempt(std::shared_ptr<LiftRun> run);
  void RevokeNext(std::shared_ptr<RemoveNodeResult> result, std::vector<etcd::LeaseId> leases,
                  Callback<void(Result<RemoveNodeResult>)> done);
  void ForgetMembers(std::shared_ptr<RemoveNodeResult> result, std::vector<etcd::LeaseId> leases,
                     Callback<void(Result<RemoveNodeResult>)> done);

  etcd::Client& client_;
  const std::string cluster_;
  Liveness liveness_;  // last: dies first
};

}  // namespace nfsrec::cluster
