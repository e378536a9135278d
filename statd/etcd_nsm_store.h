// EtcdNsmStore: the NsmStore port on etcd (cluster mode, issue 14), for one
// instance, under EtcdScope::prefix (P/instances/<I>/nsm/, call it N).
// Every write is a unit of a TxnBatcher (common/store/etcd_batcher.h): it
// commits in a group with whatever else is queued, behind the instance's
// fence, and `done` runs after etcd committed it.
//
// Key layout under N (keys are bytes; etcd keeps them sorted):
//   N + "gen"            decimal G >= 1, the current generation (absent: 1)
//   N + "mon/" + g + "/" + K
//                        one MonitorRecord; g is the generation as 16 hex
//                        digits (so keys sort by generation), K the key
//                        (MonitorKeyText).  Generation G holds the monitor
//                        list; every older generation g < G is part of the
//                        notify list (generation 0: records ImportLegacy took
//                        from sm.bak).
//   N + "state/" + s     the local NSM state; s is the int32 plus 2^31 as 8
//                        hex digits, so keys sort by number and the last key
//                        is the largest state; the value is the decimal.
//   N + "boot"           the boot id of the last PrepareReboot (text).
//
// K = hex(mon_name) "." hex(my_name) "." p "." v "." r, names in lower-case
// hex (any byte survives, and keys sort byte-wise by name), prog, vers and
// proc as 8 hex digits of their uint32 bit pattern.
// A record's value is JSON: {"priv": 32 hex digits, "canonical": hex of
// the name, "peer_state": int, "lockd_state": int, "updated": Unix seconds
// of the PutMonitor, "seq": its wall-clock nanoseconds, made to increase
// within a store}.
//
// Why: the big calls are O(1) Txn ops.  PrepareReboot(move) only writes
// "gen" = G+1 (the whole monitor list becomes the newest part of the
// notify list); the state moves up with one Delete of the keys below the new
// one and one Put.  The notify list is read as: every generation below G,
// a key in several of them counting once, with its record from the newest
// (that is "replaces a notify record with the same key").  DeleteNotified
// deletes the key in every older generation still holding records (the
// store remembers which: found at open by seeking one key per generation,
// and forgotten once a read finds the generation empty).
//
// Orders: monitors in the order their keys were first stored (etcd's
// create_revision, stable across PutMonitor; keys first stored in one
// grouped Txn share it and follow "seq", the order of their latest
// PutMonitor); notify most recently updated first, then by create_revision
// and seq.  LoadInto pages through N (1,000 keys a page)
// at the revision of its first page, so it is a snapshot; it holds the
// records until the last page, to order them, then hands them to the sink
// (on the loop thread, like every part of this store).
//
// Calls that do not fit one Txn (etcd's default 128 ops) are split into
// several, sent in order, each safe to repeat:
//  - DeleteMonitors, DeleteNotified, SetPeerStates, SetLockdStates over 128
//    keys: a failure may leave a prefix of the chunks applied.  Each chunk
//    is the end state for its keys (deleted, or the record with the new
//    number), so a crash leaves no record half-written and a retry repeats
//    the same writes.
//  - ImportLegacy: every chunk carries the compare "no state stored", and
//    the state is written in the last one.  A crash in the middle leaves
//    records but no state, so the next start imports again (upserting the
//    same records) and the "once" rule still holds: it is the state key
//    that says the import happened.
// SetPeerStates and SetLockdStates read the records and write them back
// (the contract skips keys without a record); PrepareReboot(move) changes
// the generation that later writes use.  While either is in flight, later
// calls wait in the store (in order), so nothing reorders around them.
//
// Failures: Unavailable when etcd does not answer within the client's
// time-outs (outcome unknown: every write is an idempotent put or delete
// of its end state, so repeating it is safe); FailedPrecondition when the
// fence says another node owns the instance.  After a failed
// PrepareReboot(move), or at first use, the store reads "gen" again (and
// the generations present) before the next call runs.  A PrepareReboot
// (move) repeated with the same state and boot id after an Unavailable is
// idempotent: if the generation read then is one above the one the failed
// call moved from, that call was applied, and the repeat writes the state
// and boot id without moving the generation again (which would move the
// monitors recorded since, as if they predated the reboot).
//
// Loop thread only.  scope.client outlives the store.  Destroying the
// store drops pending completions.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/base/liveness.h"
#include "common/base/logging.h"
#include "common/os/event_loop.h"
#include "common/store/etcd_batcher.h"
#include "common/store/etcd_scope.h"
#include "statd/etcd_nsm_layout.h"
#include "statd/nsm_store.h"

namespace nfsrec::statd {

class EtcdNsmStore final : public NsmStore {
 public:
  EtcdNsmStore(EventLoop& loop, Logger& log, EtcdScope scope);
  ~EtcdNsmStore() override;
  EtcdNsmStore(const EtcdNsmStore&) = delete;
  EtcdNsmStore& operator=(const EtcdNsmStore&) = delete;

  void LoadInto(std::shared_ptr<NsmLoadSink> sink, LoadIntoDone done) override;
  void PutMonitor(const MonitorRecord& record, Done done) override;
  void DeleteMonitors(const std::vector<MonitorKey>& keys, Done done) override;
  void SetPeerStates(const std::vector<std::pair<MonitorKey, int32_t>>& states, Done done) override;
  void SetLocalState(int32_t state, Done done) override;
  void ImportLegacy(int32_t state, const std::vector<MonitorRecord>& monitors,
                    const std::vector<MonitorRecord>& notify,
                    Callback<void(Result<bool>)> done) override;
  void SetLockdStates(const std::vector<std::pair<MonitorKey, int32_t>>& states,
                      Done done) override;
  void PrepareReboot(bool move_monitors, int32_t state, const std::string& boot_id,
                     Done done) override;
  void DeleteNotified(const std::vector<MonitorKey>& keys, Done done) override;

  // For tests and the bench: Txns sent, units grouped.
  const TxnBatcher::Stats& batcher_stats() const { return batcher_.stats(); }
  std::shared_ptr<const TxnBatcher::Stats> shared_batcher_stats() const {
    return batcher_.shared_stats();
  }
  // Older generations the store deletes notified keys in.
  const std::set<uint64_t>& old_generations() const { return old_gens_; }

 private:
  struct LoadState;
  // A call's work, run once the store is open and no barrier holds it, or
  // with the error that kept the store from opening.
  using Step = Callback<void(Status)>;
  void Run(Step step);
  void Release();
  void Open();
  void SeekGenerations(std::string from);
  void Opened(Status s);
  void LoadPage(std::unique_ptr<LoadState> st, std::string from);
  void SetField(const std::vector<std::pair<MonitorKey, int32_t>>& states, bool lockd, Done done);
  // Submits the units in order; done gets OK or the first error, once all
  // completed.
  void SubmitAll(std::vector<etcd::TxnRequest> units, Done done);
  std::vector<etcd::TxnRequest> Chunk(std::vector<etcd::TxnOp> ops,
                                      const std::vector<etcd::Compare>& compares) const;
  void Prune();
  void PostDone(Done done, Status s);
  RecordStamp NextStamp();

  std::string MonKey(uint64_t gen, const MonitorKey& key) const;
  std::string MonPrefix(uint64_t gen) const;

  EventLoop& loop_;
  Logger& log_;
  TxnBatcher batcher_;
  std::string prefix_;
  enum class State { kClosed, kOpening, kOpen };
  State state_ = State::kClosed;
  bool barrier_ = false;
  bool releasing_ = false;
  std::deque<Step> held_;
  uint64_t gen_ = 1;
  int64_t gen_mod_revision_ = 0;  // of N+"gen"; 0: absent
  std::set<uint64_t> old_gens_;
  uint64_t old_gens_changes_ = 0;  // bumped when a generation is added
  int64_t last_seq_ = 0;
  // A PrepareReboot(move) whose Txn got no answer: the generation it moved
  // from, and its state and boot id (a call with the same ones is a retry).
  struct UnsureReboot {
    uint64_t from = 0;
    int32_t state = 0;
    std::string boot_id;
  };
  std::optional<UnsureReboot> unsure_reboot_;
  Liveness liveness_;
};

}  // namespace nfsrec::statd
