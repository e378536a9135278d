// ClusterGrace: one instance's part in the cluster-wide grace on etcd
// (Ganesha rados_cluster's epochs, with leases instead of an administrator).
//
// Keys (cluster/keys.h): P/grace {current C, recovery R}, R=0 meaning no
// cluster grace; P/flags/<I> {need, enforcing, node}, bound to the owner's
// lease, so a dead node's flags go when its lease expires; P/members/<I>
// and P/hold (below).
//
// Every change is one Txn over a snapshot read at one revision (P/grace and
// P/flags/ read together): it compares P/grace's mod_revision with what was
// read, that P/hold did not change and that no key under P/flags/ changed since (plus the
// instance's fence, when given), and re-reads and decides again when a compare fails. The
// decisions, made from that snapshot and this instance's own wish:
//  - Start: flag need (offered > 0) and enforcing; with R=0 and need, start
//    a grace: R=C, C=C+1; else join the running one.
//  - Whenever, after this instance's change, no flag says need and R!=0:
//    write R=0 in the same Txn.  So the instance that clears the last need
//    lifts the grace, and, when a flag key disappears (its owner's lease
//    expired), any instance that sees it does (the CAS lets exactly one
//    write win).
//  - Another writer (nfsrecctl cluster lift) clearing this instance's need
//    is obeyed, never undone.
//  - Members (P/members/<I>, no lease) are the instances that ever took
//    part.  A flag that goes with its lease releases the grace (its node
//    died), but after a site-wide power loss the members that have not
//    started again have no flag, or one a dead lease still keeps.  So an
//    instance that starts or joins a grace writes every other member (and
//    those already awaited) into P/hold, bound to a fresh lease of
//    hold_time of its own, and the grace is not lifted while one is left.  Every
//    instance that has started (Start) in this process takes itself off
//    when it sees itself there, the live ones at once; the last deletes
//    P/hold; the lease ends the wait for members that do not come back.
//    So the first instance back cannot end grace, and serve new locks on
//    the shared file system, while another's clients have not had their
//    chance to reclaim; at worst every kernel runs its own grace timer.
// Both keys are watched; every change (a delete included) triggers a new
// snapshot and decision; a compacted or cancelled watch is restarted from
// the next snapshot.  Failed compares are retried at once up to
// max_cas_attempts times in a row, then after retry_delay; so are
// Unavailable answers (a write's unknown outcome is settled by the
// re-read).  Each decision is logged once, in words.
//
// Loop thread only.  `client`, `scheduler` and `log` outlive it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cluster/grace_port.h"
#include "cluster/keys.h"
#include "common/base/clock.h"
#include "common/base/liveness.h"
#include "common/base/logging.h"
#include "common/store/etcd_client.h"

namespace nfsrec::cluster {

struct ClusterGraceOptions {
  std::string cluster;  // valid names (keys.h)
  std::string instance;
  std::string node;
  etcd::LeaseId lease = 0;             // the flag key is bound to it (InstanceLock::lease_id)
  std::optional<etcd::Compare> fence;  // added to every write (InstanceLock::fence)
  // How long a grace started here waits for members that have not started
  // (P/hold's lease); zero: it does not wait for them.
  Duration hold_time = Duration::zero();
  int max_cas_attempts = 8;
  Duration retry_delay = std::chrono::milliseconds(500);
};

class ClusterGrace final : public ClusterGracePort {
 public:
  ClusterGrace(etcd::Client& client, Scheduler& scheduler, Logger& log,
               ClusterGraceOptions options);
  ~ClusterGrace() override;
  ClusterGrace(const ClusterGrace&) = delete;
  ClusterGrace& operator=(const ClusterGrace&) = delete;

  // Reads the state and starts watching.  Before any Start this instance
  // writes nothing but still lifts a grace that nobody needs any more.
  void Run();

  void Start(uint64_t offered) override;
  void LocalRecoveryDone() override;
  void KernelGraceEnded() override;
  void WhenLifted(Callback<void()> lifted) override;

  // The last state seen (snapshot, watch or own write).
  const GraceValue& grace() const { return grace_; }
  // This instance's wish for its flag; none before Start.
  const std::optional<FlagsValue>& flag() const { return want_; }
  // Txns that failed a compare and were decided again.
  uint64_t cas_conflicts() const { return cas_conflicts_; }
  // R=0 writes made by this instance.
  uint64_t lifts_written() const { return lifts_written_; }

 private:
  struct Snapshot {
    int64_t revision = 0;
    GraceValue grace;
    int64_t grace_mod_revision = 0;  // 0: no key
    std::map<std::string, FlagsValue> flags;
    std::map<std::string, int64_t> flag_mod_revisions;
    std::map<std::string, std::string> members;  // instance -> node ("" if unreadable)
    std::optional<HoldValue> hold;
    int64_t hold_mod_revision = 0;  // 0: no key
    etcd::LeaseId hold_lease = 0;
  };

  void Reconcile();
  void ReadSnapshot();
  void OnSnapshot(Result<etcd::TxnResponse> r);
  Result<Snapshot> ParseSnapshot(const etcd::TxnResponse& r);
  void Decide(Snapshot snap);
  void GrantHold();
  // The members the running grace of `snap` still waits for.
  std::vector<std::string> Awaiting(const Snapshot& snap) const;
  void OnWritten(Snapshot snap, GraceValue wrote, std::optional<FlagsValue> wrote_flag,
                 bool started, const std::string& lift_reason, uint64_t round,
                 Result<etcd::TxnResponse> r);
  void Settled(Snapshot snap, uint64_t round);
  void RetryLater(const Status& why);
  bool LiftedNow() const;
  void StartWatches(int64_t from_revision);
  void OnGraceEvents(const std::vector<etcd::Event>& events);
  void OnWatchError(const etcd::WatchError& e);
  void Observe(const Snapshot& snap);
  void LogWaiting(const Snapshot& snap);
  void FireLifted();
  std::string LiftReason(const Snapshot& snap) const;

  etcd::Client& client_;
  Scheduler& scheduler_;
  Logger& log_;
  ClusterGraceOptions options_;
  const std::string grace_key_;
  const std::string flags_prefix_;
  const std::string flag_key_;
  const std::string members_prefix_;
  const std::string member_key_;
  const std::string hold_key_;

  std::optional<FlagsValue> want_;
  uint64_t round_ = 0;  // Start calls so far
  bool start_pending_ = false;
  uint64_t offered_ = 0;
  // The revision of this round's first own write (0: none yet); a later
  // change of the flag to need=false is another writer's.
  int64_t round_written_revision_ = 0;
  std::string own_reason_;  // why this instance's need went, for the lift line

  GraceValue grace_;
  std::optional<Snapshot> last_;  // the previous snapshot
  std::vector<Callback<void()>> lifted_;
  std::string waiting_logged_;
  std::set<std::string> bad_flags_logged_;

  bool running_ = false;
  bool busy_ = false;
  bool again_ = false;
  int attempts_ = 0;
  bool retry_logged_ = false;
  Scheduler::TimerId retry_timer_ = 0;
  bool restart_watches_ = true;
  std::unique_ptr<etcd::Watch> grace_watch_;
  std::unique_ptr<etcd::Watch> flags_watch_;
  std::unique_ptr<etcd::Watch> hold_watch_;
  etcd::LeaseId hold_lease_ = 0;  // granted for this round's grace start
  uint64_t cas_conflicts_ = 0;
  uint64_t lifts_written_ = 0;
  Liveness liveness_;  // last: dies first
};

}  // namespace nfsrec::cluster
