#include "tests/support/mem_nsm_store.h"

#include <algorithm>

namespace nfsrec::statd {

MemNsmStore::~MemNsmStore() { *alive_ = false; }

Result<std::vector<MonitorRecord>> MemNsmStore::LoadMonitors() {
  if (fail_next_load_) {
    Status st = std::move(*fail_next_load_);
    fail_next_load_.reset();
    return st;
  }
  std::vector<MonitorRecord> out;
  out.reserve(monitors_.size());
  for (const auto& [key, record] : monitors_) out.push_back(record);
  return out;
}

Result<int32_t> MemNsmStore::LoadLocalState() {
  if (fail_next_load_) {
    Status st = std::move(*fail_next_load_);
    fail_next_load_.reset();
    return st;
  }
  return local_state_;
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
                               std::function<void(Result<bool>)> done) {
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
      [imported, done = std::move(done)](Status st) {
        if (!st.ok()) return done(st);
        done(*imported);
      });
}

Result<std::vector<MonitorRecord>> MemNsmStore::LoadNotifyList() {
  if (fail_next_load_) {
    Status st = std::move(*fail_next_load_);
    fail_next_load_.reset();
    return st;
  }
  std::vector<MonitorRecord> out;
  for (const auto& [key, record] : notify_) out.push_back(record);
  return out;
}

Result<std::string> MemNsmStore::LoadBootId() {
  if (fail_next_load_) {
    Status st = std::move(*fail_next_load_);
    fail_next_load_.reset();
    return st;
  }
  return boot_id_;
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
  while (!pending_.empty()) {
    Pending p = std::move(pending_.front());
    pending_.pop_front();
    Commit(std::move(p));
    ++n;
  }
  return n;
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
  if (loop_ == nullptr) {
    pending_.push_back(std::move(p));
    return;
  }
  loop_->Post([this, alive = alive_, p = std::move(p)]() mutable {
    if (*alive) Commit(std::move(p));
  });
}

void MemNsmStore::Commit(Pending p) {
  if (p.apply) {
    p.apply();
    ++writes_;
  } else {
    ++failed_writes_;
  }
  if (p.done) p.done(std::move(p.status));
}

}  // namespace nfsrec::statd
