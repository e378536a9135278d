#include "daemon/nsm_endpoint.h"

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "statd/nsm_codec.h"

namespace nfsrec {

Status RefuseIfStatdRunning() {
  constexpr auto kProbeTimeout = std::chrono::seconds(2);
  Result<bool> running = rpc::ProbeRunning(statd::kNsmProgram, statd::kNsmVersion, kProbeTimeout);
  // A failed probe (no rpcbind yet) is not a reason to refuse.
  if (running.ok() && *running) return Status::AlreadyExists("Statd service already running!");
  return Status::Ok();
}

Status CheckStateDirectory(const std::string& path) {
  // stat, not lstat: a symbolic link to shared storage is how HA set-ups
  // place the directory, and rpc.statd follows it too.
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    return Status::NotFound(StrCat("state directory ", path, ": ", std::strerror(err)));
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument(StrCat("state directory ", path, " is not a directory"));
  }
  // Anybody could plant monitor records (and so notifications and HA
  // callouts) or swap the database in a world-writable directory; the
  // sticky bit does not stop new files.
  for (const std::string& dir : {path, path + "/sm", path + "/sm.bak"}) {
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    if ((st.st_mode & S_IWOTH) != 0) {
      return Status::PermissionDenied(
          StrCat("state directory ", dir, " is writable by everyone; run: chmod o-w ", dir));
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<NsmEndpoint>> NsmEndpoint::Serve(EventLoop& loop, Scheduler& scheduler,
                                                        Logger& log, uint16_t port,
                                                        std::map<uint32_t, rpc::Handler> handlers) {
  std::unique_ptr<NsmEndpoint> e(new NsmEndpoint());
  // The defaults: IPv6 listeners are IPV6_V6ONLY (a v4-mapped source on
  // them is never local), and lockd's loopback TCP connections have a
  // budget that remote peers cannot use (common/rpc/rpc_server.h).
  rpc::RpcServer::Options opts;
  opts.port = port;
  Result<std::unique_ptr<rpc::RpcServer>> server =
      rpc::RpcServer::Create(loop, scheduler, log, opts);
  if (!server.ok()) {
    log.Error("failed to create RPC listeners, exiting");
    return server.status().WithContext("RPC listeners");
  }
  e->server_ = std::move(server).value();
  NFSREC_RETURN_IF_ERROR(
      e->server_->AddProgram(statd::kNsmProgram, statd::kNsmVersion, std::move(handlers))
          .WithContext("NSM program"));
  // ORDER: stale registrations go before ours (rpcbind refuses duplicates).
  Status unset = rpc::UnsetAll(statd::kNsmProgram, statd::kNsmVersion);
  if (!unset.ok()) log.Warning(StrCat("Removing stale rpcbind entries: ", unset.ToString()));
  Result<std::unique_ptr<rpc::RpcbindRegistration>> reg = rpc::RpcbindRegistration::Register(
      statd::kNsmProgram, statd::kNsmVersion, e->server_->listeners());
  if (!reg.ok()) return reg.status().WithContext("rpcbind registration");
  e->registration_ = std::move(reg).value();
  for (const auto& l : e->server_->listeners()) {
    log.Info(StrCat("Listening on ", l.netid, " ", l.address, " port ", l.port));
  }
  return e;
}

Status NsmEndpoint::KeepRegistered(Scheduler& scheduler, Executor& executor, Logger& log,
                                   Duration interval) {
  if (interval <= Duration::zero()) return Status::Ok();
  rpc::UdpSocketPort::Options opts;
  opts.bind_address = "127.0.0.1";
  NFSREC_ASSIGN_OR_RETURN(watch_port_, rpc::UdpSocketPort::Open(executor.loop(), opts));
  watch_client_ = std::make_unique<rpc::UdpRpcClient>(*watch_port_, scheduler, log);
  NFSREC_ASSIGN_OR_RETURN(rpc::Endpoint rpcbind,
                          rpc::Endpoint::FromNumeric(AF_INET, "127.0.0.1", rpc::kRpcbindPort));
  auto reregister = [this, &executor](Callback<void(Status)> done) {
    using Registration = std::unique_ptr<rpc::RpcbindRegistration>;
    // The old entries went with the old rpcbind; dropping them (rpcb_unset)
    // also clears any stale ones before ours.  If we are gone when the
    // worker finishes, the new entries are dropped there too.
    executor.Run(
        liveness_.token(),
        [old = std::move(registration_), listeners = server_->listeners()]() mutable {
          old.reset();
          return rpc::RpcbindRegistration::Register(statd::kNsmProgram, statd::kNsmVersion,
                                                    listeners);
        },
        [this, done = std::move(done)](Result<Registration> reg) mutable {
          if (reg.ok()) registration_ = std::move(reg).value();
          done(reg.status());
        });
  };
  watch_ = std::make_unique<rpc::RpcbindWatch>(*watch_client_, scheduler, log, rpcbind,
                                               statd::kNsmProgram, statd::kNsmVersion, interval,
                                               std::move(reregister));
  watch_->Start();
  return Status::Ok();
}

}  // namespace nfsrec
