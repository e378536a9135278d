// Watch streams (etcd_client.h): one /v3/watch stream per Watch, each
// created with the "hasleader" metadata (the gateway turns the
// Grpc-Metadata-Hasleader header into it), so that a member that loses
// its leader ends the stream instead of leaving it silent; a member that
// hangs is found by the client's status probe.
#include <algorithm>
#include <utility>

#include "common/store/etcd_client.h"
#include "common/store/etcd_codec.h"

namespace nfsrec::etcd {

Watch::Watch(Client& client, WatchRequest request, EventsFn on_events, ErrorFn on_error)
    : client_(client),
      client_alive_(client.liveness_.token()),
      request_(std::move(request)),
      on_events_(std::move(on_events)),
      on_error_(std::move(on_error)),
      next_revision_(request_.start_revision),
      backoff_(client.options_.backoff_initial) {}

Watch::~Watch() {
  if (!client_alive_) return;
  if (stream_ != 0) client_.http_->Cancel(stream_);
  if (retry_timer_ != 0) client_.scheduler_.Cancel(retry_timer_);
  client_.Unregister(this);
}

const std::string& Watch::endpoint() const { return client_.options_.endpoints[endpoint_]; }

void Watch::Connect() {
  if (over_ || !client_alive_) return;
  endpoint_ = client_.active_;
  lines_ = codec::LineSplitter();
  connected_ = false;
  ++streams_;
  HttpRequest req;
  req.url = client_.options_.endpoints[endpoint_] + "/v3/watch";
  req.body =
      codec::EncodeWatchCreate(request_.key, request_.range_end, next_revision_, request_.prev_kv);
  req.headers.push_back("Grpc-Metadata-Hasleader: true");
  req.connect_timeout = client_.options_.connect_timeout;
  req.on_data = [this, alive = liveness_.token()](std::string_view bytes) {
    if (alive) OnData(bytes);
  };
  stream_ = client_.http_->Start(std::move(req),
                                 [this, alive = liveness_.token()](Result<HttpResponse> r) {
                                   if (!alive) return;
                                   stream_ = 0;
                                   if (!r.ok()) return OnStreamEnd(r.status());
                                   if (r->status != 200)
                                     return OnStreamEnd(codec::DecodeError(r->status, r->body));
                                   OnStreamEnd(Status::Unavailable("the watch stream ended"));
                                 });
}

void Watch::OnData(std::string_view bytes) {
  lines_.Append(bytes);
  std::string line;
  auto alive = liveness_.token();
  while (!over_ && stream_ != 0 && lines_.Next(&line)) {
    if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
    Result<codec::WatchMessage> m = codec::DecodeWatchMessage(line);
    if (!m.ok()) {
      // An error line: the member gave up the stream (no leader,
      // shutting down), or garbage; either way, elsewhere.
      return Reconnect(m.status());
    }
    if (m->canceled) {
      if (m->compact_revision != 0) {
        return Fail(WatchError{WatchError::Kind::kCompacted, m->compact_revision,
                               Status::InvalidArgument(StrCat(
                                   "etcd watch: revision ", next_revision_,
                                   " is compacted (compact revision ", m->compact_revision, ")"))});
      }
      return Fail(WatchError{
          WatchError::Kind::kCanceled, 0,
          Status::IOError(StrCat("etcd canceled the watch: ", Printable(m->cancel_reason)))});
    }
    if (m->created) {
      connected_ = true;
      backoff_ = client_.options_.backoff_initial;
      client_.Answered(endpoint_);
      if (next_revision_ == 0) next_revision_ = m->header.revision + 1;
      continue;
    }
    if (m->events.empty()) {
      // Progress: every event up to this revision was sent.
      next_revision_ = std::max(next_revision_, m->header.revision + 1);
      continue;
    }
    // After a reconnect the new stream starts at next_revision_; anything
    // older is a repeat.
    std::vector<Event> fresh;
    for (auto& e : m->events) {
      if (e.kv.mod_revision >= next_revision_) fresh.push_back(std::move(e));
    }
    if (fresh.empty()) continue;
    next_revision_ = fresh.back().kv.mod_revision + 1;
    on_events_(fresh);
    if (!alive || !client_alive_) return;
  }
}

void Watch::OnStreamEnd(Status why) { Reconnect(std::move(why)); }

void Watch::Reconnect(Status why) {
  if (over_ || !client_alive_) return;
  if (stream_ != 0) {
    client_.http_->Cancel(stream_);
    stream_ = 0;
  }
  bool was_connected = connected_;
  connected_ = false;
  client_.EndpointFailed(endpoint_);
  client_.log_.Debug(StrCat("etcd watch on ", endpoint(), " broke (", why.message(),
                            "); resuming at revision ", next_revision_));
  // Straight to the next member after a working stream broke; back off
  // while none takes the watch.
  Duration delay = was_connected ? Duration::zero() : backoff_;
  if (!was_connected) backoff_ = client_.NextBackoff(backoff_);
  retry_timer_ = client_.scheduler_.RunAfter(delay, [this, alive = liveness_.token()] {
    if (!alive) return;
    retry_timer_ = 0;
    Connect();
  });
}

void Watch::Fail(WatchError error) {
  over_ = true;
  connected_ = false;
  if (stream_ != 0 && client_alive_) client_.http_->Cancel(stream_);
  stream_ = 0;
  on_error_(error);
}

void Client::Register(Watch* w) {
  watches_.insert(w);
  ArmProbe();
}

void Client::Unregister(Watch* w) { watches_.erase(w); }

void Client::ArmProbe() {
  if (probe_timer_ != 0 || options_.watch_probe_interval == Duration::zero()) return;
  probe_timer_ =
      scheduler_.RunAfter(options_.watch_probe_interval, [this, alive = liveness_.token()] {
        if (!alive) return;
        probe_timer_ = 0;
        Probe();
      });
}

void Client::Probe() {
  if (watches_.empty()) return;
  std::set<size_t> endpoints;
  for (Watch* w : watches_) {
    if (w->connected_) endpoints.insert(w->endpoint_);
  }
  for (size_t e : endpoints) {
    SendTo(e, "/v3/maintenance/status", "{}", options_.request_timeout,
           [this, e, alive = liveness_.token()](Result<std::string> r) {
             if (!alive) return;
             Status bad;
             if (r.ok()) {
               auto st = codec::DecodeMemberStatus(*r);
               if (!st.ok()) {
                 bad = st.status();
               } else if (st->leader == 0) {
                 bad = Status::Unavailable("the member has no leader");
               }
             } else {
               bad = r.status();
             }
             if (bad.ok()) return;
             // Copy: Reconnect does not unregister, but stay safe against
             // changes of the set while walking it.
             std::vector<Watch*> moving;
             for (Watch* w : watches_) {
               if (w->endpoint_ == e && (w->connected_ || w->stream_ != 0)) moving.push_back(w);
             }
             for (Watch* w : moving) {
               if (watches_.count(w) != 0) w->Reconnect(bad);
             }
           });
  }
  ArmProbe();
}

}  // namespace nfsrec::etcd
