// MirroredNsmStore: an NsmStore that forwards every call to another one and
// tells an SmMirror (statd/sm_mirror.h) about each change once it is
// committed: from the call's completion, after the caller's own `done` (so
// a reply is never held up by the mirror), in commit order, and only if it
// succeeded (a failed call changed nothing).  Loads are told too: the first
// starts the mirror (its in-step check), and a later one with another state
// number tells it that another process changed the store.  The mirror reads
// the records it writes from the database itself; this store hands it only
// what changed.
//
// Loop thread only.  The mirror must outlive this store.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/base/liveness.h"
#include "statd/nsm_store.h"
#include "statd/sm_mirror.h"

namespace nfsrec::statd {

class MirroredNsmStore final : public NsmStore {
 public:
  MirroredNsmStore(std::unique_ptr<NsmStore> inner, SmMirror& mirror)
      : inner_(std::move(inner)), mirror_(mirror) {}

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

 private:
  // `done`, then, if the call succeeded and this store is alive, `then`.
  Done Then(Done done, Callback<void()> then);

  std::unique_ptr<NsmStore> inner_;
  SmMirror& mirror_;
  Liveness liveness_;  // last
};

}  // namespace nfsrec::statd
