#include "common/store/etcd_client.h"

#include <algorithm>
#include <utility>

#include "common/store/etcd_codec.h"

namespace nfsrec::etcd {

// One call in flight: what to send, where it may still go, and when to
// give up.
struct Client::Call {
  std::string path;
  std::string body;
  bool idempotent = false;
  TimePoint give_up{};  // idempotent calls: no new attempt after this
  size_t endpoint = 0;  // of the current attempt
  size_t tried = 0;     // attempts so far
  Duration backoff{};   // before the next round over the endpoints
  Duration timeout{};   // zero: options_.request_timeout
  bool pinned = false;  // SendTo: one endpoint, one attempt
  Callback<void(Result<std::string>)> done;
};

Result<std::unique_ptr<Client>> Client::Create(EventLoop& loop, Scheduler& scheduler, Logger& log,
                                               ClientOptions options) {
  if (options.endpoints.empty()) return Status::InvalidArgument("etcd: no endpoints");
  for (auto& e : options.endpoints) {
    if (e.rfind("http://", 0) != 0 && e.rfind("https://", 0) != 0) {
      return Status::InvalidArgument(StrCat("etcd endpoint \"", Printable(e),
                                            "\" is not http://host:port or https://host:port"));
    }
    while (!e.empty() && e.back() == '/') e.pop_back();
  }
  NFSREC_ASSIGN_OR_RETURN(auto http, HttpTransport::Create(loop, scheduler, options.tls));
  return std::unique_ptr<Client>(
      new Client(loop, scheduler, log, std::move(options), std::move(http)));
}

Client::Client(EventLoop& loop, Scheduler& scheduler, Logger& log, ClientOptions options,
               std::unique_ptr<HttpTransport> http)
    : loop_(loop),
      scheduler_(scheduler),
      log_(log),
      options_(std::move(options)),
      http_(std::move(http)),
      outage_log_("etcd availability", 3, std::chrono::minutes(1)) {}

Client::~Client() {
  if (probe_timer_ != 0) scheduler_.Cancel(probe_timer_);
}

template <typename T>
void Client::Unary(std::string path, std::string body, bool idempotent,
                   Result<T> (*decode)(std::string_view), Callback<void(Result<T>)> done) {
  Send(std::move(path), std::move(body), idempotent,
       [decode, done = std::move(done)](Result<std::string> r) mutable {
         if (!r.ok()) return done(r.status());
         done(decode(*r));
       });
}

void Client::Range(RangeRequest request, Callback<void(Result<RangeResponse>)> done) {
  Unary<RangeResponse>("/v3/kv/range", codec::EncodeRange(request), true, &codec::DecodeRange,
                       std::move(done));
}

void Client::Put(PutRequest request, Callback<void(Result<PutResponse>)> done) {
  Unary<PutResponse>("/v3/kv/put", codec::EncodePut(request), false, &codec::DecodePut,
                     std::move(done));
}

void Client::Delete(DeleteRequest request, Callback<void(Result<DeleteResponse>)> done) {
  Unary<DeleteResponse>("/v3/kv/deleterange", codec::EncodeDelete(request), false,
                        &codec::DecodeDelete, std::move(done));
}

void Client::Txn(TxnRequest request, Callback<void(Result<TxnResponse>)> done) {
  // A Txn of reads only is idempotent too.
  bool reads_only = true;
  for (const auto* ops : {&request.success, &request.failure}) {
    for (const auto& op : *ops) reads_only = reads_only && std::holds_alternative<RangeRequest>(op);
  }
  Unary<TxnResponse>("/v3/kv/txn", codec::EncodeTxn(request), reads_only, &codec::DecodeTxn,
                     std::move(done));
}

void Client::Compact(int64_t revision, Callback<void(Status)> done) {
  Send("/v3/kv/compaction", codec::EncodeCompact(revision, false), false,
       [done = std::move(done)](Result<std::string> r) mutable {
         done(r.ok() ? Status::Ok() : r.status());
       });
}

void Client::Grant(int64_t ttl, Callback<void(Result<LeaseGrant>)> done) {
  Unary<LeaseGrant>("/v3/lease/grant", codec::EncodeLeaseGrant(ttl), false,
                    &codec::DecodeLeaseGrant, std::move(done));
}

void Client::Revoke(LeaseId id, Callback<void(Status)> done) {
  // Repeating a revoke is harmless (the second says NotFound).
  Send("/v3/lease/revoke", codec::EncodeLeaseId(id), true,
       [done = std::move(done)](Result<std::string> r) mutable {
         done(r.ok() ? Status::Ok() : r.status());
       });
}

void Client::TimeToLive(LeaseId id, bool keys, Callback<void(Result<LeaseTtl>)> done) {
  Unary<LeaseTtl>("/v3/lease/timetolive", codec::EncodeTimeToLive(id, keys), true,
                  &codec::DecodeTimeToLive, std::move(done));
}

void Client::GetMemberStatus(Callback<void(Result<MemberStatus>)> done) {
  Unary<MemberStatus>("/v3/maintenance/status", "{}", true, &codec::DecodeMemberStatus,
                      std::move(done));
}

std::unique_ptr<Lease> Client::KeepAlive(LeaseId id, int64_t ttl, Callback<void(Status)> on_lost) {
  auto lease = std::unique_ptr<Lease>(new Lease(*this, id, ttl, std::move(on_lost)));
  lease->Renew();
  return lease;
}

std::unique_ptr<Watch> Client::StartWatch(WatchRequest request, Watch::EventsFn on_events,
                                          Watch::ErrorFn on_error) {
  auto w = std::unique_ptr<Watch>(
      new Watch(*this, std::move(request), std::move(on_events), std::move(on_error)));
  Register(w.get());
  w->Connect();
  return w;
}

void Client::Send(std::string path, std::string body, bool idempotent,
                  Callback<void(Result<std::string>)> done) {
  auto call = std::make_unique<Call>();
  call->path = std::move(path);
  call->body = std::move(body);
  call->idempotent = idempotent;
  call->give_up = scheduler_.Now() + options_.read_retry_time;
  call->backoff = options_.backoff_initial;
  call->done = std::move(done);
  Attempt(std::move(call));
}

void Client::SendTo(size_t endpoint, std::string path, std::string body, Duration timeout,
                    Callback<void(Result<std::string>)> done) {
  auto call = std::make_unique<Call>();
  call->path = std::move(path);
  call->body = std::move(body);
  call->endpoint = endpoint;
  call->pinned = true;
  call->timeout = timeout;
  call->done = std::move(done);
  Attempt(std::move(call));
}

void Client::Attempt(std::unique_ptr<Call> call) {
  if (!call->pinned) call->endpoint = active_;
  ++call->tried;
  HttpRequest req;
  req.url = options_.endpoints[call->endpoint] + call->path;
  req.body = call->body;
  req.connect_timeout = options_.connect_timeout;
  req.timeout = call->timeout != Duration::zero() ? call->timeout : options_.request_timeout;
  if (call->idempotent) {
    Duration left = call->give_up - scheduler_.Now();
    req.timeout = std::max(std::min(req.timeout, left), Duration(std::chrono::milliseconds(100)));
  }
  http_->Start(std::move(req), [this, alive = liveness_.token(),
                                call = std::move(call)](Result<HttpResponse> answer) mutable {
    if (alive) OnAnswer(std::move(call), std::move(answer));
  });
}

void Client::OnAnswer(std::unique_ptr<Call> call, Result<HttpResponse> answer) {
  if (answer.ok() && answer->status == 200) {
    Answered(call->endpoint);
    call->done(std::move(answer->body));
    return;
  }
  Status why = answer.ok() ? codec::DecodeError(answer->status, answer->body) : answer.status();
  // Not an endpoint's trouble (NotFound, InvalidArgument, ...): the answer.
  bool endpoint_trouble = !answer.ok() || why.IsUnavailable();
  if (!endpoint_trouble) {
    Answered(call->endpoint);
    call->done(std::move(why));
    return;
  }
  const std::string& endpoint = options_.endpoints[call->endpoint];
  if (call->pinned) {
    call->done(Status::Unavailable(StrCat(endpoint, ": ", why.message())));
    return;
  }
  EndpointFailed(call->endpoint);
  bool never_sent = !answer.ok() && answer.status().IsUnavailable();
  size_t n = options_.endpoints.size();
  bool again = false;
  Duration delay{};
  if (call->idempotent) {
    again = scheduler_.Now() < call->give_up;
    if (again && call->tried % n == 0) {
      delay = call->backoff;
      call->backoff = NextBackoff(call->backoff);
    }
  } else {
    // A write goes elsewhere only if it provably never left, and at most
    // once to each endpoint.
    again = never_sent && call->tried < n;
  }
  if (again) {
    if (delay == Duration::zero()) return Attempt(std::move(call));
    // Held by the client while it waits (a timer's closure must be
    // copyable), freed with it if it never fires.
    uint64_t id = next_waiting_++;
    waiting_.emplace(id, std::move(call));
    scheduler_.RunAfter(delay, [this, alive = liveness_.token(), id] {
      if (!alive) return;
      auto it = waiting_.find(id);
      std::unique_ptr<Call> owned = std::move(it->second);
      waiting_.erase(it);
      Attempt(std::move(owned));
    });
    return;
  }
  Status failed = Status::Unavailable(StrCat(
      "etcd unavailable (last tried ", endpoint, ": ", why.message(), ")",
      call->idempotent || never_sent ? "" : "; the write may or may not have been committed"));
  Outage(failed);
  call->done(std::move(failed));
}

void Client::EndpointFailed(size_t endpoint) {
  if (active_ == endpoint) active_ = (active_ + 1) % options_.endpoints.size();
}

void Client::Answered(size_t endpoint) {
  if (!outage_) return;
  outage_ = false;
  outage_log_.Write(log_, LogLevel::kNotice, scheduler_.Now(),
                    StrCat("etcd: reachable again through ", options_.endpoints[endpoint]));
}

void Client::Outage(const Status& why) {
  if (outage_) return;
  outage_ = true;
  std::string list;
  for (const auto& e : options_.endpoints) list += (list.empty() ? "" : ",") + e;
  outage_log_.Write(log_, LogLevel::kWarning, scheduler_.Now(),
                    StrCat("etcd: no endpoint answers (", list, "): ", why.message(),
                           "; calls fail with Unavailable until one does"));
}

Duration Client::NextBackoff(Duration current) const {
  return std::min(current * 2, options_.backoff_max);
}

}  // namespace nfsrec::etcd
