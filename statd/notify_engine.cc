#include "statd/notify_engine.h"

#include <algorithm>
#include <utility>

#include "statd/nsm_codec.h"

namespace nfsrec::statd {

Result<NotifySockets> OpenNotifySockets(EventLoop& loop, Logger& log, uint16_t outgoing_port,
                                        const std::string& source_address) {
  rpc::UdpSocketPort::Options cb_opts;
  cb_opts.family = AF_INET;
  cb_opts.bind_address = "127.0.0.1";
  cb_opts.reserved_port = true;
  // lockd's answers to a storm's callbacks (one per monitored peer, all
  // sent within a loop turn) come back in a burst too; a dropped one
  // costs its callback a 1 s retransmission.
  cb_opts.receive_buffer = kNotifyReceiveBuffer;
  Result<std::unique_ptr<rpc::UdpSocketPort>> cb = rpc::UdpSocketPort::Open(loop, cb_opts);
  if (!cb.ok()) return cb.status().WithContext("callback socket");
  rpc::UdpSocketPort::Options out_opts;
  out_opts.family = AF_INET6;
  out_opts.port = outgoing_port;
  out_opts.reserved_port = outgoing_port == 0;
  out_opts.receive_buffer = kNotifyReceiveBuffer;
  if (!source_address.empty()) {
    out_opts.family = source_address.find(':') == std::string::npos ? AF_INET : AF_INET6;
    out_opts.bind_address = source_address;
  }
  Result<std::unique_ptr<rpc::UdpSocketPort>> out = rpc::UdpSocketPort::Open(loop, out_opts);
  if (!out.ok() && !source_address.empty()) {
    return out.status().WithContext("notify socket on " + source_address);
  }
  if (!out.ok()) {
    out_opts.family = AF_INET;  // no IPv6 on this host
    out = rpc::UdpSocketPort::Open(loop, out_opts);
  }
  if (!out.ok()) return out.status().WithContext("notify socket");
  // The kernel reports twice the size it granted.
  const int granted = (*out)->receive_buffer() / 2;
  if (granted >= kNotifyReceiveBuffer) {
    log.Info(StrCat("SM_NOTIFY socket: receive buffer ", granted, " bytes"));
  } else {
    log.Info(StrCat("SM_NOTIFY socket: receive buffer ", granted, " bytes of the ",
                    kNotifyReceiveBuffer,
                    " asked for (net.core.rmem_max caps it without CAP_NET_ADMIN); answers to a "
                    "burst of notifications may be dropped and wait for a retransmission"));
  }
  return NotifySockets{std::move(cb.value()), std::move(out.value())};
}

struct NotifyEngine::CallbackJob {
  CallbackRequest request;
  TimePoint deadline;
  Duration backoff;
  int rounds = 0;
  Scheduler::TimerId timer = 0;
  rpc::UdpRpcClient::CallId call = 0;
  uint64_t generation = 0;  // bumps when a newer request replaces this one
  // Bumps at every rpcbind round; an answer to an older round is ignored,
  // so there is never more than one round in flight per job.
  uint64_t attempt = 0;
};

struct NotifyEngine::PeerJob {
  uint64_t id = 0;
  Peer peer;
  int32_t state = 0;
  std::shared_ptr<const PeerDone> on_done;  // one per NotifyPeers call
  TimePoint started;
  Duration backoff;
  std::vector<std::string> addresses;
  size_t address_index = 0;
  size_t name_index = 0;  // which of names() is being sent
  Scheduler::TimerId timer = 0;
  rpc::UdpRpcClient::CallId call = 0;
  uint32_t attempts = 0;
  bool in_slot = false;  // its first attempt holds one of Options::max_parallel
  Scheduler::TimerId slot_timer = 0;
  TimePoint next_retry{};

  std::vector<std::string> names() const {
    std::vector<std::string> out{peer.notify_name};
    auto dot = peer.notify_name.find('.');
    std::string addr_check;
    if (dot != std::string::npos && dot > 0 && !IsNumericAddress(peer.notify_name, &addr_check)) {
      out.push_back(peer.notify_name.substr(0, dot));
    }
    return out;
  }
};

NotifyEngine::NotifyEngine(rpc::UdpRpcClient& callback_client, rpc::UdpRpcClient& notify_client,
                           Resolver& resolver, Scheduler& scheduler, Logger& log, Options options)
    : callback_client_(callback_client),
      notify_client_(notify_client),
      resolver_(resolver),
      scheduler_(scheduler),
      log_(log),
      options_(std::move(options)) {}

NotifyEngine::~NotifyEngine() {
  for (auto& [key, job] : callbacks_) {
    scheduler_.Cancel(job->timer);
    callback_client_.Cancel(job->call);
  }
  for (auto& [id, job] : active_) {
    scheduler_.Cancel(job->timer);
    scheduler_.Cancel(job->slot_timer);
    notify_client_.Cancel(job->call);
  }
}

// ---- Lockd callbacks -------------------------------------------------------

void NotifyEngine::Enqueue(const CallbackRequest& request) {
  auto it = callbacks_.find(request.key);
  if (it != callbacks_.end()) {
    // Only the newest state matters to lockd.  The job's round in flight or
    // its retry timer carries on and sends this state; a new state restarts
    // the give-up window but not the back-off, so a flood of SM_NOTIFY
    // never makes more calls than one job's schedule.
    CallbackJob& job = *it->second;
    auto replaced = std::move(job.request.done);
    job.request = request;
    ++job.generation;
    job.deadline = scheduler_.Now() + options_.callback_window;
    ++stats_.callbacks_replaced;
    if (replaced) replaced(false);
    return;
  }
  auto job = std::make_unique<CallbackJob>();
  job->request = request;
  job->deadline = scheduler_.Now() + options_.callback_window;
  job->backoff = options_.callback_first_timeout;
  callbacks_[request.key] = std::move(job);
  CallbackLookup(request.key);
}

NotifyEngine::CallbackJob* NotifyEngine::CurrentCallback(const MonitorKey& key, uint64_t attempt) {
  auto it = callbacks_.find(key);
  if (it == callbacks_.end() || it->second->attempt != attempt) return nullptr;
  return it->second.get();
}

void NotifyEngine::CallbackLookup(const MonitorKey& key) {
  auto it = callbacks_.find(key);
  if (it == callbacks_.end()) return;
  CallbackJob& job = *it->second;
  ++job.rounds;
  const uint64_t attempt = ++job.attempt;
  const LockdService service{static_cast<uint32_t>(key.my_prog),
                             static_cast<uint32_t>(key.my_vers)};
  LockdPort& lp = lockd_ports_[service];
  if (lp.port != 0) return CallbackSend(key, lp.port);
  lp.waiting.emplace_back(key, attempt);
  if (lp.asking) return;  // one GETPORT answers every job waiting for it
  Result<rpc::Endpoint> lockd = rpc::Endpoint::FromNumeric(options_.lockd_address, 0);
  if (!lockd.ok()) return LockdPortAnswer(service, lockd.status());
  lp.asking = true;
  ++stats_.lockd_port_lookups;
  rpc::RetryPolicy policy{job.backoff, job.backoff, 2, Duration::zero()};
  Liveness::Token alive = liveness_.token();
  rpc::GetUdpPort(callback_client_, lockd.value(), service.first, service.second, policy,
                  [this, alive, service](Result<uint16_t> port) {
                    if (!alive) return;
                    LockdPortAnswer(service, std::move(port));
                  });
}

void NotifyEngine::LockdPortAnswer(const LockdService& service, Result<uint16_t> port) {
  LockdPort& lp = lockd_ports_[service];
  lp.asking = false;
  std::vector<std::pair<MonitorKey, uint64_t>> waiting;
  waiting.swap(lp.waiting);
  std::string why;
  if (!port.ok()) {
    why = "rpcbind: " + port.status().ToString();
  } else if (port.value() == 0) {
    why = StrCat("service ", service.first, " version ", service.second,
                 " not registered on localhost");
  } else {
    lp.port = port.value();
  }
  for (const auto& [key, attempt] : waiting) {
    if (CurrentCallback(key, attempt) == nullptr) continue;
    if (why.empty()) {
      CallbackSend(key, lp.port);
    } else {
      CallbackRetry(key, why);
    }
  }
}

void NotifyEngine::CallbackSend(const MonitorKey& key, uint16_t port) {
  auto it = callbacks_.find(key);
  if (it == callbacks_.end()) return;
  CallbackJob& job = *it->second;
  Result<Bytes> args =
      EncodeStatus(CallbackArgs{job.request.mon_name, job.request.new_state, job.request.priv});
  if (!args.ok()) {
    log_.Error(StrCat("Cannot encode callback for ", Printable(key.mon_name), ": ",
                      args.status().ToString()));
    return CallbackFinished(key, false);
  }
  Result<rpc::Endpoint> dest = rpc::Endpoint::FromNumeric(options_.lockd_address, port);
  rpc::RetryPolicy policy{job.backoff, options_.callback_max_timeout, 3, Duration::zero()};
  Liveness::Token alive = liveness_.token();
  const uint64_t attempt = job.attempt;
  const uint64_t generation = job.generation;
  job.call = callback_client_.Call(
      dest.value(), static_cast<uint32_t>(key.my_prog), static_cast<uint32_t>(key.my_vers),
      static_cast<uint32_t>(key.my_proc), std::move(args.value()), policy,
      [this, alive, key, attempt, generation, port](Result<Bytes> r) {
        if (!alive) return;
        CallbackJob* cur = CurrentCallback(key, attempt);
        if (cur == nullptr) return;
        cur->call = 0;
        if (!r.ok()) {
          // lockd may have restarted on another port: the next round of
          // every job asks rpcbind again.
          ForgetLockdPort(key, port);
          return CallbackRetry(key, r.status().ToString());
        }
        if (cur->generation != generation) {
          // lockd took an older state; a newer one came meanwhile.
          return CallbackSend(key, port);
        }
        // A debug line: a notify storm makes one per monitored peer, and a
        // syslog line each cost the loop as much as the callback's own
        // send (Stats::callbacks_ok counts them for status and metrics).
        if (log_.DebugEnabled()) {
          log_.Debug(StrCat("Callback to ", key.my_prog, "/", key.my_vers, " (for ",
                            Printable(key.mon_name), ", state ", cur->request.new_state,
                            ") succeeded"));
        }
        CallbackFinished(key, true);
      });
}

void NotifyEngine::ForgetLockdPort(const MonitorKey& key, uint16_t port) {
  auto it = lockd_ports_.find(
      LockdService{static_cast<uint32_t>(key.my_prog), static_cast<uint32_t>(key.my_vers)});
  if (it != lockd_ports_.end() && it->second.port == port) it->second.port = 0;
}

void NotifyEngine::CallbackRetry(const MonitorKey& key, const std::string& why) {
  auto it = callbacks_.find(key);
  if (it == callbacks_.end()) return;
  CallbackJob& job = *it->second;
  job.call = 0;
  if (scheduler_.Now() + job.backoff >= job.deadline) {
    log_.Error(StrCat("Can't callback ", key.my_prog, "/", key.my_vers, " for ",
                      Printable(key.mon_name), " (", why, "), giving up"));
    return CallbackFinished(key, false);
  }
  log_.Debug(StrCat("Callback for ", Printable(key.mon_name), " failed (", why, "); retrying in ",
                    std::chrono::duration_cast<std::chrono::milliseconds>(job.backoff).count(),
                    " ms"));
  Liveness::Token alive = liveness_.token();
  scheduler_.Cancel(job.timer);
  job.timer = scheduler_.RunAfter(job.backoff, [this, alive, key] {
    if (!alive) return;
    auto cur = callbacks_.find(key);
    if (cur == callbacks_.end()) return;
    cur->second->timer = 0;
    CallbackLookup(key);
  });
  job.backoff = std::min(job.backoff * 2, options_.callback_max_timeout);
}

void NotifyEngine::CallbackFinished(const MonitorKey& key, bool delivered) {
  auto it = callbacks_.find(key);
  if (it == callbacks_.end()) return;
  ++(delivered ? stats_.callbacks_ok : stats_.callbacks_failed);
  scheduler_.Cancel(it->second->timer);
  callback_client_.Cancel(it->second->call);
  auto done = std::move(it->second->request.done);
  callbacks_.erase(it);
  if (done) done(delivered);
}

// ---- Boot notification -----------------------------------------------------

void NotifyEngine::NotifyPeers(std::vector<Peer> peers, int32_t state, PeerDone on_peer) {
  auto on_done = std::make_shared<const PeerDone>(std::move(on_peer));
  for (Peer& p : peers) {
    if (!peer_keys_.insert(p.key).second) continue;  // already in progress
    auto job = std::make_unique<PeerJob>();
    job->id = next_peer_id_++;
    job->peer = std::move(p);
    job->state = state;
    job->on_done = on_done;
    queued_.push_back(std::move(job));
  }
  StartQueuedPeers();
}

void NotifyEngine::StartQueuedPeers() {
  // The window of each peer starts when it is taken up, so a long queue
  // behind the parallelism limit does not eat into later peers' windows.
  std::vector<uint64_t> started;
  while (in_slot_ < options_.max_parallel && !queued_.empty()) {
    std::unique_ptr<PeerJob> job = std::move(queued_.front());
    queued_.pop_front();
    job->started = scheduler_.Now();
    job->backoff = options_.notify_first_timeout;
    job->in_slot = true;
    ++in_slot_;
    const uint64_t id = job->id;
    Liveness::Token alive = liveness_.token();
    job->slot_timer = scheduler_.RunAfter(slot_hold(), [this, alive, id] {
      if (!alive) return;
      auto cur = active_.find(id);
      if (cur == active_.end()) return;
      cur->second->slot_timer = 0;
      LeaveSlot(*cur->second);
    });
    active_.emplace_hint(active_.end(), id, std::move(job));
    started.push_back(id);
  }
  for (uint64_t id : started) PeerResolve(id);
}

void NotifyEngine::LeaveSlot(PeerJob& job) {
  if (!job.in_slot) return;
  job.in_slot = false;
  scheduler_.Cancel(job.slot_timer);
  job.slot_timer = 0;
  --in_slot_;
  StartQueuedPeers();
}

Duration NotifyEngine::slot_hold() const {
  if (round_trip_ == Duration::zero()) return options_.slot_hold_min;
  return std::clamp(round_trip_ * kHoldRoundTrips, options_.slot_hold_min, options_.slot_hold);
}

void NotifyEngine::SampleRoundTrip(Duration elapsed) {
  if (round_trip_ == Duration::zero()) {
    round_trip_ = elapsed;
  } else {
    round_trip_ += (elapsed - round_trip_) / 8;
  }
}

Duration NotifyEngine::GrowAfterCall(Duration backoff) const {
  // The client doubled the timeout on each of its transmissions; carry on
  // from where it stopped.
  for (int i = 0; i < options_.sends_per_address; ++i) backoff *= 2;
  return std::min(backoff, options_.notify_max_timeout);
}

bool NotifyEngine::PeerExpired(const PeerJob& job) const {
  return options_.notify_window > Duration::zero() &&
         scheduler_.Now() >= job.started + options_.notify_window;
}

rpc::RetryPolicy NotifyEngine::PeerPolicy(const PeerJob& job) const {
  rpc::RetryPolicy p;
  p.first_timeout = job.backoff;
  p.max_timeout = options_.notify_max_timeout;
  p.max_sends = options_.sends_per_address;
  if (options_.notify_window > Duration::zero()) {
    p.deadline =
        std::max(Duration::zero(), job.started + options_.notify_window - scheduler_.Now());
    if (p.deadline == Duration::zero()) p.deadline = std::chrono::milliseconds(1);
  }
  return p;
}

void NotifyEngine::PeerResolve(uint64_t id) {
  auto it = active_.find(id);
  if (it == active_.end()) return;
  PeerJob& numeric = *it->second;
  std::string address;
  if (IsNumericAddress(numeric.peer.host, &address)) {
    // An address is sent to as it is: no resolver round trip (and no
    // name service, which may not be up yet at boot).
    numeric.addresses = {address};
    numeric.address_index = 0;
    return PeerGetPort(id);
  }
  Liveness::Token alive = liveness_.token();
  resolver_.Resolve(it->second->peer.host, [this, alive, id](Result<HostInfo> r) {
    if (!alive) return;
    auto cur = active_.find(id);
    if (cur == active_.end()) return;
    PeerJob& job = *cur->second;
    if (!r.ok() || r.value().addresses.empty()) {
      return PeerRetry(
          id,
          StrCat("DNS resolution of ", Printable(job.peer.host), " failed; retrying later",
                 r.ok() ? "" : " (" + r.status().ToString() + ")"),
          &NotifyEngine::PeerResolve, job.backoff);
    }
    job.addresses = r.value().addresses;
    job.address_index = 0;
    PeerGetPort(id);
  });
}

void NotifyEngine::PeerGetPort(uint64_t id) {
  auto it = active_.find(id);
  if (it == active_.end()) return;
  PeerJob& job = *it->second;
  if (PeerExpired(job)) return PeerFinish(id, false);
  ++job.attempts;
  const std::string& addr = job.addresses[job.address_index % job.addresses.size()];
  Result<rpc::Endpoint> ep = rpc::Endpoint::FromNumeric(addr, 0);
  if (!ep.ok())
    return PeerRetry(id, ep.status().ToString(), &NotifyEngine::PeerResolve, job.backoff);
  Liveness::Token alive = liveness_.token();
  rpc::GetUdpPort(notify_client_, ep.value(), kNsmProgram, kNsmVersion, PeerPolicy(job),
                  [this, alive, id](Result<uint16_t> port) {
                    if (!alive) return;
                    PeerJob* j = PeerAnswered(id);
                    if (j == nullptr) return;
                    if (!port.ok()) {
                      return PeerNextAddress(id, *j, "rpcbind: " + port.status().ToString());
                    }
                    // A first call's answer within the first timeout answers
                    // its first transmission: a round trip sample.
                    const Duration elapsed = scheduler_.Now() - j->started;
                    if (j->attempts == 1 && elapsed < options_.notify_first_timeout) {
                      SampleRoundTrip(elapsed);
                    }
                    if (port.value() == 0) {
                      return PeerRetry(id, StrCat("No statd on host ", Printable(j->peer.host)),
                                       &NotifyEngine::PeerGetPort, options_.no_statd_delay);
                    }
                    PeerSend(id, port.value());
                  });
}

void NotifyEngine::PeerSend(uint64_t id, uint16_t port) {
  auto it = active_.find(id);
  if (it == active_.end()) return;
  PeerJob& job = *it->second;
  if (PeerExpired(job)) return PeerFinish(id, false);
  ++job.attempts;
  std::vector<std::string> names = job.names();
  Result<Bytes> args = EncodeStatChge(NotifyArgs{names[job.name_index], job.state});
  if (!args.ok()) {
    log_.Error(StrCat("Cannot notify ", Printable(job.peer.host), ": ", args.status().ToString()));
    return PeerFinish(id, false);
  }
  const std::string& addr = job.addresses[job.address_index % job.addresses.size()];
  rpc::Endpoint dest = rpc::Endpoint::FromNumeric(addr, port).value();
  Liveness::Token alive = liveness_.token();
  job.call = notify_client_.Call(
      dest, kNsmProgram, kNsmVersion, static_cast<uint32_t>(NsmProc::kNotify),
      std::move(args.value()), PeerPolicy(job), [this, alive, id, port](Result<Bytes> r) {
        if (!alive) return;
        PeerJob* j = PeerAnswered(id);
        if (j == nullptr) return;
        if (!r.ok()) {
          // The port may be stale (statd restarted): look it up again.
          return PeerNextAddress(id, *j, "SM_NOTIFY: " + r.status().ToString());
        }
        if (++j->name_index < j->names().size()) return PeerSend(id, port);
        log_.Notice(StrCat("Host ", Printable(j->peer.host), " notified successfully"));
        PeerFinish(id, true);
      });
}

NotifyEngine::PeerJob* NotifyEngine::PeerAnswered(uint64_t id) {
  auto it = active_.find(id);
  if (it == active_.end()) return nullptr;
  it->second->call = 0;
  return it->second.get();
}

void NotifyEngine::PeerNextAddress(uint64_t id, PeerJob& job, const std::string& why) {
  LeaveSlot(job);
  ++job.address_index;  // the next address, if any
  job.backoff = GrowAfterCall(job.backoff);
  PeerRetry(id, why, &NotifyEngine::PeerGetPort, Duration::zero());
}

void NotifyEngine::PeerRetry(uint64_t id, const std::string& why,
                             void (NotifyEngine::*step)(uint64_t), Duration delay) {
  auto it = active_.find(id);
  if (it == active_.end()) return;
  PeerJob& job = *it->second;
  log_.Debug(StrCat("Notify ", Printable(job.peer.host), ": ", why));
  LeaveSlot(job);
  if (delay > Duration::zero()) {
    // Waiting (DNS failure, no statd) follows the same doubling schedule.
    job.backoff = std::min(job.backoff * 2, options_.notify_max_timeout);
  }
  if (options_.notify_window > Duration::zero() &&
      scheduler_.Now() + delay >= job.started + options_.notify_window) {
    log_.Warning(StrCat("Unable to notify ", Printable(job.peer.host), ", giving up (", why, ")"));
    return PeerFinish(id, false);
  }
  Liveness::Token alive = liveness_.token();
  job.next_retry = scheduler_.Now() + delay;
  job.timer = scheduler_.RunAfter(delay, [this, alive, id, step] {
    if (!alive) return;
    auto cur = active_.find(id);
    if (cur == active_.end()) return;
    cur->second->timer = 0;
    cur->second->next_retry = TimePoint{};
    (this->*step)(id);
  });
}

void NotifyEngine::PeerFinish(uint64_t id, bool answered) {
  auto it = active_.find(id);
  if (it == active_.end()) return;
  std::unique_ptr<PeerJob> job = std::move(it->second);
  active_.erase(it);
  peer_keys_.erase(job->peer.key);
  if (job->in_slot) --in_slot_;
  scheduler_.Cancel(job->slot_timer);
  scheduler_.Cancel(job->timer);
  notify_client_.Cancel(job->call);
  if (answered) {
    ++stats_.peers_notified;
  } else {
    ++stats_.peers_failed;
  }
  using State = PeerProgress::State;
  finished_.push_front(
      PeerProgress{job->peer.host, answered ? State::kAnswered : State::kGivenUp, job->attempts});
  if (finished_.size() > kFinishedKept) finished_.pop_back();
  if (job->on_done && *job->on_done) (*job->on_done)(job->peer, answered);
  StartQueuedPeers();
}

std::vector<NotifyEngine::PeerProgress> NotifyEngine::Progress(size_t max) const {
  std::vector<PeerProgress> out;
  for (const auto& [id, job] : active_) {
    if (out.size() >= max) return out;
    out.push_back(PeerProgress{job->peer.host, PeerProgress::State::kPending, job->attempts,
                               job->next_retry});
  }
  for (const auto& job : queued_) {
    if (out.size() >= max) return out;
    out.push_back(PeerProgress{job->peer.host, PeerProgress::State::kQueued, 0, {}});
  }
  for (const PeerProgress& p : finished_) {
    if (out.size() >= max) return out;
    out.push_back(p);
  }
  return out;
}

}  // namespace nfsrec::statd
