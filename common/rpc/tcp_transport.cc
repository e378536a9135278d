#include "common/rpc/tcp_transport.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace nfsrec::rpc {

namespace {

// RFC 5531 section 11: the top bit of the record mark flags the last
// fragment, the low 31 bits are the fragment length.
constexpr uint32_t kLastFragment = 0x80000000u;
constexpr size_t kRecordMarkBytes = 4;
constexpr auto kWarningInterval = std::chrono::seconds(10);
constexpr size_t kWarningBurst = 5;
constexpr auto kAcceptBackoff = std::chrono::milliseconds(100);

}  // namespace

struct TcpTransport::Listener {
  TcpTransport* transport = nullptr;
  Netid netid = Netid::kTcp;
  bool dual_stack = false;
  std::unique_ptr<evconnlistener, ListenerFree> lev;
};

void TcpTransport::ListenerFree::operator()(evconnlistener* l) const { evconnlistener_free(l); }

// One accepted connection.  Every entry point (a bufferevent callback, a
// PendingTcpCall, the idle sweep) holds a shared_ptr to it while it runs,
// so Close() may drop the transport's reference from anywhere.
class TcpTransport::Connection : public std::enable_shared_from_this<Connection> {
 public:
  // `source`: the peer's numeric address, the key of the per-address
  // budget (empty for loopback connections).
  Connection(TcpTransport& transport, bufferevent* bev, CallContext ctx_template, bool loopback,
             std::string source)
      : transport_(transport),
        bev_(bev),
        ctx_template_(ctx_template),
        loopback_(loopback),
        source_(std::move(source)),
        last_activity_(transport.scheduler_.Now()) {}
  ~Connection() {
    if (bev_ != nullptr) bufferevent_free(bev_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void Start() {
    bufferevent_setcb(bev_, &ReadTrampoline, &WriteTrampoline, &EventTrampoline, this);
    bufferevent_enable(bev_, EV_WRITE);
    UpdateReadInterest();
  }

  // Idempotent.  Closes the socket (pending output is discarded) and drops
  // the transport's reference.
  void Close(std::string_view why) {
    if (closed_) return;
    closed_ = true;
    // libevent defers the actual free if one of this bufferevent's
    // callbacks is running.
    bufferevent_free(bev_);
    bev_ = nullptr;
    transport_.log_.Debug(StrCat("rpc: closed ", ctx_template_.PeerString(), ": ", why));
    transport_.Forget(this);
  }

  // No call in flight and no reply waiting to leave: closing it loses
  // nothing but input the peer has not finished sending.
  bool Quiet() const { return !closed_ && in_flight_ == 0 && OutputEmpty(); }
  bool IsIdle(TimePoint now, Duration timeout) const {
    return Quiet() && now - last_activity_ >= timeout;
  }
  bool loopback() const { return loopback_; }
  bool privileged_port() const { return ctx_template_.FromPrivilegedPort(); }
  const std::string& source() const { return source_; }
  TimePoint last_activity() const { return last_activity_; }
  std::string PeerString() const { return ctx_template_.PeerString(); }

  void QueueReply(const std::vector<uint8_t>& message) {
    if (closed_) return;
    evbuffer* out = bufferevent_get_output(bev_);
    if (evbuffer_get_length(out) + kRecordMarkBytes + message.size() >
        transport_.limits_.max_output_bytes) {
      Close("reply queue over its limit (peer not reading)");
      return;
    }
    uint32_t mark = kLastFragment | static_cast<uint32_t>(message.size());
    uint8_t hdr[kRecordMarkBytes] = {static_cast<uint8_t>(mark >> 24),
                                     static_cast<uint8_t>(mark >> 16),
                                     static_cast<uint8_t>(mark >> 8), static_cast<uint8_t>(mark)};
    if (evbuffer_add(out, hdr, sizeof(hdr)) != 0 ||
        evbuffer_add(out, message.data(), message.size()) != 0) {
      Close("out of memory for a reply");
    }
  }

  // One call finished (answered or abandoned).
  void CallDone() {
    --in_flight_;
    if (closed_) return;
    // Records may already be buffered behind the in-flight limit; they
    // need no further readiness event.  Inside ProcessInput (a handler
    // that answered at once) the running loop picks them up.
    if (!processing_) ProcessInput();
    if (!closed_) {
      UpdateReadInterest();
      MaybeFinish();
    }
  }

 private:
  class PendingTcpCall final : public internal::PendingCall {
   public:
    explicit PendingTcpCall(std::weak_ptr<Connection> conn) : conn_(std::move(conn)) {}
    ~PendingTcpCall() override {
      if (auto c = conn_.lock()) c->CallDone();
    }
    void Send(std::vector<uint8_t> message) override {
      if (auto c = conn_.lock()) c->QueueReply(message);
    }

   private:
    std::weak_ptr<Connection> conn_;
  };

  static void ReadTrampoline(bufferevent*, void* arg) {
    std::shared_ptr<Connection> self = static_cast<Connection*>(arg)->shared_from_this();
    self->OnReadable();
  }
  static void WriteTrampoline(bufferevent*, void* arg) {
    std::shared_ptr<Connection> self = static_cast<Connection*>(arg)->shared_from_this();
    self->OnWritten();
  }
  static void EventTrampoline(bufferevent*, short what, void* arg) {
    int err = EVUTIL_SOCKET_ERROR();
    std::shared_ptr<Connection> self = static_cast<Connection*>(arg)->shared_from_this();
    self->OnEvent(what, err);
  }

  void OnReadable() {
    last_activity_ = transport_.scheduler_.Now();
    ProcessInput();
    if (closed_) return;
    UpdateReadInterest();
    MaybeFinish();
  }

  // Called when the output buffer has drained.
  void OnWritten() {
    last_activity_ = transport_.scheduler_.Now();
    MaybeFinish();
  }

  void OnEvent(short what, int err) {
    if ((what & BEV_EVENT_ERROR) != 0) {
      Close(StrCat((what & BEV_EVENT_READING) != 0 ? "recv: " : "send: ", std::strerror(err)));
    } else if ((what & BEV_EVENT_EOF) != 0) {
      // libevent has stopped reading; writing goes on.
      eof_ = true;
      reading_ = false;
      MaybeFinish();
    }
  }

  bool OutputEmpty() const {
    return bev_ == nullptr || evbuffer_get_length(bufferevent_get_output(bev_)) == 0;
  }

  bool WantRead() const {
    return !closed_ && !eof_ && in_flight_ < transport_.limits_.max_calls_per_connection;
  }

  void UpdateReadInterest() {
    bool want = WantRead();
    if (want == reading_) return;
    reading_ = want;
    if (want) {
      bufferevent_enable(bev_, EV_READ);
    } else {
      bufferevent_disable(bev_, EV_READ);
    }
  }

  // After the peer half-closed: close once every call read has been
  // answered and the answers have left.
  void MaybeFinish() {
    if (eof_ && !closed_ && in_flight_ == 0 && OutputEmpty()) Close("peer closed the connection");
  }

  // Takes buffered fragments off the input and dispatches complete records
  // until the buffer runs dry or the in-flight limit is reached.  Each
  // record is copied out first: a handler may close the connection, which
  // frees the bufferevent and its input.
  void ProcessInput() {
    processing_ = true;
    const Limits& limits = transport_.limits_;
    while (!closed_ && in_flight_ < limits.max_calls_per_connection) {
      evbuffer* in = bufferevent_get_input(bev_);
      size_t avail = evbuffer_get_length(in);
      if (avail < kRecordMarkBytes) break;
      uint8_t p[kRecordMarkBytes];
      evbuffer_copyout(in, p, sizeof(p));
      uint32_t mark =
          (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
      bool last = (mark & kLastFragment) != 0;
      size_t len = mark & ~kLastFragment;
      if (len > limits.max_record_bytes || record_.size() + len > limits.max_record_bytes) {
        Close(StrCat("record over ", limits.max_record_bytes, " bytes"));
        break;
      }
      if (avail < kRecordMarkBytes + len) break;
      evbuffer_drain(in, kRecordMarkBytes);
      size_t old = record_.size();
      record_.resize(old + len);
      evbuffer_remove(in, record_.data() + old, len);
      if (!last) continue;
      std::vector<uint8_t> message;
      message.swap(record_);
      CallContext ctx = ctx_template_;
      ctx.received = transport_.scheduler_.Now();
      ++in_flight_;
      Responder responder(std::make_unique<PendingTcpCall>(weak_from_this()));
      Status st = transport_.dispatcher_.Dispatch(message, ctx, std::move(responder));
      if (!st.ok()) {
        Close(StrCat("undecodable call: ", st.message()));
        break;
      }
    }
    processing_ = false;
  }

  TcpTransport& transport_;
  bufferevent* bev_;
  CallContext ctx_template_;
  const bool loopback_;
  const std::string source_;
  bool reading_ = false;
  bool eof_ = false;
  bool closed_ = false;
  bool processing_ = false;
  size_t in_flight_ = 0;
  std::vector<uint8_t> record_;  // fragments of a record not yet complete
  TimePoint last_activity_;
};

TcpTransport::TcpTransport(EventLoop& loop, Scheduler& scheduler, Dispatcher& dispatcher,
                           Logger& log, Limits limits)
    : loop_(loop),
      scheduler_(scheduler),
      dispatcher_(dispatcher),
      log_(log),
      limits_(limits),
      refused_log_("rpc: refused TCP connections", kWarningBurst, kWarningInterval),
      evicted_log_("rpc: evicted TCP connections", kWarningBurst, kWarningInterval),
      accept_log_("rpc: TCP accept errors", 1, kWarningInterval) {
  ScheduleIdleSweep();
}

TcpTransport::~TcpTransport() {
  if (idle_timer_ != 0) scheduler_.Cancel(idle_timer_);
  std::vector<std::shared_ptr<Connection>> open;
  for (auto& [ptr, conn] : connections_) open.push_back(conn);
  for (auto& conn : open) conn->Close("server shutting down");
  open.clear();
  listeners_.clear();
}

Status TcpTransport::Listen(Netid netid, UniqueFd fd) {
  auto l = std::make_unique<Listener>();
  l->transport = this;
  l->netid = netid;
  l->dual_stack = IsDualStackSocket(fd.get());
  // Backlog 0: the socket is already listening.
  evconnlistener* lev =
      evconnlistener_new(loop_.base(), &AcceptTrampoline, l.get(),
                         LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd.get());
  if (lev == nullptr) {
    return Status::IOError(StrCat("rpc: cannot watch the ", NetidName(netid), " listener"));
  }
  (void)fd.release();  // the listener owns it now
  l->lev.reset(lev);
  evconnlistener_set_error_cb(lev, &AcceptErrorTrampoline);
  listeners_.push_back(std::move(l));
  return Status::Ok();
}

void TcpTransport::AcceptTrampoline(evconnlistener*, int fd, sockaddr* sa, int len, void* arg) {
  auto* l = static_cast<Listener*>(arg);
  l->transport->OnAccept(*l, UniqueFd(fd), sa, static_cast<socklen_t>(len));
}

void TcpTransport::AcceptErrorTrampoline(evconnlistener* lev, void* arg) {
  int err = EVUTIL_SOCKET_ERROR();
  (void)lev;
  auto* l = static_cast<Listener*>(arg);
  l->transport->OnAcceptError(*l, err);
}

void TcpTransport::OnAccept(Listener& listener, UniqueFd fd, const sockaddr* peer,
                            socklen_t peer_len) {
  Endpoint from = Endpoint::FromSockaddr(peer, peer_len);
  Result<Endpoint> local = Endpoint::Local(fd.get());
  // Without its own address a connection cannot prove it is local.
  Endpoint here = local.ok() ? local.value() : Endpoint{};
  Adopt(listener.netid, std::move(fd), from, here, listener.dual_stack);
}

void TcpTransport::Adopt(Netid netid, UniqueFd fd, const Endpoint& peer, const Endpoint& local,
                         bool dual_stack) {
  const bool loopback = StreamFromLoopback(peer.sa(), local.sa(), dual_stack);
  std::string source = loopback ? std::string() : peer.Numeric();
  std::string why;
  const bool privileged = peer.port() < 1024;
  if (!Admit(loopback, privileged, source, &why)) {
    refused_log_.Write(
        log_, LogLevel::kWarning, scheduler_.Now(),
        StrCat("rpc: refused ", NetidName(netid), " connection from ", peer.ToString(), ": ", why));
    return;  // fd closes
  }
  int one = 1;
  // Replies are written whole; do not hold the last segment back.
  setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  bufferevent* bev = bufferevent_socket_new(loop_.base(), fd.get(), BEV_OPT_CLOSE_ON_FREE);
  if (bev == nullptr) {
    log_.Warning(StrCat("rpc: no memory for a ", NetidName(netid), " connection"));
    return;
  }
  (void)fd.release();  // the bufferevent owns it now
  CallContext ctx;
  ctx.peer = peer.addr;
  ctx.peer_len = peer.len;
  ctx.netid = netid;
  ctx.dual_stack = dual_stack;
  ctx.arrived_on_loopback = loopback;
  auto conn = std::make_shared<Connection>(*this, bev, ctx, loopback, source);
  connections_.emplace(conn.get(), conn);
  if (loopback) {
    ++loopback_count_;
  } else {
    ++per_remote_address_[source];
  }
  conn->Start();
}

bool TcpTransport::Admit(bool loopback, bool privileged_port, const std::string& source,
                         std::string* why) {
  if (!loopback) {
    auto it = per_remote_address_.find(source);
    if (it != per_remote_address_.end() &&
        it->second >= limits_.max_connections_per_remote_address) {
      *why = StrCat(it->second, " connections from this address already");
      return false;
    }
  }
  size_t open = loopback ? loopback_count_ : remote_connection_count();
  size_t budget = loopback ? limits_.max_loopback_connections : limits_.max_remote_connections;
  if (open < budget) return true;
  std::shared_ptr<Connection> victim = Victim(loopback, privileged_port);
  if (victim == nullptr) {
    *why =
        StrCat("all ", budget,
               loopback ? " loopback connections busy or privileged" : " remote connections busy");
    return false;
  }
  evicted_log_.Write(log_, LogLevel::kWarning, scheduler_.Now(),
                     StrCat("rpc: ", budget, loopback ? " loopback" : " remote",
                            " TCP connections open; closing the idlest, ", victim->PeerString()));
  victim->Close("evicted for a new connection");
  return true;
}

std::shared_ptr<TcpTransport::Connection> TcpTransport::Victim(bool loopback,
                                                               bool privileged_port) const {
  std::shared_ptr<Connection> best;
  for (const auto& [ptr, conn] : connections_) {
    if (conn->loopback() != loopback || !conn->Quiet()) continue;
    // Only on loopback does a port below 1024 prove anything (root here).
    bool protect = loopback && conn->privileged_port();
    bool best_protected = best != nullptr && loopback && best->privileged_port();
    if (protect && !privileged_port) continue;
    // Unprotected before protected, then the oldest activity.
    if (best == nullptr || (best_protected && !protect) ||
        (best_protected == protect && conn->last_activity() < best->last_activity())) {
      best = conn;
    }
  }
  return best;
}

void TcpTransport::Forget(Connection* conn) {
  if (conn->loopback()) {
    --loopback_count_;
  } else {
    auto it = per_remote_address_.find(conn->source());
    if (it != per_remote_address_.end() && --it->second == 0) per_remote_address_.erase(it);
  }
  connections_.erase(conn);
}

void TcpTransport::OnAcceptError(Listener& listener, int err) {
  // A connection that died in the queue; the next accept goes on.
  if (err == EPROTO) return;
  accept_log_.Write(log_, LogLevel::kWarning, scheduler_.Now(),
                    StrCat("rpc: ", NetidName(listener.netid), " accept: ", std::strerror(err)));
  if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
    // The pending connection stays queued and the listener stays
    // readable; pause it rather than spin.
    evconnlistener_disable(listener.lev.get());
    Listener* l = &listener;
    scheduler_.RunAfter(kAcceptBackoff, [l, alive = liveness_.token()] {
      if (alive) evconnlistener_enable(l->lev.get());
    });
  }
}

bool TcpTransport::RemoteUnderPressure() const {
  return remote_connection_count() * 4 >= limits_.max_remote_connections * 3;
}

Duration TcpTransport::IdleTimeoutFor(const Connection& conn) const {
  // A lock manager's own connection (kernel lockd, NFS-Ganesha as root) is
  // never closed for being idle: Ganesha does not notice the close, and its
  // next SM_MON waits out its 3 s call time-out before it reconnects, with
  // every lock of a new client queued behind it.  rpc.statd keeps them too.
  if (conn.loopback() && conn.privileged_port()) return Duration::zero();
  Duration t = limits_.idle_timeout;
  Duration pressure = limits_.remote_idle_timeout_under_pressure;
  if (!conn.loopback() && pressure > Duration::zero() && RemoteUnderPressure() &&
      (t <= Duration::zero() || pressure < t)) {
    t = pressure;
  }
  return t;
}

void TcpTransport::ScheduleIdleSweep() {
  idle_timer_ = 0;
  Duration shortest = limits_.idle_timeout;
  Duration pressure = limits_.remote_idle_timeout_under_pressure;
  if (pressure > Duration::zero() && (shortest <= Duration::zero() || pressure < shortest)) {
    shortest = pressure;
  }
  if (shortest <= Duration::zero()) return;
  Duration interval =
      std::clamp<Duration>(shortest / 4, std::chrono::milliseconds(10), std::chrono::seconds(30));
  idle_timer_ = scheduler_.RunAfter(interval, [this, alive = liveness_.token()] {
    if (!alive) return;
    IdleSweep();
    ScheduleIdleSweep();
  });
}

void TcpTransport::IdleSweep() {
  TimePoint now = scheduler_.Now();
  std::vector<std::shared_ptr<Connection>> idle;
  for (auto& [ptr, conn] : connections_) {
    Duration timeout = IdleTimeoutFor(*conn);
    if (timeout > Duration::zero() && conn->IsIdle(now, timeout)) idle.push_back(conn);
  }
  for (auto& conn : idle) conn->Close("idle");
  refused_log_.Flush(log_, now);
  evicted_log_.Flush(log_, now);
  accept_log_.Flush(log_, now);
}

}  // namespace nfsrec::rpc
