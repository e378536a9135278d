// MemNsmStore: an in-memory NsmStore for service tests.
//
// A mutating call is queued as a "pending commit".  Committing it applies
// the change and then runs `done`, mirroring SqliteNsmStore, where the data
// changes at COMMIT and `done` follows.  When to commit:
//  - with an EventLoop, each call posts its commit to the loop (so `done`
//    runs on the loop thread, later, never inside the call);
//  - with no loop, commits wait until the test calls Flush(), so a test can
//    assert that nothing (e.g. an RPC reply) happened before the commit, or
//    call DropPending() to model a crash before COMMIT.
// A load is queued in the same order: it reads the contents at its turn, so
// without a loop it is also "a load that completes later", when the test
// says so.
//
// Fault injection: FailNext(status) makes the next mutating call fail with
// that status (nothing applied, done(status) at commit time);
// FailNextLoad(status) does the same for the next load.
//
// Loop thread only (not thread-safe).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/base/liveness.h"
#include "common/os/event_loop.h"
#include "statd/nsm_store.h"

namespace nfsrec::statd {

class MemNsmStore final : public NsmStore {
 public:
  explicit MemNsmStore(EventLoop* loop = nullptr) : loop_(loop) {}
  ~MemNsmStore() override;
  MemNsmStore(const MemNsmStore&) = delete;
  MemNsmStore& operator=(const MemNsmStore&) = delete;

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

  // --- Test controls ---
  void FailNext(Status status) { fail_next_ = std::move(status); }
  void FailNextLoad(Status status) { fail_next_load_ = std::move(status); }
  // Commits every pending call in order (only meaningful without a loop);
  // calls made by a `done` during Flush are committed too.  Returns how many
  // were committed.
  size_t Flush();
  // Commits the oldest pending call only; false if there is none.
  bool CommitNext();
  // Forgets pending calls without applying them or running their `done`
  // (without a loop).
  void DropPending() { pending_.clear(); }
  size_t pending() const { return pending_.size(); }

  // Seeds committed contents directly (no write counted, no done).
  void Seed(const MonitorRecord& record) { monitors_[record.key] = record; }
  void SeedLocalState(int32_t state) { local_state_ = state; }
  void SeedNotify(const MonitorRecord& record) { notify_[record.key] = record; }
  void SeedBootId(std::string id) { boot_id_ = std::move(id); }

  // --- Committed contents ---
  const std::map<MonitorKey, MonitorRecord>& monitors() const { return monitors_; }
  const MonitorRecord* Find(const MonitorKey& key) const;
  int32_t local_state() const { return local_state_; }
  const std::map<MonitorKey, MonitorRecord>& notify_list() const { return notify_; }
  const std::string& boot_id() const { return boot_id_; }
  // Mutating calls that committed successfully, in total and per kind.
  int writes() const { return writes_; }
  int puts() const { return puts_; }
  int deletes() const { return deletes_; }
  int peer_state_writes() const { return peer_state_writes_; }
  int local_state_writes() const { return local_state_writes_; }
  // Mutating calls that were failed by FailNext.
  int failed_writes() const { return failed_writes_; }

 private:
  struct Pending {
    std::function<void()> apply;  // empty when the call was failed
    Status status;
    Done done;
    LoadIntoDone load;  // set for LoadInto
    std::shared_ptr<NsmLoadSink> sink;
  };
  void Enqueue(std::function<void()> apply, Done done);
  void Push(Pending p);
  void Commit(Pending p);
  // The committed contents into `sink` (on the loop thread).
  Result<NsmLoadInfo> LoadNow(NsmLoadSink& sink) const;

  EventLoop* loop_;
  // In order; with a loop, each entry has one posted commit of the front.
  std::deque<Pending> pending_;
  std::optional<Status> fail_next_;
  std::optional<Status> fail_next_load_;
  std::map<MonitorKey, MonitorRecord> monitors_;
  int32_t local_state_ = 0;
  std::map<MonitorKey, MonitorRecord> notify_;
  std::string boot_id_;
  int writes_ = 0;
  int puts_ = 0;
  int deletes_ = 0;
  int peer_state_writes_ = 0;
  int local_state_writes_ = 0;
  int failed_writes_ = 0;
  Liveness liveness_;  // last: posted commits check it
};

}  // namespace nfsrec::statd
