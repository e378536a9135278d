#include "tests/support/mem_nsm_store.h"

#include <algorithm>

namespace nfsrec::statd {

MemNsmStore::~MemNsmStore() = default;

void MemNsmStore::LoadInto(std::shared_ptr<NsmLoadSink> sink, LoadIntoDone done) {
  Pending p;
  p.sink = std::move(sink);
  if (fail_next_load_) {
    p.status = std::move(*fail_next_load_);
    fail_next_load_.reset();
  }
  p.load = std::move(done);
  Push(std::move(p));
}

Result<NsmLoadInfo> MemNsmStore::LoadNow(NsmLoadSink& sink) const {
  sink.Expect(monitors_.size(), notify_.size());
  for (const auto& [key, record] : monitors_) {
    NFSREC_RETURN_IF_ERROR(sink.Add(NsmList::kMonitors, MonitorRecord(record)));
  }
  for (const auto& [key, record] : notify_) {
    NFSREC_RETURN_IF_ERROR(sink.Add(NsmList::kNotify, MonitorRecord(record)));
  }
  return NsmLoadInfo{local_state_, boot_id_};
}

void MemNsmStore::PutMonitor(const MonitorRecord& record, Done done) {
  Enqueue(
      [this, record] {
        monitors_[record.key] = record;
        ++puts_;
      },
      std::move(done));
}

void MemNsmStore::DeleteMonitors(const std::vector<MonitorKey>& keys, Done done) {
  Enqueue(
      [this, keys] {
        for (const MonitorKey& key : keys) monitors_.erase(key);
        ++deletes_;
      },
      std::move(done));
}

void MemNsmStore::SetPeerStates(const std::vector<std::pair<MonitorKey, int32_t>>& states,
                                Done done) {
  Enqueue(
      [this, states] {
        for (const auto& [key, state] : states) {
          auto it = monitors_.find(key);
          if (it != monitors_.end()) it->second.peer_state = state;
        }
        ++peer_state_writes_;
      },
      std::move(done));
}

void MemNsmStore::SetLockdStates(const std::vector<std::pair<MonitorKey, int32_t>>& states,
                                 Done done) {
  Enqueue(
      [this, states] {
        for (const auto& [key, state] : states) {
          auto it = monitors_.find(key);
          if (it != monitors_.end()) it->second.lockd_state = state;
        }
      },
      std::move(done));
}

void MemNsmStore::SetLocalState(int32_t state, Done done) {
  Enqueue(
      [this, state] {
        local_state_ = std::max(local_state_, state);
        ++local_state_writes_;
      },
      std::move(done));
}

void MemNsmStore::ImportLegacy(int32_t state, const std::vector<MonitorRecord>& monitors,
                               const std::vector<MonitorRecord>& notify,
                               Callback<void(Result<bool>)> done) {
  auto imported = std::make_shared<bool>(false);
  Enqueue(
      [this, state, monitors, notify, imported] {
        if (local_state_ > 0) return;
        *imported = true;
        for (const MonitorRecord& r : monitors) monitors_[r.key] = r;
        for (const MonitorRecord& r : notify) notify_[r.key] = r;
        local_state_ = std::max(local_state_, state);
        ++local_state_writes_;
      },
      [imported, done = std::move(done)](Status st) mutable {
        if (!st.ok()) return done(st);
        done(*imported);
      });
}

void MemNsmStore::PrepareReboot(bool move_monitors, int32_t state, const std::string& boot_id,
                                Done done) {
  Enqueue(
      [this, move_monitors, state, boot_id] {
        if (move_monitors) {
          for (auto& [key, record] : monitors_) notify_[key] = record;
          monitors_.clear();
        }
        local_state_ = std::max(local_state_, state);
        boot_id_ = boot_id;
        ++local_state_writes_;
      },
      std::move(done));
}

void MemNsmStore::DeleteNotified(const std::vector<MonitorKey>& keys, Done done) {
  Enqueue(
      [this, keys] {
        for (const MonitorKey& key : keys) notify_.erase(key);
      },
      std::move(done));
}

size_t MemNsmStore::Flush() {
  size_t n = 0;
  while (CommitNext()) ++n;
  return n;
}

bool MemNsmStore::CommitNext() {
  if (pending_.empty()) return false;
  Pending p = std::move(pending_.front());
  pending_.pop_front();
  Commit(std::move(p));
  return true;
}

const MonitorRecord* MemNsmStore::Find(const MonitorKey& key) const {
  auto it = monitors_.find(key);
  return it == monitors_.end() ? nullptr : &it->second;
}

void MemNsmStore::Enqueue(std::function<void()> apply, Done done) {
  Pending p;
  if (fail_next_) {
    p.status = std::move(*fail_next_);
    fail_next_.reset();
  } else {
    p.apply = std::move(apply);
  }
  p.done = std::move(done);
  Push(std::move(p));
}

void MemNsmStore::Push(Pending p) {
  pending_.push_back(std::move(p));
  if (loop_ == nullptr) return;
  loop_->Post([this, alive = liveness_.token()] {
    if (!alive || pending_.empty()) return;
    Pending front = std::move(pending_.front());
    pending_.pop_front();
    Commit(std::move(front));
  });
}

void MemNsmStore::Commit(Pending p) {
  if (p.load) {
    if (!p.status.ok()) return p.load(std::move(p.status));
    return p.load(LoadNow(*p.sink));
  }
  if (p.apply) {
    p.apply();
    ++writes_;
  } else {
    ++failed_writes_;
  }
  if (p.done) p.done(std::move(p.status));
}

}  // namespace nfsrec::statd
