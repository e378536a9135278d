// ClusterMode: what the composition root builds when [nfsrecd] backend =
// etcd (daemon/cluster_config.h, docs/cluster.md): the etcd client, this
// process's hold on its instance (cluster::InstanceLock), the preflight
// (daemon/cluster_preflight.h), the instance's two stores on etcd, and the
// cluster grace that gates the kernel's early end of grace.
//
// Start-up order: Create, then Start (takes the instance, waiting while
// another node holds it, then checks and records the instance's
// parameters), then the stores and the grace decorator for the facades.
// From Start on, on_lost may run once: the instance is no longer this
// process's (lease lost, or the owner key removed by an administrator); the
// daemon must stop serving at once, since every store write is refused
// from then on (the fence), and exit non-zero so that its supervisor
// restarts it.
//
// Loop thread only.  `loop`, `scheduler` and `log` outlive it; it outlives
// the stores and the decorated GraceControl it hands out.
#pragma once

#include <memory>

#include "cluster/cluster_grace.h"
#include "cluster/instance_lock.h"
#include "common/base/callback.h"
#include "common/base/liveness.h"
#include "common/base/logging.h"
#include "common/os/event_loop.h"
#include "common/store/etcd_batcher.h"
#include "common/store/etcd_client.h"
#include "daemon/cluster_config.h"
#include "daemon/cluster_preflight.h"
#include "daemon/status_report.h"
#include "nfs4rec/client_store.h"
#include "nfs4rec/tracking_daemon.h"
#include "statd/nsm_store.h"

namespace nfsrec {

class ClusterMode {
 public:
  // `local` is what this host runs with (LocalInstanceParams).
  static Result<std::unique_ptr<ClusterMode>> Create(EventLoop& loop, Scheduler& scheduler,
                                                     Logger& log, const ClusterOptions& options,
                                                     InstanceParams local,
                                                     Callback<void(Status)> on_lost);
  ~ClusterMode();
  ClusterMode(const ClusterMode&) = delete;
  ClusterMode& operator=(const ClusterMode&) = delete;

  // done(OK) once this process serves the instance; an error (a preflight
  // error under cluster-preflight = strict, a bad value in etcd) fails the
  // start.  Waits as long as another live owner holds the instance, and
  // while etcd cannot be reached (logged once).
  void Start(Callback<void(Status)> done);

  // After Start: the instance's stores (their writes carry the fence).
  std::unique_ptr<statd::NsmStore> MakeNsmStore();
  std::unique_ptr<nfs4rec::ClientStore> MakeClientStore();
  // After Start: puts the cluster grace in front of the kernel's.
  nfs4rec::TrackingDaemon::GraceDecorator GraceDecorator();

  LiveStatus::Cluster Figures() const;

  // Revokes the lease (the instance is free for another node at once).
  // `done` runs once, also if etcd does not answer (after its time-out).
  void Release(Callback<void()> done);

 private:
  ClusterMode(EventLoop& loop, Scheduler& scheduler, Logger& log, ClusterOptions options,
              InstanceParams local, std::unique_ptr<etcd::Client> client,
              Callback<void(Status)> on_lost);
  void RunPreflight(Callback<void(Status)> done);
  void RecordParams(Callback<void(Status)> done);

  EventLoop& loop_;
  Scheduler& scheduler_;
  Logger& log_;
  const ClusterOptions options_;
  const InstanceParams local_;
  std::unique_ptr<etcd::Client> client_;
  Callback<void(Status)> on_lost_;
  std::unique_ptr<cluster::InstanceLock> lock_;
  std::unique_ptr<cluster::ClusterGrace> grace_;
  // The group commit counts of the stores made (they may die first).
  std::shared_ptr<const TxnBatcher::Stats> nsm_batcher_;
  std::shared_ptr<const TxnBatcher::Stats> nfs4_batcher_;
  bool lost_ = false;
  Liveness liveness_;  // last: dies first
};

}  // namespace nfsrec
