// BootNotifier: tells every peer that monitored us that we rebooted
// (sm-notify's job), in the daemon and in the sm-notify-compatible command.
//
// Sequence (each step durable before the next):
//  1. Decide whether this is a new boot: the kernel's boot id differs from
//     the one stored at the last notification (or `force`).  A daemon that
//     restarts within one boot therefore neither re-notifies nor bumps the
//     state; it only resumes peers still on the notify list.
//  2. On a new boot, in ONE transaction: move the monitor list into the
//     notify list, bump the state by 2 if any peer is to be notified, and
//     store the boot id.  A crash after this commit resumes at step 4 with
//     the bumped state; it never bumps twice or notifies with an old state.
//  3. Publish the state to the kernel; with nobody to notify, end lockd's
//     grace period (nothing can be reclaimed from us).
//  4. Notify every peer in parallel; a peer that answers is deleted from the
//     notify list, a peer that never answers stays for the next boot.
// Events in the log (docs/events.md), at notice level: "No hosts to notify",
// or one line when notification starts and one when every peer answered or
// was given up.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/base/callback.h"
#include "common/base/clock.h"
#include "common/base/liveness.h"
#include "common/base/logging.h"
#include "common/os/file_system.h"
#include "statd/kernel_nsm.h"
#include "statd/notify_engine.h"
#include "statd/nsm_service.h"

namespace nfsrec::statd {

class BootNotifier {
 public:
  struct Options {
    std::string my_name;     // -n / -v: announce this name instead of each record's my_name
    bool lift_grace = true;  // write Y to nlm_end_grace when nobody is to be notified
    bool bump_state = true;  // false: sm-notify -n
  };
  struct Summary {
    bool new_boot = false;
    int32_t state = 0;
    size_t peers = 0;
  };
  // Figures of the current or the last notification run, for the status
  // report.  A run starts when peers are handed to the engine while none is
  // in progress and ends when the last one answered or was given up; a
  // resumption (SIGUSR1) during a run adds its peers to it.  Times are on
  // the Scheduler's clock.
  struct Report {
    uint64_t runs = 0;  // runs started by this process (0: none yet)
    bool running = false;
    bool new_boot = false;
    int32_t state = 0;       // the NSM state announced
    size_t peers = 0;        // handed to the engine in this run
    size_t answered = 0;     // answered our SM_NOTIFY
    size_t unreachable = 0;  // given up (they stay on the notify list)
    TimePoint started_at{};
    std::optional<TimePoint> finished_at;
  };

  BootNotifier(NsmService& service, NotifyEngine& engine, KernelNsm& kernel, Scheduler& scheduler,
               Logger& log, Options options);
  BootNotifier(const BootNotifier&) = delete;
  BootNotifier& operator=(const BootNotifier&) = delete;

  // Steps 1-3, then starts step 4.  `started` runs once notifications are
  // under way (or failed to start); `finished` (optional) when every peer
  // answered or was given up.
  void Run(const std::string& boot_id, bool force, Callback<void(Result<Summary>)> started,
           Callback<void(size_t answered, size_t failed)> finished = nullptr);

  size_t in_progress() const { return outstanding_; }
  const Report& report() const { return report_; }

 private:
  void NotifyAll(const std::vector<MonitorRecord>& peers, int32_t state, bool new_boot);
  void PeerDone(bool answered);

  NsmService& service_;
  NotifyEngine& engine_;
  KernelNsm& kernel_;
  Scheduler& scheduler_;
  Logger& log_;
  Options options_;
  size_t outstanding_ = 0;
  size_t answered_ = 0;
  size_t failed_ = 0;
  Report report_;
  Callback<void(size_t, size_t)> finished_;
  Liveness liveness_;  // last: engine and service answers check it
};

// The kernel's boot id (/proc/sys/kernel/random/boot_id), or "" if it
// cannot be read.
std::string ReadBootId(FileSystem& fs);

}  // namespace nfsrec::statd
