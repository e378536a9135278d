#include "statd/mirrored_nsm_store.h"

#include <utility>

namespace nfsrec::statd {

NsmStore::Done MirroredNsmStore::Then(Done done, Callback<void()> then) {
  return [alive = liveness_.token(), done = std::move(done),
          then = std::move(then)](Status st) mutable {
    const bool ok = st.ok();
    done(std::move(st));
    if (ok && alive) then();
  };
}

namespace {

// Hands a load's records on to the caller's sink and keeps what the mirror
// needs of them (on the store's thread, as the sink it wraps).
class MirrorTee final : public NsmLoadSink {
 public:
  explicit MirrorTee(std::shared_ptr<NsmLoadSink> inner) : inner_(std::move(inner)) {}
  void Expect(size_t monitors, size_t notify) override { inner_->Expect(monitors, notify); }
  Status Add(NsmList list, MonitorRecord&& record) override {
    renamed.Add(list, record);
    return inner_->Add(list, std::move(record));
  }
  SmMirror::Renamed renamed;

 private:
  std::shared_ptr<NsmLoadSink> inner_;
};

}  // namespace

void MirroredNsmStore::LoadInto(std::shared_ptr<NsmLoadSink> sink, LoadIntoDone done) {
  auto tee = std::make_shared<MirrorTee>(std::move(sink));
  inner_->LoadInto(tee, [this, alive = liveness_.token(), tee,
                         done = std::move(done)](Result<NsmLoadInfo> info) mutable {
    if (!info.ok() || !alive) return done(std::move(info));
    mirror_.Loaded(info->local_state, std::move(tee->renamed));
    done(std::move(info));
  });
}

void MirroredNsmStore::PutMonitor(const MonitorRecord& record, Done done) {
  inner_->PutMonitor(record, Then(std::move(done), [this, record] { mirror_.MonitorPut(record); }));
}

void MirroredNsmStore::DeleteMonitors(const std::vector<MonitorKey>& keys, Done done) {
  inner_->DeleteMonitors(keys,
                         Then(std::move(done), [this, keys] { mirror_.MonitorsDeleted(keys); }));
}

void MirroredNsmStore::SetPeerStates(const std::vector<std::pair<MonitorKey, int32_t>>& states,
                                     Done done) {
  inner_->SetPeerStates(states, std::move(done));  // not in rpc.statd's files
}

void MirroredNsmStore::SetLocalState(int32_t state, Done done) {
  inner_->SetLocalState(state, Then(std::move(done), [this, state] { mirror_.StateSet(state); }));
}

void MirroredNsmStore::ImportLegacy(int32_t state, const std::vector<MonitorRecord>& monitors,
                                    const std::vector<MonitorRecord>& notify,
                                    Callback<void(Result<bool>)> done) {
  inner_->ImportLegacy(state, monitors, notify,
                       [this, alive = liveness_.token(), state, monitors, notify,
                        done = std::move(done)](Result<bool> imported) mutable {
                         const bool changed = imported.ok() && *imported;
                         done(std::move(imported));
                         if (changed && alive) mirror_.Imported(state, monitors, notify);
                       });
}

void MirroredNsmStore::SetLockdStates(const std::vector<std::pair<MonitorKey, int32_t>>& states,
                                      Done done) {
  inner_->SetLockdStates(states, std::move(done));  // not in rpc.statd's files
}

void MirroredNsmStore::PrepareReboot(bool move_monitors, int32_t state, const std::string& boot_id,
                                     Done done) {
  inner_->PrepareReboot(move_monitors, state, boot_id,
                        Then(std::move(done), [this, move_monitors, state] {
                          mirror_.RebootPrepared(move_monitors, state);
                        }));
}

void MirroredNsmStore::DeleteNotified(const std::vector<MonitorKey>& keys, Done done) {
  inner_->DeleteNotified(keys,
                         Then(std::move(done), [this, keys] { mirror_.NotifiedDeleted(keys); }));
}

}  // namespace nfsrec::statd
