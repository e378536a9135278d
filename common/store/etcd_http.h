// HttpTransport: HTTP/1.1 POSTs through libcurl's multi interface, driven by
// the EventLoop (CURLMOPT_SOCKETFUNCTION onto IoWatchers, CURLMOPT_TIMERFUNCTION
// onto the Scheduler), so no transfer ever blocks the loop.  The etcd client
// (etcd_client.h) is its only user.
//
// Contract:
//  - Start() queues a POST and returns its id; `done` runs later on the loop
//    thread, never inside Start(), exactly once unless the transfer is
//    Cancel()ed or the transport destroyed first (then never).
//  - With `on_data` set the response is a stream: each piece of body that
//    arrives is handed to on_data (outside libcurl's callbacks, so on_data
//    may Cancel or Start transfers) and HttpResponse::body stays empty.
//  - Failures, by what the peer may have seen (the etcd client decides
//    from this whether a write may go to another endpoint):
//      Unavailable  nothing was sent (no connection, TLS handshake refused):
//                   any request may be tried elsewhere;
//      TimedOut     `timeout` passed, the request may have been processed;
//      IOError      the connection broke after the request was sent.
//    An HTTP status other than 200 is not a failure here: the response
//    carries it.
//  - Connections are kept alive and reused per endpoint by libcurl.
//
// Loop thread only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/callback.h"
#include "common/base/clock.h"
#include "common/base/liveness.h"
#include "common/base/result.h"
#include "common/os/event_loop.h"

namespace nfsrec::etcd {

// Files for https endpoints; all empty means the system's CA store and no
// client certificate.
struct TlsFiles {
  std::string ca_file;    // PEM CA bundle that signs the members' certificates
  std::string cert_file;  // PEM client certificate (etcd --client-cert-auth)
  std::string key_file;   // PEM key of cert_file
};

struct HttpRequest {
  std::string url;  // http[s]://host:port/path
  std::string body;
  std::vector<std::string> headers;  // "Name: value"
  Duration connect_timeout{};
  // Whole transfer; zero means none (streams).
  Duration timeout{};
  Callback<void(std::string_view)> on_data;  // set: a streamed response
};

struct HttpResponse {
  long status = 0;   // HTTP status code
  std::string body;  // empty for streams
};

class HttpTransport {
 public:
  using Id = uint64_t;
  static Result<std::unique_ptr<HttpTransport>> Create(EventLoop& loop, Scheduler& scheduler,
                                                       TlsFiles tls);
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  Id Start(HttpRequest request, Callback<void(Result<HttpResponse>)> done);
  // Stops a transfer; its callbacks never run.  Unknown ids are ignored.
  void Cancel(Id id);
  size_t active() const { return transfers_.size(); }

 private:
  struct Transfer;
  struct Socket;
  HttpTransport(EventLoop& loop, Scheduler& scheduler, TlsFiles tls, void* multi);

  static int OnSocket(void* easy, int fd, int what, void* self, void* socketp) noexcept;
  static int OnTimer(void* multi, long timeout_ms, void* self) noexcept;
  static size_t OnWrite(char* data, size_t size, size_t n, void* transfer) noexcept;
  // Runs curl_multi_socket_action, then hands out data and completions.
  void Act(int fd, int events);
  void Dispatch();
  void ScheduleDispatch();

  EventLoop& loop_;
  Scheduler& scheduler_;
  TlsFiles tls_;
  void* multi_;  // CURLM*
  Id next_id_ = 1;
  std::map<Id, std::unique_ptr<Transfer>> transfers_;
  std::map<int, std::unique_ptr<Socket>> sockets_;
  // Watchers curl dropped while one of them was running; freed after Act.
  std::vector<std::unique_ptr<IoWatcher>> retired_;
  Scheduler::TimerId timer_ = 0;
  bool dispatch_pending_ = false;
  Liveness liveness_;
};

}  // namespace nfsrec::etcd
