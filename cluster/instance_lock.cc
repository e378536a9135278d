#include "cluster/instance_lock.h"

#include <utility>
#include <variant>

namespace nfsrec::cluster {

namespace {

std::string Holder(const std::string& key, const etcd::KeyValue& kv) {
  Result<OwnerValue> o = DecodeOwner(key, kv.value);
  if (!o.ok()) return StrCat("lease ", kv.lease, " (", o.status().message(), ")");
  return StrCat("node ", o->node, " (pid ", o->pid, ", since ", o->since, ", lease ", kv.lease,
                ")");
}

}  // namespace

InstanceLock::InstanceLock(etcd::Client& client, Scheduler& scheduler, Logger& log,
                           InstanceLockOptions options, Callback<void(Status)> on_lost)
    : client_(client),
      scheduler_(scheduler),
      log_(log),
      options_(std::move(options)),
      owner_key_(OwnerKey(options_.cluster, options_.instance)),
      on_lost_(std::move(on_lost)) {}

InstanceLock::~InstanceLock() {
  if (retry_timer_ != 0) scheduler_.Cancel(retry_timer_);
}

etcd::Compare InstanceLock::fence() const {
  return etcd::Compare::CreateRevision(owner_key_, etcd::Compare::Op::kEqual, token_);
}

void InstanceLock::Acquire(Callback<void(Status)> done) {
  acquired_ = std::move(done);
  Grant();
}

void InstanceLock::Retry(const Status& why, void (InstanceLock::*step)()) {
  if (!retry_logged_) {
    retry_logged_ = true;
    log_.Warning(StrCat("instance ", options_.instance, ": ", why.ToString(),
                        "; trying again until etcd answers"));
  }
  retry_timer_ = scheduler_.RunAfter(options_.retry_delay, liveness_.Guard([this, step] {
    retry_timer_ = 0;
    if (!over_) (this->*step)();
  }));
}

void InstanceLock::Grant() {
  client_.Grant(options_.lease_ttl, liveness_.Guard([this](Result<etcd::LeaseGrant> g) {
    if (over_) return;
    if (!g.ok()) {
      if (g.status().IsUnavailable()) return Retry(g.status(), &InstanceLock::Grant);
      over_ = true;
      return std::exchange(acquired_, nullptr)(g.status().WithContext("granting a lease"));
    }
    lease_ = client_.KeepAlive(
        g->id, g->ttl, liveness_.Guard([this](Status why) { OnLeaseLost(std::move(why)); }));
    TryTake();
  }));
}

void InstanceLock::TryTake() {
  if (lease_ == nullptr) return;  // lost meanwhile: a new Grant follows
  etcd::TxnRequest t;
  t.compares.push_back(etcd::Compare::Version(owner_key_, etcd::Compare::Op::kEqual, 0));
  t.success.emplace_back(
      etcd::PutRequest{owner_key_, EncodeOwner(options_.owner), lease_->id(), false});
  t.failure.emplace_back(etcd::RangeRequest::Key(owner_key_));
  client_.Txn(std::move(t), liveness_.Guard([this](Result<etcd::TxnResponse> r) {
    if (!over_ && lease_ != nullptr) OnTake(std::move(r));
  }));
}

void InstanceLock::OnTake(Result<etcd::TxnResponse> r) {
  if (!r.ok()) {
    // Unknown outcome: the retry finds the key held by our own lease if
    // the put was applied.
    if (r.status().IsUnavailable()) return Retry(r.status(), &InstanceLock::TryTake);
    over_ = true;
    return std::exchange(acquired_, nullptr)(r.status().WithContext("taking the owner key"));
  }
  retry_logged_ = false;
  const etcd::KeyValue* holder = nullptr;
  if (!r->succeeded && !r->responses.empty()) {
    const auto* range = std::get_if<etcd::RangeResponse>(&r->responses[0]);
    if (range != nullptr && !range->kvs.empty()) holder = &range->kvs[0];
  }
  if (!r->succeeded && holder == nullptr) return TryTake();  // deleted meanwhile
  if (!r->succeeded && holder->lease != lease_->id()) return WaitFor(*holder, r->header.revision);
  held_ = true;
  token_ = r->succeeded ? r->header.revision : holder->create_revision;
  log_.Notice(StrCat("instance ", options_.instance, " taken by node ", options_.owner.node,
                     " (lease ", lease_->id(), " of ", lease_->ttl(), " s, fencing token ", token_,
                     ")"));
  WatchOwn(r->header.revision + 1);
  std::exchange(acquired_, nullptr)(Status::Ok());
}

void InstanceLock::WaitFor(const etcd::KeyValue& holder, int64_t revision) {
  std::string who = Holder(owner_key_, holder);
  if (who != waiting_for_) {
    waiting_for_ = who;
    log_.Notice(StrCat("instance ", options_.instance, " is held by ", who,
                       "; waiting until that owner's lease ends"));
  }
  auto retake = [this] {
    // Not from inside the watch's callback: the watch goes with it.
    scheduler_.RunAfter(Duration::zero(), liveness_.Guard([this] {
      watch_.reset();
      if (!over_ && !held_ && lease_ != nullptr) TryTake();
    }));
  };
  watch_ = client_.StartWatch(etcd::WatchRequest{owner_key_, "", revision + 1, false},
                              liveness_.Guard([retake](const std::vector<etcd::Event>& events) {
                                for (const etcd::Event& e : events) {
                                  if (e.type == etcd::Event::Type::kDelete) return retake();
                                }
                              }),
                              liveness_.Guard([retake](const etcd::WatchError&) { retake(); }));
}

void InstanceLock::WatchOwn(int64_t from_revision) {
  watch_ = client_.StartWatch(
      etcd::WatchRequest{owner_key_, "", from_revision, false},
      liveness_.Guard([this](const std::vector<etcd::Event>& events) { OnOwnEvents(events); }),
      liveness_.Guard([this](const etcd::WatchError&) {
        // Events may be lost: look at the key itself.
        client_.Range(etcd::RangeRequest::Key(owner_key_),
                      liveness_.Guard([this](Result<etcd::RangeResponse> r) {
                        if (over_) return;
                        if (r.ok() && !r->kvs.empty() && r->kvs[0].create_revision == token_) {
                          return WatchOwn(r->header.revision + 1);
                        }
                        if (!r.ok()) return Lost(r.status().WithContext("checking the owner key"));
                        Lost(Status::NotFound(StrCat("owner key ", owner_key_, " is gone")));
                      }));
      }));
}

void InstanceLock::OnOwnEvents(const std::vector<etcd::Event>& events) {
  for (const etcd::Event& e : events) {
    if (over_) return;
    if (e.type == etcd::Event::Type::kDelete) {
      return Lost(Status::NotFound(StrCat("owner key ", owner_key_, " was deleted")));
    }
    if (e.kv.create_revision != token_) {
      return Lost(Status::NotFound(
          StrCat("owner key ", owner_key_, " was replaced by ", Holder(owner_key_, e.kv))));
    }
  }
}

void InstanceLock::OnLeaseLost(Status why) {
  if (over_) return;
  if (held_) return Lost(why.WithContext("lease lost"));
  log_.Warning(StrCat("instance ", options_.instance, ": lease lost while waiting (",
                      why.ToString(), "); granting a new one"));
  // Not from inside the lease's own callback.
  scheduler_.RunAfter(Duration::zero(), liveness_.Guard([this] {
    lease_.reset();
    watch_.reset();
    if (!over_) Grant();
  }));
}

void InstanceLock::Lost(Status why) {
  over_ = true;
  held_ = false;
  log_.Error(StrCat("lost instance ", options_.instance, ": ", why.ToString()));
  scheduler_.RunAfter(Duration::zero(), liveness_.Guard([this] { watch_.reset(); }));
  if (on_lost_) std::exchange(on_lost_, nullptr)(std::move(why));
}

void InstanceLock::Release(Callback<void(Status)> done) {
  over_ = true;
  held_ = false;
  if (retry_timer_ != 0) scheduler_.Cancel(retry_timer_);
  retry_timer_ = 0;
  watch_.reset();
  // Scheduler callbacks are copyable; a Callback is not.
  auto later = [this](Callback<void(Status)> fn, Status st) {
    auto shared = std::make_shared<Callback<void(Status)>>(std::move(fn));
    scheduler_.RunAfter(Duration::zero(), [shared, st] { (*shared)(st); });
  };
  if (acquired_) {
    later(std::exchange(acquired_, nullptr), Status::Unavailable("released before it was taken"));
  }
  const etcd::LeaseId id = lease_ ? lease_->id() : 0;
  lease_.reset();
  if (id == 0) return later(std::move(done), Status::Ok());
  log_.Notice(StrCat("instance ", options_.instance, ": releasing (lease ", id, " revoked)"));
  client_.Revoke(id, std::move(done));
}

}  // namespace nfsrec::cluster
