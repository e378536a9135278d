#include "daemon/cluster_grace_control.h"

#include <utility>

namespace nfsrec {

ClusterGraceControl::ClusterGraceControl(nfs4rec::GraceControl& inner,
                                         cluster::ClusterGracePort& cluster, Logger& log)
    : inner_(inner), cluster_(cluster), log_(log) {}

void ClusterGraceControl::ReadGraceTime(Callback<void(Result<Duration>)> done) {
  inner_.ReadGraceTime(std::move(done));
}

void ClusterGraceControl::GraceStarted(uint64_t offered) {
  inner_.GraceStarted(offered);
  StartRound(offered);
}

void ClusterGraceControl::StartRound(uint64_t offered) {
  if (pending_) {
    // A new nfsd: the old grace's early end has nobody to end it for.
    std::exchange(pending_, nullptr)(Status::Busy("a new grace period started"));
  }
  in_grace_ = true;
  ending_ = false;
  const uint64_t round = ++round_;
  cluster_.Start(offered == kOfferedUnknown ? cluster::kOfferedUnknown : offered);
  cluster_.WhenLifted(liveness_.Guard([this, round] { OnLifted(round); }));
}

void ClusterGraceControl::EndGrace(Callback<void(Status)> done) {
  if (pending_) std::exchange(pending_, nullptr)(Status::Busy("asked again"));
  if (!in_grace_) {
    // Grace began before this process (restarted during grace): take part
    // now, with nothing left to wait for here.
    log_.Info("cluster grace: joining for a grace that began before this start");
    StartRound(0);
  }
  if (ending_) {
    // The cluster grace was lifted already and the end is on its way.
    inner_.EndGrace(std::move(done));
    return;
  }
  pending_ = std::move(done);
  log_.Info(
      "cluster grace: every client of this instance reclaimed; ending its grace once no "
      "instance of the cluster needs the grace any more");
  cluster_.LocalRecoveryDone();
}

void ClusterGraceControl::OnLifted(uint64_t round) {
  if (round != round_ || !in_grace_ || ending_) return;
  ending_ = true;
  if (pending_) {
    inner_.EndGrace(std::exchange(pending_, nullptr));
    return;
  }
  log_.Notice(
      "cluster grace lifted while this instance still waited for reclaims: "
      "ending its grace");
  inner_.EndGrace(liveness_.Guard([this](Status st) {
    if (!st.ok() && !st.IsBusy()) {
      log_.Warning(StrCat("cluster grace: could not end this instance's grace: ", st.ToString()));
    }
  }));
}

void ClusterGraceControl::GraceEnded() {
  inner_.GraceEnded();
  in_grace_ = false;
  if (pending_) {
    std::exchange(pending_, nullptr)(Status::Busy("the kernel ended the grace period itself"));
  }
  cluster_.KernelGraceEnded();
}

}  // namespace nfsrec
