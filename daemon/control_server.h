// ControlServer: the daemon's local control socket, which nfsrecctl's live
// commands (status, metrics, remove-monitor, expire-client) use.
//
// Wire format (docs/nfsrecctl-json.md).  A Unix stream socket; the client
// sends ONE request line, a JSON object naming the command and its
// arguments, ended by '\n':
//     {"command":"status"}
// and the daemon answers ONE JSON object and '\n', then closes:
//     {"ok":true,"result":{...}}   or   {"ok":false,"error":"<one line>"}
// Refused with an error reply: a request line over max_request_bytes (64
// KiB; answered as soon as that much arrived without a newline), a line
// that is not a JSON object with a string "command", an unknown command.
//
// Who may connect: SO_PEERCRED is read on every connection; only uid 0 and
// the daemon's own (effective) uid are served (ControlPeerAllowed), others
// get one error reply ("permission denied: ...") and the close.  The socket
// is made mode 0600 in the daemon's database directory (0700), so the
// check is a second fence, not the only one.
//
// Limits: at most max_connections at once (one more is answered "busy" and
// closed); a connection with no traffic for idle_timeout (5 s) is closed,
// whether it never finished its request or its handler never answered.
//
// Handlers may answer later (after a store read): they get a move-only
// Reply, which does nothing once the connection is gone.
//
// Loop thread only.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/base/callback.h"
#include "common/base/clock.h"
#include "common/base/liveness.h"
#include "common/base/logging.h"
#include "common/base/result.h"
#include "common/base/unique_fd.h"
#include "common/os/event_loop.h"
#include <nlohmann/json.hpp>

struct evconnlistener;

namespace nfsrec {

// Whether a peer with uid `peer` may use the socket of a daemon running as
// `daemon_uid`: root and the daemon's own user only.
bool ControlPeerAllowed(uid_t peer, uid_t daemon_uid);

// The reply line (without '\n') for a handler's outcome.
std::string ControlReplyLine(const Result<nlohmann::json>& outcome);

class ControlServer {
 public:
  // The handler's answer: the "result" object, or an error (its message is
  // the reply's "error").
  using Reply = Callback<void(Result<nlohmann::json>)>;
  using Handler = std::function<void(const nlohmann::json& request, Reply reply)>;

  struct Options {
    size_t max_connections = 16;
    Duration idle_timeout = std::chrono::seconds(5);
    size_t max_request_bytes = 64 * 1024;
  };

  // Creates the socket at `path` (mode 0600) and listens.  A socket file
  // that nobody answers on (left by a dead daemon) is replaced.
  // AlreadyExists if a daemon answers there or something other than a
  // socket is in the way; InvalidArgument if the path is too long for a
  // Unix socket.  The daemon's uid is geteuid() at this call.
  static Result<std::unique_ptr<ControlServer>> Listen(EventLoop& loop, Scheduler& scheduler,
                                                       Logger& log, const std::string& path,
                                                       Options options);
  // AlreadyExists (Listen's message) if a server answers at `path`; OK if
  // nothing does.  For refusing to start early; Listen checks again.
  static Status RefuseIfAnswered(const std::string& path);
  // Serves a socket already listening (tests), removing nothing at exit;
  // `daemon_uid` is whom ControlPeerAllowed compares against.
  static Result<std::unique_ptr<ControlServer>> Adopt(EventLoop& loop, Scheduler& scheduler,
                                                      Logger& log, UniqueFd listening,
                                                      uid_t daemon_uid, Options options);
  // Closes every connection (their pending replies are dropped) and
  // removes the socket file if it is still the one this server made.
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Adds (or replaces) the command `name`.
  void Register(const std::string& name, Handler handler);

  size_t connection_count() const { return connections_.size(); }
  const std::string& path() const { return path_; }

 private:
  class Connection;
  struct ListenerFree {
    void operator()(evconnlistener* l) const;
  };

  ControlServer(EventLoop& loop, Scheduler& scheduler, Logger& log, uid_t daemon_uid,
                Options options);
  Status Start(UniqueFd listening);
  static void AcceptTrampoline(evconnlistener* l, int fd, ::sockaddr* sa, int len, void* arg);
  void OnAccept(UniqueFd fd);
  // Runs one complete request line.
  void Dispatch(const std::string& line, Reply reply);
  void Forget(Connection* conn);

  EventLoop& loop_;
  Scheduler& scheduler_;
  Logger& log_;
  const uid_t daemon_uid_;
  Options options_;
  std::string path_;  // "" when adopted
  ino_t inode_ = 0;   // the socket file's, to remove only our own
  dev_t device_ = 0;
  std::unique_ptr<evconnlistener, ListenerFree> listener_;
  std::map<Connection*, std::shared_ptr<Connection>> connections_;
  std::map<std::string, Handler> handlers_;
  Liveness liveness_;  // last: replies check it
};

}  // namespace nfsrec
