#include "common/os/privileged_helper.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "common/os/privileges.h"
#include "common/os/signals.h"

namespace nfsrec {
namespace {

constexpr std::array<std::string_view, 3> kAllowedRoots = {"/proc/sys/fs/nfs", "/proc/fs/lockd",
                                                           "/proc/fs/nfsd"};
constexpr size_t kHeaderBytes = 16;
constexpr size_t kReplyHeaderBytes = 12;
constexpr size_t kMaxPathBytes = 4096;
constexpr uint32_t kTruncate = 1, kNoFollow = 2, kSharedLock = 4;
constexpr char kReadyByte = 'R';

void PutU32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }
uint32_t GetU32(std::string_view in, size_t at) {
  uint32_t v;
  std::memcpy(&v, in.data() + at, 4);
  return v;
}

Status MakeStatus(Status::Code code, std::string_view msg) {
  switch (code) {
    case Status::Code::kOk:
      return Status::Ok();
    case Status::Code::kNotFound:
      return Status::NotFound(msg);
    case Status::Code::kInvalidArgument:
      return Status::InvalidArgument(msg);
    case Status::Code::kCorruption:
      return Status::Corruption(msg);
    case Status::Code::kBusy:
      return Status::Busy(msg);
    case Status::Code::kUnavailable:
      return Status::Unavailable(msg);
    case Status::Code::kPermissionDenied:
      return Status::PermissionDenied(msg);
    case Status::Code::kAlreadyExists:
      return Status::AlreadyExists(msg);
    case Status::Code::kTimedOut:
      return Status::TimedOut(msg);
    case Status::Code::kUnsupported:
      return Status::Unsupported(msg);
    case Status::Code::kFailedPrecondition:
      return Status::FailedPrecondition(msg);
    case Status::Code::kIOError:
      break;
  }
  return Status::IOError(msg);
}

std::string EncodeReply(const Status& s, int err, std::string_view payload = {}) {
  std::string out;
  PutU32(out, static_cast<uint32_t>(s.code()));
  PutU32(out, static_cast<uint32_t>(err));
  PutU32(out, static_cast<uint32_t>(s.message().size()));
  out += s.message();
  out += payload;
  return out;
}

std::string Refuse(std::string_view why) {
  return EncodeReply(Status::PermissionDenied(StrCat("privileged helper: ", why)), 0);
}

// Lexical: an allowed root or below it, absolute, no empty, "." or ".."
// component.
bool PathIsAllowed(std::string_view path) {
  if (path.empty() || path.size() > kMaxPathBytes || path.find('\0') != std::string_view::npos) {
    return false;
  }
  if (!IsHelperPath(path)) return false;
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

// No component below <proc_root>/proc may be a symbolic link; the last must
// be of the type the operation works on.  (Nobody but root can change these
// directories, so checking before opening leaves no race to the daemon.)
Status CheckNoLinks(const std::string& proc_root, std::string_view path, bool want_dir) {
  std::string walk = proc_root;
  size_t start = 1;
  struct stat st = {};
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    walk += "/";
    walk += path.substr(start, end - start);
    if (::lstat(walk.c_str(), &st) != 0) return PosixError("lstat " + walk, errno);
    if (S_ISLNK(st.st_mode))
      return Status::PermissionDenied("privileged helper: symbolic link " + walk);
    start = end + 1;
  }
  if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
    return want_dir ? Status::NotFound(walk + ": not a directory")
                    : Status::PermissionDenied("privileged helper: not a regular file: " + walk);
  }
  return Status::Ok();
}

std::string ListingPayload(const std::vector<DirEntry>& entries, Status* status) {
  std::string out;
  for (const DirEntry& e : entries) {
    out.push_back(static_cast<char>(e.type));
    uint16_t len = static_cast<uint16_t>(e.name.size());
    out.append(reinterpret_cast<const char*>(&len), 2);
    out += e.name;
    if (out.size() > kMaxReplyBytes - kReplyHeaderBytes - 256) {
      *status = Status::InvalidArgument("privileged helper: directory listing too large");
      return {};
    }
  }
  return out;
}

Status PipeError(const std::string& path, int err) {
  // Absent in every way the cld pipe can be while nfsd is not running.
  if (err == ENOENT || err == ENXIO || err == ENOTDIR) {
    return Status::NotFound(StrCat("open ", path, ": ", std::strerror(err)));
  }
  return PosixError("open " + path, err);
}

void SendReply(int fd, const std::string& reply, int pass_fd) {
  iovec iov{const_cast<char*>(reply.data()), reply.size()};
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  if (pass_fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
  }
  while (::sendmsg(fd, &msg, MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

// One connection, until the daemon's end closes; then the whole helper
// goes (the daemon closes all of them at once).
[[noreturn]] void Serve(int fd, const HelperPolicy& policy) {
  std::vector<char> buf(kMaxRequestBytes + 1);
  for (;;) {
    ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_TRUNC);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ::_exit(0);
    std::string reply;
    UniqueFd pass;
    if (static_cast<size_t>(n) > kMaxRequestBytes) {
      reply = Refuse("request too large");
    } else {
      reply =
          HandleHelperRequest(std::string_view(buf.data(), static_cast<size_t>(n)), policy, &pass);
    }
    SendReply(fd, reply, pass.get());
  }
}

// Closes every descriptor but 0-2 and `keep` (sorted).
void CloseAllBut(std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  unsigned lo = 3;
  for (int k : keep) {
    if (static_cast<unsigned>(k) > lo) ::close_range(lo, static_cast<unsigned>(k) - 1, 0);
    lo = static_cast<unsigned>(k) + 1;
  }
  ::close_range(lo, ~0U, 0);
}

[[noreturn]] void HelperMain(std::vector<int> fds, const HelperPolicy& policy, pid_t parent) {
  // A terminal's ^C reaches the whole process group: the helper stays
  // until the daemon, which may still need it, closes the connections.
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) ::signal(sig, SIG_IGN);
  ::signal(SIGPIPE, SIG_IGN);
  // The daemon's blocked mask (common/os/signals.h) is not the helper's.
  ClearSignalMask();
  ::prctl(PR_SET_NAME, "nfsrecd-priv", 0, 0, 0);
  CloseAllBut(fds);
  Status dropped = ::geteuid() == 0
                       ? DropToRootWithoutCapabilities(RootKeeps::kReadSearchIfPermitted)
                       : Status::Ok();
  // ORDER: die with the daemon (which, dropped, may not kill us), set after
  // the credential change and checked after asking: it may be gone already.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (::getppid() != parent) ::_exit(0);
  const std::string ready = dropped.ok() ? std::string(1, kReadyByte) : dropped.ToString();
  (void)!::send(fds[0], ready.data(), ready.size(), MSG_NOSIGNAL);
  if (!dropped.ok()) ::_exit(1);
  // ORDER: threads only after the capability drop, so that they inherit it.
  for (size_t i = 1; i < fds.size(); ++i) {
    std::thread([fd = fds[i], &policy] { Serve(fd, policy); }).detach();
  }
  Serve(fds[0], policy);
}

}  // namespace

bool IsHelperPath(std::string_view path) {
  for (std::string_view root : kAllowedRoots) {
    if (path.substr(0, root.size()) != root) continue;
    if (path.size() == root.size() || path[root.size()] == '/') return true;
  }
  return false;
}

std::string EncodeHelperRequest(HelperOp op, uint32_t flags, uint32_t max_bytes,
                                std::string_view path, std::string_view data) {
  std::string out;
  PutU32(out, static_cast<uint32_t>(op));
  PutU32(out, flags);
  PutU32(out, max_bytes);
  PutU32(out, static_cast<uint32_t>(path.size()));
  out += path;
  out += data;
  return out;
}

// Validation, in steps: 1. the header is whole; 2. the path length fits in
// the message and the limit; 3. the op is known; 4. the path is allowed
// (the exact pipe paths for OpenPipe; else lexically, then on disk); 5. the
// op's own limits (data size, read size).
std::string HandleHelperRequest(std::string_view request, const HelperPolicy& policy,
                                UniqueFd* fd) {
  if (request.size() < kHeaderBytes) return Refuse("short request");
  const uint32_t op = GetU32(request, 0);
  const uint32_t flags = GetU32(request, 4);
  const uint32_t max_bytes = GetU32(request, 8);
  const uint32_t path_len = GetU32(request, 12);
  if (path_len > kMaxPathBytes || path_len > request.size() - kHeaderBytes) {
    return Refuse("bad path length");
  }
  const std::string path(request.substr(kHeaderBytes, path_len));
  const std::string_view data = request.substr(kHeaderBytes + path_len);
  if (op < static_cast<uint32_t>(HelperOp::kRead) ||
      op > static_cast<uint32_t>(HelperOp::kOpenPipe)) {
    return Refuse(StrCat("unknown op ", op));
  }
  if (op == static_cast<uint32_t>(HelperOp::kOpenPipe)) {
    if (std::find(policy.pipe_paths.begin(), policy.pipe_paths.end(), path) ==
        policy.pipe_paths.end()) {
      return Refuse("not a cld pipe path: " + path);
    }
    fd->reset(::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
    if (!*fd) {
      const int err = errno;
      return EncodeReply(PosixError("open " + path, err), err);
    }
    return EncodeReply(Status::Ok(), 0);
  }
  if (!PathIsAllowed(path)) return Refuse("path not allowed: " + path);
  if (!data.empty() && op != static_cast<uint32_t>(HelperOp::kWrite)) {
    return Refuse("unexpected data");
  }
  RealFileSystem files(policy.proc_root);
  std::string root = files.Resolve("/proc");
  root.resize(root.size() - std::strlen("/proc"));
  const bool list = op == static_cast<uint32_t>(HelperOp::kList);
  if (Status s = CheckNoLinks(root, path, list); !s.ok()) return EncodeReply(s, 0);
  switch (static_cast<HelperOp>(op)) {
    case HelperOp::kRead: {
      if ((flags & ~(kTruncate | kNoFollow | kSharedLock)) != 0) return Refuse("unknown flags");
      ReadFileOptions options;
      options.max_bytes = std::min<size_t>(max_bytes, kMaxHelperReadBytes);
      options.truncate = (flags & kTruncate) != 0;
      options.no_follow = true;
      options.shared_lock = (flags & kSharedLock) != 0;
      Result<std::string> text = files.ReadSmallFile(path, options);
      if (!text.ok()) return EncodeReply(text.status(), 0);
      return EncodeReply(Status::Ok(), 0, *text);
    }
    case HelperOp::kWrite:
      if (data.size() > kMaxWriteBytes) return Refuse("write too large");
      return EncodeReply(files.WriteExistingFile(path, data), 0);
    case HelperOp::kList: {
      Result<std::vector<DirEntry>> entries = files.ListDirectory(path);
      if (!entries.ok()) return EncodeReply(entries.status(), 0);
      Status s;
      std::string payload = ListingPayload(*entries, &s);
      return EncodeReply(s, 0, payload);
    }
    case HelperOp::kOpenPipe:
      break;
  }
  return Refuse("unknown op");
}

HelperChannel::HelperChannel(std::vector<UniqueFd> connections)
    : connections_(std::move(connections)) {
  for (size_t i = 0; i < connections_.size(); ++i) {
    free_.push_back(i);
    buffers_.push_back(std::make_unique_for_overwrite<char[]>(kMaxReplyBytes));
  }
}

Result<HelperChannel::Reply> HelperChannel::Call(std::string_view request) {
  size_t index;
  {
    std::unique_lock<std::mutex> lock(mu_);
    free_cv_.wait(lock, [this] { return shut_down_ || !free_.empty(); });
    if (shut_down_) return Status::Unavailable("privileged helper: shut down");
    index = free_.back();
    free_.pop_back();
  }
  const int fd = connections_[index].get();
  Result<Reply> out = Status::Unavailable("privileged helper: gone");
  char* const buf = buffers_[index].get();
  ssize_t n;
  do {
    n = ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(request.size())) {
    iovec iov{buf, kMaxReplyBytes};
    msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    do {
      n = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    Reply reply;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); n > 0 && c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        int passed;
        std::memcpy(&passed, CMSG_DATA(c), sizeof(int));
        reply.fd.reset(passed);
      }
    }
    std::string_view in(buf, n > 0 ? static_cast<size_t>(n) : 0);
    if (in.size() >= kReplyHeaderBytes && (msg.msg_flags & MSG_TRUNC) == 0 &&
        GetU32(in, 8) <= in.size() - kReplyHeaderBytes) {
      const uint32_t msg_len = GetU32(in, 8);
      const int err = static_cast<int>(GetU32(in, 4));
      std::string_view text = in.substr(kReplyHeaderBytes, msg_len);
      reply.error = err;
      reply.status = err != 0 ? PosixError(text.substr(0, text.rfind(": ")), err)
                              : MakeStatus(static_cast<Status::Code>(GetU32(in, 0)), text);
      reply.payload = std::string(in.substr(kReplyHeaderBytes + msg_len));
      out = std::move(reply);
    } else if (n > 0) {
      out = Status::IOError("privileged helper: malformed reply");
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  free_.push_back(index);
  free_cv_.notify_one();
  return out;
}

Result<std::string> HelperChannel::ReadSmallFile(const std::string& path,
                                                 const ReadFileOptions& options) {
  uint32_t flags = (options.truncate ? kTruncate : 0) | (options.no_follow ? kNoFollow : 0) |
                   (options.shared_lock ? kSharedLock : 0);
  uint32_t max = static_cast<uint32_t>(std::min<size_t>(options.max_bytes, kMaxHelperReadBytes));
  NFSREC_ASSIGN_OR_RETURN(Reply r, Call(EncodeHelperRequest(HelperOp::kRead, flags, max, path)));
  if (!r.status.ok()) return r.status;
  return std::move(r.payload);
}

Status HelperChannel::WriteExistingFile(const std::string& path, std::string_view data) {
  NFSREC_ASSIGN_OR_RETURN(Reply r, Call(EncodeHelperRequest(HelperOp::kWrite, 0, 0, path, data)));
  return r.status;
}

Result<std::vector<DirEntry>> HelperChannel::ListDirectory(const std::string& path) {
  NFSREC_ASSIGN_OR_RETURN(Reply r, Call(EncodeHelperRequest(HelperOp::kList, 0, 0, path)));
  if (!r.status.ok()) return r.status;
  std::vector<DirEntry> out;
  std::string_view p = r.payload;
  while (p.size() >= 3) {
    uint16_t len;
    std::memcpy(&len, p.data() + 1, 2);
    if (p.size() < 3u + len) break;
    out.push_back(DirEntry{std::string(p.substr(3, len)), static_cast<FileType>(p[0])});
    p.remove_prefix(3u + len);
  }
  if (!p.empty()) return Status::IOError("privileged helper: malformed listing");
  return out;
}

Result<UniqueFd> HelperChannel::OpenPipe(const std::string& path) {
  NFSREC_ASSIGN_OR_RETURN(Reply r, Call(EncodeHelperRequest(HelperOp::kOpenPipe, 0, 0, path)));
  if (!r.status.ok()) return r.error != 0 ? PipeError(path, r.error) : r.status;
  if (!r.fd) return Status::IOError("privileged helper: no descriptor passed for " + path);
  return std::move(r.fd);
}

void HelperChannel::Shutdown() {
  std::lock_guard<std::mutex> lock(mu_);
  shut_down_ = true;
  for (const UniqueFd& c : connections_) ::shutdown(c.get(), SHUT_RDWR);
  free_cv_.notify_all();
}

Result<std::unique_ptr<PrivilegedHelper>> PrivilegedHelper::Start(HelperPolicy policy,
                                                                  size_t connections) {
  if (connections == 0) return Status::InvalidArgument("privileged helper: no connections");
  std::vector<UniqueFd> ours, theirs;
  for (size_t i = 0; i < connections; ++i) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
      return PosixError("socketpair", errno);
    }
    ours.emplace_back(sv[0]);
    theirs.emplace_back(sv[1]);
    // Room for the largest reply (a long listing) in one message.
    int size = static_cast<int>(kMaxReplyBytes + 4096);
    if (::setsockopt(sv[1], SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) != 0) {
      (void)::setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    }
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return PosixError("fork privileged helper", errno);
  if (pid == 0) {
    std::vector<int> fds;
    for (const UniqueFd& t : theirs) fds.push_back(t.get());
    HelperMain(std::move(fds), policy, parent);
  }
  theirs.clear();
  // The child's first word: ready, or why not.
  char first[512];
  ssize_t n;
  do {
    n = ::recv(ours[0].get(), first, sizeof(first), 0);
  } while (n < 0 && errno == EINTR);
  auto channel = std::make_shared<HelperChannel>(std::move(ours));
  std::unique_ptr<PrivilegedHelper> helper(new PrivilegedHelper(pid, std::move(channel)));
  if (n != 1 || first[0] != kReadyByte) {
    std::string why = n > 0 ? std::string(first, static_cast<size_t>(n)) : "exited";
    return Status::PermissionDenied("privileged helper did not start: " + why);
  }
  return helper;
}

PrivilegedHelper::~PrivilegedHelper() {
  channel_->Shutdown();
  using namespace std::chrono_literals;
  const auto deadline = std::chrono::steady_clock::now() + 1s;
  while (::waitpid(pid_, nullptr, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      // Dropped, we may not signal a uid-0 process: then it dies with us
      // (PR_SET_PDEATHSIG), and waiting here could be for ever.
      if (::kill(pid_, SIGKILL) == 0) ::waitpid(pid_, nullptr, 0);
      return;
    }
    std::this_thread::sleep_for(5ms);
  }
}

Result<std::string> HelperFileSystem::ReadSmallFile(const std::string& path,
                                                    const ReadFileOptions& options) {
  if (!IsHelperPath(path)) return rest_->ReadSmallFile(path, options);
  return helper_->ReadSmallFile(path, options);
}

Status HelperFileSystem::WriteExistingFile(const std::string& path, std::string_view data) {
  if (!IsHelperPath(path)) return rest_->WriteExistingFile(path, data);
  return helper_->WriteExistingFile(path, data);
}

Result<std::vector<DirEntry>> HelperFileSystem::ListDirectory(const std::string& path) {
  if (!IsHelperPath(path)) return rest_->ListDirectory(path);
  return helper_->ListDirectory(path);
}

}  // namespace nfsrec
