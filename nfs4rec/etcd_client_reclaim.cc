// EtcdClientStore's calls that read before they write (barriers, see
// etcd_client_store.h): SetLeaseExpired and the v0 CheckReclaim.
#include <utility>

#include "nfs4rec/etcd_client_keys.h"
#include "nfs4rec/etcd_client_store.h"

namespace nfsrec::nfs4rec {

using etcd::Compare;
using etcd::PutRequest;
using etcd::RangeRequest;
using etcd::RangeResponse;
using etcd::TxnOp;
using etcd::TxnResponse;

namespace {

// A copy of a recovery record into current, as a reclaim makes it.
Result<std::string> ReclaimedValue(const std::string& id, const std::string& value) {
  NFSREC_ASSIGN_OR_RETURN(ClientRecord r, etcd_keys::DecodeRecord(id, value));
  r.lease_expired = false;
  r.time = EtcdClientStore::Now();
  return etcd_keys::EncodeRecord(r);
}

}  // namespace

void EtcdClientStore::SetLeaseExpired(const std::string& id, bool expired, Done done) {
  Enqueue(true, [this, id, expired, done = std::move(done)](Call& call, Result<Epochs> e) mutable {
    if (!e.ok()) return Finish(call, done, e.status());
    std::string key = RecordKey(e->current, id);
    Read(RangeRequest::Key(key), [this, &call, id, expired, key,
                                  done = std::move(done)](Result<RangeResponse> r) mutable {
      if (!r.ok() || r->kvs.empty()) {
        Applied(std::nullopt);
        return Finish(call, done, r.status());
      }
      Result<ClientRecord> rec = etcd_keys::DecodeRecord(id, r->kvs[0].value);
      if (!rec.ok() || rec->lease_expired == expired) {
        Applied(std::nullopt);
        return Finish(call, done, rec.status());
      }
      rec->lease_expired = expired;
      std::vector<TxnOp> ops;
      ops.emplace_back(PutRequest{key, etcd_keys::EncodeRecord(*rec), 0, false});
      Write({Compare::ModRevision(key, Compare::Op::kEqual, r->kvs[0].mod_revision)},
            std::move(ops), [this, &call, done = std::move(done)](Status st, TxnResponse) mutable {
              Applied(std::nullopt);
              Finish(call, done, st);
            });
    });
  });
}

void EtcdClientStore::CheckReclaim(const std::string& id, ResultDone<CheckResult> done) {
  Enqueue(true, [this, id, done = std::move(done)](Call& call, Result<Epochs> e) mutable {
    if (!e.ok()) return Finish<CheckResult>(call, done, e.status());
    std::string current_key = RecordKey(e->current, id);
    Read(RangeRequest::Key(current_key),
         [this, &call, id, epochs = *e, current_key,
          done = std::move(done)](Result<RangeResponse> cur) mutable {
           if (!cur.ok()) {
             Applied(std::nullopt);
             return Finish<CheckResult>(call, done, cur.status());
           }
           if (!epochs.in_grace()) {
             OpenGraceAndReclaim(call, id, epochs, *cur, std::move(done));
           } else if (!cur->kvs.empty()) {
             Applied(std::nullopt);
             Finish<CheckResult>(call, done,
                                 CheckResult{ReclaimOutcome::kAlreadyCurrent, false, epochs});
           } else {
             ReclaimFromRecovery(call, id, epochs, cur->header.revision, std::move(done));
           }
         });
  });
}

// Old kernels send no GraceStart: the grace opens with the first Check, and
// a record of the old current epoch (now recovery) is copied into the new
// one, in one Txn.
void EtcdClientStore::OpenGraceAndReclaim(Call& call, const std::string& id, const Epochs& before,
                                          const RangeResponse& found,
                                          ResultDone<CheckResult> done) {
  CheckResult out;
  out.started_grace = true;
  out.epochs = Epochs{before.current + 1, before.current};
  const std::string old_key = RecordKey(before.current, id);
  std::vector<Compare> compares;
  std::vector<TxnOp> ops;
  // No prefix delete of the new epoch here: etcd refuses a Txn that puts
  // a key inside a range it deletes, and EndGrace leaves no epoch above
  // current anyway.
  ops.emplace_back(PutRequest{MetaKey(), etcd_keys::EncodeEpochs(out.epochs), 0, false});
  if (found.kvs.empty()) {
    compares.push_back(Compare::Version(old_key, Compare::Op::kEqual, 0));
    out.outcome = ReclaimOutcome::kNotFound;
  } else {
    Result<std::string> copy = ReclaimedValue(id, found.kvs[0].value);
    if (!copy.ok()) {
      Applied(std::nullopt);
      return Finish<CheckResult>(call, done, copy.status());
    }
    compares.push_back(
        Compare::ModRevision(old_key, Compare::Op::kEqual, found.kvs[0].mod_revision));
    ops.emplace_back(PutRequest{RecordKey(out.epochs.current, id), *copy, 0, false});
    out.outcome = ReclaimOutcome::kReclaimed;
  }
  Write(std::move(compares), std::move(ops),
        [this, &call, out, done = std::move(done)](Status st, TxnResponse) mutable {
          if (!st.ok()) {
            Forget(st);
            Applied(std::nullopt);
            return Finish<CheckResult>(call, done, st);
          }
          meta_value_ = etcd_keys::EncodeEpochs(out.epochs);
          Applied(out.epochs);
          Finish<CheckResult>(call, done, out);
        });
}

void EtcdClientStore::ReclaimFromRecovery(Call& call, const std::string& id, const Epochs& epochs,
                                          int64_t revision, ResultDone<CheckResult> done) {
  RangeRequest get = RangeRequest::Key(RecordKey(epochs.recovery, id));
  get.revision = revision;
  Read(std::move(get), [this, &call, id, epochs,
                        done = std::move(done)](Result<RangeResponse> rec) mutable {
    CheckResult out{ReclaimOutcome::kNotFound, false, epochs};
    if (!rec.ok() || rec->kvs.empty()) {
      Applied(std::nullopt);
      if (!rec.ok()) return Finish<CheckResult>(call, done, rec.status());
      return Finish<CheckResult>(call, done, out);
    }
    Result<std::string> copy = ReclaimedValue(id, rec->kvs[0].value);
    if (!copy.ok()) {
      Applied(std::nullopt);
      return Finish<CheckResult>(call, done, copy.status());
    }
    const std::string current_key = RecordKey(epochs.current, id);
    std::vector<TxnOp> ops;
    ops.emplace_back(PutRequest{current_key, *copy, 0, false});
    Write({Compare::ModRevision(rec->kvs[0].key, Compare::Op::kEqual, rec->kvs[0].mod_revision),
           Compare::Version(current_key, Compare::Op::kEqual, 0)},
          std::move(ops),
          [this, &call, out, done = std::move(done)](Status st, TxnResponse) mutable {
            Applied(std::nullopt);
            if (!st.ok()) return Finish<CheckResult>(call, done, st);
            out.outcome = ReclaimOutcome::kReclaimed;
            Finish<CheckResult>(call, done, out);
          });
  });
}

}  // namespace nfsrec::nfs4rec
