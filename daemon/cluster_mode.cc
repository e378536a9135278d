#include "daemon/cluster_mode.h"

#include <unistd.h>

#include <chrono>
#include <map>

#include "cluster/cluster_admin.h"
#include "cluster/keys.h"
#include "common/store/etcd_scope.h"
#include "daemon/cluster_grace_control.h"
#include "nfs4rec/etcd_client_store.h"
#include "statd/etcd_nsm_store.h"

namespace nfsrec {
namespace {

// ClusterGraceControl in front of the kernel's GraceControl, owning it.
class OwningClusterGraceControl final : public nfs4rec::GraceControl {
 public:
  OwningClusterGraceControl(std::unique_ptr<nfs4rec::GraceControl> kernel,
                            cluster::ClusterGracePort& cluster, Logger& log)
      : kernel_(std::move(kernel)), control_(*kernel_, cluster, log) {}

  void EndGrace(Callback<void(Status)> done) override { control_.EndGrace(std::move(done)); }
  void ReadGraceTime(Callback<void(Result<Duration>)> done) override {
    control_.ReadGraceTime(std::move(done));
  }
  void GraceStarted(uint64_t offered) override { control_.GraceStarted(offered); }
  void GraceEnded() override { control_.GraceEnded(); }

 private:
  std::unique_ptr<nfs4rec::GraceControl> kernel_;
  ClusterGraceControl control_;
};

InstanceParams FromStored(const cluster::ParamsValue& p, const std::string& node) {
  return InstanceParams{p.scope, p.lease_time, p.grace_time, node};
}

}  // namespace

Result<std::unique_ptr<ClusterMode>> ClusterMode::Create(EventLoop& loop, Scheduler& scheduler,
                                                         Logger& log, const ClusterOptions& options,
                                                         InstanceParams local,
                                                         Callback<void(Status)> on_lost) {
  etcd::ClientOptions co;
  co.endpoints = options.endpoints;
  co.tls = options.tls;
  NFSREC_ASSIGN_OR_RETURN(std::unique_ptr<etcd::Client> client,
                          etcd::Client::Create(loop, scheduler, log, std::move(co)));
  return std::unique_ptr<ClusterMode>(new ClusterMode(
      loop, scheduler, log, options, std::move(local), std::move(client), std::move(on_lost)));
}

ClusterMode::ClusterMode(EventLoop& loop, Scheduler& scheduler, Logger& log, ClusterOptions options,
                         InstanceParams local, std::unique_ptr<etcd::Client> client,
                         Callback<void(Status)> on_lost)
    : loop_(loop),
      scheduler_(scheduler),
      log_(log),
      options_(std::move(options)),
      local_(std::move(local)),
      client_(std::move(client)),
      on_lost_(std::move(on_lost)) {}

ClusterMode::~ClusterMode() {
  // ORDER: the grace and the lock use the client.
  grace_.reset();
  lock_.reset();
}

void ClusterMode::Start(Callback<void(Status)> done) {
  cluster::InstanceLockOptions lo;
  lo.cluster = options_.cluster;
  lo.instance = options_.instance;
  lo.owner.node = options_.node;
  lo.owner.pid = ::getpid();
  lo.owner.since = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  lo.owner.addresses = options_.addresses;
  lo.lease_ttl = options_.lease_time.count();
  lock_ = std::make_unique<cluster::InstanceLock>(
      *client_, scheduler_, log_, std::move(lo), liveness_.Guard([this](Status why) {
        lost_ = true;
        log_.Error(StrCat("cluster: instance ", options_.instance, " is no longer ours (",
                          why.ToString(), "); stopping, so that its owner alone serves it"));
        if (on_lost_) std::move(on_lost_)(why);
      }));
  log_.Info(StrCat("cluster: taking instance ", options_.instance, " (", options_.Describe(), ")"));
  lock_->Acquire(liveness_.Guard([this, done = std::move(done)](Status st) mutable {
    if (!st.ok()) return done(st);
    log_.Notice(StrCat("cluster: serving instance ", options_.instance, " of cluster ",
                       options_.cluster, " on node ", options_.node, " (fencing token ",
                       lock_->token(), ")"));
    RunPreflight(std::move(done));
  }));
}

void ClusterMode::RunPreflight(Callback<void(Status)> done) {
  auto admin = std::make_shared<cluster::ClusterAdmin>(*client_, options_.cluster);
  admin->ReadStatus(liveness_.Guard(
      [this, admin, done = std::move(done)](Result<cluster::ClusterStatus> st) mutable {
        if (!st.ok()) return done(st.status());
        std::optional<InstanceParams> last;
        std::map<std::string, InstanceParams> others;
        for (const cluster::InstanceStatus& i : st->instances) {
          if (!i.params) continue;
          const std::string node = i.owner ? i.owner->node : std::string();
          if (i.name == options_.instance) {
            last = FromStored(*i.params, "");
          } else if (i.owner) {
            others.emplace(i.name, FromStored(*i.params, node));
          }
        }
        Status refused = Status::Ok();
        for (const PreflightFinding& f : CheckPreflight(options_.instance, local_, last, others)) {
          if (f.error && options_.strict_preflight) {
            log_.Error(StrCat("cluster preflight: ", f.text));
            if (refused.ok()) {
              refused = Status::InvalidArgument(
                  StrCat("cluster preflight: ", f.text,
                         " ([nfsrecd] cluster-preflight = warn starts anyway)"));
            }
          } else {
            log_.Warning(StrCat("cluster preflight: ", f.text));
          }
        }
        if (!refused.ok()) return done(refused);
        RecordParams(std::move(done));
      }));
}

void ClusterMode::RecordParams(Callback<void(Status)> done) {
  cluster::ParamsValue p{local_.scope, local_.lease_time, local_.grace_time};
  etcd::TxnRequest txn;
  txn.compares.push_back(lock_->fence());
  etcd::PutRequest put;
  put.key = cluster::ParamsKey(options_.cluster, options_.instance);
  put.value = cluster::EncodeParams(p);
  txn.success.push_back(std::move(put));
  client_->Txn(
      std::move(txn),
      liveness_.Guard([this, done = std::move(done)](Result<etcd::TxnResponse> r) mutable {
        if (!r.ok()) return done(r.status());
        if (!r->succeeded) {
          return done(Status::FailedPrecondition(
              StrCat("lost instance ", options_.instance, " while recording its parameters")));
        }
        cluster::ClusterGraceOptions go;
        go.cluster = options_.cluster;
        go.instance = options_.instance;
        go.node = options_.node;
        go.lease = lock_->lease_id();
        go.fence = lock_->fence();
        // Members not back after a whole-cluster outage hold an early end
        // off for one grace time at most: no longer than a kernel's own
        // grace timer would run without them.
        go.hold_time = std::chrono::seconds(local_.grace_time);
        grace_ = std::make_unique<cluster::ClusterGrace>(*client_, scheduler_, log_, std::move(go));
        grace_->Run();
        done(Status::Ok());
      }));
}

std::unique_ptr<statd::NsmStore> ClusterMode::MakeNsmStore() {
  EtcdScope scope;
  scope.client = client_.get();
  scope.prefix = cluster::NsmPrefix(options_.cluster, options_.instance);
  scope.fence = lock_->fence();
  auto store = std::make_unique<statd::EtcdNsmStore>(loop_, log_, std::move(scope));
  nsm_batcher_ = store->shared_batcher_stats();
  return store;
}

std::unique_ptr<nfs4rec::ClientStore> ClusterMode::MakeClientStore() {
  EtcdScope scope;
  scope.client = client_.get();
  scope.prefix = cluster::V4Prefix(options_.cluster, options_.instance);
  scope.fence = lock_->fence();
  auto store = std::make_unique<nfs4rec::EtcdClientStore>(loop_, log_, std::move(scope));
  nfs4_batcher_ = store->shared_batcher_stats();
  return store;
}

nfs4rec::TrackingDaemon::GraceDecorator ClusterMode::GraceDecorator() {
  return [this](std::unique_ptr<nfs4rec::GraceControl> kernel) {
    return std::unique_ptr<nfs4rec::GraceControl>(
        new OwningClusterGraceControl(std::move(kernel), *grace_, log_));
  };
}

LiveStatus::Cluster ClusterMode::Figures() const {
  LiveStatus::Cluster c;
  c.cluster = options_.cluster;
  c.instance = options_.instance;
  c.node = options_.node;
  c.etcd_available = client_->available();
  c.etcd_endpoint = client_->current_endpoint();
  c.held = lock_ && lock_->held() && !lost_;
  c.token = lock_ ? lock_->token() : 0;
  if (grace_) {
    c.grace_current = grace_->grace().current;
    c.grace_recovery = grace_->grace().recovery;
    if (grace_->flag()) {
      c.need = grace_->flag()->need;
      c.enforcing = grace_->flag()->enforcing;
    }
  }
  auto counts = [](const std::shared_ptr<const TxnBatcher::Stats>& s) {
    return LiveStatus::Cluster::Batcher{s->units, s->txns, s->reruns, s->max_group};
  };
  if (nsm_batcher_) c.nsm_store = counts(nsm_batcher_);
  if (nfs4_batcher_) c.nfs4_store = counts(nfs4_batcher_);
  return c;
}

void ClusterMode::Release(Callback<void()> done) {
  if (!lock_ || !lock_->held() || lost_) {
    return loop_.Post([done = std::move(done)]() mutable { done(); });
  }
  grace_.reset();
  lock_->Release([this, done = std::move(done)](Status st) mutable {
    if (!st.ok()) {
      log_.Warning(StrCat("cluster: could not give instance ", options_.instance, " back at once (",
                          st.ToString(), "); it is free when its lease of ",
                          options_.lease_time.count(), " s expires"));
    } else {
      log_.Info(StrCat("cluster: instance ", options_.instance, " released"));
    }
    done();
  });
}

}  // namespace nfsrec
