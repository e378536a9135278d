#include "cluster/cluster_admin.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <set>
#include <utility>
#include <variant>

#include "common/base/logging.h"

namespace nfsrec::cluster {

namespace {

constexpr int kMaxCasAttempts = 8;

// The ranges of a read-only Txn of [P/grace, P/flags/, P/hold].
struct GraceRead {
  int64_t revision = 0;
  GraceValue grace;
  int64_t grace_mod_revision = 0;
  std::vector<etcd::KeyValue> flags;
  std::optional<HoldValue> hold;  // none: no key, or unreadable (its lease ends it)
  int64_t hold_mod_revision = 0;
  etcd::LeaseId hold_lease = 0;

  // The members the grace waits for, as ClusterGrace counts them.
  std::vector<std::string> Awaiting() const {
    if (!grace.in_grace() || !hold || hold->grace != grace.current) return {};
    return hold->awaiting;
  }
};

Result<GraceRead> ParseGraceRead(const std::string& grace_key, const etcd::TxnResponse& r) {
  auto range = [&r](size_t i) {
    return r.responses.size() == 3 ? std::get_if<etcd::RangeResponse>(&r.responses[i]) : nullptr;
  };
  const etcd::RangeResponse* g = range(0);
  const etcd::RangeResponse* f = range(1);
  const etcd::RangeResponse* h = range(2);
  if (g == nullptr || f == nullptr || h == nullptr) {
    return Status::Corruption("etcd answered the cluster grace read with other responses");
  }
  GraceRead out;
  out.revision = r.header.revision;
  if (!g->kvs.empty()) {
    NFSREC_ASSIGN_OR_RETURN(out.grace, DecodeGrace(grace_key, g->kvs[0].value));
    out.grace_mod_revision = g->kvs[0].mod_revision;
  }
  out.flags = f->kvs;
  if (!h->kvs.empty()) {
    out.hold_mod_revision = h->kvs[0].mod_revision;
    out.hold_lease = h->kvs[0].lease;
    Result<HoldValue> v = DecodeHold(h->kvs[0].key, h->kvs[0].value);
    if (v.ok()) out.hold = *v;
  }
  return out;
}

etcd::TxnRequest GraceReadTxn(const std::string& cluster) {
  etcd::TxnRequest t;
  t.success.emplace_back(etcd::RangeRequest::Key(GraceKey(cluster)));
  t.success.emplace_back(etcd::RangeRequest::Prefix(FlagsPrefix(cluster)));
  t.success.emplace_back(etcd::RangeRequest::Key(HoldKey(cluster)));
  return t;
}

}  // namespace

struct ClusterAdmin::StatusWalk {
  ClusterStatus status;
  std::map<std::string, InstanceStatus> by_name;
  Callback<void(Result<ClusterStatus>)> done;
};

struct ClusterAdmin::LiftRun {
  std::vector<std::string> names;
  std::vector<std::string> release;  // awaited members to stop waiting for (clear false)
  bool clear = true;                 // false: only lift if no need remains
  int attempts = 0;
  Callback<void(Result<LiftResult>)> done;
};

ClusterAdmin::ClusterAdmin(etcd::Client& client, std::string cluster)
    : client_(client), cluster_(std::move(cluster)) {}

void ClusterAdmin::ReadStatus(Callback<void(Result<ClusterStatus>)> done) {
  auto w = std::make_shared<StatusWalk>();
  w->status.cluster = cluster_;
  w->done = std::move(done);
  const std::string grace_key = GraceKey(cluster_);
  const std::string flags_prefix = FlagsPrefix(cluster_);
  client_.Txn(GraceReadTxn(cluster_),
              liveness_.Guard([this, w, grace_key, flags_prefix](Result<etcd::TxnResponse> r) {
                if (!r.ok()) return w->done(r.status());
                Result<GraceRead> g = ParseGraceRead(grace_key, *r);
                if (!g.ok() && !g.status().IsCorruption()) return w->done(g.status());
                w->status.revision = r->header.revision;
                if (!g.ok()) {
                  w->status.problems.push_back(g.status().message());
                } else {
                  w->status.grace = g->grace;
                  w->status.awaiting = g->Awaiting();
                }
                const auto* flags = std::get_if<etcd::RangeResponse>(&r->responses[1]);
                for (const etcd::KeyValue& kv : flags->kvs) {
                  std::string name(InstanceOfKey(flags_prefix, kv.key));
                  InstanceStatus& is = w->by_name[name];
                  is.name = name;
                  is.flags_lease = kv.lease;
                  Result<FlagsValue> f = DecodeFlags(kv.key, kv.value);
                  if (f.ok()) {
                    is.flags = *f;
                  } else {
                    is.problems.push_back(f.status().message());
                  }
                }
                WalkNext(w, InstancesPrefix(cluster_));
              }));
}

void ClusterAdmin::WalkNext(std::shared_ptr<StatusWalk> w, std::string cursor) {
  etcd::RangeRequest req;
  req.key = std::move(cursor);
  req.range_end = etcd::PrefixEnd(InstancesPrefix(cluster_));
  req.limit = 1;
  req.keys_only = true;
  req.revision = w->status.revision;
  client_.Range(std::move(req), liveness_.Guard([this, w](Result<etcd::RangeResponse> r) {
    if (!r.ok()) return w->done(r.status());
    if (r->kvs.empty()) return FinishStatus(w);
    const std::string& key = r->kvs[0].key;
    std::string name(InstanceOfKey(InstancesPrefix(cluster_), key));
    if (name.empty()) return WalkNext(w, key + std::string(1, '\0'));
    std::string next = etcd::PrefixEnd(InstancePrefix(cluster_, name));
    ReadInstance(w, std::move(name), std::move(next));
  }));
}

void ClusterAdmin::ReadInstance(std::shared_ptr<StatusWalk> w, std::string name,
                                std::string next_cursor) {
  // owner and params are neighbours: nothing of the layout sorts between.
  etcd::RangeRequest req;
  req.key = OwnerKey(cluster_, name);
  req.range_end = ParamsKey(cluster_, name) + std::string(1, '\0');
  req.revision = w->status.revision;
  client_.Range(std::move(req),
                liveness_.Guard([this, w, name, next_cursor](Result<etcd::RangeResponse> r) {
                  if (!r.ok()) return w->done(r.status());
                  InstanceStatus& is = w->by_name[name];
                  is.name = name;
                  for (const etcd::KeyValue& kv : r->kvs) {
                    if (kv.key == OwnerKey(cluster_, name)) {
                      Result<OwnerValue> o = DecodeOwner(kv.key, kv.value);
                      is.owner_lease = kv.lease;
                      if (o.ok()) {
                        is.owner = *o;
                      } else {
                        is.problems.push_back(o.status().message());
                      }
                    } else if (kv.key == ParamsKey(cluster_, name)) {
                      Result<ParamsValue> p = DecodeParams(kv.key, kv.value);
                      if (p.ok()) {
                        is.params = *p;
                      } else {
                        is.problems.push_back(p.status().message());
                      }
                    }
                  }
                  WalkNext(w, next_cursor);
                }));
}

void ClusterAdmin::FinishStatus(std::shared_ptr<StatusWalk> w) {
  std::map<std::string, std::vector<std::string>> nodes;
  for (auto& [name, is] : w->by_name) {
    if (is.owner) nodes[is.owner->node].push_back(name);
    w->status.instances.push_back(std::move(is));
  }
  for (auto& [node, names] : nodes) w->status.nodes.push_back(NodeStatus{node, std::move(names)});
  w->done(std::move(w->status));
}

void ClusterAdmin::Lift(std::vector<std::string> instances,
                        Callback<void(Result<LiftResult>)> done) {
  auto run = std::make_shared<LiftRun>();
  run->names = std::move(instances);
  run->done = std::move(done);
  LiftAttempt(run);
}

void ClusterAdmin::LiftAttempt(std::shared_ptr<LiftRun> run) {
  const std::string grace_key = GraceKey(cluster_);
  const std::string flags_prefix = FlagsPrefix(cluster_);
  client_.Txn(GraceReadTxn(cluster_), liveness_.Guard([this, run, grace_key,
                                                       flags_prefix](Result<etcd::TxnResponse> r) {
    if (!r.ok()) return run->done(r.status());
    Result<GraceRead> g = ParseGraceRead(grace_key, *r);
    if (!g.ok()) return run->done(g.status());
    std::set<std::string> named(run->names.begin(), run->names.end());
    etcd::TxnRequest t;
    t.compares.push_back(
        etcd::Compare::ModRevision(grace_key, etcd::Compare::Op::kEqual, g->grace_mod_revision));
    etcd::Compare unchanged =
        etcd::Compare::ModRevision(flags_prefix, etcd::Compare::Op::kLess, g->revision + 1);
    unchanged.range_end = etcd::PrefixEnd(flags_prefix);
    t.compares.push_back(std::move(unchanged));
    const std::string hold_key = HoldKey(cluster_);
    t.compares.push_back(
        etcd::Compare::ModRevision(hold_key, etcd::Compare::Op::kEqual, g->hold_mod_revision));
    LiftResult result;
    bool need_left = false;
    for (const etcd::KeyValue& kv : g->flags) {
      std::string name(InstanceOfKey(flags_prefix, kv.key));
      Result<FlagsValue> f = DecodeFlags(kv.key, kv.value);
      const bool target = run->clear && (run->names.empty() || named.erase(name) != 0);
      if (!f.ok()) {
        if (!target) {
          need_left = true;  // unreadable: counted as needing
          continue;
        }
        f = FlagsValue{true, true, ""};
      }
      if (!target || !f->need) {
        need_left = need_left || f->need;
        continue;
      }
      FlagsValue cleared = *f;
      cleared.need = false;
      if (cleared.node.empty()) cleared.node = "unknown";
      t.success.emplace_back(etcd::PutRequest{kv.key, EncodeFlags(cleared), kv.lease, false});
      result.cleared.push_back(name);
    }
    // Awaited members: named ones (or all, when none is named) are no
    // longer waited for; so are the released ones.
    std::vector<std::string> awaiting = g->Awaiting();
    std::vector<std::string> still;
    for (const std::string& name : awaiting) {
      const bool released =
          std::find(run->release.begin(), run->release.end(), name) != run->release.end();
      const bool target = run->clear && (run->names.empty() || named.erase(name) != 0);
      if (released || target) {
        result.released.push_back(name);
      } else {
        still.push_back(name);
      }
    }
    if (!result.released.empty()) {
      if (still.empty()) {
        t.success.emplace_back(etcd::DeleteRequest{hold_key, "", false});
      } else {
        t.success.emplace_back(etcd::PutRequest{
            hold_key, EncodeHold(HoldValue{g->hold->grace, still}), g->hold_lease, false});
      }
    }
    need_left = need_left || !still.empty();
    if (!named.empty()) {
      return run->done(
          Status::NotFound(StrCat("instance ", *named.begin(),
                                  " takes no part in a cluster grace (no flag, not awaited)")));
    }
    result.grace = g->grace;
    if (g->grace.in_grace() && !need_left) {
      result.lifted = true;
      result.lifted_epoch = g->grace.current;
      result.grace.recovery = 0;
      t.success.emplace_back(etcd::PutRequest{grace_key, EncodeGrace(result.grace), 0, false});
      if (g->hold_mod_revision != 0 && result.released.empty()) {
        t.success.emplace_back(etcd::DeleteRequest{hold_key, "", false});
      }
    }
    if (t.success.empty()) return run->done(std::move(result));
    client_.Txn(std::move(t), liveness_.Guard([this, run, result = std::move(result)](
                                                  Result<etcd::TxnResponse> w) mutable {
      if (!w.ok()) return run->done(w.status());
      if (w->succeeded) return run->done(std::move(result));
      if (++run->attempts >= kMaxCasAttempts) {
        return run->done(Status::Busy(
            StrCat("the cluster grace keys changed under ", run->attempts, " attempts in a row")));
      }
      LiftAttempt(run);
    }));
  }));
}

void ClusterAdmin::RemoveNode(std::string node, Callback<void(Result<RemoveNodeResult>)> done) {
  ReadStatus([this, node, done = std::move(done)](Result<ClusterStatus> s) mutable {
    if (!s.ok()) return done(s.status());
    auto result = std::make_shared<RemoveNodeResult>();
    result->node = node;
    std::vector<etcd::LeaseId> leases;
    for (const InstanceStatus& is : s->instances) {
      etcd::LeaseId lease = 0;
      if (is.owner) {
        if (is.owner->node == node) lease = is.owner_lease;
      } else if (is.flags && is.flags->node == node) {
        lease = is.flags_lease;
      }
      if (lease == 0) continue;
      result->instances.push_back(is.name);
      if (std::find(leases.begin(), leases.end(), lease) == leases.end()) leases.push_back(lease);
    }
    ForgetMembers(result, std::move(leases),
                  [node, done = std::move(done)](Result<RemoveNodeResult> r) mutable {
                    if (r.ok() && r->instances.empty() && r->members.empty()) {
                      return done(Status::NotFound(
                          StrCat("node ", node, " owns no instance and left no member")));
                    }
                    done(std::move(r));
                  });
  });
}

void ClusterAdmin::ForgetMembers(std::shared_ptr<RemoveNodeResult> result,
                                 std::vector<etcd::LeaseId> leases,
                                 Callback<void(Result<RemoveNodeResult>)> done) {
  // Every member naming result->node goes, each with a compare that it
  // still does.
  client_.Range(
      etcd::RangeRequest::Prefix(MembersPrefix(cluster_)),
      liveness_.Guard([this, result, leases = std::move(leases),
                       done = std::move(done)](Result<etcd::RangeResponse> r) mutable {
        if (!r.ok()) return done(r.status());
        etcd::TxnRequest t;
        for (const etcd::KeyValue& kv : r->kvs) {
          Result<MemberValue> m = DecodeMember(kv.key, kv.value);
          if (!m.ok() || m->node != result->node) continue;
          t.compares.push_back(
              etcd::Compare::ModRevision(kv.key, etcd::Compare::Op::kEqual, kv.mod_revision));
          t.success.emplace_back(etcd::DeleteRequest{kv.key, "", false});
          result->members.emplace_back(InstanceOfKey(MembersPrefix(cluster_), kv.key));
        }
        if (t.success.empty()) return RevokeNext(result, std::move(leases), std::move(done));
        client_.Txn(std::move(t),
                    liveness_.Guard([this, result, leases = std::move(leases),
                                     done = std::move(done)](Result<etcd::TxnResponse> w) mutable {
                      if (!w.ok()) return done(w.status());
                      if (!w->succeeded) {
                        // A member moved meanwhile: its node ran it again.  Read again.
                        result->members.clear();
                        return ForgetMembers(result, std::move(leases), std::move(done));
                      }
                      RevokeNext(result, std::move(leases), std::move(done));
                    }));
      }));
}

void ClusterAdmin::RevokeNext(std::shared_ptr<RemoveNodeResult> result,
                              std::vector<etcd::LeaseId> leases,
                              Callback<void(Result<RemoveNodeResult>)> done) {
  if (leases.empty()) {
    auto run = std::make_shared<LiftRun>();
    run->clear = false;
    run->release = result->members;
    run->done = [result, done = std::move(done)](Result<LiftResult> l) mutable {
      if (!l.ok()) return done(l.status());
      result->lift = *l;
      done(std::move(*result));
    };
    return LiftAttempt(run);
  }
  const etcd::LeaseId id = leases.back();
  leases.pop_back();
  client_.Revoke(id, liveness_.Guard([this, result, leases = std::move(leases),
                                      done = std::move(done)](nfsrec::Status st) mutable {
    if (!st.ok() && !st.IsNotFound()) return done(st);
    if (st.ok()) ++result->revoked;
    RevokeNext(result, std::move(leases), std::move(done));
  }));
}

}  // namespace nfsrec::cluster
