// A FUSE filesystem that plays knfsd's side of the cld pipe, for tests.
//
// The machine that runs `make check` has no nfsd and no rpc_pipefs, so this
// emulator presents, under its mount point:
//   rpc_pipefs/nfsd/cld          the upcall pipe, with rpc_pipefs semantics
//   proc/fs/nfsd/v4_end_grace    the grace switch
// and runs the kernel's logic (fs/nfsd/nfs4recover.c, nfs4state.c) in the
// test process.  What it reproduces, from the kernel sources:
//  - each read returns (the rest of) one upcall and never spans two; a
//    partial read keeps the rest for the same open file; a read with no
//    upcall queued returns 0 at once (EAGAIN with O_NONBLOCK);
//  - each write is one downcall: a size other than the negotiated message
//    (1034 for v1, 1067 for v2) fails with EINVAL, and so does an xid that is
//    not in flight (including a second answer to the same upcall);
//  - GraceStart collects -EINPROGRESS records (name of length 0 or over 1024
//    -> EINVAL, "hash:" prefix stripped) until the final status;
//  - many upcalls can be in flight at once, answered in any order;
//  - upcalls queued while nobody holds the pipe wait for the next opener
//    (and time out after queue_timeout); when the last opener closes, queued
//    and half-read upcalls fail with -EAGAIN and the kernel sends them again;
//  - "nfsd start" creates the directory and the pipe with real mkdir/mknod
//    calls through the mount (so inotify sees them), waits one second for an
//    opener, then sends GetVersion (v1-sized) and GraceStart; an empty upload
//    skips grace (GraceDone at once); "nfsd stop" removes pipe and directory;
//  - reclaims are checked in the kernel against the upload (and the princhash
//    in v2); RECLAIM_COMPLETE of an uploaded client sends Create and, when it
//    is the last, ends grace; writing "Y" to v4_end_grace ends grace
//    synchronously, sending GraceDone and waiting for its answer inside the
//    write, as kernels without the 2025 rework (such as 6.1) do.
// A "kernel_version" of 0 emulates the oldest kernels: no GetVersion, no
// GraceStart, reclaims via the Check upcall, GraceDone carries the boot time.
//
// Thread model: FUSE requests are served by one session thread and never
// block.  The methods below play nfsd threads: they may block waiting for
// the daemon's answer and must be called from test threads, never from a
// FUSE callback.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/base/clock.h"
#include "common/base/result.h"
#include "nfs4rec/cld_codec.h"

struct fuse_session;
struct fuse_pollhandle;
struct fuse_req;
struct fuse_file_info;

namespace nfsrec::cldemu {

using nfs4rec::CldMessage;

struct EmulatorOptions {
  std::string mountpoint;      // an existing empty directory
  uint8_t kernel_version = 2;  // CLD_UPCALL_VERSION of the emulated kernel (0, 1 or 2)
  Duration open_wait = std::chrono::seconds(1);       // nfsd4_cld_tracking_init's wait
  Duration queue_timeout = std::chrono::seconds(30);  // RPC_UPCALL_TIMEOUT
  bool track_reclaim_completes = true;                // the kernel ends grace by itself
  bool remove_dir_on_stop = true;                     // "nfsd stop" also removes nfsd/
};

enum class GraceEnd { kNone, kSkipped, kAllReclaimed, kProcWrite, kTimer };
const char* GraceEndName(GraceEnd e);

struct UpcallResult {
  int err = 0;       // 0, or a negative errno from the pipe layer
  CldMessage reply;  // valid if err == 0
  bool ok() const { return err == 0; }
};

enum class ReclaimVerdict { kOk, kReclaimBad, kNoGrace };

struct BootResult {
  Status status;        // not OK: the kernel could not start cld tracking
  uint8_t version = 1;  // negotiated message version
  size_t uploaded = 0;  // records received at GraceStart
  bool grace_skipped = false;
};

struct EmulatorCounters {
  uint64_t upcalls = 0;   // upcalls allocated (retries not counted)
  uint64_t requeued = 0;  // re-sent after -EAGAIN
  uint64_t reads = 0;
  uint64_t downcalls = 0;   // accepted final answers
  uint64_t inprogress = 0;  // accepted GraceStart records
  uint64_t einval_size = 0;
  uint64_t einval_xid = 0;
  uint64_t einval_record = 0;
  uint64_t end_grace_writes = 0;
  uint64_t timeouts = 0;
};

class KernelEmulator {
 public:
  // Mounts the filesystem.  Unavailable (with a reason) when FUSE cannot be
  // mounted here, so tests can skip.
  static Result<std::unique_ptr<KernelEmulator>> Mount(const EmulatorOptions& options);
  ~KernelEmulator();
  KernelEmulator(const KernelEmulator&) = delete;
  KernelEmulator& operator=(const KernelEmulator&) = delete;

  std::string pipe_path() const;  // <mnt>/rpc_pipefs/nfsd/cld
  std::string proc_root() const;  // <mnt>

  // ---- nfsd lifecycle ----
  BootResult StartNfsd();
  void StopNfsd();
  bool nfsd_running() const;

  // ---- client operations (each is an nfsd thread; blocking) ----
  UpcallResult Create(const std::string& name, const std::string& princhash = "");
  UpcallResult Remove(const std::string& name);
  // OPEN(CLAIM_PREVIOUS) check: in-kernel for v1/v2, the Check upcall for v0.
  ReclaimVerdict Reclaim(const std::string& name, const std::string& princhash = "");
  // v4.1 RECLAIM_COMPLETE: Create upcall, then count it towards early end.
  UpcallResult ReclaimComplete(const std::string& name, const std::string& princhash = "");
  // The laundromat's grace timer fired.
  void GraceTimerExpired();
  // A raw upcall (bad-input tests): queued as is; waits for an answer.
  UpcallResult RawUpcall(std::vector<uint8_t> bytes, Duration wait);

  // ---- direct pipe access, for testing the emulator itself ----
  // Queues an upcall without waiting; returns its xid.
  uint32_t Post(const CldMessage& msg);
  // Waits for the answer to a Post()ed xid.
  UpcallResult WaitFor(uint32_t xid, Duration timeout);

  // ---- observations ----
  GraceEnd grace_end() const;
  bool in_grace() const;
  std::map<std::string, std::string> reclaim_table() const;  // name -> princhash
  EmulatorCounters counters() const;
  int openers() const;
  uint8_t version() const;
  // Final answers per upcall, keyed (nfsd instance << 32 | xid); each must be 1.
  std::map<uint64_t, int> answers() const;
  // Xids in the order their final answers arrived (this nfsd instance).
  std::vector<uint32_t> answer_order() const;
  // Waits until somebody holds the pipe open.
  bool WaitForOpener(Duration timeout) const;

 private:
  struct Upcall;
  struct Node;
  struct OpenFile;

  explicit KernelEmulator(const EmulatorOptions& options);
  Status DoMount();

  // Kernel side (caller threads).
  UpcallResult RunUpcall(CldMessage msg, Duration timeout);
  std::shared_ptr<Upcall> AllocLocked(CldMessage msg);
  std::shared_ptr<Upcall> AllocRawLocked(std::vector<uint8_t> bytes);
  void QueueLocked(const std::shared_ptr<Upcall>& up);
  UpcallResult WaitLocked(std::unique_lock<std::mutex>& lock, const std::shared_ptr<Upcall>& up,
                          Duration timeout);
  // only_instance: do nothing unless that nfsd instance still runs (0: any).
  void EndGrace(GraceEnd why, uint64_t only_instance = 0);
  void CompleteLocked(const std::shared_ptr<Upcall>& up, int err);
  void PurgeQueueLocked(int err);
  void WakeReadersLocked();
  size_t MsgLenLocked() const;

  // FUSE side (session thread): see FuseOps in the .cc.
  friend struct FuseOps;
  void ReplyEntryLocked(fuse_req* req, uint64_t ino);
  bool ServeReadLocked(fuse_req* req, OpenFile& of, size_t size);
  int DowncallLocked(const uint8_t* buf, size_t size);
  void EndGraceWrite(fuse_req* req);

  EmulatorOptions options_;
  fuse_session* session_ = nullptr;
  std::thread session_thread_;
  std::vector<std::thread> writers_;  // v4_end_grace writes in progress

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  // Filesystem.
  std::map<uint64_t, std::unique_ptr<Node>> nodes_;
  uint64_t next_ino_ = 2;
  uint64_t pipe_ino_ = 0;  // the live pipe, 0 if none
  uint64_t grace_ino_ = 0;
  std::map<uint64_t, std::unique_ptr<OpenFile>> files_;
  uint64_t next_fh_ = 1;
  int nreaders_ = 0;
  int nwriters_ = 0;
  std::deque<std::shared_ptr<Upcall>> queue_;  // unread upcalls
  std::vector<fuse_pollhandle*> polls_;
  TimePoint no_reader_since_;
  // nfsd instance.
  bool running_ = false;
  uint64_t instance_ = 0;
  uint8_t version_ = 1;
  uint32_t next_xid_ = 0;
  std::map<uint32_t, std::shared_ptr<Upcall>> in_flight_;
  std::map<std::string, std::string> reclaim_;
  std::set<std::string> reclaim_completed_;
  bool grace_ended_ = true;
  // Between StartNfsd's start and its GraceStart reply: the grace period
  // has not begun, so nothing can end it (nfs4_state_start_net runs the
  // tracking init, GetVersion included, before grace starts).
  bool grace_starting_ = false;
  GraceEnd grace_end_ = GraceEnd::kNone;
  int64_t boot_time_ = 0;
  std::map<uint64_t, int> answers_;
  std::vector<uint32_t> answer_order_;
  EmulatorCounters counters_;
};

}  // namespace nfsrec::cldemu
