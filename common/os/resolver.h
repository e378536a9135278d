// Host name resolution without blocking the loop.
//
// Resolve() follows rpc.statd's notion of a canonical name:
//  - a numeric address is reverse-resolved; with no reverse mapping (or an
//    empty one) the canonical name is the address in presentation form;
//  - any other name is resolved forward and its AI_CANONNAME is used.
// It also returns every address the name maps to, for matching SM_NOTIFY
// senders.  Lookups go through glibc (getaddrinfo/getnameinfo), so
// /etc/hosts and nsswitch behave exactly as they do for rpc.statd; they run
// on worker threads and complete on the loop thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/base/clock.h"
#include "common/os/event_loop.h"
#include "common/base/result.h"

namespace nfsrec {

struct HostInfo {
  std::string canonical_name;
  std::vector<std::string> addresses;  // numeric, as getnameinfo prints them
};

class Resolver {
 public:
  using Callback = std::function<void(Result<HostInfo>)>;
  virtual ~Resolver() = default;
  // cb runs on the loop thread, never inline.  NotFound if the name does not
  // resolve; Unavailable if the resolver is overloaded or shutting down.
  virtual void Resolve(const std::string& name, Callback cb) = 0;
};

// True if s parses as an IPv4 or IPv6 address; *normalized gets its
// presentation form.
bool IsNumericAddress(const std::string& s, std::string* normalized);

// Resolver on worker threads, with a cache and per-name coalescing.  Loop
// thread only, apart from its own workers.
class ThreadResolver final : public Resolver {
 public:
  struct Options {
    int threads = 2;
    size_t max_pending = 4096;   // distinct names waiting for a worker
    size_t max_cache = 8192;
    Duration positive_ttl = std::chrono::minutes(5);
    Duration negative_ttl = std::chrono::seconds(30);
  };
  ThreadResolver(EventLoop& loop, Scheduler& clock, Options options);
  ThreadResolver(EventLoop& loop, Scheduler& clock) : ThreadResolver(loop, clock, Options()) {}
  // Workers blocked inside getaddrinfo cannot be interrupted; they are
  // detached and their late results dropped.
  ~ThreadResolver() override;
  ThreadResolver(const ThreadResolver&) = delete;
  ThreadResolver& operator=(const ThreadResolver&) = delete;

  void Resolve(const std::string& name, Callback cb) override;

  // The blocking lookup itself, as run on a worker (exposed for tests).
  static Result<HostInfo> LookupBlocking(const std::string& name);

 private:
  struct Shared;  // state shared with detached workers
  struct CacheEntry {
    TimePoint expires;
    Result<HostInfo> result;
  };
  void Complete(const std::string& name, Result<HostInfo> result);

  EventLoop& loop_;
  Scheduler& clock_;
  Options options_;
  std::shared_ptr<Shared> shared_;
  std::map<std::string, CacheEntry> cache_;
  std::map<std::string, std::vector<Callback>> waiting_;
};

}  // namespace nfsrec
