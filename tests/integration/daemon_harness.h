// nfsrecd in one test process: both facades on one EventLoop, one Executor,
// one SQLite database with one CommitQueue, assembled in the order of
// daemon/nfsrecd_main.cc (RunDaemon), without anything that needs root:
//  - the kernel's files are a FakeFileSystem (SeedKernelFiles);
//  - the NSM listeners are an RpcServer on 127.0.0.1 (udp, tcp), ephemeral
//    ports, not registered with rpcbind;
//  - the notify sockets are unprivileged UDP sockets;
//  - the resolver is the real ThreadResolver on the Executor, whose blocking
//    lookup answers the names of HarnessOptions::hosts itself and asks
//    glibc for every other name (so peers can be made unreachable without
//    depending on the host's DNS).
//
// Threads: start-up drives the loop on the constructing (test) thread, as
// RunDaemon does; then the loop runs on its own thread until Quit().  The
// test thread reaches the facades only through OnLoop() (EventLoop::Post) or
// after Quit().  Every wait is bounded (kWait).
#pragma once

#include <chrono>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "common/base/logging.h"
#include "common/base/result.h"
#include "common/os/event_loop.h"
#include "common/os/executor.h"
#include "common/os/resolver.h"
#include "common/rpc/rpc_server.h"
#include "common/store/commit_queue.h"
#include "nfs4rec/client_store.h"
#include "nfs4rec/tracking_daemon.h"
#include "statd/boot_notifier.h"
#include "statd/nsm_codec.h"
#include "statd/nsm_daemon.h"
#include "statd/nsm_store.h"
#include "tests/support/fake_file_system.h"
#include "tests/support/rpc_test_client.h"

namespace nfsrec::integration {

// The bound of every wait in these tests.
inline constexpr auto kWait = std::chrono::seconds(10);

inline constexpr char kBootIdPath[] = "/proc/sys/kernel/random/boot_id";

// The /proc files both facades use, as a kernel with lockd and nfsd loaded
// shows them: nsm_local_state, nlm_end_grace, boot_id, nfsv4leasetime,
// v4_end_grace and an empty clients directory.
void SeedKernelFiles(FakeFileSystem& fs, const std::string& boot_id);

// Adds /proc/fs/nfsd/clients/<id>/{info,states} (clients_info.h format).
void AddNfsdClient(FakeFileSystem& fs, int id, const std::string& status, const std::string& name,
                   int minor_version, bool holds_state);

// Keeps every line; safe to write from the loop thread while the test
// thread reads.  Echoes to stderr when NFSREC_TEST_LOG is set.
class SharedLogger final : public Logger {
 public:
  SharedLogger();
  void Write(LogLevel level, std::string_view message) override;
  bool DebugEnabled() const override { return true; }
  bool Contains(std::string_view needle) const;
  std::string Dump() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;  // guarded by mu_
  bool echo_;
};

struct HarnessOptions {
  std::string db_path;
  std::string state_dir;  // rpc.statd's directory (empty: nothing to take over)
  std::string pipe_path;  // the cld pipe; absent: the daemon waits for it
  int64_t reconcile_interval = 1;
  // Names the resolver answers without asking glibc.
  std::map<std::string, HostInfo> hosts;
};

class DaemonProcess {
 public:
  // RunDaemon's start-up: database, NsmDaemon (started, then boot
  // notification started), the NSM listeners, TrackingDaemon (started);
  // then the loop thread.  `files` is the fake /proc and must outlive this.
  static Result<std::unique_ptr<DaemonProcess>> Start(std::shared_ptr<FakeFileSystem> files,
                                                      const HarnessOptions& options);
  // Quits first if Quit() was not called; then tears down in RunDaemon's
  // order (tracking, listeners, NSM, queue, executor, loop).
  ~DaemonProcess();
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  // Runs fn() on the loop thread and returns its value; nothing if the
  // loop did not run it within kWait.
  template <typename F>
  std::optional<std::invoke_result_t<F&>> OnLoop(F fn);

  // RunDaemon's Quit: NsmDaemon::Drain, then TrackingDaemon::Drain, then
  // the loop stops; waits for the loop thread.  The steps, in the order
  // they ran, go to `order` ("nsm drained", "tracking drained").
  Status Quit(std::vector<std::string>* order = nullptr);

  // One blocking NSM call to our listeners from 127.0.0.1.
  Result<test::Reply> Call(statd::NsmProc proc, const std::vector<uint8_t>& args,
                           test::Proto proto) const;

  // The facades: on the loop thread (OnLoop) or after Quit() only.
  statd::NsmDaemon& nsm() { return *nsm_; }
  nfs4rec::TrackingDaemon& tracking() { return *tracking_; }
  CommitQueue& queue() { return *queue_; }
  SharedLogger& log() { return log_; }
  // What the start-up's boot notification decided.
  const statd::BootNotifier::Summary& boot() const { return boot_; }
  uint16_t udp_port() const { return udp_port_; }
  uint16_t tcp_port() const { return tcp_port_; }

 private:
  explicit DaemonProcess(std::shared_ptr<FakeFileSystem> files) : files_(std::move(files)) {}
  Status Init(const HarnessOptions& options);

  std::shared_ptr<FakeFileSystem> files_;
  SharedLogger log_;
  // ORDER: as RunDaemon's locals, so that members are destroyed in the
  // daemon's teardown order.
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<LoopScheduler> scheduler_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<CommitQueue> queue_;
  std::unique_ptr<statd::NsmDaemon> nsm_;
  std::unique_ptr<rpc::RpcServer> server_;
  std::unique_ptr<nfs4rec::TrackingDaemon> tracking_;
  statd::BootNotifier::Summary boot_;
  uint16_t udp_port_ = 0;
  uint16_t tcp_port_ = 0;
  std::thread thread_;
  std::future<void> stopped_;  // ready once the loop thread's Run returned
};

template <typename F>
std::optional<std::invoke_result_t<F&>> DaemonProcess::OnLoop(F fn) {
  using T = std::invoke_result_t<F&>;
  auto result = std::make_shared<std::promise<T>>();
  std::future<T> future = result->get_future();
  loop_->Post([result, fn = std::move(fn)]() mutable { result->set_value(fn()); });
  if (future.wait_for(kWait) != std::future_status::ready) return std::nullopt;
  return future.get();
}

// What a process starting now would find in the database: both stores
// opened on a new connection, with their own loop, and loaded.
struct StoredState {
  statd::NsmSnapshot nsm;
  nfs4rec::ClientSnapshot clients;
};
Result<StoredState> ReadStore(const std::string& db_path);

// SM_MON arguments for NLM v4 (my_prog 100021, my_vers 4, my_proc 16).
statd::MonArgs MonFor(const std::string& mon_name, const std::string& my_name, uint8_t cookie);

}  // namespace nfsrec::integration
