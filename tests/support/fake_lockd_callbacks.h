// FakeLockdCallbacks: keeps every callback the service queues for lockd;
// a test acknowledges one with requests[i].done(true).
#pragma once

#include <vector>

#include "statd/lockd_callbacks.h"

namespace nfsrec::statd {

class FakeLockdCallbacks final : public LockdCallbacks {
 public:
  void Enqueue(const CallbackRequest& r) override { requests.push_back(r); }
  std::vector<CallbackRequest> requests;
};

}  // namespace nfsrec::statd
