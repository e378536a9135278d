// TrackingDaemon: NFSv4 client tracking as one unit for the daemon's main.
//
// Wires CldPipe (the kernel's nfsd/cld pipe) -> cld_codec -> TrackingService
// over a SqliteClientStore in the shared database, ProcGraceControl and
// ProcLiveClientSource.  Time comes from the Scheduler given; the blocking
// /proc work runs on the Executor given, through the FileSystem given.
//
// Loop thread only.  Destroy it before the CommitQueue, the Executor, the
// Scheduler and the EventLoop.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/base/callback.h"
#include "common/base/clock.h"
#include "common/base/liveness.h"
#include "common/base/logging.h"
#include "common/os/event_loop.h"
#include "common/os/executor.h"
#include "common/os/file_system.h"
#include "common/store/commit_queue.h"
#include "nfs4rec/cld_pipe.h"
#include "nfs4rec/client_store.h"
#include "nfs4rec/clients_info.h"
#include "nfs4rec/grace.h"
#include "nfs4rec/tracking_options.h"
#include "nfs4rec/tracking_service.h"

namespace nfsrec::nfs4rec {

// The cld pipe paths tried, in order: the configured one, and with the
// default also the other usual rpc_pipefs mount point.
std::vector<std::string> CldPipePaths(const TrackingOptions& options);

class TrackingDaemon {
 public:
  // The first start-up step: opens the cld pipe now (or watches for it and
  // opens it within milliseconds of its creation: CldPipe), before the
  // store exists, because knfsd waits only about a second for a reader.
  // Nothing is read yet; upcalls wait in the kernel's pipe until a daemon
  // created with this pipe starts.  `opener` as for Create.
  static Result<std::unique_ptr<CldPipe>> OpenPipeEarly(EventLoop& loop, Scheduler& scheduler,
                                                        Logger& log, const TrackingOptions& options,
                                                        std::shared_ptr<PipeOpener> opener);
  // Opens the "cld" schema in the queue's database and loads the epochs.
  // `fs` is shared with Executor workers, which may outlive the daemon.
  // `opener` opens the cld pipe (null: open(2) in this process); `early`,
  // if given, is the pipe OpenPipeEarly opened, adopted instead.
  static Result<std::unique_ptr<TrackingDaemon>> Create(
      EventLoop& loop, Scheduler& scheduler, Executor& executor, std::shared_ptr<FileSystem> fs,
      Logger& log, CommitQueue& queue, const TrackingOptions& options,
      std::shared_ptr<PipeOpener> opener = nullptr, std::unique_ptr<CldPipe> early = nullptr);
  // Wraps the kernel's GraceControl (ProcGraceControl) in another, which
  // decides when the kernel's grace really ends (cluster mode: only once no
  // instance of the cluster needs grace any more).
  using GraceDecorator =
      std::function<std::unique_ptr<GraceControl>(std::unique_ptr<GraceControl> kernel)>;
  // Same with any ClientStore (the etcd store, tests), and the kernel's
  // GraceControl wrapped by `decorate` if given.
  static Result<std::unique_ptr<TrackingDaemon>> CreateWithStore(
      EventLoop& loop, Scheduler& scheduler, Executor& executor, std::shared_ptr<FileSystem> fs,
      Logger& log, std::unique_ptr<ClientStore> store, const TrackingOptions& options,
      std::shared_ptr<PipeOpener> opener = nullptr, std::unique_ptr<CldPipe> early = nullptr,
      const GraceDecorator& decorate = nullptr);
  ~TrackingDaemon();
  TrackingDaemon(const TrackingDaemon&) = delete;
  TrackingDaemon& operator=(const TrackingDaemon&) = delete;

  // Opens (or starts waiting for) the pipe, or starts reading the one
  // adopted from OpenPipeEarly, and loads the records; `done` runs on the
  // loop thread once they are loaded (upcalls read meanwhile wait for
  // them, in order).  Never blocks.
  void Start(Callback<void(Status)> done);
  // For an orderly exit: stops reading upcalls and runs `done` on the loop
  // thread once every upcall already read has been answered.  An upcall
  // read but never answered would keep an nfsd thread waiting for ever.
  void Drain(Callback<void()> done);

  // nfsrecctl expire client.  If nfsd knows the client (a clients/<n>/info
  // names `id`), writes "expire" to its ctl and lets nfsd's own Remove
  // upcall delete the record, so kernel and store agree (a record nfsd sent
  // no Remove for, e.g. one written by reconciliation, is deleted once the
  // write has returned); otherwise deletes
  // the record from the store directly (TrackingService::RemoveRecord, whose
  // errors it returns: NotFound when neither knows the client).  The /proc
  // work runs on the Executor; `done` runs on the loop thread.
  enum class ExpireOutcome { kExpiredThroughNfsd, kRemovedFromStore };
  void ExpireClient(const std::string& id, Callback<void(Result<ExpireOutcome>)> done);
  // "expired through nfsd", "removed from the store".
  static const char* ExpireOutcomeText(ExpireOutcome outcome);

  // One line for the logs.
  std::string StatusReport() const;

  const TrackingService& service() const { return *service_; }
  const CldPipe& pipe() const { return *pipe_; }
  // Upcalls that decoded, by their command byte (cm_cmd); and those that
  // did not.
  const std::map<uint8_t, uint64_t>& upcalls_by_command() const { return upcalls_by_command_; }
  uint64_t bad_upcalls() const { return bad_upcalls_; }

 private:
  TrackingDaemon(EventLoop& loop, Scheduler& scheduler, Executor& executor,
                 std::shared_ptr<FileSystem> fs, Logger& log, std::unique_ptr<ClientStore> store,
                 const TrackingOptions& options, std::shared_ptr<PipeOpener> opener,
                 std::unique_ptr<CldPipe> early);
  Status Init();
  void OnMessage(std::span<const uint8_t> bytes, uint64_t generation);
  void SendReply(uint64_t generation, const CldMessage& reply);
  void CheckDrained();

  EventLoop& loop_;
  Scheduler& scheduler_;
  Executor& executor_;
  std::shared_ptr<FileSystem> fs_;
  Logger& log_;
  TrackingOptions options_;
  std::unique_ptr<ClientStore> store_;
  std::unique_ptr<GraceControl> grace_;
  std::unique_ptr<TrackingService> service_;
  std::unique_ptr<ProcLiveClientSource> live_clients_;
  std::shared_ptr<PipeOpener> opener_;
  std::unique_ptr<CldPipe> pipe_;
  bool adopted_pipe_ = false;  // opened by OpenPipeEarly, started already
  uint8_t last_version_ = kCldVersion1;
  Callback<void()> drained_;
  uint64_t bad_upcalls_ = 0;
  std::map<uint8_t, uint64_t> upcalls_by_command_;
  uint64_t dropped_replies_ = 0;
  Liveness liveness_;  // last: dies first
};

}  // namespace nfsrec::nfs4rec
