// InstanceLock: this process's ownership of one instance in the cluster.
//
// It grants an etcd lease (`lease_ttl` seconds) and keeps it alive
// (etcd::Lease), then takes P/instances/<I>/owner with a Txn that holds
// only if the key does not exist (version 0), putting the owner value
// bound to the lease.  While another lease holds the key it watches the key
// until it is deleted (that owner's lease expired or was revoked), logging
// once per holder who it waits for.  A write whose outcome was unknown is
// recognised on the retry: a key held by our own lease is ours.
//
// The owner key's create_revision is the fencing token: fence() is the
// compare that every store write adds to its Txn, so that once another
// process took the instance over, nothing this one sends is applied.
//
// on_lost runs once, with the reason, when the instance is no longer this
// process's: the lease was lost (expired, revoked, or not renewed in time)
// or the owner key was deleted or replaced (an administrator).  The daemon
// then exits non-zero, never keeps serving.  Before the key is held a lost
// lease is replaced by a new one instead.
//
// Loop thread only.  `client`, `scheduler` and `log` outlive it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "cluster/keys.h"
#include "common/base/callback.h"
#include "common/base/clock.h"
#include "common/base/liveness.h"
#include "common/base/logging.h"
#include "common/store/etcd_client.h"

namespace nfsrec::cluster {

struct InstanceLockOptions {
  std::string cluster;  // valid names (keys.h)
  std::string instance;
  OwnerValue owner;                                // written to the owner key
  int64_t lease_ttl = 10;                          // seconds ([nfsrecd] cluster-lease-time)
  Duration retry_delay = std::chrono::seconds(1);  // after etcd did not answer
};

class InstanceLock {
 public:
  InstanceLock(etcd::Client& client, Scheduler& scheduler, Logger& log, InstanceLockOptions options,
               Callback<void(Status)> on_lost);
  ~InstanceLock();
  InstanceLock(const InstanceLock&) = delete;
  InstanceLock& operator=(const InstanceLock&) = delete;

  // Takes the instance, waiting as long as another owner holds it; `done`
  // runs once: OK when held, or the first error that is not Unavailable
  // (Unavailable is retried every retry_delay).  Call once.
  void Acquire(Callback<void(Status)> done);

  bool held() const { return held_; }
  // Valid while held().
  etcd::LeaseId lease_id() const { return lease_ ? lease_->id() : 0; }
  int64_t token() const { return token_; }
  // CreateRevision(owner key) == token().
  etcd::Compare fence() const;
  const std::string& owner_key() const { return owner_key_; }

  // Revokes the lease: the owner key and every key bound to the lease go at
  // once.  on_lost does not run.  `done` runs once.
  void Release(Callback<void(Status)> done);

 private:
  void Grant();
  void TryTake();
  void OnTake(Result<etcd::TxnResponse> r);
  void WaitFor(const etcd::KeyValue& holder, int64_t revision);
  void WatchOwn(int64_t from_revision);
  void OnOwnEvents(const std::vector<etcd::Event>& events);
  void Retry(const Status& why, void (InstanceLock::*step)());
  void OnLeaseLost(Status why);
  void Lost(Status why);

  etcd::Client& client_;
  Scheduler& scheduler_;
  Logger& log_;
  InstanceLockOptions options_;
  const std::string owner_key_;
  Callback<void(Status)> on_lost_;
  Callback<void(Status)> acquired_;
  std::unique_ptr<etcd::Lease> lease_;
  std::unique_ptr<etcd::Watch> watch_;
  bool held_ = false;
  bool over_ = false;  // lost or released
  int64_t token_ = 0;
  std::string waiting_for_;  // the holder last logged
  bool retry_logged_ = false;
  Scheduler::TimerId retry_timer_ = 0;
  Liveness liveness_;  // last: dies first
};

}  // namespace nfsrec::cluster
