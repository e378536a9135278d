#include "common/store/etcd_http.h"

#include <chrono>
#include <utility>

#include "common/base/logging.h"
#include <curl/curl.h>

namespace nfsrec::etcd {

struct HttpTransport::Transfer {
  Id id = 0;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  HttpRequest request;
  Callback<void(Result<HttpResponse>)> done;
  std::string body;     // the whole answer (unary)
  std::string pending;  // streamed bytes not yet handed to on_data
  bool stream = false;
  bool finished = false;
  CURLcode result = CURLE_OK;
  char error[CURL_ERROR_SIZE] = {};

  ~Transfer() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (headers != nullptr) curl_slist_free_all(headers);
  }
};

struct HttpTransport::Socket {
  int what = 0;
  std::unique_ptr<IoWatcher> watcher;
};

namespace {

long Millis(Duration d) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

// What the peer may have seen decides the code (see the header).
Status TransferError(CURL* easy, CURLcode code, const char* detail) {
  long sent = 0;
  curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &sent);
  std::string msg = StrCat(curl_easy_strerror(code), detail[0] != '\0' ? ": " : "", detail);
  if (sent == 0) return Status::Unavailable(msg);
  if (code == CURLE_OPERATION_TIMEDOUT) return Status::TimedOut(msg);
  return Status::IOError(msg);
}

}  // namespace

Result<std::unique_ptr<HttpTransport>> HttpTransport::Create(EventLoop& loop, Scheduler& scheduler,
                                                             TlsFiles tls) {
  // Reference-counted and thread-safe since libcurl 7.84; paired with the
  // cleanup in the destructor.
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    return Status::IOError("curl_global_init failed");
  }
  CURLM* multi = curl_multi_init();
  if (multi == nullptr) {
    curl_global_cleanup();
    return Status::IOError("curl_multi_init failed");
  }
  auto t =
      std::unique_ptr<HttpTransport>(new HttpTransport(loop, scheduler, std::move(tls), multi));
  curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &HttpTransport::OnSocket);
  curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, t.get());
  curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &HttpTransport::OnTimer);
  curl_multi_setopt(multi, CURLMOPT_TIMERDATA, t.get());
  return t;
}

HttpTransport::HttpTransport(EventLoop& loop, Scheduler& scheduler, TlsFiles tls, void* multi)
    : loop_(loop), scheduler_(scheduler), tls_(std::move(tls)), multi_(multi) {}

HttpTransport::~HttpTransport() {
  if (timer_ != 0) scheduler_.Cancel(timer_);
  for (auto& [id, t] : transfers_) curl_multi_remove_handle(multi_, t->easy);
  transfers_.clear();
  curl_multi_cleanup(multi_);
  sockets_.clear();
  curl_global_cleanup();
}

HttpTransport::Id HttpTransport::Start(HttpRequest request,
                                       Callback<void(Result<HttpResponse>)> done) {
  auto t = std::make_unique<Transfer>();
  t->id = next_id_++;
  t->request = std::move(request);
  t->done = std::move(done);
  t->stream = static_cast<bool>(t->request.on_data);
  CURL* easy = curl_easy_init();
  t->easy = easy;
  Id id = t->id;
  if (easy == nullptr) {
    t->finished = true;
    t->result = CURLE_OUT_OF_MEMORY;
    transfers_.emplace(id, std::move(t));
    ScheduleDispatch();
    return id;
  }
  curl_easy_setopt(easy, CURLOPT_URL, t->request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_POST, 1L);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, t->request.body.data());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                   static_cast<curl_off_t>(t->request.body.size()));
  t->headers = curl_slist_append(t->headers, "Content-Type: application/json");
  // No "Expect: 100-continue" round trip for larger bodies.
  t->headers = curl_slist_append(t->headers, "Expect:");
  for (const auto& h : t->request.headers) t->headers = curl_slist_append(t->headers, h.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t->headers);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, Millis(t->request.connect_timeout));
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, Millis(t->request.timeout));
  // A dead peer host (not a dead process, whose kernel resets the
  // connection) is noticed on idle streams too.
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPIDLE, 5L);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPINTVL, 2L);
  curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
  if (!tls_.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, tls_.ca_file.c_str());
  if (!tls_.cert_file.empty()) curl_easy_setopt(easy, CURLOPT_SSLCERT, tls_.cert_file.c_str());
  if (!tls_.key_file.empty()) curl_easy_setopt(easy, CURLOPT_SSLKEY, tls_.key_file.c_str());
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &HttpTransport::OnWrite);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, t.get());
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t->error);
  curl_easy_setopt(easy, CURLOPT_PRIVATE, reinterpret_cast<void*>(static_cast<uintptr_t>(id)));
  if (curl_multi_add_handle(multi_, easy) != CURLM_OK) {
    t->finished = true;
    t->result = CURLE_FAILED_INIT;
    transfers_.emplace(id, std::move(t));
    ScheduleDispatch();
    return id;
  }
  transfers_.emplace(id, std::move(t));
  return id;
}

void HttpTransport::Cancel(Id id) {
  auto it = transfers_.find(id);
  if (it == transfers_.end()) return;
  if (!it->second->finished) curl_multi_remove_handle(multi_, it->second->easy);
  transfers_.erase(it);
}

int HttpTransport::OnSocket(void*, int fd, int what, void* self_arg, void*) noexcept {
  auto* self = static_cast<HttpTransport*>(self_arg);
  auto it = self->sockets_.find(fd);
  if (it != self->sockets_.end()) {
    // Dropped later: curl may be telling us this from inside that
    // watcher's own callback.
    it->second->watcher->Stop();
    if (self->retired_.empty()) {
      self->scheduler_.RunAfter(Duration::zero(), [self, alive = self->liveness_.token()] {
        if (alive) self->retired_.clear();
      });
    }
    self->retired_.push_back(std::move(it->second->watcher));
    self->sockets_.erase(it);
  }
  if (what == CURL_POLL_REMOVE) return 0;
  short flags = 0;
  if ((what & CURL_POLL_IN) != 0) flags |= IoWatcher::kRead;
  if ((what & CURL_POLL_OUT) != 0) flags |= IoWatcher::kWrite;
  auto s = std::make_unique<Socket>();
  s->what = what;
  s->watcher = std::make_unique<IoWatcher>(self->loop_, fd, flags, [self, fd](short ev) {
    int events = 0;
    if ((ev & IoWatcher::kRead) != 0) events |= CURL_CSELECT_IN;
    if ((ev & IoWatcher::kWrite) != 0) events |= CURL_CSELECT_OUT;
    self->Act(fd, events);
  });
  s->watcher->Start();
  self->sockets_.emplace(fd, std::move(s));
  return 0;
}

int HttpTransport::OnTimer(void*, long timeout_ms, void* self_arg) noexcept {
  auto* self = static_cast<HttpTransport*>(self_arg);
  if (self->timer_ != 0) {
    self->scheduler_.Cancel(self->timer_);
    self->timer_ = 0;
  }
  if (timeout_ms < 0) return 0;
  // Never act from inside curl: the timer runs on the next loop pass.
  self->timer_ = self->scheduler_.RunAfter(std::chrono::milliseconds(timeout_ms),
                                           [self, alive = self->liveness_.token()] {
                                             if (!alive) return;
                                             self->timer_ = 0;
                                             self->Act(CURL_SOCKET_TIMEOUT, 0);
                                           });
  return 0;
}

size_t HttpTransport::OnWrite(char* data, size_t size, size_t n, void* arg) noexcept {
  auto* t = static_cast<Transfer*>(arg);
  if (t->stream) {
    t->pending.append(data, size * n);
  } else {
    t->body.append(data, size * n);
  }
  return size * n;
}

void HttpTransport::Act(int fd, int events) {
  int running = 0;
  curl_multi_socket_action(multi_, fd, events, &running);
  bool any = false;
  for (const auto& [id, t] : transfers_) any = any || !t->pending.empty();
  CURLMsg* msg;
  int left = 0;
  while ((msg = curl_multi_info_read(multi_, &left)) != nullptr) {
    if (msg->msg != CURLMSG_DONE) continue;
    void* priv = nullptr;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
    auto it = transfers_.find(static_cast<Id>(reinterpret_cast<uintptr_t>(priv)));
    if (it == transfers_.end()) continue;
    it->second->finished = true;
    it->second->result = msg->data.result;
    any = true;
    curl_multi_remove_handle(multi_, msg->easy_handle);
  }
  // Callbacks run from a timer of their own, not from a watcher curl may
  // have just dropped, so they may destroy this transport.
  if (any) ScheduleDispatch();
}

void HttpTransport::ScheduleDispatch() {
  if (dispatch_pending_) return;
  dispatch_pending_ = true;
  scheduler_.RunAfter(Duration::zero(), [this, alive = liveness_.token()] {
    if (!alive) return;
    dispatch_pending_ = false;
    Dispatch();
  });
}

void HttpTransport::Dispatch() {
  auto alive = liveness_.token();
  // Ids, not iterators: a callback may cancel or start transfers, or
  // destroy this transport.
  std::vector<Id> ids;
  for (const auto& [id, t] : transfers_) {
    if (!t->pending.empty() || t->finished) ids.push_back(id);
  }
  for (Id id : ids) {
    auto it = transfers_.find(id);
    if (it == transfers_.end()) continue;
    Transfer* t = it->second.get();
    if (!t->pending.empty() && t->stream) {
      std::string chunk = std::move(t->pending);
      t->pending.clear();
      // Held here while it runs: it may cancel its own transfer.
      Callback<void(std::string_view)> on_data = std::move(t->request.on_data);
      on_data(chunk);
      if (!alive) return;
      it = transfers_.find(id);
      if (it == transfers_.end()) continue;
      t->request.on_data = std::move(on_data);
    }
    if (!t->finished) continue;
    std::unique_ptr<Transfer> owned = std::move(it->second);
    transfers_.erase(it);
    if (owned->result != CURLE_OK) {
      Status st = owned->easy != nullptr ? TransferError(owned->easy, owned->result, owned->error)
                                         : Status::Unavailable(curl_easy_strerror(owned->result));
      owned->done(std::move(st));
    } else {
      HttpResponse r;
      curl_easy_getinfo(owned->easy, CURLINFO_RESPONSE_CODE, &r.status);
      r.body = std::move(owned->body);
      owned->done(std::move(r));
    }
    if (!alive) return;
  }
}

}  // namespace nfsrec::etcd
