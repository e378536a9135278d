#include "common/os/resolver.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cstring>
#include <utility>

namespace nfsrec {

bool IsNumericAddress(const std::string& s, std::string* normalized) {
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(s.c_str(), nullptr, &hints, &res) != 0) return false;
  bool ok = true;
  if (normalized != nullptr) {
    char buf[NI_MAXHOST];
    ok = getnameinfo(res->ai_addr, res->ai_addrlen, buf, sizeof(buf), nullptr, 0,
                     NI_NUMERICHOST) == 0;
    if (ok) *normalized = buf;
  }
  freeaddrinfo(res);
  return ok;
}

namespace {

std::vector<std::string> AddressesOf(const addrinfo* list) {
  std::vector<std::string> out;
  for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    char buf[NI_MAXHOST];
    if (getnameinfo(ai->ai_addr, ai->ai_addrlen, buf, sizeof(buf), nullptr, 0,
                    NI_NUMERICHOST) != 0) {
      continue;
    }
    bool seen = false;
    for (const auto& a : out) seen = seen || a == buf;
    if (!seen) out.emplace_back(buf);
  }
  return out;
}

}  // namespace

Result<HostInfo> ThreadResolver::LookupBlocking(const std::string& name) {
  if (name.empty() || name.find('\0') != std::string::npos) {
    return Status::InvalidArgument("empty or NUL-containing host name");
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;

  hints.ai_flags = AI_NUMERICHOST;
  if (getaddrinfo(name.c_str(), nullptr, &hints, &res) == 0) {
    HostInfo info;
    info.addresses = AddressesOf(res);
    char host[NI_MAXHOST];
    if (getnameinfo(res->ai_addr, res->ai_addrlen, host, sizeof(host), nullptr, 0,
                    NI_NAMEREQD) == 0 &&
        host[0] != '\0') {
      info.canonical_name = host;
    } else if (!info.addresses.empty()) {
      info.canonical_name = info.addresses.front();
    } else {
      info.canonical_name = name;
    }
    freeaddrinfo(res);
    return info;
  }

  hints.ai_flags = AI_CANONNAME;
  int rc = getaddrinfo(name.c_str(), nullptr, &hints, &res);
  if (rc != 0) {
    return Status::NotFound(std::string("cannot resolve host name: ") + gai_strerror(rc));
  }
  HostInfo info;
  info.canonical_name = (res->ai_canonname != nullptr && res->ai_canonname[0] != '\0')
                            ? res->ai_canonname
                            : name;
  info.addresses = AddressesOf(res);
  freeaddrinfo(res);
  return info;
}

struct ThreadResolver::Shared {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> queue;  // names waiting for a worker
  EventLoop* loop = nullptr;      // null once the resolver is gone
  ThreadResolver* owner = nullptr;
  bool stopping = false;
};

ThreadResolver::ThreadResolver(EventLoop& loop, Scheduler& clock, Options options)
    : loop_(loop), clock_(clock), options_(options), shared_(std::make_shared<Shared>()) {
  shared_->loop = &loop_;
  shared_->owner = this;
  for (int i = 0; i < options_.threads; ++i) {
    std::thread([shared = shared_] {
      std::unique_lock<std::mutex> lock(shared->mu);
      while (true) {
        shared->cv.wait(lock, [&] { return shared->stopping || !shared->queue.empty(); });
        if (shared->stopping) return;
        std::string name = std::move(shared->queue.front());
        shared->queue.pop_front();
        lock.unlock();
        Result<HostInfo> result = LookupBlocking(name);
        lock.lock();
        if (shared->loop == nullptr) return;
        // Posting under the lock keeps the loop pointer valid: the owner
        // clears it under the same lock before the loop can go away.
        shared->loop->Post([shared, name, result]() mutable {
          ThreadResolver* owner;
          {
            std::lock_guard<std::mutex> g(shared->mu);
            owner = shared->owner;
          }
          if (owner != nullptr) owner->Complete(name, std::move(result));
        });
      }
    }).detach();
  }
}

ThreadResolver::~ThreadResolver() {
  std::lock_guard<std::mutex> lock(shared_->mu);
  shared_->stopping = true;
  shared_->loop = nullptr;
  shared_->owner = nullptr;
  shared_->cv.notify_all();
}

void ThreadResolver::Resolve(const std::string& name, Callback cb) {
  auto it = cache_.find(name);
  if (it != cache_.end()) {
    if (it->second.expires > clock_.Now()) {
      loop_.Post([cb = std::move(cb), r = it->second.result]() mutable { cb(std::move(r)); });
      return;
    }
    cache_.erase(it);
  }
  auto w = waiting_.find(name);
  if (w != waiting_.end()) {
    w->second.push_back(std::move(cb));
    return;
  }
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    if (shared_->queue.size() >= options_.max_pending) {
      loop_.Post([cb = std::move(cb)] { cb(Status::Unavailable("resolver overloaded")); });
      return;
    }
    shared_->queue.push_back(name);
  }
  waiting_[name].push_back(std::move(cb));
  shared_->cv.notify_one();
}

void ThreadResolver::Complete(const std::string& name, Result<HostInfo> result) {
  if (cache_.size() >= options_.max_cache) cache_.clear();
  // A transient failure (EAI_AGAIN and the like) is cached briefly as well, so
  // a flood of notifies for one bad name costs one lookup per TTL.
  Duration ttl = result.ok() ? options_.positive_ttl : options_.negative_ttl;
  cache_.insert_or_assign(name, CacheEntry{clock_.Now() + ttl, result});
  auto w = waiting_.find(name);
  if (w == waiting_.end()) return;
  std::vector<Callback> cbs = std::move(w->second);
  waiting_.erase(w);
  for (auto& cb : cbs) cb(result);
}

}  // namespace nfsrec
