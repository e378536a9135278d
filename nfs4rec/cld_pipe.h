// CldPipe: the rpc_pipefs pipe nfsd/cld, held open and re-opened.
//
// knfsd waits only about one second for somebody to hold nfsd/cld open when
// it starts, so the pipe is opened as early as possible and kept open.  The
// directory chain is watched with inotify: when nfsd (or an rpc_pipefs
// remount) removes and re-creates the pipe, the new one is opened at once.
// Because inotify does not see a filesystem being mounted over a watched
// directory (and a FUSE-backed pipe sends none), a re-check runs while no
// pipe is open: every second, and every 100 ms for 10 s after start and
// after the pipe went away, when nfsd is about to re-create it.
//
// Reading: the 8-byte header first, then the rest of the message by the
// header's version (rpc_pipefs hands out one message per read and keeps the
// unread part of a message for the next read).  A message whose version is
// unknown is drained with one large read and passed on as is; the decoder
// reports it.  Replies go out as one write() each, never assuming that
// answers are expected in upcall order.
//
// Each opened pipe instance (device and inode) gets a generation number.  A
// reply names the generation its upcall came from and is dropped if that
// instance is gone: a new nfsd instance numbers its xids from 0 again, so a
// late reply could otherwise answer somebody else's upcall.
//
// Loop thread only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/base/clock.h"
#include "common/base/logging.h"
#include "common/base/unique_fd.h"
#include "common/os/event_loop.h"
#include "common/os/privileged_helper.h"

namespace nfsrec::nfs4rec {

// How the pipe is opened: open(2) here (RealPipeOpener), or, once the
// daemon has dropped root, through the privileged helper
// (common/os/privileged_helper.h).  Called on the loop thread; must not
// block for long (rpc_pipefs opens with O_NONBLOCK never wait).
class PipeOpener {
 public:
  virtual ~PipeOpener() = default;
  // The pipe opened O_RDWR | O_NONBLOCK | O_CLOEXEC.  NotFound while it is
  // absent (ENOENT, ENXIO, ENOTDIR); any other failure is worth a warning.
  virtual Result<UniqueFd> Open(const std::string& path) = 0;
};

class RealPipeOpener final : public PipeOpener {
 public:
  Result<UniqueFd> Open(const std::string& path) override;
};

// Opened by the privileged helper and passed back.  The helper's own
// connection per caller keeps this quick while a worker's v4_end_grace
// write waits in the kernel (common/os/privileged_helper.h).
class HelperPipeOpener final : public PipeOpener {
 public:
  explicit HelperPipeOpener(std::shared_ptr<HelperChannel> helper) : helper_(std::move(helper)) {}
  Result<UniqueFd> Open(const std::string& path) override { return helper_->OpenPipe(path); }

 private:
  std::shared_ptr<HelperChannel> helper_;
};

class CldPipe {
 public:
  // One whole message as read; `generation` names the pipe instance.
  using OnMessage = std::function<void(std::span<const uint8_t> message, uint64_t generation)>;

  struct Stats {
    uint64_t opens = 0;
    uint64_t messages = 0;
    uint64_t writes = 0;
    uint64_t write_errors = 0;
    uint64_t stale_replies = 0;
    // Watch set-ups and inotify wake-ups: a few a second at most while the
    // pipe is missing (one per re-check), none while it is open and idle.
    uint64_t rearms = 0;
    uint64_t inotify_wakeups = 0;
    // When the last upcall was read, on the Scheduler's clock; the epoch
    // if none has been.
    TimePoint last_message{};
  };

  // paths: the pipe paths to try, in order; `opener` null: RealPipeOpener.
  static Result<std::unique_ptr<CldPipe>> Create(EventLoop& loop, Scheduler& scheduler, Logger& log,
                                                 std::vector<std::string> paths,
                                                 OnMessage on_message,
                                                 std::shared_ptr<PipeOpener> opener = nullptr);
  ~CldPipe();
  CldPipe(const CldPipe&) = delete;
  CldPipe& operator=(const CldPipe&) = delete;

  // Sets up the watches and tries to open the pipe.  Never blocks; a missing
  // pipe is not an error (it is opened when it appears).
  Status Start();
  // Stops reading upcalls (replies can still be written).  Called before
  // Start, the pipe is opened but not read: upcalls wait in the kernel's
  // pipe (rpc_pipefs keeps them, without a time-out, while a reader holds it
  // open) until ResumeReading.
  void PauseReading();
  // Reads again, at once: whatever the kernel queued meanwhile comes first.
  void ResumeReading();
  // If no pipe is open, tries to open one now, without the loop: for the
  // daemon's start-up steps that hold the loop thread, between which a pipe
  // nfsd has just made must not wait for the loop's watch (nfsd gives up
  // after about a second).  Never blocks for long.
  void OpenIfAppeared() {
    if (!fd_) TryOpen();
  }
  // Replaces the handler given to Create (for a pipe opened before its
  // reader existed: TrackingDaemon::OpenPipeEarly).
  void SetHandler(OnMessage on_message) { on_message_ = std::move(on_message); }

  // Writes one whole downcall.  Unavailable if that pipe instance is gone;
  // InvalidArgument if the kernel refused it (wrong size or unknown xid).
  Status Send(uint64_t generation, std::span<const uint8_t> message);

  bool is_open() const { return fd_.valid(); }
  const std::string& open_path() const { return open_path_; }
  uint64_t generation() const { return generation_; }
  const Stats& stats() const { return stats_; }

 private:
  CldPipe(EventLoop& loop, Scheduler& scheduler, Logger& log, std::vector<std::string> paths,
          OnMessage on_message, UniqueFd inotify_fd, std::shared_ptr<PipeOpener> opener);
  void Rearm();
  bool TryOpen();
  void Close(const std::string& why);
  void OnReadable();
  void OnInotify();
  void ScheduleRecheck(Duration delay);
  Duration RecheckInterval() const;

  EventLoop& loop_;
  Scheduler& scheduler_;
  Logger& log_;
  std::vector<std::string> paths_;
  OnMessage on_message_;
  std::shared_ptr<PipeOpener> opener_;
  UniqueFd inotify_fd_;
  std::unique_ptr<IoWatcher> inotify_watcher_;
  std::map<int, std::string> watches_;  // wd -> watched directory
  UniqueFd fd_;
  std::unique_ptr<IoWatcher> fd_watcher_;
  std::string open_path_;
  dev_t open_dev_ = 0;
  ino_t open_ino_ = 0;
  uint64_t generation_ = 0;
  bool reading_ = true;
  Scheduler::TimerId recheck_timer_ = 0;
  TimePoint fast_recheck_until_{};
  Stats stats_;
  std::vector<uint8_t> buf_;
};

}  // namespace nfsrec::nfs4rec
