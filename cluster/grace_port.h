// ClusterGracePort: what an instance's NFSv4 grace needs from the cluster
// grace (ClusterGrace implements it on etcd; daemon/cluster_grace_control.h
// drives it from the GraceControl hooks).  Loop thread only.
#pragma once

#include <cstdint>
#include <limits>

#include "common/base/callback.h"

namespace nfsrec::cluster {

// Start's `offered` when the kernel did not say how many clients may
// reclaim (grace opened by a Check, without GraceStart).
inline constexpr uint64_t kOfferedUnknown = std::numeric_limits<uint64_t>::max();

class ClusterGracePort {
 public:
  virtual ~ClusterGracePort() = default;
  // The kernel put this instance in grace and `offered` clients may
  // reclaim: the instance enforces grace and, unless offered is 0, needs
  // it; it joins the running cluster grace or starts one.
  virtual void Start(uint64_t offered) = 0;
  // Every offered client reclaimed: this instance no longer needs grace
  // (but keeps enforcing it until the cluster grace is lifted).
  virtual void LocalRecoveryDone() = 0;
  // The kernel ended this instance's grace (GraceDone): it neither needs
  // nor enforces grace any more.
  virtual void KernelGraceEnded() = 0;
  // `lifted` runs once, on the loop thread and never inside this call, the
  // first time no cluster grace is running after the latest Start took
  // effect.  It never runs if KernelGraceEnded or another Start comes
  // first, or if the port is destroyed first.
  virtual void WhenLifted(Callback<void()> lifted) = 0;
};

}  // namespace nfsrec::cluster
