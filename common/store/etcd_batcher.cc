#include "common/store/etcd_batcher.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <variant>

#include "common/base/logging.h"
#include <nlohmann/json.hpp>

namespace nfsrec {
namespace {

// Per compare or op: its JSON field names, numbers and base64's growth are
// well under this.
constexpr size_t kOpOverhead = 64;

// A key range [begin, end), end empty meaning "every key from begin on".
struct Span {
  std::string begin;
  std::string end;
};

Span SpanOf(const std::string& key, const std::string& range_end) {
  if (range_end.empty()) return Span{key, key + std::string(1, '\0')};
  if (range_end == std::string(1, '\0')) return Span{key, {}};
  return Span{key, range_end};
}

bool Overlap(const Span& a, const Span& b) {
  bool a_before_b_end = b.end.empty() || a.begin < b.end;
  bool b_before_a_end = a.end.empty() || b.begin < a.end;
  return a_before_b_end && b_before_a_end;
}

size_t CompareBytes(const etcd::Compare& c) {
  return c.key.size() + c.range_end.size() + c.value.size() + kOpOverhead;
}

size_t OpBytes(const etcd::TxnOp& op) {
  if (const auto* r = std::get_if<etcd::RangeRequest>(&op)) {
    return r->key.size() + r->range_end.size() + kOpOverhead;
  }
  if (const auto* p = std::get_if<etcd::PutRequest>(&op)) {
    return p->key.size() + p->value.size() + kOpOverhead;
  }
  const auto& d = std::get<etcd::DeleteRequest>(op);
  return d.key.size() + d.range_end.size() + kOpOverhead;
}

// The keys an op writes (Put, Delete) or reads (Range).
Span OpSpan(const etcd::TxnOp& op, bool* writes) {
  if (const auto* r = std::get_if<etcd::RangeRequest>(&op)) {
    *writes = false;
    return SpanOf(r->key, r->range_end);
  }
  *writes = true;
  if (const auto* p = std::get_if<etcd::PutRequest>(&op)) return SpanOf(p->key, {});
  const auto& d = std::get<etcd::DeleteRequest>(op);
  return SpanOf(d.key, d.range_end);
}

bool Holds(const etcd::Compare& c, const etcd::RangeResponse& r) {
  etcd::KeyValue none;
  const etcd::KeyValue& kv = r.kvs.empty() ? none : r.kvs.front();
  int cmp;
  if (c.target == etcd::Compare::Target::kValue) {
    cmp = kv.value < c.value ? -1 : (kv.value == c.value ? 0 : 1);
  } else {
    int64_t v = 0;
    switch (c.target) {
      case etcd::Compare::Target::kVersion:
        v = kv.version;
        break;
      case etcd::Compare::Target::kCreateRevision:
        v = kv.create_revision;
        break;
      case etcd::Compare::Target::kModRevision:
        v = kv.mod_revision;
        break;
      case etcd::Compare::Target::kLease:
        v = kv.lease;
        break;
      case etcd::Compare::Target::kValue:
        break;
    }
    cmp = v < c.number ? -1 : (v == c.number ? 0 : 1);
  }
  switch (c.op) {
    case etcd::Compare::Op::kEqual:
      return cmp == 0;
    case etcd::Compare::Op::kGreater:
      return cmp > 0;
    case etcd::Compare::Op::kLess:
      return cmp < 0;
    case etcd::Compare::Op::kNotEqual:
      return cmp != 0;
  }
  return false;
}

}  // namespace

struct TxnBatcher::Item {
  bool read = false;
  bool alone = false;  // re-run in a Txn of its own
  etcd::TxnRequest unit;
  TxnDone done;
  etcd::RangeRequest range;
  RangeDone range_done;
  size_t bytes = 0;
  std::vector<Span> writes;   // keys its success ops write
  std::vector<Span> touches;  // keys its compares and Range ops look at
};

TxnBatcher::TxnBatcher(EtcdScope scope)
    : scope_(std::move(scope)), scheduler_(scope_.client->scheduler()) {}

TxnBatcher::~TxnBatcher() {
  if (gathering_) scheduler_.Cancel(gather_timer_);
}

size_t TxnBatcher::UnitBytes(const etcd::TxnRequest& unit) {
  size_t n = 0;
  for (const auto& c : unit.compares) n += CompareBytes(c);
  for (const auto& op : unit.success) n += OpBytes(op);
  for (const auto& op : unit.failure) n += OpBytes(op);
  return n;
}

void TxnBatcher::Submit(etcd::TxnRequest unit, TxnDone done) {
  auto item = std::make_unique<Item>();
  item->bytes = UnitBytes(unit);
  for (const auto& c : unit.compares) item->touches.push_back(SpanOf(c.key, c.range_end));
  for (const auto& op : unit.success) {
    bool writes = false;
    Span s = OpSpan(op, &writes);
    (writes ? item->writes : item->touches).push_back(std::move(s));
  }
  item->unit = std::move(unit);
  item->done = std::move(done);
  queue_.push_back(std::move(item));
  if (gathering_) {
    if (queue_.size() >= gather_target_) EndGather(false);
    return;
  }
  Pump();
}

void TxnBatcher::Range(etcd::RangeRequest request, RangeDone done) {
  if (request.revision != 0 || (!writing_ && queue_.empty())) {
    SendRange(std::move(request), std::move(done));
    return;
  }
  auto item = std::make_unique<Item>();
  item->read = true;
  item->range = std::move(request);
  item->range_done = std::move(done);
  queue_.push_back(std::move(item));
  ++reads_queued_;
  // Later units queue behind the read: the group cannot grow.
  if (gathering_) EndGather(false);
}

void TxnBatcher::SendRange(etcd::RangeRequest request, RangeDone done) {
  // A read pinned at a revision (a later page of a snapshot) cannot see a
  // later write, so writes need not wait for it; counting it would hold
  // every write back for the whole of a paged load.
  if (request.revision != 0) {
    scope_.client->Range(std::move(request), liveness_.Guard(std::move(done)));
    return;
  }
  ++reads_in_flight_;
  scope_.client->Range(std::move(request),
                       [this, alive = liveness_.token(),
                        done = std::move(done)](Result<etcd::RangeResponse> r) mutable {
                         if (!alive) return;
                         --reads_in_flight_;
                         done(std::move(r));
                         if (alive) Pump();
                       });
}

void TxnBatcher::Pump() {
  if (writing_ || gathering_) return;
  while (!queue_.empty() && queue_.front()->read) {
    std::unique_ptr<Item> r = std::move(queue_.front());
    queue_.pop_front();
    --reads_queued_;
    SendRange(std::move(r->range), std::move(r->range_done));
  }
  // Writes wait until every read sent before them has been answered.
  if (queue_.empty() || reads_in_flight_ > 0) return;
  if (Gather()) return;
  gather_target_ = 0;

  std::vector<std::unique_ptr<Item>> group;
  const size_t fence_bytes = scope_.fence ? CompareBytes(*scope_.fence) * 2 : 0;
  size_t compares = scope_.fence ? 1 : 0, ops = 0, bytes = fence_bytes;
  std::vector<Span> written;
  while (!queue_.empty() && !queue_.front()->read) {
    Item& it = *queue_.front();
    if (!group.empty()) {
      if (it.alone || group.front()->alone) break;
      if (compares + it.unit.compares.size() > scope_.max_txn_ops ||
          ops + it.unit.success.size() > scope_.max_txn_ops ||
          bytes + it.bytes > scope_.max_txn_bytes) {
        break;
      }
      bool conflict = false;
      for (const Span& w : written) {
        for (const Span& s : it.writes) conflict = conflict || Overlap(w, s);
        for (const Span& s : it.touches) conflict = conflict || Overlap(w, s);
        if (conflict) break;
      }
      if (conflict) break;
    }
    compares += it.unit.compares.size();
    ops += it.unit.success.size();
    bytes += it.bytes;
    written.insert(written.end(), it.writes.begin(), it.writes.end());
    group.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  Send(std::move(group));
}

void TxnBatcher::Send(std::vector<std::unique_ptr<Item>> group) {
  const bool alone = group.size() == 1;
  etcd::TxnRequest txn;
  if (scope_.fence) {
    txn.compares.push_back(*scope_.fence);
    txn.failure.emplace_back(etcd::RangeRequest::Key(scope_.fence->key));
  }
  for (auto& it : group) {
    for (const auto& c : it->unit.compares) txn.compares.push_back(c);
    for (const auto& op : it->unit.success) txn.success.push_back(op);
    if (alone) {
      for (const auto& op : it->unit.failure) txn.failure.push_back(op);
    }
  }
  writing_ = true;
  sent_at_ = scheduler_.Now();
  ++stats_->txns;
  if (group.size() > stats_->max_group) stats_->max_group = group.size();
  scope_.client->Txn(std::move(txn), [this, alive = liveness_.token(), group = std::move(group)](
                                         Result<etcd::TxnResponse> answer) mutable {
    if (!alive) return;
    OnAnswer(std::move(group), std::move(answer));
  });
}

void TxnBatcher::OnAnswer(std::vector<std::unique_ptr<Item>> group,
                          Result<etcd::TxnResponse> answer) {
  const bool alone = group.size() == 1;
  std::optional<Status> all_fail;
  if (!answer.ok()) {
    if (!alone && !answer.status().IsUnavailable()) {
      RerunAlone(std::move(group));
      return;
    }
    all_fail = answer.status();
  } else if (!answer->succeeded) {
    size_t own_from = 0;
    if (scope_.fence) {
      own_from = 1;
      const auto* owner = answer->responses.empty()
                              ? nullptr
                              : std::get_if<etcd::RangeResponse>(&answer->responses.front());
      if (owner == nullptr) {
        all_fail = Status::Corruption("etcd: a failed Txn did not return the fence read");
      } else if (!Holds(*scope_.fence, *owner)) {
        all_fail = FenceLost(*owner);
      }
    }
    if (!all_fail && !alone) {
      RerunAlone(std::move(group));
      return;
    }
    if (!all_fail) {
      answer->responses.erase(answer->responses.begin(), answer->responses.begin() + own_from);
    }
  }

  // ORDER: the next group goes out before this one's completions run, so
  // etcd commits it while they run (a Create's completion writes its
  // downcall).  Its answer, and that of any read Pump sends, comes from
  // the loop, after every completion below: the order of completions holds.
  writing_ = false;
  const TimePoint now = scheduler_.Now();
  const Duration took = now - sent_at_;
  txn_time_ = txn_time_ == Duration::zero() ? took : txn_time_ + (took - txn_time_) / 8;
  // Units queued now, plus this group's, whose writers are about to get
  // their completions and may submit again.
  writers_ = std::max(writers_, queue_.size() + group.size());
  gather_target_ = writers_;
  answered_at_ = now;
  auto alive = liveness_.token();
  Pump();
  const TimePoint completions_start = scheduler_.Now();
  size_t at = 0;
  for (auto& it : group) {
    ++stats_->units;
    if (all_fail) {
      it->done(*all_fail);
    } else if (!answer->succeeded) {
      it->done(std::move(answer).value());
    } else {
      etcd::TxnResponse own;
      own.header = answer->header;
      own.succeeded = true;
      size_t n = it->unit.success.size();
      for (size_t i = at; i < at + n && i < answer->responses.size(); ++i) {
        own.responses.push_back(std::move(answer->responses[i]));
      }
      at += n;
      it->done(std::move(own));
    }
    if (!alive) return;
  }
  completions_time_ = scheduler_.Now() - completions_start;
}

bool TxnBatcher::Gather() {
  if (gather_target_ <= 1 || queue_.size() >= gather_target_ || reads_queued_ > 0 ||
      queue_.front()->alone) {
    return false;
  }
  const Duration window = std::min<Duration>(kMaxGatherWait, txn_time_ / 2);
  if (window <= Duration::zero() || completions_time_ >= window) return false;
  // A first unit long after the last answer is new work, not a writer
  // coming back from it: it goes at once.
  if (scheduler_.Now() - answered_at_ > std::max<Duration>(txn_time_, kReturnHorizon)) {
    return false;
  }
  gathering_ = true;
  ++stats_->gathers;
  gather_timer_ = scheduler_.RunAfter(window, [this, alive = liveness_.token()] {
    if (!alive) return;
    gather_timer_ = 0;
    EndGather(true);
  });
  return true;
}

void TxnBatcher::EndGather(bool timed_out) {
  if (!timed_out) scheduler_.Cancel(gather_timer_);
  gather_timer_ = 0;
  gathering_ = false;
  gather_target_ = 0;
  if (timed_out) {
    ++stats_->gather_timeouts;
    writers_ = 0;  // fewer came back in time: learn their number again
  }
  Pump();
}

void TxnBatcher::RerunAlone(std::vector<std::unique_ptr<Item>> group) {
  stats_->reruns += group.size();
  for (auto it = group.rbegin(); it != group.rend(); ++it) {
    (*it)->alone = true;
    queue_.push_front(std::move(*it));
  }
  writing_ = false;
  Pump();
}

Status TxnBatcher::FenceLost(const etcd::RangeResponse& owner) const {
  const std::string& key = scope_.fence->key;
  std::string instance = key;
  constexpr std::string_view kOwner = "/owner";
  if (key.size() > kOwner.size() &&
      key.compare(key.size() - kOwner.size(), kOwner.size(), kOwner) == 0) {
    std::string_view rest(key.data(), key.size() - kOwner.size());
    size_t slash = rest.rfind('/');
    instance = std::string(slash == std::string_view::npos ? rest : rest.substr(slash + 1));
  }
  std::string holder = "nobody (the owner key is gone)";
  if (!owner.kvs.empty()) {
    auto j = nlohmann::json::parse(owner.kvs.front().value, nullptr, false);
    if (j.is_object() && j.contains("node") && j["node"].is_string()) {
      holder = StrCat("node ", j["node"].get<std::string>());
    } else {
      holder = StrCat("another owner (create_revision ", owner.kvs.front().create_revision, ")");
    }
  }
  return Status::FailedPrecondition(StrCat("lost instance ", instance, " to ", holder));
}

}  // namespace nfsrec
