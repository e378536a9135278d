// Ending the NFSv4 grace period from userspace: /proc/fs/nfsd/v4_end_grace.
//
// Writing "Y" there makes knfsd end grace at once.  On kernels before the
// 2025 rework the write is synchronous and, inside it, the kernel sends the
// GraceDone upcall on the cld pipe and waits for our answer.  A daemon that
// wrote the file on its event-loop thread would therefore deadlock with
// itself; ProcGraceControl writes it on an Executor worker and reports back
// on the loop thread.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>

#include "common/base/callback.h"
#include "common/base/clock.h"
#include "common/base/liveness.h"
#include "common/base/result.h"
#include "common/base/status.h"
#include "common/os/executor.h"
#include "common/os/file_system.h"

namespace nfsrec::nfs4rec {

inline constexpr char kV4EndGracePath[] = "/proc/fs/nfsd/v4_end_grace";
// nfsd's grace time in seconds, "90\n"; written before nfsd starts.
inline constexpr char kNfsdGraceTimePath[] = "/proc/fs/nfsd/nfsv4gracetime";

// Port used by TrackingService.
class GraceControl {
 public:
  virtual ~GraceControl() = default;
  // Asks the kernel to end grace.  `done` runs later on the loop thread.
  virtual void EndGrace(Callback<void(Status)> done) = 0;
  // Reads nfsd's grace time (how long its own timer runs).  `done` runs
  // later on the loop thread.
  virtual void ReadGraceTime(Callback<void(Result<Duration>)> done) = 0;

  // Notices for whoever must know when this instance is in grace (cluster
  // mode: daemon/cluster_grace_control.h); nothing by default.
  //
  // The kernel's grace began and `offered` clients may reclaim: called
  // after the GraceStart upcall was answered and its upload counted, or
  // with kOfferedUnknown when a Check opened grace (a kernel that sends no
  // GraceStart).  Called again for a new GraceStart without GraceEnded in
  // between when nfsd restarted.
  virtual void GraceStarted(uint64_t offered) { (void)offered; }
  // The kernel's grace is over: called for every GraceDone upcall (after
  // its answer), whatever the store said, so more than once is possible.
  virtual void GraceEnded() {}

  static constexpr uint64_t kOfferedUnknown = std::numeric_limits<uint64_t>::max();
};

// Writes "Y" to v4_end_grace; blocking (see the header comment).  NotFound
// if the file is missing (nfsd not loaded), Busy if nfsd is not running.
Status WriteEndGrace(FileSystem& fs);
// Reads kNfsdGraceTimePath; blocking.  Corruption if it holds no positive
// number.
Result<Duration> ReadGraceTime(FileSystem& fs);

class ProcGraceControl final : public GraceControl {
 public:
  // The write shares `fs` with its worker, which may outlive us.
  ProcGraceControl(Executor& executor, std::shared_ptr<FileSystem> fs);
  // Does not wait for a write still in progress: that write may be waiting
  // for a GraceDone answer that this process will no longer give.  Its
  // result is dropped.
  ~ProcGraceControl() override = default;
  ProcGraceControl(const ProcGraceControl&) = delete;
  ProcGraceControl& operator=(const ProcGraceControl&) = delete;

  void EndGrace(Callback<void(Status)> done) override;
  void ReadGraceTime(Callback<void(Result<Duration>)> done) override;

 private:
  Executor& executor_;
  std::shared_ptr<FileSystem> fs_;
  Liveness liveness_;  // last: dies first
};

}  // namespace nfsrec::nfs4rec
