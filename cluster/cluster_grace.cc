#include "cluster/cluster_grace.h"

#include <algorithm>
#include <set>
#include <utility>
#include <variant>

namespace nfsrec::cluster {

namespace {

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " and " : ", ";
    out += names[i];
  }
  return out;
}

std::string Offered(uint64_t offered) {
  if (offered == kOfferedUnknown) return "the kernel did not say how many clients may reclaim";
  return StrCat(offered, offered == 1 ? " client" : " clients", " may reclaim here");
}

int64_t Millis(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace

ClusterGrace::ClusterGrace(etcd::Client& client, Scheduler& scheduler, Logger& log,
                           ClusterGraceOptions options)
    : client_(client),
      scheduler_(scheduler),
      log_(log),
      options_(std::move(options)),
      grace_key_(GraceKey(options_.cluster)),
      flags_prefix_(FlagsPrefix(options_.cluster)),
      flag_key_(FlagKey(options_.cluster, options_.instance)),
      members_prefix_(MembersPrefix(options_.cluster)),
      member_key_(MemberKey(options_.cluster, options_.instance)),
      hold_key_(HoldKey(options_.cluster)) {}

ClusterGrace::~ClusterGrace() {
  if (retry_timer_ != 0) scheduler_.Cancel(retry_timer_);
}

void ClusterGrace::Run() {
  running_ = true;
  Reconcile();
}

void ClusterGrace::Start(uint64_t offered) {
  lifted_.clear();
  ++round_;
  offered_ = offered;
  want_ = FlagsValue{offered != 0, true, options_.node};
  start_pending_ = true;
  round_written_revision_ = 0;
  hold_lease_ = 0;
  own_reason_.clear();
  running_ = true;
  Reconcile();
}

void ClusterGrace::LocalRecoveryDone() {
  if (!want_ || !want_->need) return;
  want_->need = false;
  own_reason_ = StrCat(options_.instance, " finished reclaiming last");
  Reconcile();
}

void ClusterGrace::KernelGraceEnded() {
  lifted_.clear();
  start_pending_ = false;
  if (!want_) return;  // never started: nothing of ours to clear
  if (want_->need) own_reason_ = StrCat("the kernel's grace timer ended on ", options_.instance);
  want_->need = false;
  want_->enforcing = false;
  Reconcile();
}

bool ClusterGrace::LiftedNow() const { return last_ && !start_pending_ && !grace_.in_grace(); }

void ClusterGrace::WhenLifted(Callback<void()> lifted) {
  lifted_.push_back(std::move(lifted));
  if (!LiftedNow()) return;
  scheduler_.RunAfter(Duration::zero(), liveness_.Guard([this] {
    if (LiftedNow()) FireLifted();
  }));
}

void ClusterGrace::FireLifted() {
  std::vector<Callback<void()>> waiting = std::move(lifted_);
  lifted_.clear();
  for (auto& fn : waiting) fn();
}

void ClusterGrace::Reconcile() {
  if (!running_) return;
  if (busy_) {
    again_ = true;
    return;
  }
  busy_ = true;
  attempts_ = 0;
  ReadSnapshot();
}

void ClusterGrace::ReadSnapshot() {
  // One read-only Txn: every range at one revision.
  etcd::TxnRequest t;
  t.success.emplace_back(etcd::RangeRequest::Key(grace_key_));
  t.success.emplace_back(etcd::RangeRequest::Prefix(flags_prefix_));
  t.success.emplace_back(etcd::RangeRequest::Key(hold_key_));
  t.success.emplace_back(etcd::RangeRequest::Prefix(members_prefix_));
  client_.Txn(std::move(t),
              liveness_.Guard([this](Result<etcd::TxnResponse> r) { OnSnapshot(std::move(r)); }));
}

Result<ClusterGrace::Snapshot> ClusterGrace::ParseSnapshot(const etcd::TxnResponse& r) {
  auto range = [&r](size_t i) {
    return r.responses.size() == 4 ? std::get_if<etcd::RangeResponse>(&r.responses[i]) : nullptr;
  };
  const etcd::RangeResponse* grace = range(0);
  const etcd::RangeResponse* flags = range(1);
  const etcd::RangeResponse* hold = range(2);
  const etcd::RangeResponse* members = range(3);
  if (grace == nullptr || flags == nullptr || hold == nullptr || members == nullptr) {
    return Status::Corruption("etcd answered the cluster grace read with other responses");
  }
  Snapshot s;
  s.revision = r.header.revision;
  if (!grace->kvs.empty()) {
    NFSREC_ASSIGN_OR_RETURN(s.grace, DecodeGrace(grace_key_, grace->kvs[0].value));
    s.grace_mod_revision = grace->kvs[0].mod_revision;
  }
  for (const etcd::KeyValue& kv : flags->kvs) {
    const std::string name(InstanceOfKey(flags_prefix_, kv.key));
    Result<FlagsValue> f = DecodeFlags(kv.key, kv.value);
    if (!f.ok()) {
      // Unreadable: count it as needing grace, so it can only delay a lift.
      if (bad_flags_logged_.insert(StrCat(kv.key, "@", kv.mod_revision)).second) {
        log_.Warning(StrCat("cluster grace: ", f.status().ToString(),
                            "; counting that instance as still reclaiming"));
      }
      f = FlagsValue{true, true, ""};
    }
    s.flags[name] = *f;
    s.flag_mod_revisions[name] = kv.mod_revision;
  }
  for (const etcd::KeyValue& kv : members->kvs) {
    // Unreadable: still a member (its name is the key's).
    Result<MemberValue> m = DecodeMember(kv.key, kv.value);
    s.members[std::string(InstanceOfKey(members_prefix_, kv.key))] = m.ok() ? m->node : "";
  }
  if (!hold->kvs.empty()) {
    const etcd::KeyValue& kv = hold->kvs[0];
    s.hold_mod_revision = kv.mod_revision;
    s.hold_lease = kv.lease;
    Result<HoldValue> h = DecodeHold(kv.key, kv.value);
    if (h.ok()) {
      s.hold = *h;
    } else if (bad_flags_logged_.insert(StrCat(kv.key, "@", kv.mod_revision)).second) {
      // Its lease ends it anyway; a lift deletes it.
      log_.Warning(StrCat("cluster grace: ", h.status().ToString(), "; ignoring it"));
    }
  }
  return s;
}

void ClusterGrace::OnSnapshot(Result<etcd::TxnResponse> r) {
  if (!r.ok()) return RetryLater(r.status());
  Result<Snapshot> snap = ParseSnapshot(*r);
  if (!snap.ok()) return RetryLater(snap.status());
  if (retry_logged_) {
    retry_logged_ = false;
    log_.Notice("cluster grace: etcd answers again");
  }
  if (restart_watches_) StartWatches(snap->revision + 1);
  Observe(*snap);
  Decide(std::move(snap).value());
}

void ClusterGrace::Observe(const Snapshot& snap) {
  const GraceValue& g = snap.grace;
  if (!last_) {
    log_.Info(g.in_grace() ? StrCat("cluster grace ", g.current, " is running (recovery epoch ",
                                    g.recovery, ") as ", options_.instance, " joins the cluster")
                           : StrCat("no cluster grace is running (epoch ", g.current, ") as ",
                                    options_.instance, " joins the cluster"));
  } else if (g != grace_) {
    if (g.in_grace() && g.current != grace_.current) {
      // The starter wrote its flag in the same Txn as the epochs.
      std::string by;
      for (const auto& [name, rev] : snap.flag_mod_revisions) {
        if (rev == snap.grace_mod_revision) by = StrCat(" by ", name);
      }
      log_.Notice(StrCat("cluster grace ", g.current, " started", by));
    } else if (!g.in_grace() && grace_.in_grace()) {
      log_.Notice(StrCat("cluster grace ", grace_.current, " lifted"));
    }
  }
  grace_ = g;
}

std::string ClusterGrace::LiftReason(const Snapshot& snap) const {
  if (!own_reason_.empty()) {
    auto mine = snap.flags.find(options_.instance);
    if (mine != snap.flags.end() && mine->second.need) return own_reason_;
  }
  if (!last_) return "no instance needs it any more";
  std::vector<std::string> gone, done;
  for (const auto& [name, f] : last_->flags) {
    if (!f.need) continue;
    auto now = snap.flags.find(name);
    if (now == snap.flags.end()) {
      gone.push_back(name);
    } else if (!now->second.need) {
      done.push_back(name);
    }
  }
  if (gone.empty() && done.empty()) {
    const std::vector<std::string> waited = Awaiting(*last_);
    if (!waited.empty()) {
      return StrCat("the wait for ", Join(waited), " to start ended (hold time)");
    }
  }
  if (!gone.empty()) {
    return StrCat(Join(gone), gone.size() == 1 ? "'s lease" : "'s leases",
                  gone.size() == 1 ? " expired" : " expired");
  }
  if (!done.empty())
    return StrCat(Join(done), " no longer ", done.size() == 1 ? "needs" : "need", " it");
  return "no instance needs it any more";
}

void ClusterGrace::Decide(Snapshot snap) {
  auto mine = snap.flags.find(options_.instance);
  if (want_ && want_->need && mine != snap.flags.end() && !mine->second.need &&
      round_written_revision_ != 0 &&
      snap.flag_mod_revisions[options_.instance] > round_written_revision_) {
    // Only another writer changes our flag after our own write of this
    // round: the administrator's lift.  Obeyed, never undone.
    want_->need = false;
    own_reason_.clear();
    log_.Notice(StrCat("cluster grace: ", options_.instance,
                       "'s need was cleared by another writer (nfsrecctl cluster lift);"
                       " no longer holding the cluster in grace for its clients"));
  }
  GraceValue g = snap.grace;
  const bool starting = start_pending_ && want_ && want_->need && !g.in_grace();
  // The members this grace waits for, after this instance's change, and
  // the change to P/hold that goes with it.
  std::vector<std::string> awaiting;
  std::optional<HoldValue> hold_put;
  etcd::LeaseId hold_lease = 0;
  bool hold_delete = false;
  if (starting) {
    g.recovery = g.current;
    g.current += 1;
  }
  const bool held = snap.hold && snap.hold->grace == g.current;
  if (start_pending_ && want_ && g.in_grace() && options_.hold_time > Duration::zero()) {
    // Starting or joining a grace: every other member is awaited, the
    // flagged ones too (a flag may be a dead node's whose lease has not
    // ended yet), and those the grace awaited already; the live ones take
    // themselves off at once.  A fresh lease: the wait counts from now.
    std::set<std::string> names;
    for (const auto& [name, node] : snap.members) names.insert(name);
    if (held) names.insert(snap.hold->awaiting.begin(), snap.hold->awaiting.end());
    names.erase(options_.instance);
    awaiting.assign(names.begin(), names.end());
    if (!awaiting.empty()) {
      if (hold_lease_ == 0) return GrantHold();
      hold_put = HoldValue{g.current, awaiting};
      hold_lease = hold_lease_;
    } else {
      hold_delete = held;
    }
  } else if (!starting) {
    awaiting = Awaiting(snap);
    auto self = std::find(awaiting.begin(), awaiting.end(), options_.instance);
    if (want_ && self != awaiting.end()) {
      awaiting.erase(self);
      if (awaiting.empty()) {
        hold_delete = true;
      } else {
        hold_put = HoldValue{g.current, awaiting};
        hold_lease = snap.hold_lease;
      }
    }
  }
  bool any_need = want_ && want_->need;
  for (const auto& [name, f] : snap.flags)
    any_need = any_need || (name != options_.instance && f.need);
  std::string lift_reason;
  if (g.in_grace() && !any_need && awaiting.empty()) {
    lift_reason = LiftReason(snap);
    g.recovery = 0;
    hold_put.reset();
    hold_delete = snap.hold_mod_revision != 0;
  }
  const bool write_flag = want_ && (mine == snap.flags.end() || !(mine->second == *want_));
  auto member = snap.members.find(options_.instance);
  const bool write_member =
      want_ && (member == snap.members.end() || member->second != options_.node);
  if (!write_flag && !write_member && !hold_put && !hold_delete && g == snap.grace) {
    return Settled(std::move(snap), round_);
  }

  etcd::TxnRequest t;
  t.compares.push_back(
      etcd::Compare::ModRevision(grace_key_, etcd::Compare::Op::kEqual, snap.grace_mod_revision));
  etcd::Compare flags_unchanged =
      etcd::Compare::ModRevision(flags_prefix_, etcd::Compare::Op::kLess, snap.revision + 1);
  flags_unchanged.range_end = etcd::PrefixEnd(flags_prefix_);
  t.compares.push_back(std::move(flags_unchanged));
  t.compares.push_back(
      etcd::Compare::ModRevision(hold_key_, etcd::Compare::Op::kEqual, snap.hold_mod_revision));
  if (options_.fence) t.compares.push_back(*options_.fence);
  std::optional<FlagsValue> wrote_flag;
  if (write_flag) {
    wrote_flag = *want_;
    t.success.emplace_back(etcd::PutRequest{flag_key_, EncodeFlags(*want_), options_.lease, false});
  }
  if (write_member) {
    t.success.emplace_back(
        etcd::PutRequest{member_key_, EncodeMember(MemberValue{options_.node}), 0, false});
  }
  if (hold_put) {
    t.success.emplace_back(etcd::PutRequest{hold_key_, EncodeHold(*hold_put), hold_lease, false});
  } else if (hold_delete) {
    t.success.emplace_back(etcd::DeleteRequest{hold_key_, "", false});
  }
  if (g != snap.grace)
    t.success.emplace_back(etcd::PutRequest{grace_key_, EncodeGrace(g), 0, false});
  if (write_member) snap.members[options_.instance] = options_.node;
  if (hold_put) {
    snap.hold = hold_put;
    snap.hold_lease = hold_lease;
  } else if (hold_delete) {
    snap.hold.reset();
    snap.hold_lease = 0;
  }
  const bool hold_changed = hold_put.has_value() || hold_delete;
  const uint64_t round = round_;
  client_.Txn(std::move(t), liveness_.Guard([this, snap = std::move(snap), g, wrote_flag, starting,
                                             lift_reason, round,
                                             hold_changed](Result<etcd::TxnResponse> r) mutable {
    if (r.ok() && r->succeeded && hold_changed) {
      snap.hold_mod_revision = snap.hold ? r->header.revision : 0;
    }
    OnWritten(std::move(snap), g, wrote_flag, starting, lift_reason, round, std::move(r));
  }));
}

std::vector<std::string> ClusterGrace::Awaiting(const Snapshot& snap) const {
  if (!snap.grace.in_grace() || !snap.hold || snap.hold->grace != snap.grace.current) return {};
  return snap.hold->awaiting;
}

void ClusterGrace::GrantHold() {
  const int64_t ttl = std::max<int64_t>(
      1, std::chrono::duration_cast<std::chrono::seconds>(options_.hold_time).count());
  client_.Grant(ttl, liveness_.Guard([this](Result<etcd::LeaseGrant> r) {
    if (!r.ok()) return RetryLater(r.status().WithContext("grant the hold lease"));
    hold_lease_ = r->id;
    ReadSnapshot();
  }));
}

void ClusterGrace::OnWritten(Snapshot snap, GraceValue wrote, std::optional<FlagsValue> wrote_flag,
                             bool started, const std::string& lift_reason, uint64_t round,
                             Result<etcd::TxnResponse> r) {
  // Unavailable leaves the outcome unknown: the next snapshot shows it.
  if (!r.ok()) return RetryLater(r.status());
  if (!r->succeeded) {
    ++cas_conflicts_;
    if (++attempts_ < options_.max_cas_attempts) return ReadSnapshot();
    return RetryLater(Status::Busy(
        StrCat("the cluster grace keys changed under ", attempts_, " writes in a row")));
  }
  const int64_t rev = r->header.revision;
  if (wrote_flag) {
    if (round == round_ && round_written_revision_ == 0) round_written_revision_ = rev;
    snap.flags[options_.instance] = *wrote_flag;
    snap.flag_mod_revisions[options_.instance] = rev;
  }
  const GraceValue before = snap.grace;
  if (wrote != before) snap.grace_mod_revision = rev;
  snap.grace = wrote;
  snap.revision = rev;
  if (started) {
    log_.Notice(StrCat("cluster grace ", wrote.current, " started by ", options_.instance, " (",
                       Offered(offered_), ")"));
  }
  if (before.in_grace() && !wrote.in_grace()) {
    ++lifts_written_;
    log_.Notice(StrCat("cluster grace ", before.current, " lifted: ", lift_reason));
  }
  grace_ = wrote;
  Settled(std::move(snap), round);
}

void ClusterGrace::Settled(Snapshot snap, uint64_t round) {
  grace_ = snap.grace;
  if (start_pending_ && round == round_) {
    start_pending_ = false;
    const GraceValue& g = snap.grace;
    if (g.in_grace() && g.recovery != 0 && snap.grace_mod_revision != snap.revision) {
      log_.Notice(StrCat(options_.instance, " joined cluster grace ", g.current, " (",
                         Offered(offered_), ")"));
    } else if (!g.in_grace()) {
      log_.Notice(StrCat(options_.instance, " is in grace with ", Offered(offered_),
                         "; no cluster grace holds it"));
    }
  }
  LogWaiting(snap);
  last_ = std::move(snap);
  attempts_ = 0;
  busy_ = false;
  if (LiftedNow()) FireLifted();
  if (std::exchange(again_, false)) Reconcile();
}

void ClusterGrace::LogWaiting(const Snapshot& snap) {
  if (!snap.grace.in_grace() || !want_ || want_->need || !want_->enforcing) {
    waiting_logged_.clear();
    return;
  }
  std::vector<std::string> needing;
  for (const auto& [name, f] : snap.flags) {
    if (f.need) needing.push_back(name);
  }
  const std::vector<std::string> awaiting = Awaiting(snap);
  std::string what;
  if (!needing.empty()) what = StrCat(Join(needing), " to finish reclaiming");
  if (!awaiting.empty()) {
    what += StrCat(what.empty() ? "" : " and for ", Join(awaiting),
                   awaiting.size() == 1 ? " to start" : " to start (members not back yet)");
  }
  if (what.empty()) what = "the cluster grace to be lifted";
  std::string line = StrCat("waiting for ", what, " (cluster grace ", snap.grace.current, ")");
  if (line == waiting_logged_) return;
  waiting_logged_ = line;
  log_.Info(line);
}

void ClusterGrace::RetryLater(const Status& why) {
  if (!retry_logged_) {
    retry_logged_ = true;
    log_.Warning(StrCat("cluster grace: ", why.ToString(), "; trying again every ",
                        Millis(options_.retry_delay), " ms"));
  }
  // A lease granted before a long outage would give a shorter hold.
  hold_lease_ = 0;
  retry_timer_ = scheduler_.RunAfter(options_.retry_delay, liveness_.Guard([this] {
    retry_timer_ = 0;
    attempts_ = 0;
    ReadSnapshot();
  }));
}

void ClusterGrace::StartWatches(int64_t from_revision) {
  restart_watches_ = false;
  grace_watch_ = client_.StartWatch(
      etcd::WatchRequest{grace_key_, "", from_revision, false},
      liveness_.Guard([this](const std::vector<etcd::Event>& events) { OnGraceEvents(events); }),
      liveness_.Guard([this](const etcd::WatchError& e) { OnWatchError(e); }));
  flags_watch_ = client_.StartWatch(
      etcd::WatchRequest{flags_prefix_, etcd::PrefixEnd(flags_prefix_), from_revision, false},
      liveness_.Guard([this](const std::vector<etcd::Event>&) { Reconcile(); }),
      liveness_.Guard([this](const etcd::WatchError& e) { OnWatchError(e); }));
  // Its lease ending deletes it: the end of a wait.
  hold_watch_ =
      client_.StartWatch(etcd::WatchRequest{hold_key_, "", from_revision, false},
                         liveness_.Guard([this](const std::vector<etcd::Event>&) { Reconcile(); }),
                         liveness_.Guard([this](const etcd::WatchError& e) { OnWatchError(e); }));
}

void ClusterGrace::OnGraceEvents(const std::vector<etcd::Event>& events) {
  // A lift seen on the watch needs no re-read to be acted on: R=0 was
  // committed.  Everything else is decided on a fresh snapshot.
  if (events.empty()) return;
  const etcd::Event& e = events.back();
  if (!busy_ && e.type == etcd::Event::Type::kPut) {
    Result<GraceValue> g = DecodeGrace(grace_key_, e.kv.value);
    if (g.ok() && !g->in_grace() && grace_.in_grace()) {
      log_.Notice(StrCat("cluster grace ", grace_.current, " lifted"));
      grace_ = *g;
      if (LiftedNow()) FireLifted();
    }
  }
  Reconcile();
}

void ClusterGrace::OnWatchError(const etcd::WatchError& e) {
  log_.Info(StrCat("cluster grace: watch ended (",
                   e.kind == etcd::WatchError::Kind::kCompacted
                       ? StrCat("history compacted at revision ", e.compact_revision)
                       : e.status.ToString(),
                   "); reading again"));
  restart_watches_ = true;
  // Not from inside the watch's own callback: it is destroyed on restart.
  scheduler_.RunAfter(Duration::zero(), liveness_.Guard([this] { Reconcile(); }));
}

}  // namespace nfsrec::cluster
