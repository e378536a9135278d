#include "statd/etcd_nsm_store.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <unordered_map>
#include <utility>

namespace nfsrec::statd {
namespace {

using etcd::Compare;
using etcd::DeleteRequest;
using etcd::PutRequest;
using etcd::RangeRequest;
using etcd::RangeResponse;
using etcd::TxnRequest;
using etcd::TxnResponse;

constexpr int64_t kLoadPage = 1000;

TxnRequest OneOp(etcd::TxnOp op) {
  TxnRequest t;
  t.success.push_back(std::move(op));
  return t;
}

}  // namespace

EtcdNsmStore::EtcdNsmStore(EventLoop& loop, Logger& log, EtcdScope scope)
    : loop_(loop), log_(log), batcher_(scope), prefix_(std::move(scope.prefix)) {}

EtcdNsmStore::~EtcdNsmStore() = default;

std::string EtcdNsmStore::MonPrefix(uint64_t gen) const {
  return StrCat(prefix_, "mon/", FixedHex(gen, 16), "/");
}

std::string EtcdNsmStore::MonKey(uint64_t gen, const MonitorKey& key) const {
  return MonPrefix(gen) + MonitorKeyText(key);
}

RecordStamp EtcdNsmStore::NextStamp() {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  last_seq_ = std::max<int64_t>(last_seq_ + 1,
                                std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
  return RecordStamp{std::chrono::duration_cast<std::chrono::seconds>(now).count(), last_seq_};
}

void EtcdNsmStore::PostDone(Done done, Status s) {
  loop_.Post(liveness_.Guard([done = std::move(done), s = std::move(s)]() mutable { done(s); }));
}

// --- Ordering: open first, then calls in order, barriers hold later ones ---

void EtcdNsmStore::Run(Step step) {
  held_.push_back(std::move(step));
  Release();
}

void EtcdNsmStore::Release() {
  if (releasing_) return;
  releasing_ = true;
  while (!held_.empty() && !barrier_) {
    if (state_ != State::kOpen) {
      if (state_ == State::kClosed) Open();
      break;
    }
    Step step = std::move(held_.front());
    held_.pop_front();
    step(Status::Ok());
  }
  releasing_ = false;
}

void EtcdNsmStore::Open() {
  state_ = State::kOpening;
  old_gens_.clear();
  ++old_gens_changes_;
  batcher_.Range(RangeRequest::Key(prefix_ + "gen"), [this](Result<RangeResponse> r) {
    if (!r.ok()) return Opened(r.status().WithContext("read NSM generation"));
    gen_ = 1;
    gen_mod_revision_ = 0;
    if (!r->kvs.empty()) {
      const auto& kv = r->kvs.front();
      gen_ = std::strtoull(kv.value.c_str(), nullptr, 10);
      gen_mod_revision_ = kv.mod_revision;
      if (gen_ == 0) return Opened(Status::Corruption("NSM generation is 0"));
    }
    SeekGenerations(prefix_ + "mon/");
  });
}

// One read per generation present: the first key at or after `from`.
void EtcdNsmStore::SeekGenerations(std::string from) {
  RangeRequest req;
  req.key = std::move(from);
  req.range_end = MonPrefix(gen_);  // only the older ones
  req.limit = 1;
  req.keys_only = true;
  batcher_.Range(std::move(req), [this](Result<RangeResponse> r) {
    if (!r.ok()) return Opened(r.status().WithContext("read NSM generations"));
    if (r->kvs.empty()) return Opened(Status::Ok());
    std::string_view rest(r->kvs.front().key);
    rest.remove_prefix(prefix_.size() + 4);
    uint64_t g = 0;
    if (rest.size() < 17 || !ParseFixedHex(rest.substr(0, 16), 16, &g)) {
      return Opened(Status::Corruption(StrCat("NSM key ", Hex(r->kvs.front().key))));
    }
    old_gens_.insert(g);
    SeekGenerations(MonPrefix(g + 1));
  });
}

void EtcdNsmStore::Opened(Status s) {
  if (s.ok()) {
    state_ = State::kOpen;
    Release();
    return;
  }
  state_ = State::kClosed;
  log_.Warning(StrCat("etcd NSM store: ", s.ToString()));
  std::deque<Step> failed = std::move(held_);
  held_.clear();
  auto alive = liveness_.token();
  for (Step& step : failed) {
    step(s);
    if (!alive) return;
  }
}

// --- Writes ---

std::vector<TxnRequest> EtcdNsmStore::Chunk(std::vector<etcd::TxnOp> ops,
                                            const std::vector<Compare>& compares) const {
  std::vector<TxnRequest> units;
  const EtcdScope& scope = batcher_.scope();
  size_t bytes = 0;
  for (auto& op : ops) {
    TxnRequest one = OneOp(op);
    size_t b = TxnBatcher::UnitBytes(one);
    if (units.empty() || units.back().success.size() >= scope.max_txn_ops ||
        bytes + b > scope.max_txn_bytes / 2) {
      units.emplace_back();
      units.back().compares = compares;
      bytes = TxnBatcher::UnitBytes(units.back());
    }
    bytes += b;
    units.back().success.push_back(std::move(op));
  }
  return units;
}

void EtcdNsmStore::SubmitAll(std::vector<TxnRequest> units, Done done) {
  if (units.empty()) return PostDone(std::move(done), Status::Ok());
  struct Join {
    size_t left;
    Status first;
    Done done;
  };
  auto join = std::make_shared<Join>(Join{units.size(), Status::Ok(), std::move(done)});
  for (auto& u : units) {
    batcher_.Submit(std::move(u), [join](Result<TxnResponse> r) {
      if (!r.ok() && join->first.ok()) join->first = r.status();
      if (--join->left == 0) join->done(join->first);
    });
  }
}

void EtcdNsmStore::PutMonitor(const MonitorRecord& record, Done done) {
  Run([this, record, done = std::move(done)](Status s) mutable {
    if (!s.ok()) return done(s);
    SubmitAll(
        {OneOp(PutRequest{MonKey(gen_, record.key), EncodeRecord(record, NextStamp()), 0, false})},
        std::move(done));
  });
}

void EtcdNsmStore::DeleteMonitors(const std::vector<MonitorKey>& keys, Done done) {
  Run([this, keys, done = std::move(done)](Status s) mutable {
    if (!s.ok()) return done(s);
    std::vector<etcd::TxnOp> ops;
    for (const auto& k : keys) ops.emplace_back(DeleteRequest{MonKey(gen_, k), {}, false});
    SubmitAll(Chunk(std::move(ops), {}), std::move(done));
  });
}

void EtcdNsmStore::DeleteNotified(const std::vector<MonitorKey>& keys, Done done) {
  Run([this, keys, done = std::move(done)](Status s) mutable {
    if (!s.ok()) return done(s);
    std::vector<etcd::TxnOp> ops;
    for (uint64_t g : old_gens_) {
      for (const auto& k : keys) ops.emplace_back(DeleteRequest{MonKey(g, k), {}, false});
    }
    SubmitAll(Chunk(std::move(ops), {}), std::move(done));
    if (!keys.empty()) Prune();
  });
}

// Forgets older generations that hold no record any more.
void EtcdNsmStore::Prune() {
  for (uint64_t g : old_gens_) {
    RangeRequest req = RangeRequest::Prefix(MonPrefix(g));
    req.limit = 1;
    req.keys_only = true;
    batcher_.Range(std::move(req), [this, g, changes = old_gens_changes_,
                                    alive = liveness_.token()](Result<RangeResponse> r) {
      if (!alive || !r.ok() || !r->kvs.empty() || changes != old_gens_changes_) return;
      old_gens_.erase(g);
    });
  }
}

void EtcdNsmStore::SetPeerStates(const std::vector<std::pair<MonitorKey, int32_t>>& states,
                                 Done done) {
  SetField(states, false, std::move(done));
}

void EtcdNsmStore::SetLockdStates(const std::vector<std::pair<MonitorKey, int32_t>>& states,
                                  Done done) {
  SetField(states, true, std::move(done));
}

// Reads the records (in the batcher's order, behind earlier writes), then
// writes back those that exist with the new number; later calls wait.
void EtcdNsmStore::SetField(const std::vector<std::pair<MonitorKey, int32_t>>& states, bool lockd,
                            Done done) {
  Run([this, states, lockd, done = std::move(done)](Status s) mutable {
    if (!s.ok()) return done(s);
    std::map<std::string, int32_t> want;  // key in etcd -> number; the last one wins
    for (const auto& [k, v] : states) want[MonKey(gen_, k)] = v;
    std::vector<etcd::TxnOp> reads;
    for (const auto& [key, v] : want) reads.emplace_back(RangeRequest::Key(key));
    if (reads.empty()) return PostDone(std::move(done), Status::Ok());
    barrier_ = true;
    struct Pass {
      std::map<std::string, int32_t> want;
      std::vector<etcd::TxnOp> writes;
      size_t left = 0;
      Status first;
      Done done;
    };
    auto pass = std::make_shared<Pass>();
    pass->want = std::move(want);
    pass->done = std::move(done);
    std::vector<TxnRequest> units = Chunk(std::move(reads), {});
    pass->left = units.size();
    for (auto& u : units) {
      batcher_.Submit(
          std::move(u), [this, lockd, pass, alive = liveness_.token()](Result<TxnResponse> r) {
            if (!alive) return;
            if (!r.ok() && pass->first.ok()) pass->first = r.status();
            if (r.ok()) {
              for (auto& resp : r->responses) {
                for (auto& kv : std::get<RangeResponse>(resp).kvs) {
                  MonitorRecord rec;
                  RecordStamp stamp;
                  Status d = DecodeRecord(kv.value, &rec, &stamp);
                  if (!d.ok()) {
                    if (pass->first.ok()) pass->first = d;
                    continue;
                  }
                  (lockd ? rec.lockd_state : rec.peer_state) = pass->want[kv.key];
                  pass->writes.emplace_back(PutRequest{kv.key, EncodeRecord(rec, stamp), 0, false});
                }
              }
            }
            if (--pass->left != 0) return;
            barrier_ = false;
            if (!pass->first.ok()) {
              pass->done(pass->first);
            } else {
              SubmitAll(Chunk(std::move(pass->writes), {}), std::move(pass->done));
            }
            Release();
          });
    }
  });
}

void EtcdNsmStore::SetLocalState(int32_t state, Done done) {
  Run([this, state, done = std::move(done)](Status s) mutable {
    if (!s.ok()) return done(s);
    TxnRequest t;
    t.success.emplace_back(
        DeleteRequest{prefix_ + "state/", prefix_ + "state/" + StateText(state), false});
    t.success.emplace_back(
        PutRequest{prefix_ + "state/" + StateText(state), std::to_string(state), 0, false});
    SubmitAll({std::move(t)}, std::move(done));
  });
}

void EtcdNsmStore::PrepareReboot(bool move_monitors, int32_t state, const std::string& boot_id,
                                 Done done) {
  Run([this, move_monitors, state, boot_id, done = std::move(done)](Status s) mutable {
    if (!s.ok()) return done(s);
    // The same call again after an answer that never came: if the store,
    // re-opened since, finds the generation one above the one that call
    // moved from, that call was applied; only its state and boot id are
    // written again.
    const bool retry = move_monitors && unsure_reboot_ && unsure_reboot_->state == state &&
                       unsure_reboot_->boot_id == boot_id;
    const bool moved_already = retry && gen_ == unsure_reboot_->from + 1;
    TxnRequest t;
    if (move_monitors) {
      t.compares.push_back(
          Compare::ModRevision(prefix_ + "gen", Compare::Op::kEqual, gen_mod_revision_));
      if (!moved_already) {
        t.success.emplace_back(PutRequest{prefix_ + "gen", std::to_string(gen_ + 1), 0, false});
      }
      barrier_ = true;  // later writes go to the new generation, once it is known
    }
    t.success.emplace_back(
        DeleteRequest{prefix_ + "state/", prefix_ + "state/" + StateText(state), false});
    t.success.emplace_back(
        PutRequest{prefix_ + "state/" + StateText(state), std::to_string(state), 0, false});
    t.success.emplace_back(PutRequest{prefix_ + "boot", boot_id, 0, false});
    batcher_.Submit(std::move(t), [this, move_monitors, moved_already, state, boot_id,
                                   done = std::move(done),
                                   alive = liveness_.token()](Result<TxnResponse> r) mutable {
      if (!alive) return;
      Status st = r.status();
      if (r.ok() && !r->succeeded) {
        st = Status::Unavailable("NSM generation changed in etcd since it was read; re-reading it");
      }
      if (move_monitors) {
        if (st.ok()) {
          if (!moved_already) {
            old_gens_.insert(gen_);
            ++old_gens_changes_;
            ++gen_;
            gen_mod_revision_ = r->header.revision;
          }
          unsure_reboot_.reset();
        } else {
          // No answer: the generation may have moved.  Remembered so that
          // the same call again does not move the one after it too.
          if (!r.ok() && r.status().IsUnavailable() && !moved_already) {
            unsure_reboot_ = UnsureReboot{gen_, state, boot_id};
          }
          state_ = State::kClosed;  // the generation is unknown: read it again
        }
        barrier_ = false;
      }
      done(st);
      if (!alive) return;
      if (move_monitors && st.ok()) Prune();
      Release();
    });
  });
}

void EtcdNsmStore::ImportLegacy(int32_t state, const std::vector<MonitorRecord>& monitors,
                                const std::vector<MonitorRecord>& notify,
                                Callback<void(Result<bool>)> done) {
  Run([this, state, monitors, notify, done = std::move(done)](Status s) mutable {
    if (!s.ok()) return done(s);
    // "No state above 0 is stored", the SQLite store's rule.
    Compare none = Compare::Version(prefix_ + "state/" + StateText(1), Compare::Op::kEqual, 0);
    none.range_end = etcd::PrefixEnd(prefix_ + "state/");
    std::map<std::string, std::string> puts;  // one put per key, the last record wins
    std::vector<std::string> order;
    auto add = [&](uint64_t gen, const MonitorRecord& r) {
      std::string key = MonKey(gen, r.key);
      if (puts.find(key) == puts.end()) order.push_back(key);
      puts[key] = EncodeRecord(r, NextStamp());
    };
    for (const auto& r : monitors) add(gen_, r);
    for (const auto& r : notify) add(0, r);
    std::vector<etcd::TxnOp> ops;
    for (const auto& key : order) ops.emplace_back(PutRequest{key, puts[key], 0, false});
    std::vector<TxnRequest> units = Chunk(std::move(ops), {none});
    if (units.empty() || units.back().success.size() + 2 > batcher_.scope().max_txn_ops) {
      units.emplace_back();
      units.back().compares = {none};
    }
    units.back().success.emplace_back(
        DeleteRequest{prefix_ + "state/", prefix_ + "state/" + StateText(state), false});
    units.back().success.emplace_back(
        PutRequest{prefix_ + "state/" + StateText(state), std::to_string(state), 0, false});
    if (!notify.empty()) {
      old_gens_.insert(0);
      ++old_gens_changes_;
    }
    struct Join {
      size_t left;
      size_t imported = 0;
      Status first;
      Callback<void(Result<bool>)> done;
    };
    auto join = std::make_shared<Join>(Join{units.size(), 0, Status::Ok(), std::move(done)});
    for (auto& u : units) {
      batcher_.Submit(std::move(u), [join](Result<TxnResponse> r) {
        if (!r.ok() && join->first.ok()) join->first = r.status();
        if (r.ok() && r->succeeded) ++join->imported;
        if (--join->left != 0) return;
        if (!join->first.ok()) return join->done(join->first);
        join->done(join->imported > 0);
      });
    }
  });
}

// --- Load ---

struct EtcdNsmStore::LoadState {
  struct Notify {
    uint64_t gen;
    RecordStamp stamp;
    int64_t created;
    MonitorRecord record;
  };
  std::shared_ptr<NsmLoadSink> sink;
  LoadIntoDone done;
  int64_t revision = 0;
  uint64_t gen = 1;
  bool have_state = false;
  NsmLoadInfo info;
  struct Monitor {
    int64_t created;
    int64_t seq;
    MonitorRecord record;
  };
  std::vector<Monitor> monitors;
  std::vector<Notify> notify;
  std::unordered_map<std::string, size_t> notify_at;  // K -> index in notify
};

void EtcdNsmStore::LoadInto(std::shared_ptr<NsmLoadSink> sink, LoadIntoDone done) {
  Run([this, sink = std::move(sink), done = std::move(done)](Status s) mutable {
    if (!s.ok()) return done(s.WithContext("load NSM state"));
    auto st = std::make_unique<LoadState>();
    st->sink = std::move(sink);
    st->done = std::move(done);
    LoadPage(std::move(st), prefix_);
  });
}

void EtcdNsmStore::LoadPage(std::unique_ptr<LoadState> st, std::string from) {
  RangeRequest req;
  req.key = std::move(from);
  req.range_end = etcd::PrefixEnd(prefix_);
  req.limit = kLoadPage;
  req.revision = st->revision;
  batcher_.Range(std::move(req), [this, st = std::move(st)](Result<RangeResponse> r) mutable {
    auto fail = [&](Status e) { st->done(e.WithContext("load NSM state")); };
    if (!r.ok()) return fail(r.status());
    if (st->revision == 0) st->revision = r->header.revision;
    for (auto& kv : r->kvs) {
      std::string_view rel(kv.key);
      rel.remove_prefix(prefix_.size());
      if (rel == "boot") {
        st->info.boot_id = kv.value;
      } else if (rel == "gen") {
        st->gen = std::strtoull(kv.value.c_str(), nullptr, 10);
      } else if (rel.substr(0, 6) == "state/") {
        int64_t v = std::strtoll(kv.value.c_str(), nullptr, 10);
        if (!st->have_state || v > st->info.local_state)
          st->info.local_state = static_cast<int32_t>(v);
        st->have_state = true;
      } else if (rel.substr(0, 4) == "mon/") {
        rel.remove_prefix(4);
        uint64_t g = 0;
        MonitorRecord rec;
        RecordStamp stamp;
        if (rel.size() < 18 || rel[16] != '/' || !ParseFixedHex(rel.substr(0, 16), 16, &g) ||
            !ParseMonitorKeyText(rel.substr(17), &rec.key)) {
          return fail(Status::Corruption(StrCat("NSM key in etcd: ", Hex(kv.key))));
        }
        Status d = DecodeRecord(kv.value, &rec, &stamp);
        if (!d.ok()) return fail(d);
        if (g == st->gen) {
          st->monitors.push_back({kv.create_revision, stamp.seq, std::move(rec)});
        } else if (g < st->gen) {
          std::string k(rel.substr(17));
          auto [it, fresh] = st->notify_at.emplace(k, st->notify.size());
          if (fresh) {
            st->notify.push_back({g, stamp, kv.create_revision, std::move(rec)});
          } else if (g > st->notify[it->second].gen) {  // keys come by generation: newer wins
            st->notify[it->second] = {g, stamp, kv.create_revision, std::move(rec)};
          }
        } else {
          return fail(
              Status::Corruption(StrCat("NSM record of generation ", g, " above ", st->gen)));
        }
      }
    }
    if (r->more && !r->kvs.empty()) {
      std::string next = r->kvs.back().key;
      next.push_back('\0');
      return LoadPage(std::move(st), std::move(next));
    }
    std::sort(st->monitors.begin(), st->monitors.end(), [](const auto& a, const auto& b) {
      return a.created != b.created ? a.created < b.created : a.seq < b.seq;
    });
    std::sort(st->notify.begin(), st->notify.end(), [](const auto& a, const auto& b) {
      if (a.stamp.updated != b.stamp.updated) return a.stamp.updated > b.stamp.updated;
      if (a.created != b.created) return a.created < b.created;
      return a.stamp.seq < b.stamp.seq;
    });
    NsmLoadSink& sink = *st->sink;
    sink.Expect(st->monitors.size(), st->notify.size());
    for (auto& m : st->monitors) {
      Status added = sink.Add(NsmList::kMonitors, std::move(m.record));
      if (!added.ok()) return fail(added);
    }
    for (auto& n : st->notify) {
      Status added = sink.Add(NsmList::kNotify, std::move(n.record));
      if (!added.ok()) return fail(added);
    }
    st->done(std::move(st->info));
  });
}

}  // namespace nfsrec::statd
