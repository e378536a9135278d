// LockdCallbacks: the queue of SM_NOTIFY callbacks owed to local lock
// managers (lockd, or NFS-Ganesha's NLM).  The NSM service decides WHAT to
// call back; an implementation (the notify engine) owns HOW: rpcbind
// lookup, privileged loopback source port, retransmission, and retry state.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "statd/monitor.h"

namespace nfsrec::statd {

struct CallbackRequest {
  MonitorKey key;        // which monitor record (my_prog/my_vers/my_proc say whom to call)
  std::string mon_name;  // the mon_name stored at SM_MON (not the notifier's)
  int32_t new_state = 0;
  Cookie priv{};
  // Called once: true when lockd acknowledged the callback, false when the
  // engine gave up or a newer request for the same record replaced this one.
  std::function<void(bool delivered)> done;
};

class LockdCallbacks {
 public:
  virtual ~LockdCallbacks() = default;
  // Queues one callback; must not block.
  virtual void Enqueue(const CallbackRequest& request) = 0;
};

}  // namespace nfsrec::statd
