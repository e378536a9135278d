// ClusterGraceControl: the GraceControl that the composition root puts in
// front of ProcGraceControl in cluster mode, so that this instance's
// kernel grace ends early only once the cluster grace is lifted.
//
//  - GraceStarted(offered): forwarded, then ClusterGracePort::Start.
//  - EndGrace(done) (every offered client reclaimed): LocalRecoveryDone;
//    the inner EndGrace runs, and `done` gets its answer, once the cluster
//    grace is lifted.  A GraceDone from the kernel meanwhile answers `done`
//    with Busy (grace already over) and the inner EndGrace never runs.
//  - The cluster grace lifted while this instance is still in grace without
//    having asked (an administrator's lift, or no need left anywhere): the
//    inner EndGrace runs too, since no instance still needs the grace.
//  - EndGrace without GraceStarted (this process started while the kernel
//    was already in grace): a round with nothing offered, then as above.
//  - GraceEnded: forwarded, then KernelGraceEnded.
//  - ReadGraceTime: forwarded.
//
// Loop thread only.  `inner`, `cluster` and `log` outlive it.
#pragma once

#include <cstdint>

#include "cluster/grace_port.h"
#include "common/base/liveness.h"
#include "common/base/logging.h"
#include "nfs4rec/grace.h"

namespace nfsrec {

class ClusterGraceControl final : public nfs4rec::GraceControl {
 public:
  ClusterGraceControl(nfs4rec::GraceControl& inner, cluster::ClusterGracePort& cluster,
                      Logger& log);
  ClusterGraceControl(const ClusterGraceControl&) = delete;
  ClusterGraceControl& operator=(const ClusterGraceControl&) = delete;

  void EndGrace(Callback<void(Status)> done) override;
  void ReadGraceTime(Callback<void(Result<Duration>)> done) override;
  void GraceStarted(uint64_t offered) override;
  void GraceEnded() override;

  // This instance's kernel is in grace (between GraceStarted and GraceEnded).
  bool in_grace() const { return in_grace_; }
  // EndGrace asked and waiting for the cluster grace to be lifted.
  bool end_pending() const { return static_cast<bool>(pending_); }

 private:
  void StartRound(uint64_t offered);
  void OnLifted(uint64_t round);

  nfs4rec::GraceControl& inner_;
  cluster::ClusterGracePort& cluster_;
  Logger& log_;
  bool in_grace_ = false;
  bool ending_ = false;  // the inner EndGrace of this round was sent
  uint64_t round_ = 0;   // GraceStarted calls so far
  Callback<void(Status)> pending_;
  Liveness liveness_;  // last: dies first
};

}  // namespace nfsrec
