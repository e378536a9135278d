#include "daemon/nsm_endpoint.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>

#include "statd/nsm_codec.h"

namespace nfsrec {
namespace {

// The NSM UDP listeners' receive buffer: 4 MiB holds about 4,000 small
// datagrams as the kernel counts them (about 1 KiB each on loopback).
constexpr int kNsmUdpReceiveBuffer = 4 << 20;

// How the state directory is chosen, for the messages that ask to change it.
constexpr char kStateDirSetting[] =
    "set state-directory-path in the [statd] section of nfs.conf, or -P DIR";

// The inodes of sockets bound to local `port` (TCP listening, or UDP), from
// /proc/net/{tcp,udp}{,6}: "sl local_address rem_address st ... inode".
std::set<std::string> SocketInodes(uint16_t port) {
  std::set<std::string> inodes;
  for (const char* table : {"tcp", "tcp6", "udp", "udp6"}) {
    std::ifstream in(StrCat("/proc/net/", table));
    std::string line;
    std::getline(in, line);  // the header
    const bool tcp = table[0] == 't';
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string sl, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      if (!(fields >> sl >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
            timeout >> inode)) {
        continue;
      }
      const size_t colon = local.rfind(':');
      if (colon == std::string::npos) continue;
      if (std::strtoul(local.c_str() + colon + 1, nullptr, 16) != port) continue;
      if (tcp && state != "0A") continue;  // TCP_LISTEN
      if (inode != "0") inodes.insert(inode);
    }
  }
  return inodes;
}

// A process that holds a socket, as far as /proc tells.
struct Holder {
  std::string pid;   // empty: not found
  std::string comm;  // its command name
  std::string unit;  // the systemd service it runs in, if any
  std::string Describe() const {
    return StrCat("pid ", pid, " (", comm.empty() ? "?" : comm, unit.empty() ? "" : ", ", unit,
                  ")");
  }
};

// The process that owns one of these socket inodes.
Holder OwnerOf(const std::set<std::string>& inodes) {
  Holder h;
  if (inodes.empty()) return h;
  std::unique_ptr<DIR, int (*)(DIR*)> proc(::opendir("/proc"), ::closedir);
  if (!proc) return h;
  while (const dirent* p = ::readdir(proc.get())) {
    const std::string pid = p->d_name;
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string fd_dir = "/proc/" + pid + "/fd";
    std::unique_ptr<DIR, int (*)(DIR*)> fds(::opendir(fd_dir.c_str()), ::closedir);
    if (!fds) continue;
    bool holds = false;
    while (const dirent* f = ::readdir(fds.get())) {
      char target[64];
      const std::string link = fd_dir + "/" + f->d_name;
      const ssize_t n = ::readlink(link.c_str(), target, sizeof(target) - 1);
      if (n <= 0) continue;
      const std::string t(target, static_cast<size_t>(n));
      if (t.rfind("socket:[", 0) == 0 && inodes.count(t.substr(8, t.size() - 9)) != 0) {
        holds = true;
        break;
      }
    }
    if (!holds) continue;
    h.pid = pid;
    std::getline(std::ifstream("/proc/" + pid + "/comm"), h.comm);
    // "0::/system.slice/rpc-statd.service": the unit is the last ".service".
    std::ifstream cgroup("/proc/" + pid + "/cgroup");
    for (std::string line; std::getline(cgroup, line);) {
      for (size_t end = line.find(".service"); end != std::string::npos;
           end = line.find(".service", end + 1)) {
        const size_t slash = line.rfind('/', end);
        const size_t start = slash == std::string::npos ? 0 : slash + 1;
        h.unit = line.substr(start, end + 8 - start);
      }
    }
    return h;
  }
  return h;
}

// The unit that stops `h`: the one it runs in if that is a unit of its own
// (a daemon started by hand inherits whatever service ran the shell), else
// the name its package gives it.
std::string StopUnit(const Holder& h, std::initializer_list<std::string_view> own,
                     std::string_view fallback) {
  for (std::string_view u : own) {
    if (h.unit == u) return h.unit;
  }
  return std::string(fallback);
}

}  // namespace

Status RefuseIfStatdRunning() {
  constexpr auto kProbeTimeout = std::chrono::seconds(2);
  uint16_t port = 0;
  Result<bool> running =
      rpc::ProbeRunning(statd::kNsmProgram, statd::kNsmVersion, kProbeTimeout, &port);
  // A failed probe (no rpcbind yet) is not a reason to refuse.
  if (!running.ok() || !*running) return Status::Ok();
  // rpc.statd's own words first (scripts match them), then who and what to do.
  const Holder h = OwnerOf(SocketInodes(port));
  std::string fix;
  if (h.comm == "nfsrecd") {
    fix = StrCat("Stop it first (systemctl stop ",
                 StopUnit(h, {"nfsrecd.service", "rpc-statd.service"}, "nfsrecd.service"), ")");
  } else {
    const std::string unit = h.comm == "rpc.statd" || h.pid.empty()
                                 ? StopUnit(h, {"rpc-statd.service"}, "rpc-statd.service")
                                 : std::string();
    fix = StrCat("Stop it first (",
                 unit.empty() ? StrCat("kill ", h.pid) : StrCat("systemctl stop ", unit),
                 "), or switch this host to nfsrecd with: nfsrecd-switch nfsrecd");
  }
  return Status::AlreadyExists(StrCat(
      "Statd service already running! The NSM service (program 100024) answers on port ", port,
      h.pid.empty() ? "" : ", held by ", h.pid.empty() ? "" : h.Describe(), ". ", fix));
}

Status CheckStateDirectory(const std::string& path) {
  // stat, not lstat: a symbolic link to shared storage is how HA set-ups
  // place the directory, and rpc.statd follows it too.
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    return Status::NotFound(StrCat("state directory ", path, ": ", std::strerror(err),
                                   ". Create it (install -d -m 0755 ", path,
                                   "; the nfs-common package makes /var/lib/nfs), or ",
                                   kStateDirSetting, " to use another"));
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument(StrCat("state directory ", path,
                                          " is not a directory. Move the file away and create "
                                          "the directory (install -d -m 0755 ",
                                          path, "), or ", kStateDirSetting, " to use another"));
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

namespace {
rpc::RpcServer::Options ListenerOptions(uint16_t port) {
  // The defaults: IPv6 listeners are IPV6_V6ONLY (a v4-mapped source on
  // them is never local), and lockd's loopback TCP connections have a
  // budget that remote peers cannot use (common/rpc/rpc_server.h).
  rpc::RpcServer::Options opts;
  opts.port = port;
  // A notify storm (every peer's sm-notify at once after a power cut)
  // brings thousands of SM_NOTIFY datagrams in a burst; the default
  // buffer (about 200 of them) dropped hundreds in the storm bench, each
  // costing its peer a retransmission time-out (docs/PERFORMANCE.md).
  opts.udp_receive_buffer = kNsmUdpReceiveBuffer;
  return opts;
}
}  // namespace

rpc::RpcServer::Prepared NsmEndpoint::Prepare(uint16_t port) {
  return rpc::RpcServer::Prepare(ListenerOptions(port));
}

Result<std::unique_ptr<NsmEndpoint>> NsmEndpoint::Serve(EventLoop& loop, Scheduler& scheduler,
                                                        Logger& log, uint16_t port,
                                                        std::map<uint32_t, rpc::Handler> handlers,
                                                        rpc::RpcServer::Prepared prepared) {
  std::unique_ptr<NsmEndpoint> e(new NsmEndpoint());
  Result<std::unique_ptr<rpc::RpcServer>> server =
      rpc::RpcServer::Create(loop, scheduler, log, ListenerOptions(port), std::move(prepared));
  if (!server.ok()) {
    log.Error("failed to create RPC listeners, exiting");
    Status st = server.status().WithContext("RPC listeners");
    if (port == 0 || st.message().find(std::strerror(EADDRINUSE)) == std::string::npos) return st;
    const Holder h = OwnerOf(SocketInodes(port));
    return Status::AlreadyExists(StrCat(
        st.message(), ". Port ", port, " is in use", h.pid.empty() ? "" : " by ",
        h.pid.empty() ? "" : h.Describe(),
        ": stop that process, or choose another port for NSM with -p PORT (port in the [statd] "
        "section of nfs.conf), or leave it unset for a free port that rpcbind advertises"));
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
