// Ending the NFSv4 grace period from userspace: /proc/fs/nfsd/v4_end_grace.
//
// Writing "Y" there makes knfsd end grace at once.  On kernels before the
// 2025 rework the write is synchronous and, inside it, the kernel sends the
// GraceDone upcall on the cld pipe and waits for our answer.  A daemon that
// wrote the file on its event-loop thread would therefore deadlock with
// itself; ProcGraceControl writes it on a worker thread and reports back on
// the loop thread.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "common/os/event_loop.h"
#include "common/base/status.h"

namespace nfsrec::nfs4rec {

// Port used by TrackingService.
class GraceControl {
 public:
  virtual ~GraceControl() = default;
  // Asks the kernel to end grace.  `done` runs later on the loop thread.
  virtual void EndGrace(std::function<void(Status)> done) = 0;
};

// "<proc_root>/proc/fs/nfsd/v4_end_grace"; an empty proc_root means "/".
std::string EndGracePath(const std::string& proc_root);

// Writes "Y" to path; blocking (see the header comment).  NotFound if the
// file is missing (nfsd not loaded), Busy if nfsd is not running.
Status WriteEndGrace(const std::string& path);

class ProcGraceControl final : public GraceControl {
 public:
  ProcGraceControl(EventLoop& loop, std::string proc_root);
  // Does not wait for a write still in progress: that write may be waiting
  // for a GraceDone answer that this process will no longer give.
  ~ProcGraceControl() override;
  ProcGraceControl(const ProcGraceControl&) = delete;
  ProcGraceControl& operator=(const ProcGraceControl&) = delete;

  void EndGrace(std::function<void(Status)> done) override;
  const std::string& path() const { return path_; }

 private:
  // Shared with detached writer threads; `loop` is cleared on destruction.
  struct Shared {
    std::mutex mu;
    EventLoop* loop = nullptr;
  };
  std::string path_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace nfsrec::nfs4rec
