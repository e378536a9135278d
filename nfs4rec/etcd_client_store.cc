#include "nfs4rec/etcd_client_store.h"

#include <ctime>
#include <limits>
#include <utility>

#include "nfs4rec/etcd_client_keys.h"

namespace nfsrec::nfs4rec {

using etcd::Compare;
using etcd::DeleteRequest;
using etcd::PutRequest;
using etcd::RangeRequest;
using etcd::RangeResponse;
using etcd::TxnOp;
using etcd::TxnResponse;

struct EtcdClientStore::Call {
  bool barrier = false;
  Callback<void(Call&, Result<Epochs>)> start;
  Deliver deliver;  // set by Complete: the result is ready
};

struct EtcdClientStore::Scan {
  std::string prefix;  // the epoch's, whole key
  std::string next;    // first key of the next page
  std::string end;
  int64_t revision = 0;
  size_t left = 0;
  // An ordered scan: its call is a barrier until the first page pins the
  // revision (the batcher may send a later write before an earlier read).
  bool release = false;
  PageFn page;
  Callback<void(Status, int64_t revision)> done;
};

namespace {

constexpr size_t kNoLimit = std::numeric_limits<size_t>::max();

// A page callback that moves the page's records to the end of `to`.
auto AppendTo(std::vector<ClientRecord>* to) {
  return [to](std::vector<ClientRecord>& page) {
    for (ClientRecord& r : page) to->push_back(std::move(r));
    return Status::Ok();
  };
}

}  // namespace

EtcdClientStore::EtcdClientStore(EventLoop& loop, Logger& log, EtcdScope scope)
    : loop_(loop), log_(log), scope_(std::move(scope)), batcher_(scope_) {}

EtcdClientStore::~EtcdClientStore() = default;

std::string EtcdClientStore::MetaKey() const { return StrCat(scope_.prefix, etcd_keys::kMeta); }
std::string EtcdClientStore::EpochPrefix(uint64_t epoch) const {
  return scope_.prefix + etcd_keys::EpochPart(epoch);
}
std::string EtcdClientStore::RecordKey(uint64_t epoch, const std::string& id) const {
  return scope_.prefix + etcd_keys::RecordPart(epoch, id);
}

// ---------------------------------------------------------------------------
// Call order.

void EtcdClientStore::Enqueue(bool barrier, Callback<void(Call&, Result<Epochs>)> start) {
  auto call = std::make_unique<Call>();
  call->barrier = barrier;
  call->start = std::move(start);
  calls_.push_back(std::move(call));
  Pump();
}

void EtcdClientStore::Pump() {
  if (pumping_) return;  // the outer Pump goes on
  pumping_ = true;
  while (started_ < calls_.size() && !blocked_) {
    if (!epochs_) {
      ReadMeta();
      break;
    }
    Call& call = *calls_[started_++];
    if (call.barrier) blocked_ = true;
    auto start = std::move(call.start);
    start(call, *epochs_);
  }
  pumping_ = false;
}

void EtcdClientStore::ReadMeta() {
  blocked_ = true;
  Read(RangeRequest::Key(MetaKey()), [this](Result<RangeResponse> r) {
    blocked_ = false;
    Result<Epochs> e = Epochs{1, 0};
    if (!r.ok()) {
      e = r.status();
    } else if (!r->kvs.empty()) {
      e = etcd_keys::DecodeEpochs(r->kvs[0].value);
      meta_value_ = r->kvs[0].value;
    } else {
      meta_value_.reset();
    }
    if (e.ok()) {
      epochs_ = *e;
      return Pump();
    }
    if (e.status().IsCorruption()) log_.Error(StrCat("etcd v4 store: ", e.status().ToString()));
    // Every call waiting now fails with the read's error; the next call
    // made reads again.
    while (started_ < calls_.size()) {
      Call& call = *calls_[started_++];
      auto start = std::move(call.start);
      start(call, e.status().WithContext("read v4 epochs"));
    }
  });
}

void EtcdClientStore::Applied(std::optional<Epochs> epochs) {
  if (epochs) epochs_ = epochs;
  blocked_ = false;
  Pump();
}

void EtcdClientStore::Forget(const Status& why) {
  if (epochs_) log_.Debug(StrCat("etcd v4 store: the epochs will be read again: ", why.ToString()));
  epochs_.reset();
}

void EtcdClientStore::Complete(Call& call, Deliver deliver) {
  call.deliver = std::move(deliver);
  if (delivery_posted_) return;
  delivery_posted_ = true;
  loop_.Post(liveness_.Guard([this] { DeliverReady(); }));
}

void EtcdClientStore::DeliverReady() {
  delivery_posted_ = false;
  Liveness::Token alive = liveness_.token();
  while (!calls_.empty() && calls_.front()->deliver) {
    std::unique_ptr<Call> call = std::move(calls_.front());
    calls_.pop_front();
    --started_;
    call->deliver();
    if (!alive) return;  // a completion destroyed the store
  }
}

int64_t EtcdClientStore::Now() { return static_cast<int64_t>(std::time(nullptr)); }

void EtcdClientStore::Finish(Call& call, Done& done, Status status) {
  Complete(call, [done = std::move(done), status = std::move(status)]() mutable { done(status); });
}

// ---------------------------------------------------------------------------
// etcd.

Compare EtcdClientStore::MetaGuard() const {
  if (!meta_value_) return Compare::Version(MetaKey(), Compare::Op::kEqual, 0);
  return Compare::Value(MetaKey(), Compare::Op::kEqual, *meta_value_);
}

void EtcdClientStore::Write(std::vector<Compare> compares, std::vector<TxnOp> ops,
                            Callback<void(Status, TxnResponse)> done) {
  compares.push_back(MetaGuard());
  etcd::TxnRequest unit;
  unit.compares = std::move(compares);
  unit.success = std::move(ops);
  auto answered = liveness_.Guard([this, done = std::move(done)](Result<TxnResponse> r) mutable {
    if (!r.ok()) return done(r.status(), TxnResponse());
    if (!r->succeeded) {
      // Single writer: only a write of unknown outcome applied late can
      // have changed what the call read.
      Status changed = Status::Unavailable(
          "v4 store: the epochs or the record changed under the call; nothing written");
      log_.Warning(StrCat("etcd v4 store: ", changed.message()));
      Forget(changed);
      return done(changed, TxnResponse());
    }
    done(Status::Ok(), std::move(r).value());
  });
  batcher_.Submit(std::move(unit), std::move(answered));
}

void EtcdClientStore::Read(RangeRequest request, Callback<void(Result<RangeResponse>)> done) {
  batcher_.Range(std::move(request), liveness_.Guard(std::move(done)));
}

void EtcdClientStore::ScanEpoch(uint64_t epoch, int64_t revision, std::optional<std::string> after,
                                size_t limit, PageFn page,
                                Callback<void(Status, int64_t revision)> done) {
  auto s = std::make_unique<Scan>();
  s->prefix = EpochPrefix(epoch);
  s->next = after ? s->prefix + etcd_keys::Hex(*after) + '\0' : s->prefix;
  s->end = etcd::PrefixEnd(s->prefix);
  s->revision = revision;
  s->release = revision == 0;
  s->left = limit;
  s->page = std::move(page);
  s->done = std::move(done);
  NextPage(std::move(s));
}

void EtcdClientStore::NextPage(std::unique_ptr<Scan> s) {
  auto pinned = [this](Scan& scan) {
    if (!std::exchange(scan.release, false)) return;
    Applied(std::nullopt);
  };
  if (s->left == 0) {
    pinned(*s);
    return s->done(Status::Ok(), s->revision);
  }
  RangeRequest r;
  r.key = s->next;
  r.range_end = s->end;
  r.limit = static_cast<int64_t>(std::min<size_t>(kPageKeys, s->left));
  r.revision = s->revision;
  Read(std::move(r), [this, pinned, s = std::move(s)](Result<RangeResponse> res) mutable {
    pinned(*s);
    if (!res.ok()) return s->done(res.status(), s->revision);
    if (s->revision == 0) s->revision = res->header.revision;
    std::vector<ClientRecord> records;
    records.reserve(res->kvs.size());
    for (etcd::KeyValue& kv : res->kvs) {
      Result<std::string> id = etcd_keys::IdOfKey(kv.key, s->prefix);
      if (!id.ok()) {
        return s->done(Status::Corruption(StrCat("v4 record key ", Printable(kv.key))),
                       s->revision);
      }
      Result<ClientRecord> rec = etcd_keys::DecodeRecord(std::move(id).value(), kv.value);
      if (!rec.ok()) return s->done(rec.status(), s->revision);
      records.push_back(std::move(rec).value());
    }
    s->left -= std::min(s->left, records.size());
    if (Status st = s->page(records); !st.ok()) return s->done(st, s->revision);
    if (!res->more || res->kvs.empty() || s->left == 0) return s->done(Status::Ok(), s->revision);
    s->next = res->kvs.back().key + '\0';
    NextPage(std::move(s));
  });
}

// ---------------------------------------------------------------------------
// The port.

void EtcdClientStore::ScanGrace(const Epochs& epochs, PageFn current, PageFn recovery,
                                Callback<void(Status)> done) {
  ScanEpoch(epochs.current, 0, std::nullopt, kNoLimit, std::move(current),
            [this, epochs, recovery = std::move(recovery), done = std::move(done)](
                Status st, int64_t revision) mutable {
              if (!st.ok() || !epochs.in_grace()) return done(st);
              ScanEpoch(epochs.recovery, revision, std::nullopt, kNoLimit, std::move(recovery),
                        [done = std::move(done)](Status st2, int64_t) mutable { done(st2); });
            });
}

void EtcdClientStore::Load(ResultDone<ClientSnapshot> done) {
  Enqueue(true, [this, done = std::move(done)](Call& call, Result<Epochs> e) mutable {
    if (!e.ok()) return Finish<ClientSnapshot>(call, done, e.status());
    auto snap = std::make_shared<ClientSnapshot>();
    snap->epochs = *e;
    ScanGrace(*e, AppendTo(&snap->current), AppendTo(&snap->recovery),
              [this, &call, snap, done = std::move(done)](Status st) mutable {
                FinishShared(call, done, st.WithContext("load v4"), snap);
              });
  });
}

void EtcdClientStore::LoadDigest(Fingerprint fingerprint, RecordFilter offered,
                                 ResultDone<ClientDigest> done) {
  Enqueue(true, [this, fingerprint = std::move(fingerprint), offered = std::move(offered),
                 done = std::move(done)](Call& call, Result<Epochs> e) mutable {
    if (!e.ok()) return Finish<ClientDigest>(call, done, e.status());
    auto out = std::make_shared<ClientDigest>();
    out->epochs = *e;
    ScanGrace(
        *e,
        [out, fingerprint](std::vector<ClientRecord>& page) {
          for (const ClientRecord& r : page) {
            out->current.push_back(fingerprint(r.id));
            if (r.lease_expired) out->current_lease_expired.push_back(r.id);
          }
          return Status::Ok();
        },
        [out, fingerprint, offered = std::move(offered)](std::vector<ClientRecord>& page) {
          for (const ClientRecord& r : page) {
            if (offered(r)) {
              out->recovery.push_back(fingerprint(r.id));
            } else {
              ++out->recovery_left_out;
            }
          }
          return Status::Ok();
        },
        [this, &call, out, done = std::move(done)](Status st) mutable {
          FinishShared(call, done, st.WithContext("load v4"), out);
        });
  });
}

void EtcdClientStore::StartGrace(ResultDone<GraceStartResult> done) {
  SwitchEpochs(true, std::move(done));
}

void EtcdClientStore::OpenGrace(ResultDone<GraceStartResult> done) {
  SwitchEpochs(false, std::move(done));
}

void EtcdClientStore::SwitchEpochs(bool read_records, ResultDone<GraceStartResult> done) {
  Enqueue(true, [this, read_records, done = std::move(done)](Call& call, Result<Epochs> e) mutable {
    if (!e.ok()) return Finish<GraceStartResult>(call, done, e.status());
    auto out = std::make_shared<GraceStartResult>();
    std::vector<TxnOp> ops;
    if (e->in_grace()) {
      // Rebooted during grace (REBT3): recovery keeps every client that may
      // still reclaim; only what was written since that GraceStart goes.
      out->kept_recovery = true;
      out->epochs = *e;
      ops.emplace_back(DeleteRequest::Prefix(EpochPrefix(e->current)));
    } else {
      out->epochs = Epochs{e->current + 1, e->current};
      ops.emplace_back(PutRequest{MetaKey(), etcd_keys::EncodeEpochs(out->epochs), 0, false});
      ops.emplace_back(DeleteRequest::Prefix(EpochPrefix(out->epochs.current)));
    }
    Write({}, std::move(ops),
          [this, &call, read_records, out, done = std::move(done)](Status st,
                                                                   TxnResponse txn) mutable {
            if (!st.ok()) {
              Forget(st);
              Applied(std::nullopt);
              return Finish<GraceStartResult>(call, done, st.WithContext("v4 grace start"));
            }
            if (!out->kept_recovery) meta_value_ = etcd_keys::EncodeEpochs(out->epochs);
            Applied(out->epochs);
            if (!read_records) return Finish<GraceStartResult>(call, done, std::move(*out));
            ScanEpoch(out->epochs.recovery, txn.header.revision, std::nullopt, kNoLimit,
                      AppendTo(&out->reclaimable),
                      [this, &call, out, done = std::move(done)](Status st2, int64_t) mutable {
                        FinishShared(call, done, st2.WithContext("v4 grace start"), out);
                      });
          });
  });
}

void EtcdClientStore::ReadRecords(uint64_t epoch, std::optional<std::string> after, size_t limit,
                                  ResultDone<std::vector<ClientRecord>> done) {
  Enqueue(true, [this, epoch, after = std::move(after), limit, done = std::move(done)](
                    Call& call, Result<Epochs> e) mutable {
    using Records = std::vector<ClientRecord>;
    if (!e.ok()) return Finish<Records>(call, done, e.status());
    auto out = std::make_shared<Records>();
    ScanEpoch(epoch, 0, std::move(after), limit, AppendTo(out.get()),
              [this, &call, out, done = std::move(done)](Status st, int64_t) mutable {
                FinishShared(call, done, st, out);
              });
  });
}

void EtcdClientStore::PutClient(const ClientRecord& record, Done done) {
  Enqueue(false,
          [this, record = record, done = std::move(done)](Call& call, Result<Epochs> e) mutable {
            if (!e.ok()) return Finish(call, done, e.status());
            record.time = Now();
            std::vector<TxnOp> ops;
            ops.emplace_back(PutRequest{RecordKey(e->current, record.id),
                                        etcd_keys::EncodeRecord(record), 0, false});
            Write({}, std::move(ops),
                  [this, &call, done = std::move(done)](Status st, TxnResponse) mutable {
                    Finish(call, done, st);
                  });
          });
}

void EtcdClientStore::RemoveClient(const std::string& id, Done done) {
  Enqueue(false, [this, id, done = std::move(done)](Call& call, Result<Epochs> e) mutable {
    if (!e.ok()) return Finish(call, done, e.status());
    std::vector<TxnOp> ops;
    DeleteRequest del;
    del.key = RecordKey(e->current, id);
    ops.emplace_back(std::move(del));
    Write({}, std::move(ops),
          [this, &call, done = std::move(done)](Status st, TxnResponse) mutable {
            Finish(call, done, st);
          });
  });
}

// Grace ends in two steps.  First meta alone moves to {current, 0}: a
// small write, so its commit (what the kernel is answered on) does not
// grow with the number of clients that did not come back.  Then every
// record outside the current epoch goes (the old recovery epoch, and any
// epoch a failed grace end left behind), in slices (DropStaleRecords).
// Readers only ever scan the current and recovery epochs, so records left
// by a failed second step are unreachable and the next grace end takes
// them.  The call stays a barrier until both steps are done, so no later
// call sees the epochs move under the slices.
void EtcdClientStore::EndGrace(ResultDone<EndGraceResult> done) {
  Enqueue(true, [this, done = std::move(done)](Call& call, Result<Epochs> e) mutable {
    if (!e.ok()) return Finish<EndGraceResult>(call, done, e.status());
    EndGraceResult out;
    out.was_in_grace = e->in_grace();
    out.epochs = Epochs{e->current, 0};
    auto drop_stale = [this, &call, out](ResultDone<EndGraceResult> answer) mutable {
      DropStaleRecords(out.epochs.current, [this, &call, out, done = std::move(answer)](
                                               Result<uint64_t> dropped) mutable {
        if (dropped.ok()) {
          out.dropped = *dropped;
        } else {
          log_.Warning(
              StrCat("etcd v4 store: records of ended grace periods are left until the "
                     "next grace end: ",
                     dropped.status().ToString()));
        }
        Applied(out.epochs);
        Finish<EndGraceResult>(call, done, out);
      });
    };
    if (!out.was_in_grace) return drop_stale(std::move(done));
    std::vector<TxnOp> ops;
    ops.emplace_back(PutRequest{MetaKey(), etcd_keys::EncodeEpochs(out.epochs), 0, false});
    Write({}, std::move(ops),
          [this, &call, out, drop_stale = std::move(drop_stale), done = std::move(done)](
              Status st, TxnResponse) mutable {
            if (!st.ok()) {
              Forget(st);
              Applied(std::nullopt);
              return Finish<EndGraceResult>(call, done, st.WithContext("v4 grace end"));
            }
            meta_value_ = etcd_keys::EncodeEpochs(out.epochs);
            epochs_ = out.epochs;
            drop_stale(std::move(done));
          });
  });
}

// Each slice is a keys-only Range of at most kDropSlice keys and one
// DeleteRange from the first key it listed to just past the last, so no
// etcd request grows with the store (one DeleteRange of 100,000 keys takes
// over a second, past the request timeout on a loaded machine).  Every
// Write carries the meta guard, so a slice of unknown outcome applied late
// deletes nothing once the epochs have moved on.
struct EtcdClientStore::StaleDrop {
  std::vector<std::pair<std::string, std::string>> ranges;  // [key, end), in order
  size_t range = 0;
  std::string next;
  uint64_t dropped = 0;
  Callback<void(Result<uint64_t>)> done;
};

void EtcdClientStore::DropStaleRecords(uint64_t current, Callback<void(Result<uint64_t>)> done) {
  auto d = std::make_shared<StaleDrop>();
  const std::string all = scope_.prefix + std::string(etcd_keys::kRecords);
  const std::string keep = EpochPrefix(current);
  d->ranges = {{all, keep}, {etcd::PrefixEnd(keep), etcd::PrefixEnd(all)}};
  d->next = d->ranges[0].first;
  d->done = std::move(done);
  DropSlice(std::move(d));
}

void EtcdClientStore::DropSlice(std::shared_ptr<StaleDrop> d) {
  if (d->range == d->ranges.size()) return d->done(d->dropped);
  RangeRequest list;
  list.key = d->next;
  list.range_end = d->ranges[d->range].second;
  list.limit = kDropSlice;
  list.keys_only = true;
  Read(std::move(list), [this, d](Result<RangeResponse> r) mutable {
    if (!r.ok()) return d->done(r.status().WithContext("list old v4 records"));
    if (r->kvs.empty()) {
      if (++d->range < d->ranges.size()) d->next = d->ranges[d->range].first;
      return DropSlice(std::move(d));
    }
    std::string past_last = r->kvs.back().key + '\0';
    std::vector<TxnOp> ops;
    ops.emplace_back(DeleteRequest{r->kvs.front().key, past_last, false});
    d->next = std::move(past_last);
    Write({}, std::move(ops), [this, d](Status st, TxnResponse txn) mutable {
      if (!st.ok()) return d->done(st.WithContext("delete old v4 records"));
      for (const etcd::TxnOpResponse& op : txn.responses) {
        if (const auto* del = std::get_if<etcd::DeleteResponse>(&op)) {
          d->dropped += static_cast<uint64_t>(del->deleted);
        }
      }
      DropSlice(std::move(d));
    });
  });
}

}  // namespace nfsrec::nfs4rec
