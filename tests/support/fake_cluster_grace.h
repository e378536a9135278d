// FakeClusterGrace: the ClusterGracePort (cluster/grace_port.h) that
// records calls and lifts only when the test says so, through Lift().  It
// keeps every WhenLifted callback until Lift, even those a real port drops
// at KernelGraceEnded or a new Start, so a test sees that its caller
// ignores a stale one.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "cluster/grace_port.h"

namespace nfsrec::cluster {

class FakeClusterGrace final : public ClusterGracePort {
 public:
  void Start(uint64_t offered) override {
    calls.push_back(offered == kOfferedUnknown ? std::string("start unknown")
                                               : "start " + std::to_string(offered));
  }
  void LocalRecoveryDone() override { calls.push_back("done"); }
  void KernelGraceEnded() override { calls.push_back("kernel ended"); }
  void WhenLifted(Callback<void()> lifted) override { waiters_.push_back(std::move(lifted)); }

  // Runs every waiting WhenLifted callback; how many ran.
  size_t Lift() {
    std::vector<Callback<void()>> w = std::move(waiters_);
    waiters_.clear();
    for (auto& fn : w) fn();
    return w.size();
  }
  size_t waiting() const { return waiters_.size(); }

  std::vector<std::string> calls;

 private:
  std::vector<Callback<void()>> waiters_;
};

}  // namespace nfsrec::cluster
