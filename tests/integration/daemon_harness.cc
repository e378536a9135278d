#include "tests/integration/daemon_harness.h"

#include <sys/socket.h>

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "common/rpc/udp_rpc_client.h"
#include "common/store/sqlite.h"
#include "daemon/process.h"
#include "nfs4rec/clients_info.h"
#include "nfs4rec/grace.h"
#include "nfs4rec/sqlite_client_store.h"
#include "statd/kernel_nsm.h"
#include "statd/sqlite_nsm_store.h"

namespace nfsrec::integration {

void SeedKernelFiles(FakeFileSystem& fs, const std::string& boot_id) {
  fs.SetFile(statd::kNsmLocalStatePath, "0");
  fs.SetFile(statd::kNlmEndGracePath, "N");
  fs.SetFile(kBootIdPath, boot_id + "\n");
  fs.SetFile(nfs4rec::kNfsdLeaseTimePath, "90\n");
  fs.SetFile(nfs4rec::kV4EndGracePath, "N");
  fs.MakeDir(nfs4rec::kNfsdClientsDir);
}

void AddNfsdClient(FakeFileSystem& fs, int id, const std::string& status, const std::string& name,
                   int minor_version, bool holds_state) {
  const std::string dir = StrCat(nfs4rec::kNfsdClientsDir, "/", id);
  fs.SetFile(dir + "/info", StrCat("clientid: 0x5f0c1b2a0000000", id,
                                   "\naddress: \"192.0.2.7:751\"\nstatus: ", status,
                                   "\nseconds from last renew: 3\nname: \"", name,
                                   "\"\nminor version: ", minor_version, "\n"));
  fs.SetFile(dir + "/states",
             holds_state ? "- 0x00000001: { type: open, access: rw, deny: --, superblock: "
                           "\"00:2a:131\", filename: \"/export/f\", owner: \"open id:x\" }\n"
                         : "");
}

SharedLogger::SharedLogger() : echo_(std::getenv("NFSREC_TEST_LOG") != nullptr) {}

void SharedLogger::Write(LogLevel level, std::string_view message) {
  static constexpr const char* kNames[] = {"debug", "info", "notice", "warning", "error"};
  std::string line = StrCat(kNames[static_cast<int>(level)], ": ", message);
  std::lock_guard<std::mutex> lock(mu_);
  if (echo_) std::fprintf(stderr, "nfsrecd: %s\n", line.c_str());
  lines_.push_back(std::move(line));
}

bool SharedLogger::Contains(std::string_view needle) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const std::string& l : lines_) {
    if (l.find(needle) != std::string::npos) return true;
  }
  return false;
}

std::string SharedLogger::Dump() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const std::string& l : lines_) out += l + "\n";
  return out;
}

Result<std::unique_ptr<DaemonProcess>> DaemonProcess::Start(std::shared_ptr<FakeFileSystem> files,
                                                            const HarnessOptions& options) {
  std::unique_ptr<DaemonProcess> p(new DaemonProcess(std::move(files)));
  NFSREC_RETURN_IF_ERROR(p->Init(options));
  return p;
}

Status DaemonProcess::Init(const HarnessOptions& options) {
  NFSREC_ASSIGN_OR_RETURN(loop_, EventLoop::Create());
  scheduler_ = std::make_unique<LoopScheduler>(*loop_);
  executor_ = std::make_unique<Executor>(*loop_);
  // ORDER (RunDaemon): database before anything that can be asked to remember.
  NFSREC_ASSIGN_OR_RETURN(queue_, OpenStore(options.db_path, *loop_));

  statd::NsmDaemon::Ports ports;
  NFSREC_ASSIGN_OR_RETURN(ports.store, statd::SqliteNsmStore::Open(*queue_));
  ThreadResolver::Options ropts;
  ropts.lookup = [hosts = options.hosts](const std::string& name) -> Result<HostInfo> {
    auto it = hosts.find(name);
    if (it != hosts.end()) return it->second;
    return ThreadResolver::LookupBlocking(name);
  };
  ports.resolver = std::make_unique<ThreadResolver>(*executor_, *scheduler_, std::move(ropts));
  ports.kernel = std::make_unique<statd::ProcKernelNsm>(*files_);
  rpc::UdpSocketPort::Options callback;
  callback.bind_address = "127.0.0.1";
  NFSREC_ASSIGN_OR_RETURN(ports.callback_port, rpc::UdpSocketPort::Open(*loop_, callback));
  NFSREC_ASSIGN_OR_RETURN(ports.notify_port,
                          rpc::UdpSocketPort::Open(*loop_, rpc::UdpSocketPort::Options{}));
  statd::NsmOptions nsm_options;
  nsm_options.state_dir = options.state_dir;
  nsm_options.notify_window = std::chrono::minutes(1);  // the shortest the option allows
  nsm_ = statd::NsmDaemon::CreateWithPorts(*loop_, *scheduler_, *files_, log_, std::move(ports),
                                           nsm_options);
  // ORDER (RunDaemon): loaded and published before anyone can call.
  NFSREC_RETURN_IF_ERROR(StartAndWait(
                             *loop_, [&](auto done) { nsm_->Start(std::move(done)); }, kWait)
                             .WithContext("NSM start-up"));
  // ORDER (RunDaemon): on a new boot the bumped state is durable and
  // published before the listeners exist.  Shared: an answer after the
  // time-out must not write to a dead frame.
  auto boot = std::make_shared<std::optional<Result<statd::BootNotifier::Summary>>>();
  NFSREC_RETURN_IF_ERROR(StartAndWait(
      *loop_,
      [&](auto done) {
        nsm_->RunBootNotification(
            /*force=*/false, [boot, done = std::move(done)](auto summary) mutable {
              boot->emplace(std::move(summary));
              done(Status::Ok());
            });
      },
      kWait));
  NFSREC_ASSIGN_OR_RETURN(boot_, std::move(**boot));

  rpc::RpcServer::Options sopts;
  sopts.udp6 = sopts.tcp6 = false;
  sopts.bind_v4 = "127.0.0.1";
  NFSREC_ASSIGN_OR_RETURN(server_, rpc::RpcServer::Create(*loop_, *scheduler_, log_, sopts));
  NFSREC_RETURN_IF_ERROR(
      server_->AddProgram(statd::kNsmProgram, statd::kNsmVersion, nsm_->Handlers()));
  for (const rpc::ListenerInfo& l : server_->listeners()) {
    if (l.netid == "udp") udp_port_ = l.port;
    if (l.netid == "tcp") tcp_port_ = l.port;
  }

  nfs4rec::TrackingOptions topts;
  topts.pipe_path = options.pipe_path;
  topts.reconcile_interval = options.reconcile_interval;
  NFSREC_ASSIGN_OR_RETURN(
      tracking_, nfs4rec::TrackingDaemon::Create(*loop_, *scheduler_, *executor_, files_, log_,
                                                 *queue_, topts));
  NFSREC_RETURN_IF_ERROR(StartAndWait(
                             *loop_, [&](auto done) { tracking_->Start(std::move(done)); }, kWait)
                             .WithContext("NFSv4 client tracking"));

  std::promise<void> stopped;
  stopped_ = stopped.get_future();
  thread_ = std::thread([this, stopped = std::move(stopped)]() mutable {
    Status ran = loop_->Run();
    if (!ran.ok()) log_.Error(StrCat("Event loop: ", ran.ToString()));
    stopped.set_value();
  });
  return Status::Ok();
}

Status DaemonProcess::Quit(std::vector<std::string>* order) {
  if (!thread_.joinable()) return Status::Ok();
  auto steps = std::make_shared<std::vector<std::string>>();
  loop_->Post([this, steps] {
    nsm_->Drain([this, steps] {
      steps->push_back("nsm drained");
      tracking_->Drain([this, steps] {
        steps->push_back("tracking drained");
        loop_->Stop();
      });
    });
  });
  Status st = Status::Ok();
  if (stopped_.wait_for(kWait) != std::future_status::ready) {
    // As a second signal does: stop without waiting for the drains.
    st = Status::TimedOut("the drains did not finish");
    loop_->Post([this] { loop_->Stop(); });
  }
  thread_.join();
  if (order != nullptr) *order = *steps;
  return st;
}

Result<test::Reply> DaemonProcess::Call(statd::NsmProc proc, const std::vector<uint8_t>& args,
                                        test::Proto proto) const {
  return test::Call("127.0.0.1", proto == test::Proto::kUdp ? udp_port_ : tcp_port_, proto,
                    statd::kNsmProgram, statd::kNsmVersion, static_cast<uint32_t>(proc), args,
                    kWait);
}

DaemonProcess::~DaemonProcess() {
  Status st = Quit();
  if (!st.ok()) std::fprintf(stderr, "DaemonProcess: %s\n", st.ToString().c_str());
}

namespace {

template <typename T, typename LoadFn>
Result<T> LoadOn(EventLoop& loop, LoadFn load) {
  std::optional<Result<T>> out;
  load([&out](Result<T> r) { out.emplace(std::move(r)); });
  if (!loop.RunUntil([&] { return out.has_value(); }, kWait)) {
    return Status::TimedOut("the store did not answer");
  }
  return std::move(*out);
}

}  // namespace

Result<StoredState> ReadStore(const std::string& db_path) {
  NFSREC_ASSIGN_OR_RETURN(std::unique_ptr<EventLoop> loop, EventLoop::Create());
  NFSREC_ASSIGN_OR_RETURN(std::unique_ptr<CommitQueue> queue, OpenStore(db_path, *loop));
  NFSREC_ASSIGN_OR_RETURN(std::unique_ptr<statd::SqliteNsmStore> nsm,
                          statd::SqliteNsmStore::Open(*queue));
  NFSREC_ASSIGN_OR_RETURN(std::unique_ptr<nfs4rec::SqliteClientStore> clients,
                          nfs4rec::SqliteClientStore::Open(*queue));
  StoredState out;
  NFSREC_ASSIGN_OR_RETURN(
      out.nsm, LoadOn<statd::NsmSnapshot>(*loop, [&](auto done) { nsm->Load(std::move(done)); }));
  NFSREC_ASSIGN_OR_RETURN(out.clients, LoadOn<nfs4rec::ClientSnapshot>(*loop, [&](auto done) {
                            clients->Load(std::move(done));
                          }));
  return out;
}

statd::MonArgs MonFor(const std::string& mon_name, const std::string& my_name, uint8_t cookie) {
  statd::Cookie c{};
  c.fill(cookie);
  return statd::MonArgs{statd::MonitorKey{mon_name, my_name, 100021, 4, 16}, c};
}

}  // namespace nfsrec::integration
