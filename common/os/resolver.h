// Host name resolution without blocking the loop.
//
// Resolve() follows rpc.statd's notion of a canonical name:
//  - a numeric address is reverse-resolved; with no reverse mapping (or an
//    empty one) the canonical name is the address in presentation form;
//  - any other name is resolved forward and its AI_CANONNAME is used.
// It also returns every address the name maps to, for matching SM_NOTIFY
// senders.  Lookups go through glibc (getaddrinfo/getnameinfo), so
// /etc/hosts and nsswitch behave exactly as they do for rpc.statd; they run
// on Executor workers and complete on the loop thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <string>
#include <vector>

#include "common/base/callback.h"
#include "common/base/clock.h"
#include "common/base/liveness.h"
#include "common/base/result.h"
#include "common/os/executor.h"

namespace nfsrec {

struct HostInfo {
  std::string canonical_name;
  std::vector<std::string> addresses;  // numeric, as getnameinfo prints them
};

class Resolver {
 public:
  // Move-only: a completion may carry a reply.
  using Done = Callback<void(Result<HostInfo>)>;
  virtual ~Resolver() = default;
  // done runs on the loop thread, never inline.  NotFound if the name does
  // not resolve; Unavailable if the resolver is overloaded or shutting down.
  virtual void Resolve(const std::string& name, Done done) = 0;
};

// True if s parses as an IPv4 or IPv6 address; *normalized gets its
// presentation form.  The answer is exactly NumericAddressByGetaddrinfo's
// (glibc's numeric forms: inet_aton's shorthand, hex and octal parts, IPv6
// scope ids), but the common spellings (dotted quad, IPv6 without a scope
// id) and names that cannot be numeric are decided without getaddrinfo:
// the service parses every monitored name, 100,000 at a start.
bool IsNumericAddress(const std::string& s, std::string* normalized);
// The reference: getaddrinfo(AI_NUMERICHOST) and getnameinfo(NI_NUMERICHOST).
bool NumericAddressByGetaddrinfo(const std::string& s, std::string* normalized);

// Resolver on Executor workers, with a cache and per-name coalescing:
// callers asking for a name already being looked up wait for that lookup.
// Bounded, since the names may come off the wire (SM_NOTIFY): the cache
// holds at most options.max_cache answers and evicts the least recently
// used; at most options.max_pending names wait for a lookup slot and at
// most options.max_waiters callers wait in all; beyond that Unavailable.
// Loop thread only; the lookups themselves run on the executor's workers,
// at most options.threads at a time, so a slow name service cannot take
// every worker of a shared executor.
class ThreadResolver final : public Resolver {
 public:
  using Lookup = std::function<Result<HostInfo>(const std::string& name)>;
  struct Options {
    int threads = 2;             // lookups in flight at once
    size_t max_pending = 4096;   // distinct names waiting for a lookup slot
    size_t max_cache = 8192;     // answers kept (positive and negative)
    size_t max_waiters = 65536;  // callers waiting for lookups, in all
    Duration positive_ttl = std::chrono::minutes(5);
    Duration negative_ttl = std::chrono::seconds(30);
    // The blocking lookup, run on a worker: LookupBlocking unless a test
    // replaces it.  Must be thread-safe.
    Lookup lookup;
  };
  // `clock` times the cache; answers are delivered on executor.loop().
  ThreadResolver(Executor& executor, Scheduler& clock, Options options);
  ThreadResolver(Executor& executor, Scheduler& clock)
      : ThreadResolver(executor, clock, Options()) {}
  // Lookups in flight are not waited for; their answers, and answers queued
  // for delivery, are dropped.
  ~ThreadResolver() override = default;
  ThreadResolver(const ThreadResolver&) = delete;
  ThreadResolver& operator=(const ThreadResolver&) = delete;

  void Resolve(const std::string& name, Done done) override;

  // The blocking lookup itself, as run on a worker (exposed for tests).
  static Result<HostInfo> LookupBlocking(const std::string& name);

  size_t cached() const { return cache_.size(); }

 private:
  struct CacheEntry {
    TimePoint expires;
    Result<HostInfo> result;
    std::list<std::string>::iterator use;  // its place in lru_
  };
  void Forget(std::map<std::string, CacheEntry>::iterator it);
  // Answers done later on the loop thread, unless we are gone by then.
  void Deliver(Done done, Result<HostInfo> result);
  void StartLookups();
  void Complete(const std::string& name, Result<HostInfo> result);

  Executor& executor_;
  Scheduler& clock_;
  Options options_;
  std::deque<std::string> queue_;  // names waiting for a lookup slot
  int running_ = 0;                // lookups on workers
  std::map<std::string, CacheEntry> cache_;
  std::list<std::string> lru_;                        // cached names, most recently used first
  size_t waiters_ = 0;                                // callers in waiting_
  std::map<std::string, std::vector<Done>> waiting_;  // by name, queued or running
  Liveness liveness_;                                 // last: dies first
};

}  // namespace nfsrec
