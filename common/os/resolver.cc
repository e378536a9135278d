#include "common/os/resolver.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cstring>
#include <string_view>
#include <utility>

namespace nfsrec {

bool NumericAddressByGetaddrinfo(const std::string& s, std::string* normalized) {
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(s.c_str(), nullptr, &hints, &res) != 0) return false;
  bool ok = true;
  if (normalized != nullptr) {
    char buf[NI_MAXHOST];
    ok = getnameinfo(res->ai_addr, res->ai_addrlen, buf, sizeof(buf), nullptr, 0, NI_NUMERICHOST) ==
         0;
    if (ok) *normalized = buf;
  }
  freeaddrinfo(res);
  return ok;
}

namespace {

// Whether every byte of s may be part of an address inet_aton accepts
// (decimal, octal or 0x-hex parts, dots): the only strings without a '%'
// that getaddrinfo(AI_NUMERICHOST) may accept when inet_pton refuses them.
bool MaybeInetAtonForm(std::string_view s) {
  for (char c : s) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                    c == 'x' || c == 'X' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

bool IsNumericAddress(const std::string& s, std::string* normalized) {
  // What getaddrinfo sees: the string up to its first NUL, if any.
  const std::string_view text(s.c_str());
  // A '%' (an IPv6 scope id: an interface name or index) and the inet_aton
  // forms that inet_pton refuses ("127.1", "0x7f.0.0.1", "010.0.0.1") go to
  // getaddrinfo, which alone knows them.
  if (text.find('%') != std::string_view::npos) return NumericAddressByGetaddrinfo(s, normalized);
  unsigned char bytes[sizeof(in6_addr)];
  int family = AF_UNSPEC;
  if (inet_pton(AF_INET, s.c_str(), bytes) == 1) {
    family = AF_INET;
  } else if (inet_pton(AF_INET6, s.c_str(), bytes) == 1) {
    family = AF_INET6;
  } else if (!text.empty() && MaybeInetAtonForm(text)) {
    return NumericAddressByGetaddrinfo(s, normalized);
  } else {
    return false;
  }
  if (normalized != nullptr) {
    char buf[INET6_ADDRSTRLEN];
    if (inet_ntop(family, bytes, buf, sizeof(buf)) == nullptr) return false;
    normalized->assign(buf);
  }
  return true;
}

namespace {

std::vector<std::string> AddressesOf(const addrinfo* list) {
  std::vector<std::string> out;
  for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    char buf[NI_MAXHOST];
    if (getnameinfo(ai->ai_addr, ai->ai_addrlen, buf, sizeof(buf), nullptr, 0, NI_NUMERICHOST) !=
        0) {
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
    if (getnameinfo(res->ai_addr, res->ai_addrlen, host, sizeof(host), nullptr, 0, NI_NAMEREQD) ==
            0 &&
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
  info.canonical_name =
      (res->ai_canonname != nullptr && res->ai_canonname[0] != '\0') ? res->ai_canonname : name;
  info.addresses = AddressesOf(res);
  freeaddrinfo(res);
  return info;
}

ThreadResolver::ThreadResolver(Executor& executor, Scheduler& clock, Options options)
    : executor_(executor), clock_(clock), options_(std::move(options)) {
  if (!options_.lookup) options_.lookup = &ThreadResolver::LookupBlocking;
  if (options_.threads < 1) options_.threads = 1;
}

void ThreadResolver::Deliver(Done done, Result<HostInfo> result) {
  executor_.loop().Post(
      [alive = liveness_.token(), done = std::move(done), result = std::move(result)]() mutable {
        if (alive) done(std::move(result));
      });
}

void ThreadResolver::Resolve(const std::string& name, Done done) {
  auto it = cache_.find(name);
  if (it != cache_.end()) {
    if (it->second.expires > clock_.Now()) {
      lru_.splice(lru_.begin(), lru_, it->second.use);
      Deliver(std::move(done), it->second.result);
      return;
    }
    Forget(it);
  }
  if (waiters_ >= options_.max_waiters) {
    Deliver(std::move(done), Status::Unavailable("resolver overloaded"));
    return;
  }
  auto w = waiting_.find(name);
  if (w != waiting_.end()) {
    w->second.push_back(std::move(done));
    ++waiters_;
    return;
  }
  if (queue_.size() >= options_.max_pending) {
    Deliver(std::move(done), Status::Unavailable("resolver overloaded"));
    return;
  }
  queue_.push_back(name);
  waiting_[name].push_back(std::move(done));
  ++waiters_;
  StartLookups();
}

void ThreadResolver::Forget(std::map<std::string, CacheEntry>::iterator it) {
  lru_.erase(it->second.use);
  cache_.erase(it);
}

void ThreadResolver::StartLookups() {
  while (running_ < options_.threads && !queue_.empty()) {
    std::string name = std::move(queue_.front());
    queue_.pop_front();
    ++running_;
    executor_.Run(
        liveness_.token(), [lookup = options_.lookup, name] { return lookup(name); },
        [this, name](Result<HostInfo> result) {
          --running_;
          StartLookups();
          Complete(name, std::move(result));
        });
  }
}

void ThreadResolver::Complete(const std::string& name, Result<HostInfo> result) {
  // A transient failure (EAI_AGAIN and the like) is cached briefly as well, so
  // a flood of notifies for one bad name costs one lookup per TTL.
  Duration ttl = result.ok() ? options_.positive_ttl : options_.negative_ttl;
  auto old = cache_.find(name);
  if (old != cache_.end()) Forget(old);
  while (!cache_.empty() && cache_.size() >= options_.max_cache) {
    Forget(cache_.find(lru_.back()));
  }
  if (options_.max_cache > 0) {
    lru_.push_front(name);
    cache_.emplace(name, CacheEntry{clock_.Now() + ttl, result, lru_.begin()});
  }
  auto w = waiting_.find(name);
  if (w == waiting_.end()) return;
  std::vector<Done> dones = std::move(w->second);
  waiting_.erase(w);
  waiters_ -= dones.size();
  for (Done& done : dones) done(result);
}

}  // namespace nfsrec
