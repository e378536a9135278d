#include "nfs4rec/cld_pipe.h"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include "common/os/file_system.h"
#include "nfs4rec/cld_codec.h"

namespace nfsrec::nfs4rec {
namespace {

using namespace std::chrono_literals;

// While no pipe is open: a re-check every second, and every 100 ms for 10 s
// after start and after the pipe went away, when nfsd is about to create it
// and waits only about a second for its reader.
constexpr Duration kRecheckInterval = 1s;
constexpr Duration kFastRecheckInterval = 100ms;
constexpr Duration kFastRecheckWindow = 10s;
// Upcalls handled per readable event, so one busy pipe cannot starve the
// rest of the loop.
constexpr int kMaxMessagesPerWakeup = 256;
// Large enough for the rest of any message rpc_pipefs could hold.
constexpr size_t kDrainBufferSize = 64 * 1024;
constexpr uint32_t kDirMask =
    IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF;

bool IsDir(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The deepest existing directory on the way to path's parent.
std::string DeepestExistingDir(const std::string& path) {
  std::string dir = DirName(path);
  while (!IsDir(dir)) {
    if (dir == "/" || dir == ".") return dir;
    dir = DirName(dir);
  }
  return dir;
}

// statfs(2) f_type of rpc_pipefs (RPCAUTH_GSSMAGIC in the kernel).
constexpr decltype(statfs::f_type) kRpcPipefsMagic = 0x67596969;

}  // namespace

Result<UniqueFd> RealPipeOpener::Open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (fd) return fd;
  const int err = errno;
  if (err == ENOENT || err == ENXIO || err == ENOTDIR) {
    return Status::NotFound(StrCat("open ", path, ": ", std::strerror(err)));
  }
  return PosixError("open " + path, err);
}

Result<std::unique_ptr<CldPipe>> CldPipe::Create(EventLoop& loop, Scheduler& scheduler, Logger& log,
                                                 std::vector<std::string> paths,
                                                 OnMessage on_message,
                                                 std::shared_ptr<PipeOpener> opener) {
  if (paths.empty()) return Status::InvalidArgument("no cld pipe path given");
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return PosixError("inotify_init1", errno);
  if (!opener) opener = std::make_shared<RealPipeOpener>();
  return std::unique_ptr<CldPipe>(new CldPipe(loop, scheduler, log, std::move(paths),
                                              std::move(on_message), UniqueFd(fd),
                                              std::move(opener)));
}

CldPipe::CldPipe(EventLoop& loop, Scheduler& scheduler, Logger& log, std::vector<std::string> paths,
                 OnMessage on_message, UniqueFd inotify_fd, std::shared_ptr<PipeOpener> opener)
    : loop_(loop),
      scheduler_(scheduler),
      log_(log),
      paths_(std::move(paths)),
      on_message_(std::move(on_message)),
      opener_(std::move(opener)),
      inotify_fd_(std::move(inotify_fd)),
      buf_(kDrainBufferSize + kCldHeaderSize) {}

CldPipe::~CldPipe() {
  if (recheck_timer_ != 0) scheduler_.Cancel(recheck_timer_);
  fd_watcher_.reset();
  inotify_watcher_.reset();
}

Status CldPipe::Start() {
  inotify_watcher_ = std::make_unique<IoWatcher>(loop_, inotify_fd_.get(), IoWatcher::kRead,
                                                 [this](short) { OnInotify(); });
  inotify_watcher_->Start();
  fast_recheck_until_ = scheduler_.Now() + kFastRecheckWindow;
  Rearm();
  if (!TryOpen()) {
    // Not a failure: say once what would end the wait.
    const std::string pipefs = DirName(DirName(paths_.front()));
    struct statfs fs;
    const bool mounted = ::statfs(pipefs.c_str(), &fs) == 0 && fs.f_type == kRpcPipefsMagic;
    log_.Info(
        StrCat("cld: waiting for ", paths_.front(),
               paths_.size() > 1 ? " (or an alternative path)" : "", " to appear: ",
               mounted ? "nfsd makes it when the NFS server starts (systemctl start nfs-server)"
                       : StrCat("rpc_pipefs is not mounted on ", pipefs,
                                " (mount -t rpc_pipefs sunrpc ", pipefs,
                                ", or systemctl start rpc_pipefs.target), and nfsd makes it "
                                "there when the NFS server starts (systemctl start nfs-server)")));
    ScheduleRecheck(RecheckInterval());
  }
  return Status::Ok();
}

void CldPipe::PauseReading() {
  reading_ = false;
  if (fd_watcher_) fd_watcher_->Stop();
}

void CldPipe::ResumeReading() {
  if (reading_) return;
  reading_ = true;
  if (!fd_watcher_) return;
  fd_watcher_->Start();
  OnReadable();
}

void CldPipe::Rearm() {
  ++stats_.rearms;
  for (const auto& [wd, dir] : watches_) inotify_rm_watch(inotify_fd_.get(), wd);
  watches_.clear();
  for (const std::string& p : paths_) {
    std::string dir = DeepestExistingDir(p);
    int wd = inotify_add_watch(inotify_fd_.get(), dir.c_str(), kDirMask | IN_ONLYDIR);
    if (wd < 0) {
      log_.Debug(StrCat("cld: cannot watch ", dir, ": ", std::strerror(errno)));
      continue;
    }
    watches_[wd] = dir;
  }
}

bool CldPipe::TryOpen() {
  for (const std::string& p : paths_) {
    Result<UniqueFd> opened = opener_->Open(p);
    if (!opened.ok()) {
      if (!opened.status().IsNotFound()) {
        log_.Warning(StrCat("cld: cannot open ", p, ": ", opened.status().ToString()));
      }
      continue;
    }
    UniqueFd owned = std::move(opened).value();
    const int fd = owned.get();
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      log_.Warning(StrCat("cld: fstat ", p, ": ", std::strerror(errno)));
      continue;
    }
    if (fd_ && st.st_dev == open_dev_ && st.st_ino == open_ino_) return true;  // already open
    if (fd_) Close("a new pipe appeared");
    // Re-opening the very same pipe keeps the generation: its kernel side
    // still waits for the answers to upcalls read before.
    if (st.st_dev != open_dev_ || st.st_ino != open_ino_ || generation_ == 0) ++generation_;
    open_dev_ = st.st_dev;
    open_ino_ = st.st_ino;
    fd_ = std::move(owned);
    open_path_ = p;
    ++stats_.opens;
    fd_watcher_ = std::make_unique<IoWatcher>(loop_, fd_.get(), IoWatcher::kRead,
                                              [this](short) { OnReadable(); });
    if (reading_) fd_watcher_->Start();
    if (recheck_timer_ != 0) {
      scheduler_.Cancel(recheck_timer_);
      recheck_timer_ = 0;
    }
    log_.Info(StrCat("cld: opened ", p, " (pipe instance ", generation_, ")"));
    // Messages may already be queued (the kernel keeps upcalls for the next
    // opener); read them now rather than waiting for the first wakeup.
    if (reading_) OnReadable();
    return fd_.valid();
  }
  return false;
}

void CldPipe::Close(const std::string& why) {
  if (!fd_) return;
  log_.Info(StrCat("cld: closing ", open_path_, ": ", why));
  fast_recheck_until_ = scheduler_.Now() + kFastRecheckWindow;
  fd_watcher_.reset();
  fd_.reset();
  open_path_.clear();
}

Duration CldPipe::RecheckInterval() const {
  return scheduler_.Now() < fast_recheck_until_ ? kFastRecheckInterval : kRecheckInterval;
}

void CldPipe::ScheduleRecheck(Duration delay) {
  if (recheck_timer_ != 0) return;
  recheck_timer_ = scheduler_.RunAfter(delay, [this] {
    recheck_timer_ = 0;
    if (fd_) return;
    Rearm();
    if (!TryOpen()) ScheduleRecheck(RecheckInterval());
  });
}

void CldPipe::OnReadable() {
  for (int i = 0; i < kMaxMessagesPerWakeup && fd_ && reading_; ++i) {
    ssize_t n = ::read(fd_.get(), buf_.data(), kCldHeaderSize);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      // EPIPE: the pipe was removed under us (nfsd stopped).
      Close(StrCat("read: ", std::strerror(errno)));
      ScheduleRecheck(Duration::zero());
      return;
    }
    if (n == 0) return;
    size_t total = static_cast<size_t>(n);
    if (total == kCldHeaderSize) {
      Result<size_t> size = CldMessageSize(buf_[0]);
      size_t want = size.ok() ? *size - kCldHeaderSize : kDrainBufferSize;
      ssize_t m;
      do {
        m = ::read(fd_.get(), buf_.data() + kCldHeaderSize, want);
      } while (m < 0 && errno == EINTR);
      if (m > 0) total += static_cast<size_t>(m);
      if (m < 0 && errno != EAGAIN) {
        Close(StrCat("read: ", std::strerror(errno)));
        ScheduleRecheck(Duration::zero());
        return;
      }
    }
    ++stats_.messages;
    stats_.last_message = scheduler_.Now();
    on_message_(std::span<const uint8_t>(buf_.data(), total), generation_);
  }
}

Status CldPipe::Send(uint64_t generation, std::span<const uint8_t> message) {
  if (!fd_ || generation != generation_) {
    ++stats_.stale_replies;
    return Status::Unavailable("the pipe instance this upcall came from is gone");
  }
  ssize_t n;
  do {
    n = ::write(fd_.get(), message.data(), message.size());
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(message.size())) {
    ++stats_.writes;
    return Status::Ok();
  }
  ++stats_.write_errors;
  if (n >= 0) {
    return Status::IOError(StrCat("short write to ", open_path_, ": ", n, " of ", message.size()));
  }
  int err = errno;
  Status st = PosixError(StrCat("write ", open_path_), err);
  if (err == EPIPE || err == EBADF || err == ENXIO) {
    Close(st.message());
    ScheduleRecheck(Duration::zero());
  }
  return st;
}

void CldPipe::OnInotify() {
  alignas(struct inotify_event) char buf[8192];
  ++stats_.inotify_wakeups;
  bool rearm = false;
  bool reopen = false;
  for (;;) {
    ssize_t n = ::read(inotify_fd_.get(), buf, sizeof(buf));
    if (n <= 0) break;
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<struct inotify_event*>(p);
      p += sizeof(struct inotify_event) + ev->len;
      if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT)) {
        // Rearm() removing a watch makes the kernel queue IN_IGNORED for
        // it; reacting to that would rearm for ever.
        if (watches_.count(ev->wd) == 0) continue;
        rearm = true;
        reopen = true;
        continue;
      }
      if (ev->mask & IN_Q_OVERFLOW) {
        rearm = true;
        reopen = true;
        continue;
      }
      auto it = watches_.find(ev->wd);
      if (it == watches_.end() || ev->len == 0) continue;
      std::string child =
          it->second == "/" ? "/" + std::string(ev->name) : it->second + "/" + ev->name;
      for (const std::string& path : paths_) {
        if (path == child) {
          if (ev->mask & (IN_CREATE | IN_MOVED_TO)) reopen = true;
          if ((ev->mask & (IN_DELETE | IN_MOVED_FROM)) && path == open_path_) {
            Close("the pipe was removed");
            reopen = true;
          }
        } else if (path.compare(0, child.size() + 1, child + "/") == 0) {
          // A directory on the way to the pipe came or went.
          rearm = true;
          reopen = true;
        }
      }
    }
  }
  if (rearm) Rearm();
  if (!reopen) return;
  if (fd_) {
    // Is the open pipe still the one at its path?
    struct stat st;
    if (::stat(open_path_.c_str(), &st) == 0 && st.st_dev == open_dev_ && st.st_ino == open_ino_) {
      return;
    }
  }
  if (!TryOpen()) ScheduleRecheck(RecheckInterval());
}

}  // namespace nfsrec::nfs4rec
