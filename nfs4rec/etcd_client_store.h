// EtcdClientStore: ClientStore on etcd (cluster mode, issue 14), one
// instance's NFSv4 records under EtcdScope::prefix (P below, e.g.
// "/nfsrec/<cluster>/instances/<I>/v4/").
//
// Key layout (keys are bytes; values are text):
//
//   P meta                       {"current":C,"recovery":R}
//       The epochs (client_store.h).  Absent means {1, 0} (a new instance).
//       R = 0: not in grace; else 1 <= R < C.
//   P rec/<epoch>/<id>           <time> <session> <expired> <princhash>
//       One record.  <epoch>: 16 lowercase hex digits; <id>: the client id's
//       bytes in lowercase hex, so keys sort as the ids do (bytes compared
//       unsigned) and a page "after" an id is a plain key range.  The value:
//       decimal unix seconds, then "-" (has_session unknown), "0" or "1",
//       then "0" or "1" (lease_expired), then the princhash in hex or "-",
//       separated by single spaces.
//
// Every call but EndGrace's clean-up is O(1) etcd operations, whatever the
// number of records, so it fits one Txn under etcd's default limits (128 ops, 1.5 MiB) and is
// atomic as the port says:
//   StartGrace/OpenGrace  out of grace: put meta {C+1, C} (and delete the
//                         prefix rec/<C+1>/, empty unless hand-edited);
//                         during grace (REBT3): delete the prefix rec/<C>/.
//   EndGrace              put meta {C, 0} (the commit that ends grace); then
//                         delete every epoch but current in slices of
//                         kDropSlice keys (a keys-only Range and one
//                         DeleteRange each), left to the next grace end if
//                         that fails: no reader looks outside {C, R}.
//   CheckReclaim          a read, then one Txn whose compares say that what
//                         was read did not change (a copy into current, and
//                         out of grace the grace opening, in the same Txn).
//   SetLeaseExpired       a read, then a Txn comparing the key's mod_revision.
//   PutClient, RemoveClient  one put or delete.
// One exception to "a failed call applied nothing": StartGrace reads its
// records after the switch's Txn (they do not fit one); if that read fails,
// the switch stays, and a retry finds the grace open and returns the same
// recovery epoch (kept_recovery).  OpenGrace, which the service uses, has
// no such read.
// Reads (Load, LoadDigest, ReadRecords, StartGrace's records) page through
// a prefix with Range limit kPageKeys, every page at the revision of the
// first (a consistent snapshot, never all records in memory at once, except
// for Load and StartGrace, whose results are the records).
//
// Every write is a unit of a TxnBatcher (common/store/etcd_batcher.h): group
// committed, with scope.fence in each Txn (another owner took the instance:
// the write fails FailedPrecondition and writes nothing), and a guard on
// meta (its value equals what this store believes), so no record lands in
// an epoch that is not the one the call meant.
//
// The epochs are cached after the first read of meta: the daemon is the
// single writer for its instance (the fence guarantees it), so meta changes
// only through this store's own calls.  A call that changes the epochs, or
// reads before it writes (CheckReclaim, SetLeaseExpired), is a barrier:
// calls made after it start only once it applied (or failed).  So is a
// reading call (Load, LoadDigest, ReadRecords) until its first page has
// pinned the revision: the batcher orders a read after earlier writes, but
// may send a later write before the read is answered.  After a
// barrier fails, or a guard finds meta changed, the cache is dropped and
// the next call reads meta again.
//
// Errors: Unavailable when etcd does not answer within the client's
// time-outs (a write's outcome is then unknown: every write is idempotent
// or guarded, so a late apply never breaks the layout's invariants; a
// grace start that did apply is seen after the re-read as a start during
// grace, which keeps the same recovery epoch), and when a guard or a read
// record's compare failed (nothing written; the epochs are read again);
// FailedPrecondition when the fence fails; Corruption for a meta or record
// value that is not the format above.  A read pinned at a revision that
// etcd compacted meanwhile fails (InvalidArgument): nfsrecd never compacts,
// and etcd does not unless started with --auto-compaction-retention.
//
// Ordering (client_store.h): calls apply in call order (the batcher keeps
// submission order; barriers hold later calls back) and complete in call
// order (a call's completion waits for those of every earlier call).
// Completions run on the loop thread, never inside the call.  Loop thread
// only; completions still pending when the store is destroyed never run.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/base/liveness.h"
#include "common/base/logging.h"
#include "common/os/event_loop.h"
#include "common/store/etcd_batcher.h"
#include "common/store/etcd_scope.h"
#include "nfs4rec/client_store.h"

namespace nfsrec::nfs4rec {

class EtcdClientStore final : public ClientStore {
 public:
  // Keys per Range page.
  static constexpr int64_t kPageKeys = 1000;
  // Keys per slice of the grace end's clean-up (EndGrace).
  static constexpr int64_t kDropSlice = 10000;

  // scope.client must outlive the store.  Nothing is read until the first
  // call.
  EtcdClientStore(EventLoop& loop, Logger& log, EtcdScope scope);
  ~EtcdClientStore() override;
  EtcdClientStore(const EtcdClientStore&) = delete;
  EtcdClientStore& operator=(const EtcdClientStore&) = delete;

  void Load(ResultDone<ClientSnapshot> done) override;
  // Streams both epochs page by page through `fingerprint` and `offered`
  // (run on the loop thread).
  void LoadDigest(Fingerprint fingerprint, RecordFilter offered,
                  ResultDone<ClientDigest> done) override;
  void StartGrace(ResultDone<GraceStartResult> done) override;
  void OpenGrace(ResultDone<GraceStartResult> done) override;
  void ReadRecords(uint64_t epoch, std::optional<std::string> after, size_t limit,
                   ResultDone<std::vector<ClientRecord>> done) override;
  void PutClient(const ClientRecord& record, Done done) override;
  void RemoveClient(const std::string& id, Done done) override;
  void SetLeaseExpired(const std::string& id, bool expired, Done done) override;
  void CheckReclaim(const std::string& id, ResultDone<CheckResult> done) override;
  void EndGrace(ResultDone<EndGraceResult> done) override;

  // The store's clock for ClientRecord::time: unix seconds.
  static int64_t Now();

  // The keys, for tests and tools.
  std::string MetaKey() const;
  std::string EpochPrefix(uint64_t epoch) const;
  std::string RecordKey(uint64_t epoch, const std::string& id) const;

  // The group commit's counts, for the status.
  std::shared_ptr<const TxnBatcher::Stats> shared_batcher_stats() const {
    return batcher_.shared_stats();
  }

 private:
  struct Call;
  struct Scan;
  struct StaleDrop;
  using Deliver = Callback<void()>;

  // Queues a call in call order; `start` runs once the epochs are known
  // and every earlier barrier applied (or gets the error that kept the
  // epochs from being read).  A barrier's start ends with Applied; every
  // start ends with Finish.
  void Enqueue(bool barrier, Callback<void(Call&, Result<Epochs>)> start);
  void Pump();
  void ReadMeta();
  // A barrier applied its change or gave up: later calls may start.  New
  // epochs if it changed them.
  void Applied(std::optional<Epochs> epochs);
  // Drops the cached epochs: the next call reads meta again.
  void Forget(const Status& why);
  // Deletes every record outside epoch `current`; done gets how many.
  void DropStaleRecords(uint64_t current, Callback<void(Result<uint64_t>)> done);
  void DropSlice(std::shared_ptr<StaleDrop> d);
  // The call's result is ready; it is delivered once every earlier call's
  // is, from the loop (never inside a port call).
  void Complete(Call& call, Deliver deliver);
  void DeliverReady();
  template <typename T>
  void Finish(Call& call, ResultDone<T>& done, Result<T> result);
  // `status` if it failed, else *out.
  template <typename T>
  void FinishShared(Call& call, ResultDone<T>& done, const Status& status,
                    const std::shared_ptr<T>& out);
  void Finish(Call& call, Done& done, Status status);

  // One unit of the batcher, with the meta guard added (the batcher adds
  // the fence).  A failed compare of the unit is Unavailable (something
  // changed under the call; the epochs are read again).
  void Write(std::vector<etcd::Compare> compares, std::vector<etcd::TxnOp> ops,
             Callback<void(Status, etcd::TxnResponse)> done);
  // revision 0: ordered after every write submitted before; else at that
  // revision.
  void Read(etcd::RangeRequest request, Callback<void(Result<etcd::RangeResponse>)> done);
  // Up to `limit` records of `epoch` after `after`, at `revision` (0: an
  // ordered read, the later pages pinned at the first one's), page by page.
  using PageFn = Callback<Status(std::vector<ClientRecord>& page)>;
  void ScanEpoch(uint64_t epoch, int64_t revision, std::optional<std::string> after, size_t limit,
                 PageFn page, Callback<void(Status, int64_t revision)> done);
  // The current epoch, then (in grace) the recovery epoch at the same
  // revision.
  void ScanGrace(const Epochs& epochs, PageFn current, PageFn recovery,
                 Callback<void(Status)> done);
  void NextPage(std::unique_ptr<Scan> scan);
  etcd::Compare MetaGuard() const;

  void SwitchEpochs(bool read_records, ResultDone<GraceStartResult> done);
  void OpenGraceAndReclaim(Call& call, const std::string& id, const Epochs& before,
                           const etcd::RangeResponse& found, ResultDone<CheckResult> done);
  void ReclaimFromRecovery(Call& call, const std::string& id, const Epochs& epochs,
                           int64_t revision, ResultDone<CheckResult> done);

  EventLoop& loop_;
  Logger& log_;
  EtcdScope scope_;
  TxnBatcher batcher_;
  std::deque<std::unique_ptr<Call>> calls_;  // in call order, until delivered
  size_t started_ = 0;                       // calls_[0, started_) have started
  bool blocked_ = false;                     // a barrier or the meta read is in flight
  bool pumping_ = false;
  bool delivery_posted_ = false;
  std::optional<Epochs> epochs_;           // the cache; none: read meta first
  std::optional<std::string> meta_value_;  // as stored; none: meta absent
  Liveness liveness_;                      // ORDER: last, so it dies first
};

template <typename T>
void EtcdClientStore::Finish(Call& call, ResultDone<T>& done, Result<T> result) {
  Complete(call, [done = std::move(done), result = std::move(result)]() mutable {
    done(std::move(result));
  });
}

template <typename T>
void EtcdClientStore::FinishShared(Call& call, ResultDone<T>& done, const Status& status,
                                   const std::shared_ptr<T>& out) {
  if (!status.ok()) return Finish<T>(call, done, status);
  Finish<T>(call, done, std::move(*out));
}

}  // namespace nfsrec::nfs4rec
