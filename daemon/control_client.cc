#include "daemon/control_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/base/logging.h"
#include "common/base/unique_fd.h"

namespace nfsrec {
namespace {

using Clock = std::chrono::steady_clock;

// Replies are small; a status with 1000 peers is well under this.
constexpr size_t kMaxReplyBytes = 16 * 1024 * 1024;

int MillisLeft(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Waits for `events` on fd until the deadline; TimedOut if it passes.
Status WaitFor(int fd, short events, Clock::time_point deadline, const std::string& what) {
  for (;;) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, MillisLeft(deadline));
    if (n > 0) return Status::Ok();
    if (n == 0) return Status::TimedOut(StrCat("no reply from nfsrecd on ", what, " in time"));
    if (errno != EINTR) return PosixError("poll " + what, errno);
  }
}

Status ErrorReply(const std::string& message) {
  if (message.rfind("permission denied", 0) == 0) return Status::PermissionDenied(message);
  if (message.rfind("unknown command", 0) == 0) return Status::NotFound(message);
  return Status::InvalidArgument(message);
}

}  // namespace

Result<nlohmann::json> CallDaemon(const std::string& socket_path, const nlohmann::json& request,
                                  std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (socket_path.empty() || socket_path.size() >= sizeof(sa.sun_path)) {
    return Status::InvalidArgument("control socket path too long: " + socket_path);
  }
  std::memcpy(sa.sun_path, socket_path.data(), socket_path.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return PosixError("socket", errno);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) != 0) {
    // A Unix socket connects at once or fails (EAGAIN: the backlog is full).
    return PosixError("connect " + socket_path, errno);
  }
  std::string out = request.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  size_t sent = 0;
  while (sent < out.size()) {
    NFSREC_RETURN_IF_ERROR(WaitFor(fd.get(), POLLOUT, deadline, socket_path));
    ssize_t n = ::send(fd.get(), out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    // The daemon may have refused us and closed before reading: read its
    // one line below rather than report the broken pipe.
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) break;
    if (n < 0) return PosixError("send to " + socket_path, errno);
    sent += static_cast<size_t>(n);
  }
  std::string in;
  for (;;) {
    NFSREC_RETURN_IF_ERROR(WaitFor(fd.get(), POLLIN, deadline, socket_path));
    char buf[4096];
    ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0 && errno == ECONNRESET) break;
    if (n < 0) return PosixError("receive from " + socket_path, errno);
    if (n == 0) break;
    in.append(buf, static_cast<size_t>(n));
    if (in.size() > kMaxReplyBytes) return Status::Corruption("reply from nfsrecd too long");
    if (in.back() == '\n') break;
  }
  if (in.empty() || in.back() != '\n') {
    return Status::Corruption("nfsrecd closed the control connection without a reply");
  }
  in.pop_back();
  nlohmann::json reply = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (reply.is_discarded() || !reply.is_object() || !reply.contains("ok") ||
      !reply["ok"].is_boolean()) {
    return Status::Corruption("reply from nfsrecd is not the expected JSON");
  }
  if (!reply["ok"].get<bool>()) {
    auto error = reply.find("error");
    return ErrorReply(error != reply.end() && error->is_string() ? error->get<std::string>()
                                                                 : std::string("error"));
  }
  auto result = reply.find("result");
  if (result == reply.end()) return Status::Corruption("reply from nfsrecd has no result");
  return *result;
}

}  // namespace nfsrec
