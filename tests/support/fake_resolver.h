// FakeResolver: answers from a table; callbacks wait until Flush(), so tests
// control when DNS "completes" -- or, when built with a Scheduler, complete
// on that scheduler's next Advance().  Unknown names fail with NotFound.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <string>
#include <utility>

#include "common/base/clock.h"
#include "common/os/resolver.h"

namespace nfsrec {

class FakeResolver final : public Resolver {
 public:
  FakeResolver() = default;
  explicit FakeResolver(Scheduler* scheduler) : scheduler_(scheduler) {}

  void Add(const std::string& name, HostInfo info) { table_[name] = std::move(info); }

  void Resolve(const std::string& name, Done done) override {
    ++lookups_;
    pending_.emplace_back(name, std::move(done));
    if (scheduler_ != nullptr) scheduler_->RunAfter(Duration::zero(), [this] { Flush(); });
  }
  void Remove(const std::string& name) { table_.erase(name); }

  // Completes every queued lookup (and any queued while doing so).
  size_t Flush() {
    size_t n = 0;
    while (!pending_.empty()) {
      auto [name, done] = std::move(pending_.front());
      pending_.pop_front();
      auto it = table_.find(name);
      if (it != table_.end()) {
        done(it->second);
      } else {
        done(Status::NotFound("no such host: " + name));
      }
      ++n;
    }
    return n;
  }
  size_t pending() const { return pending_.size(); }
  int lookups() const { return lookups_; }

 private:
  Scheduler* scheduler_ = nullptr;
  std::map<std::string, HostInfo> table_;
  std::deque<std::pair<std::string, Done>> pending_;
  int lookups_ = 0;
};

}  // namespace nfsrec
