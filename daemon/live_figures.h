// Gathers the facades' figures into a LiveStatus (daemon/status_report.h)
// for the control socket's status and metrics commands.  Part of the
// composition root: it sees both services.  Loop thread only.
#pragma once

#include <functional>
#include <string>

#include "common/base/clock.h"
#include "common/store/commit_queue.h"
#include "daemon/status_report.h"
#include "nfs4rec/tracking_daemon.h"
#include "statd/nsm_daemon.h"

namespace nfsrec {

struct LiveSources {
  const statd::NsmDaemon* nsm = nullptr;              // null: not serving NSM
  const nfs4rec::TrackingDaemon* tracking = nullptr;  // null: not tracking NFSv4
  const CommitQueue* queue = nullptr;
  const Scheduler* scheduler = nullptr;  // the clock the facades' times are on
  int64_t started = 0;                   // unix seconds, when ready
  // Cluster mode's figures (ClusterMode::Figures); empty: not in cluster mode.
  std::function<LiveStatus::Cluster()> cluster;
};

LiveStatus GatherLiveStatus(const LiveSources& sources);

}  // namespace nfsrec
