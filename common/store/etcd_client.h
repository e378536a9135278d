// etcd::Client: an asynchronous client of etcd's v3 API for the loop thread,
// the base of the etcd stores and of cluster grace (issue 14).
//
// Why this transport: etcd serves its v3 API as JSON over HTTP (the gRPC
// gateway at /v3/...; Debian 12 ships etcd-server 3.4, which has it), and
// libcurl's multi interface gives us TLS with client certificates,
// connect and transfer time-outs, kept-alive connections and HTTP/1.1
// streaming responses (watch) driven by our own libevent loop
// (etcd_http.h).  gRPC would need etcd's .proto files vendored and a second
// runtime with its own threads beside the loop; no C or C++ etcd v3 client
// is packaged.  The JSON format: etcd_codec.h.
//
// Guarantees:
//  - Every completion runs on the loop thread, never inside the call that
//    takes it, exactly once, unless the Client is destroyed first: then
//    never (a Liveness guard).  Nothing blocks the loop.
//  - A Put, Delete or Txn completing OK was committed by etcd: the gateway
//    answers only after the raft log entry is committed on a quorum and
//    applied, so it survives the loss of any minority of members.
//  - A write that fails with Unavailable has an UNKNOWN outcome: it may
//    have been committed (the answer was lost or came too late).  Writes
//    are never re-sent, except to the next endpoint when the request
//    provably never left (no connection).  A caller that must retry a write
//    makes it safe to repeat: a Txn whose compare holds only if the write
//    did not happen (mod_revision of the key equal to what it read, or
//    version 0 for a create), then re-reads on failure.
//  - Idempotent calls (Range, a Txn of reads only, TimeToLive, Revoke,
//    MemberStatus, lease keep-alive) are retried on the next endpoint,
//    with exponential back-off once every endpoint failed, until
//    `read_retry_time` has passed.
//  - Endpoints are tried in order; one that refuses, cannot be reached or
//    times out is left for the next one, for every later call too.
//  - Unavailable is the Status when no endpoint answered in time (or the
//    members have no quorum); one warning line per outage, and one notice
//    line when a call succeeds again (a LogLimiter bounds a flapping link).
//  - Reads are linearizable by default (RangeRequest::serializable): they
//    fail without quorum.  A serializable read is answered by the member
//    alone, also without quorum, and may be stale.
//
// Loop thread only.  Lease and Watch objects may outlive their Client (not
// its Scheduler): a Watch then does nothing, a Lease renews no more and
// reports the loss at its expiry.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/base/callback.h"
#include "common/base/clock.h"
#include "common/base/liveness.h"
#include "common/base/log_limiter.h"
#include "common/base/logging.h"
#include "common/base/result.h"
#include "common/os/event_loop.h"
#include "common/store/etcd_codec.h"
#include "common/store/etcd_http.h"
#include "common/store/etcd_types.h"

namespace nfsrec::etcd {

struct ClientOptions {
  // "http://host:port" or "https://host:port", tried in this order.
  std::vector<std::string> endpoints;
  TlsFiles tls;
  Duration connect_timeout = std::chrono::seconds(1);  // per connection attempt
  Duration request_timeout = std::chrono::seconds(3);  // per attempt: request sent to answer read
  // Idempotent calls only: how long they keep trying other endpoints.
  Duration read_retry_time = std::chrono::seconds(6);
  Duration backoff_initial = std::chrono::milliseconds(50);
  Duration backoff_max = std::chrono::seconds(1);
  // How often a member that serves watch streams is asked for its status;
  // a member that does not answer (hung, or without a leader) loses its
  // streams to the next endpoint.  Zero: never.
  Duration watch_probe_interval = std::chrono::seconds(5);
};

class Client;

// Keeps a lease alive: a keep-alive every ttl/3, retried (on the next
// endpoint) until the lease would expire.  on_lost runs once, when etcd
// says the lease is gone (NotFound: expired or revoked) or when the local
// estimate of its expiry passes without a renewal (Unavailable).  The
// estimate counts from when the last successful keep-alive was SENT, so it
// is never later than etcd's own expiry: after on_lost the owner must
// assume that every key bound to the lease is gone.  Destroying the Lease
// stops the keep-alives (it does not revoke; Client::Revoke does).
class Lease {
 public:
  ~Lease();
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;

  LeaseId id() const { return id_; }
  int64_t ttl() const { return ttl_; }
  bool lost() const { return lost_; }
  // Local estimate of the expiry, from the last successful keep-alive.
  TimePoint expires() const { return expires_; }

 private:
  friend class Client;
  Lease(Client& client, LeaseId id, int64_t ttl, Callback<void(Status)> on_lost);
  void Renew();
  void Lose(Status why);
  void ArmExpiry();

  Client& client_;
  Liveness::Token client_alive_;
  LeaseId id_;
  int64_t ttl_;
  Callback<void(Status)> on_lost_;
  TimePoint expires_;
  bool lost_ = false;
  bool renewing_ = false;
  Scheduler::TimerId renew_timer_ = 0;
  Scheduler::TimerId expiry_timer_ = 0;
  Liveness liveness_;
};

struct WatchRequest {
  std::string key;
  std::string range_end;  // empty: the key alone; PrefixEnd(key): a prefix
  // 0: changes after etcd accepts the watch; to follow a Range read at
  // revision R without a gap, R + 1.
  int64_t start_revision = 0;
  bool prev_kv = false;
};

struct WatchError {
  enum class Kind {
    // The revision to resume at was compacted away: events are lost.  The
    // owner re-reads (Range) and watches again from the read's revision+1.
    kCompacted,
    // etcd ended the watch for another reason (status says which).
    kCanceled,
  };
  Kind kind = Kind::kCanceled;
  int64_t compact_revision = 0;
  Status status;
};

// A running watch.  Events arrive in revision order, each revision once,
// in batches (all events of one revision in one batch).  A broken stream,
// a killed or hung member, or one without leader, is replaced on the next
// endpoint, resuming at the last delivered revision + 1, so no event is
// missed or repeated.  After on_error the watch is over.  Destruction
// cancels it.
class Watch {
 public:
  using EventsFn = Callback<void(const std::vector<Event>& events)>;
  using ErrorFn = Callback<void(const WatchError& error)>;
  ~Watch();
  Watch(const Watch&) = delete;
  Watch& operator=(const Watch&) = delete;

  // True while a stream is established (etcd confirmed the watch).
  bool connected() const { return connected_; }
  // The endpoint of the current (or last) stream.
  const std::string& endpoint() const;
  // The revision the next stream would start at (0 before etcd answered).
  int64_t next_revision() const { return next_revision_; }
  // Streams started, the first included.
  uint64_t streams() const { return streams_; }

 private:
  friend class Client;
  Watch(Client& client, WatchRequest request, EventsFn on_events, ErrorFn on_error);
  void Connect();
  void OnData(std::string_view bytes);
  void OnStreamEnd(Status why);
  void Reconnect(Status why);
  void Fail(WatchError error);

  Client& client_;
  Liveness::Token client_alive_;
  WatchRequest request_;
  EventsFn on_events_;
  ErrorFn on_error_;
  size_t endpoint_ = 0;
  HttpTransport::Id stream_ = 0;
  codec::LineSplitter lines_;
  int64_t next_revision_ = 0;
  bool connected_ = false;
  bool over_ = false;
  uint64_t streams_ = 0;
  Duration backoff_{};
  Scheduler::TimerId retry_timer_ = 0;
  Liveness liveness_;
};

class Client {
 public:
  // Fails on an empty or malformed endpoint list.  `loop`, `scheduler`
  // and `log` must outlive the client.
  static Result<std::unique_ptr<Client>> Create(EventLoop& loop, Scheduler& scheduler, Logger& log,
                                                ClientOptions options);
  ~Client();
  // The scheduler it was created with (the stores' batchers time with it).
  Scheduler& scheduler() const { return scheduler_; }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void Range(RangeRequest request, Callback<void(Result<RangeResponse>)> done);
  void Put(PutRequest request, Callback<void(Result<PutResponse>)> done);
  void Delete(DeleteRequest request, Callback<void(Result<DeleteResponse>)> done);
  // Runs `success` if every compare holds, else `failure`, atomically at
  // one revision.  The compare-and-swap idiom: read a key's mod_revision,
  // then Txn({ModRevision(key, kEqual, rev)}, {Put(...)}, {Range(key)}).
  void Txn(TxnRequest request, Callback<void(Result<TxnResponse>)> done);
  // Removes history before `revision`; watches and reads from before it
  // then fail as compacted.
  void Compact(int64_t revision, Callback<void(Status)> done);

  // ttl in seconds; etcd raises one below its minimum (1 to 2 s).
  void Grant(int64_t ttl, Callback<void(Result<LeaseGrant>)> done);
  // Ends a lease now; its keys are deleted.  NotFound if it is gone.
  void Revoke(LeaseId id, Callback<void(Status)> done);
  void TimeToLive(LeaseId id, bool keys, Callback<void(Result<LeaseTtl>)> done);
  // Starts keeping a granted lease alive (see Lease).  The first keep-alive
  // is sent at once.
  std::unique_ptr<Lease> KeepAlive(LeaseId id, int64_t ttl, Callback<void(Status)> on_lost);

  std::unique_ptr<Watch> StartWatch(WatchRequest request, Watch::EventsFn on_events,
                                    Watch::ErrorFn on_error);

  // The status of the member at the current endpoint.
  void GetMemberStatus(Callback<void(Result<MemberStatus>)> done);

  // False from a call that failed because no endpoint answered until one
  // answers again.
  bool available() const { return !outage_; }
  const std::string& current_endpoint() const { return options_.endpoints[active_]; }
  const ClientOptions& options() const { return options_; }

 private:
  friend class Lease;
  friend class Watch;
  struct Call;
  Client(EventLoop& loop, Scheduler& scheduler, Logger& log, ClientOptions options,
         std::unique_ptr<HttpTransport> http);

  // Sends a POST of `body` to `path`; done gets the body of a 200 answer,
  // or the error (see the class comment for retries).
  void Send(std::string path, std::string body, bool idempotent,
            Callback<void(Result<std::string>)> done);
  // As Send, to one endpoint, with no retry and its own time-out.
  void SendTo(size_t endpoint, std::string path, std::string body, Duration timeout,
              Callback<void(Result<std::string>)> done);
  void Attempt(std::unique_ptr<Call> call);
  void OnAnswer(std::unique_ptr<Call> call, Result<HttpResponse> answer);
  template <typename T>
  void Unary(std::string path, std::string body, bool idempotent,
             Result<T> (*decode)(std::string_view), Callback<void(Result<T>)> done);

  // Endpoint bookkeeping: a failed endpoint passes the turn on; an outage
  // is logged once, and its end once.
  void EndpointFailed(size_t endpoint);
  void Answered(size_t endpoint);
  void Outage(const Status& why);
  Duration NextBackoff(Duration current) const;

  void Register(Watch* w);
  void Unregister(Watch* w);
  void ArmProbe();
  void Probe();

  EventLoop& loop_;
  Scheduler& scheduler_;
  Logger& log_;
  ClientOptions options_;
  std::unique_ptr<HttpTransport> http_;
  size_t active_ = 0;
  bool outage_ = false;
  LogLimiter outage_log_;
  std::map<uint64_t, std::unique_ptr<Call>> waiting_;  // backing off
  uint64_t next_waiting_ = 1;
  std::set<Watch*> watches_;
  Scheduler::TimerId probe_timer_ = 0;
  Liveness liveness_;
};

}  // namespace nfsrec::etcd
