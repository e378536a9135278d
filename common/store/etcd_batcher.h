// TxnBatcher: group commit on etcd, the etcd stores' CommitQueue.
//
// A store Submit()s each of its writes as a unit: compares, success ops and
// failure ops, the shape of one etcd Txn.  While a Txn is in flight, new
// units queue; when it completes, the queued units go out together in ONE
// Txn (one raft commit for many calls), so C concurrent writers share
// commits the way they share fsyncs in CommitQueue.  At most one write Txn
// is in flight, so units are applied in submission order.  The next group
// is sent as soon as etcd answers, before the answered group's completions
// run, so etcd commits it while they run, unless it gathers:
//
// Gathering.  Writers usually wait for their completion before they submit
// again (lockd's SM_MON, an nfsd thread's Create), so C of them keep C units
// in play, and sending whatever is queued the moment etcd answers splits
// them into halves that alternate (about C/2 units per Txn).  So when a
// Txn is answered, the next group is expected to hold the units queued
// then plus the ones just answered (or the most seen in play since a wait
// last timed out, if more); while fewer are queued, and the answer came at
// most max(average Txn time, kReturnHorizon) ago, the group waits for them,
// for at most the window: the smaller of kMaxGatherWait and half the
// average Txn time.  It never waits for a lone writer (expected <= 1: a
// unit alone goes at once), for a re-run, while a read is queued (later
// units could not join the group), or when the last group's completions
// ran longer than the window (their writers cannot be back in time, and
// etcd would sit idle: the Create downcalls at high concurrency); then the
// next group goes before the completions as above.  A wait that times out
// makes the batcher learn the number of writers again.
//
// The grouped Txn:
//   compares: the scope's fence (once), then every unit's compares
//   success:  every unit's success ops, in submission order
//   failure:  Range(fence key) when there is a fence, to tell why it failed
// A group is closed before the unit that would take it over
// scope.max_txn_ops compares or success ops, or over scope.max_txn_bytes
// (UnitBytes), and before a unit that touches a key an earlier unit of the
// group writes: etcd refuses a Txn that writes one key twice, and evaluates
// all compares before any op, so a later unit's compare or read must not
// share a Txn with the write it depends on.
//
// Completion of a unit, `done(Result<TxnResponse>)`, on the loop thread,
// never inside Submit, in submission order (reads: below), after etcd
// answered:
//  - OK: the Txn committed (or, for a unit alone whose own compares
//    failed, ran its failure ops).  header is the Txn's; succeeded says
//    whether the unit's own compares held; responses are the responses of
//    the unit's own ops of the branch that ran, in order.
//  - FailedPrecondition("lost instance <I> to <node>"): the fence did not
//    hold (another owner took the instance); nothing of the unit was
//    written.  Every later unit fails the same way until the fence holds.
//  - Unavailable: no answer in time; the outcome is UNKNOWN (the Txn may
//    have been committed, docs/etcd-client.md).  Stores keep their writes
//    safe to repeat (idempotent puts and deletes) or re-read.
//  - any other error (InvalidArgument: a unit alone over etcd's limits or
//    writing one key twice): nothing of the unit was written.
// If a grouped Txn fails its compares while the fence holds, or etcd
// refuses it (anything but Unavailable), its units are re-run one Txn
// each, in order, so that only the unit whose own compares fail sees
// succeeded=false, and only a unit that is itself refused sees the error.
// A unit's failure ops run only when it runs alone; when grouped, the
// failure branch holds only the fence read.
//
// Reads: Range(request) is sent once etcd has answered every unit
// submitted before it, so it sees every earlier write that succeeded, and
// its done runs after theirs (a group's completions run when its answer
// comes, before the loop can deliver any later answer); a Range with
// request.revision != 0 (a later page of a read pinned at one revision)
// is sent at once and holds no write back (it cannot see one).  A unit submitted after a Range
// waits until that Range has been answered (and its done has run), so a read never sees a later
// write, and no write's done runs before that of a read submitted before
// it: a read-then-write call (read a record, write with a compare on what
// it read) cannot act on the effect of a call submitted after it, and a
// load cannot hand back a snapshot older than a write whose done already
// ran.  Reads do not wait for each other and are not grouped; they are
// retried by the client as idempotent calls.  The price: a write waits one
// read's round trip behind each read before it.
//
// Limits of one unit: compares <= max_txn_ops - 1, success ops <=
// max_txn_ops, failure ops <= max_txn_ops - 1, UnitBytes <= max_txn_bytes.
// A unit over them is still sent alone, and etcd decides (it refuses over
// its own limits).  Stores split big calls into units within them.
//
// Loop thread only.  scope.client must outlive the batcher.  Destroying
// the batcher drops queued units and ignores the answer in flight: their
// completions never run.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "common/base/callback.h"
#include "common/base/clock.h"
#include "common/base/liveness.h"
#include "common/base/result.h"
#include "common/store/etcd_client.h"
#include "common/store/etcd_scope.h"
#include "common/store/etcd_types.h"

namespace nfsrec {

class TxnBatcher {
 public:
  using TxnDone = Callback<void(Result<etcd::TxnResponse>)>;
  using RangeDone = Callback<void(Result<etcd::RangeResponse>)>;

  struct Stats {
    uint64_t txns = 0;             // write Txns sent, re-runs included
    uint64_t units = 0;            // units completed
    uint64_t reruns = 0;           // units re-run alone after their group failed
    size_t max_group = 0;          // most units in one Txn
    uint64_t gathers = 0;          // groups that waited for writers (Gathering)
    uint64_t gather_timeouts = 0;  // of those, waits that ended at the window
  };

  // Gathering's bounds (see above).
  static constexpr Duration kMaxGatherWait = std::chrono::milliseconds(1);
  static constexpr Duration kReturnHorizon = std::chrono::microseconds(200);

  explicit TxnBatcher(EtcdScope scope);
  ~TxnBatcher();
  TxnBatcher(const TxnBatcher&) = delete;
  TxnBatcher& operator=(const TxnBatcher&) = delete;

  void Submit(etcd::TxnRequest unit, TxnDone done);
  void Range(etcd::RangeRequest request, RangeDone done);

  // The size the batcher counts for a unit against max_txn_bytes: keys,
  // values and range ends of its compares and ops, plus a fixed overhead
  // per compare and op (etcd's limit is on the encoded request).
  static size_t UnitBytes(const etcd::TxnRequest& unit);

  const EtcdScope& scope() const { return scope_; }
  const Stats& stats() const { return *stats_; }
  // The same counts, still readable once the batcher is gone (a status
  // reader may outlive the store that owns it).
  std::shared_ptr<const Stats> shared_stats() const { return stats_; }
  // Units and reads waiting (not yet sent).
  size_t queued() const { return queue_.size(); }

 private:
  struct Item;
  void Pump();
  void SendRange(etcd::RangeRequest request, RangeDone done);
  void Send(std::vector<std::unique_ptr<Item>> group);
  void OnAnswer(std::vector<std::unique_ptr<Item>> group, Result<etcd::TxnResponse> answer);
  // Puts the group's units back at the head of the queue, each to go alone.
  void RerunAlone(std::vector<std::unique_ptr<Item>> group);
  Status FenceLost(const etcd::RangeResponse& owner) const;
  // Whether the group at the head of the queue waits (Gathering); starts
  // the window if so.
  bool Gather();
  // Ends a wait: the expected units came, the window passed or a read was
  // queued.
  void EndGather(bool timed_out);

  EtcdScope scope_;
  Scheduler& scheduler_;
  // Gathering.
  size_t writers_ = 0;        // most units seen in play since a wait timed out
  size_t gather_target_ = 0;  // units the next group waits for; 0: it does not
  TimePoint answered_at_{};   // of the last write Txn
  TimePoint sent_at_{};
  Duration txn_time_{};          // average write Txn round trip
  Duration completions_time_{};  // how long the last group's completions ran
  bool gathering_ = false;
  Scheduler::TimerId gather_timer_ = 0;
  size_t reads_queued_ = 0;
  std::deque<std::unique_ptr<Item>> queue_;
  bool writing_ = false;  // a write Txn (or a run of re-runs) is in flight
  size_t reads_in_flight_ = 0;
  std::shared_ptr<Stats> stats_ = std::make_shared<Stats>();
  Liveness liveness_;
};

}  // namespace nfsrec
