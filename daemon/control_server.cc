#include "daemon/control_server.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

namespace nfsrec {
namespace {

constexpr int kBacklog = 16;

Result<sockaddr_un> UnixAddress(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(sa.sun_path)) {
    return Status::InvalidArgument(StrCat("control socket path '", Printable(path), "' is ",
                                          path.empty() ? "empty" : "too long for a Unix socket"));
  }
  std::memcpy(sa.sun_path, path.data(), path.size());
  return sa;
}

// True if a server accepts connections at `path`.
bool Answers(const sockaddr_un& sa) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return false;
  return ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) == 0;
}

}  // namespace

bool ControlPeerAllowed(uid_t peer, uid_t daemon_uid) { return peer == 0 || peer == daemon_uid; }

std::string ControlReplyLine(const Result<nlohmann::json>& outcome) {
  // Bytes that are not UTF-8 are replaced rather than thrown about.
  auto dump = [](const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  // Written by hand so that "ok" comes first, as the format shows it.
  if (outcome.ok()) return "{\"ok\":true,\"result\":" + dump(outcome.value()) + "}";
  std::string why = outcome.status().message();
  for (char& c : why) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return "{\"ok\":false,\"error\":" + dump(nlohmann::json(why)) + "}";
}

// One accepted connection: reads one request line, writes one reply line,
// closes once it has left.  Callbacks hold a shared_ptr while they run, so
// Close() may drop the server's reference from anywhere.
class ControlServer::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(ControlServer& server, bufferevent* bev) : server_(server), bev_(bev) {}
  ~Connection() {
    server_.scheduler_.Cancel(idle_timer_);
    if (bev_ != nullptr) bufferevent_free(bev_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void Start() {
    bufferevent_setcb(bev_, &ReadTrampoline, &WriteTrampoline, &EventTrampoline, this);
    bufferevent_enable(bev_, EV_READ | EV_WRITE);
    Touch();
  }

  // Sends the one reply and closes once it has been written.
  void Answer(const Result<nlohmann::json>& outcome) {
    if (closed_ || answered_) return;
    answered_ = true;
    bufferevent_disable(bev_, EV_READ);
    std::string line = ControlReplyLine(outcome) + "\n";
    if (bufferevent_write(bev_, line.data(), line.size()) != 0) return Close();
    Touch();
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    bufferevent_free(bev_);
    bev_ = nullptr;
    server_.scheduler_.Cancel(idle_timer_);
    idle_timer_ = 0;
    server_.Forget(this);
  }

 private:
  static void ReadTrampoline(bufferevent*, void* arg) {
    static_cast<Connection*>(arg)->shared_from_this()->OnReadable();
  }
  static void WriteTrampoline(bufferevent*, void* arg) {
    std::shared_ptr<Connection> self = static_cast<Connection*>(arg)->shared_from_this();
    if (self->answered_) self->Close();  // the reply has left
  }
  static void EventTrampoline(bufferevent*, short, void* arg) {
    // EOF or an error: nobody is left to answer.
    static_cast<Connection*>(arg)->shared_from_this()->Close();
  }

  // Restarts the idle limit.
  void Touch() {
    server_.scheduler_.Cancel(idle_timer_);
    std::weak_ptr<Connection> weak = weak_from_this();
    idle_timer_ = server_.scheduler_.RunAfter(server_.options_.idle_timeout, [weak] {
      if (auto self = weak.lock()) {
        self->idle_timer_ = 0;
        self->Close();
      }
    });
  }

  void OnReadable() {
    if (closed_ || answered_ || dispatched_) return;
    Touch();
    evbuffer* in = bufferevent_get_input(bev_);
    const size_t limit = server_.options_.max_request_bytes;
    evbuffer_ptr eol = evbuffer_search(in, "\n", 1, nullptr);
    if (eol.pos < 0) {
      if (evbuffer_get_length(in) > limit) {
        Answer(Status::InvalidArgument(StrCat("request line over ", limit, " bytes")));
      }
      return;
    }
    if (static_cast<size_t>(eol.pos) > limit) {
      return Answer(Status::InvalidArgument(StrCat("request line over ", limit, " bytes")));
    }
    std::string line(static_cast<size_t>(eol.pos), '\0');
    evbuffer_remove(in, line.data(), line.size());
    evbuffer_drain(in, 1);
    dispatched_ = true;
    bufferevent_disable(bev_, EV_READ);
    std::weak_ptr<Connection> weak = weak_from_this();
    server_.Dispatch(line, [weak](Result<nlohmann::json> outcome) {
      if (auto self = weak.lock()) self->Answer(outcome);
    });
  }

  ControlServer& server_;
  bufferevent* bev_;
  Scheduler::TimerId idle_timer_ = 0;
  bool dispatched_ = false;
  bool answered_ = false;
  bool closed_ = false;
};

void ControlServer::ListenerFree::operator()(evconnlistener* l) const { evconnlistener_free(l); }

ControlServer::ControlServer(EventLoop& loop, Scheduler& scheduler, Logger& log, uid_t daemon_uid,
                             Options options)
    : loop_(loop), scheduler_(scheduler), log_(log), daemon_uid_(daemon_uid), options_(options) {}

ControlServer::~ControlServer() {
  std::vector<std::shared_ptr<Connection>> open;
  for (auto& [ptr, conn] : connections_) open.push_back(conn);
  for (auto& conn : open) conn->Close();
  listener_.reset();
  struct stat st;
  if (!path_.empty() && ::lstat(path_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) &&
      st.st_ino == inode_ && st.st_dev == device_) {
    ::unlink(path_.c_str());
  }
}

Status ControlServer::RefuseIfAnswered(const std::string& path) {
  NFSREC_ASSIGN_OR_RETURN(sockaddr_un sa, UnixAddress(path));
  if (!Answers(sa)) return Status::Ok();
  return Status::AlreadyExists(
      StrCat("control socket ", path, ": another nfsrecd answers there; stop it first"));
}

Result<std::unique_ptr<ControlServer>> ControlServer::Listen(EventLoop& loop, Scheduler& scheduler,
                                                             Logger& log, const std::string& path,
                                                             Options options) {
  NFSREC_ASSIGN_OR_RETURN(sockaddr_un sa, UnixAddress(path));
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return Status::AlreadyExists(
          StrCat("control socket ", path, ": something other than a socket is there; remove it"));
    }
    NFSREC_RETURN_IF_ERROR(RefuseIfAnswered(path));
    // Left by a daemon that died: nobody listens.
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return PosixError("remove stale control socket " + path, errno);
    }
    log.Info(StrCat("Replaced a stale control socket at ", path));
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return PosixError("control socket", errno);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) != 0) {
    return PosixError("bind control socket " + path, errno);
  }
  auto server =
      std::unique_ptr<ControlServer>(new ControlServer(loop, scheduler, log, ::geteuid(), options));
  server->path_ = path;
  if (::lstat(path.c_str(), &st) == 0) {
    server->inode_ = st.st_ino;
    server->device_ = st.st_dev;
  }
  if (::chmod(path.c_str(), 0600) != 0) return PosixError("chmod control socket " + path, errno);
  if (::listen(fd.get(), kBacklog) != 0) return PosixError("listen " + path, errno);
  NFSREC_RETURN_IF_ERROR(server->Start(std::move(fd)));
  return server;
}

Result<std::unique_ptr<ControlServer>> ControlServer::Adopt(EventLoop& loop, Scheduler& scheduler,
                                                            Logger& log, UniqueFd listening,
                                                            uid_t daemon_uid, Options options) {
  auto server =
      std::unique_ptr<ControlServer>(new ControlServer(loop, scheduler, log, daemon_uid, options));
  NFSREC_RETURN_IF_ERROR(server->Start(std::move(listening)));
  return server;
}

Status ControlServer::Start(UniqueFd listening) {
  evconnlistener* lev =
      evconnlistener_new(loop_.base(), &AcceptTrampoline, this,
                         LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, listening.get());
  if (lev == nullptr) return Status::IOError("cannot watch the control socket");
  (void)listening.release();  // the listener owns it now
  listener_.reset(lev);
  return Status::Ok();
}

void ControlServer::AcceptTrampoline(evconnlistener*, int fd, ::sockaddr*, int, void* arg) {
  static_cast<ControlServer*>(arg)->OnAccept(UniqueFd(fd));
}

void ControlServer::OnAccept(UniqueFd fd) {
  bufferevent* bev = bufferevent_socket_new(loop_.base(), fd.get(), BEV_OPT_CLOSE_ON_FREE);
  if (bev == nullptr) {
    log_.Warning("control socket: no memory for a connection");
    return;
  }
  (void)fd.release();  // the bufferevent owns it now
  auto conn = std::make_shared<Connection>(*this, bev);
  connections_.emplace(conn.get(), conn);
  conn->Start();
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (::getsockopt(bufferevent_getfd(bev), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return conn->Answer(PosixError("control socket: SO_PEERCRED", errno));
  }
  if (!ControlPeerAllowed(cred.uid, daemon_uid_)) {
    log_.Debug(StrCat("control socket: uid ", cred.uid, " (pid ", cred.pid, ") refused"));
    return conn->Answer(Status::PermissionDenied(
        StrCat("permission denied: uid ", cred.uid, " may not use the control socket (only root",
               daemon_uid_ != 0 ? StrCat(" and uid ", daemon_uid_) : std::string(), ")")));
  }
  if (connections_.size() > options_.max_connections) {
    return conn->Answer(Status::Busy(
        StrCat("busy: ", options_.max_connections, " control connections open; try again")));
  }
}

void ControlServer::Register(const std::string& name, Handler handler) {
  handlers_[name] = std::move(handler);
}

void ControlServer::Dispatch(const std::string& line, Reply reply) {
  nlohmann::json request = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded() || !request.is_object()) {
    return reply(Status::InvalidArgument("request is not a JSON object"));
  }
  auto command = request.find("command");
  if (command == request.end() || !command->is_string()) {
    return reply(Status::InvalidArgument("request has no \"command\" string"));
  }
  const std::string name = command->get<std::string>();
  auto it = handlers_.find(name);
  if (it == handlers_.end()) {
    return reply(Status::NotFound(StrCat("unknown command '", Printable(name), "'")));
  }
  // The handler may outlive nothing: a late reply after the server is gone
  // does nothing.
  it->second(request, [alive = liveness_.token(),
                       reply = std::move(reply)](Result<nlohmann::json> outcome) mutable {
    if (alive) reply(std::move(outcome));
  });
}

void ControlServer::Forget(Connection* conn) { connections_.erase(conn); }

}  // namespace nfsrec
