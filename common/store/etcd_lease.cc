// Lease keep-alive (etcd_client.h): one keep-alive request per renewal,
// each a single-message /v3/lease/keepalive stream that etcd answers with
// the lease's new TTL and then closes.
#include <algorithm>
#include <utility>

#include "common/store/etcd_client.h"
#include "common/store/etcd_codec.h"

namespace nfsrec::etcd {

namespace {

Duration Seconds(int64_t s) { return std::chrono::seconds(s); }

}  // namespace

Lease::Lease(Client& client, LeaseId id, int64_t ttl, Callback<void(Status)> on_lost)
    : client_(client),
      client_alive_(client.liveness_.token()),
      id_(id),
      ttl_(std::max<int64_t>(ttl, 1)),
      on_lost_(std::move(on_lost)),
      // Granted a moment ago at best: counted from now, the estimate can
      // only be late by the grant's round trip until the first renewal.
      expires_(client.scheduler_.Now() + Seconds(ttl_)) {
  ArmExpiry();
}

Lease::~Lease() {
  if (!client_alive_) return;
  if (renew_timer_ != 0) client_.scheduler_.Cancel(renew_timer_);
  if (expiry_timer_ != 0) client_.scheduler_.Cancel(expiry_timer_);
}

void Lease::ArmExpiry() {
  if (!client_alive_) return;
  Scheduler& s = client_.scheduler_;
  if (expiry_timer_ != 0) s.Cancel(expiry_timer_);
  expiry_timer_ = s.RunAfter(expires_ - s.Now(), [this, alive = liveness_.token()] {
    if (!alive) return;
    expiry_timer_ = 0;
    Lose(Status::Unavailable(StrCat("etcd lease ", id_, ": not renewed before its expiry")));
  });
}

void Lease::Renew() {
  if (lost_ || !client_alive_ || renewing_) return;
  renewing_ = true;
  Scheduler& s = client_.scheduler_;
  TimePoint sent = s.Now();
  // Each attempt must end before the expiry it is trying to prevent.
  Duration timeout = std::min(client_.options_.request_timeout, expires_ - sent);
  timeout = std::max(timeout, Duration(std::chrono::milliseconds(100)));
  auto done = [this, alive = liveness_.token(), sent](Result<std::string> r) {
    if (!alive || lost_ || !client_alive_) return;
    renewing_ = false;
    Scheduler& sch = client_.scheduler_;
    Result<LeaseTtl> ttl = r.ok() ? codec::DecodeKeepAlive(*r) : Result<LeaseTtl>(r.status());
    if (ttl.ok() && ttl->ttl <= 0) {
      return Lose(Status::NotFound(StrCat("etcd lease ", id_, ": expired or revoked")));
    }
    if (!ttl.ok() && ttl.status().IsNotFound()) {
      return Lose(Status::NotFound(StrCat("etcd lease ", id_, ": ", ttl.status().message())));
    }
    Duration next;
    if (ttl.ok()) {
      expires_ = sent + Seconds(ttl->ttl);
      ArmExpiry();
      next = Seconds(ttl->ttl) / 3;
    } else {
      // Soon again, on the next endpoint (the client moved on).
      next = std::min(Seconds(ttl_) / 6, client_.options_.backoff_max);
    }
    next = std::max(next, Duration(std::chrono::milliseconds(20)));
    renew_timer_ = sch.RunAfter(next, [this, alive2 = liveness_.token()] {
      if (!alive2) return;
      renew_timer_ = 0;
      Renew();
    });
  };
  // Pinned to the current endpoint for one attempt, so that the timeout
  // above holds; the failure moves the client on for the next one.
  size_t endpoint = client_.active_;
  client_.SendTo(endpoint, "/v3/lease/keepalive", codec::EncodeLeaseId(id_), timeout,
                 [this, endpoint, alive = liveness_.token(), client_alive = client_alive_,
                  done = std::move(done)](Result<std::string> r) mutable {
                   if (client_alive && alive && !r.ok() && r.status().IsUnavailable()) {
                     client_.EndpointFailed(endpoint);
                   }
                   done(std::move(r));
                 });
}

void Lease::Lose(Status why) {
  if (lost_) return;
  lost_ = true;
  if (client_alive_) {
    if (renew_timer_ != 0) client_.scheduler_.Cancel(renew_timer_);
    if (expiry_timer_ != 0) client_.scheduler_.Cancel(expiry_timer_);
  }
  renew_timer_ = expiry_timer_ = 0;
  if (client_alive_) client_.log_.Warning(why.message());
  on_lost_(std::move(why));
}

}  // namespace nfsrec::etcd
