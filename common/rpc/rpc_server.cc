#include "common/rpc/rpc_server.h"

#include <sys/socket.h>

#include <cerrno>
#include <tuple>

#include "common/base/unique_fd.h"
#include "common/rpc/tcp_transport.h"
#include "common/rpc/udp_transport.h"

namespace nfsrec::rpc {

namespace {
// Largest UDP payload over IPv4/IPv6, plus one byte to detect anything more.
constexpr size_t kUdpBufferBytes = 65536;

// A listener's socket, options set, not bound; on failure errno says why.
UniqueFd OpenListenerSocket(Netid netid, const RpcServer::Options& options, int family) {
  const bool stream = IsStream(netid);
  UniqueFd fd(
      ::socket(family, (stream ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return fd;
  int one = 1;
  if (IsIpv6(netid) && setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) {
    return UniqueFd();
  }
  // Lets a restarted daemon bind its fixed port while old connections
  // linger in TIME_WAIT.
  if (stream && setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) {
    return UniqueFd();
  }
  const int rcvbuf = options.udp_receive_buffer;
  if (!stream && rcvbuf > 0 &&
      setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) != 0) {
    // Without CAP_NET_ADMIN: as much as net.core.rmem_max allows.
    (void)setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  }
  return fd;
}
}  // namespace

RpcServer::Prepared RpcServer::Prepare(const Options& options) {
  Prepared prepared;
  if (options.udp_receive_buffer <= 0) return prepared;
  for (const auto& [on, netid, family] : {std::tuple{options.udp, Netid::kUdp, AF_INET},
                                          std::tuple{options.udp6, Netid::kUdp6, AF_INET6}}) {
    if (!on) continue;
    UniqueFd fd = OpenListenerSocket(netid, options, family);
    if (fd) prepared.udp_.emplace(netid, std::move(fd));
  }
  return prepared;
}

RpcServer::RpcServer(EventLoop& loop, Scheduler& scheduler, Logger& log, Options options,
                     Prepared prepared)
    : loop_(loop),
      scheduler_(scheduler),
      log_(log),
      options_(std::move(options)),
      prepared_(std::move(prepared)),
      dispatcher_(log),
      udp_buffer_(kUdpBufferBytes),
      tcp_(std::make_unique<TcpTransport>(
          loop, scheduler, dispatcher_, log,
          TcpTransport::Limits{
              options_.max_record_bytes, options_.max_loopback_connections,
              options_.max_remote_connections, options_.max_connections_per_remote_address,
              options_.max_calls_per_connection, options_.max_output_bytes, options_.idle_timeout,
              options_.remote_idle_timeout_under_pressure})) {}

// Connections close first: Responders still held refer to them weakly.
RpcServer::~RpcServer() {
  tcp_.reset();
  udp_.clear();
}

Result<std::unique_ptr<RpcServer>> RpcServer::Create(EventLoop& loop, Scheduler& scheduler,
                                                     Logger& log, Options options,
                                                     Prepared prepared) {
  if (options.max_record_bytes == 0 || options.max_record_bytes > 0x7fffffff ||
      options.max_calls_per_connection == 0 || options.max_loopback_connections == 0 ||
      options.max_connections_per_remote_address == 0) {
    return Status::InvalidArgument(
        "rpc server: max_record_bytes, max_calls_per_connection, max_loopback_connections and "
        "max_connections_per_remote_address must be positive");
  }
  std::unique_ptr<RpcServer> server(
      new RpcServer(loop, scheduler, log, std::move(options), std::move(prepared)));
  const Options& opt = server->options_;
  const std::pair<bool, Netid> wanted[] = {{opt.udp, Netid::kUdp},
                                           {opt.tcp, Netid::kTcp},
                                           {opt.udp6, Netid::kUdp6},
                                           {opt.tcp6, Netid::kTcp6}};
  for (const auto& [on, netid] : wanted) {
    if (!on) continue;
    int err = 0;
    Status st = server->AddListener(netid, &err);
    if (st.ok()) continue;
    bool host_lacks_ipv6 = err == EAFNOSUPPORT || err == EADDRNOTAVAIL || err == EPROTONOSUPPORT;
    if (IsIpv6(netid) && opt.ipv6_optional && host_lacks_ipv6) {
      log.Warning(StrCat("rpc: no ", NetidName(netid), " listener: ", st.message()));
      continue;
    }
    return st;
  }
  if (server->listener_info_.empty()) return Status::InvalidArgument("rpc server: no listeners");
  return server;
}

Status RpcServer::AddListener(Netid netid, int* err) {
  const bool v6 = IsIpv6(netid);
  const bool stream = IsStream(netid);
  const std::string& bind_addr = v6 ? options_.bind_v6 : options_.bind_v4;
  const std::string what = StrCat(NetidName(netid), " ", bind_addr, " port ", options_.port);
  *err = 0;

  Result<Endpoint> bind_ep =
      Endpoint::FromNumeric(v6 ? AF_INET6 : AF_INET, bind_addr, options_.port);
  if (!bind_ep.ok()) {
    return Status::InvalidArgument(
        StrCat("rpc: bad ", v6 ? "IPv6" : "IPv4", " bind address ", Printable(bind_addr)));
  }
  auto fail = [&](std::string_view op) {
    *err = errno;
    return PosixError(StrCat("rpc: ", op, " ", what), *err);
  };
  UniqueFd fd;
  if (auto it = prepared_.udp_.find(netid); it != prepared_.udp_.end()) {
    fd = std::move(it->second);
    prepared_.udp_.erase(it);
  } else {
    fd = OpenListenerSocket(netid, options_, bind_ep->family());
    if (!fd) return fail("socket");
  }
  if (::bind(fd.get(), bind_ep->sa(), bind_ep->len) < 0) return fail("bind");
  if (stream && ::listen(fd.get(), SOMAXCONN) < 0) return fail("listen");
  Result<Endpoint> bound = Endpoint::Local(fd.get());
  if (!bound.ok()) return fail("getsockname");

  if (stream) {
    NFSREC_RETURN_IF_ERROR(tcp_->Listen(netid, std::move(fd)));
  } else {
    NFSREC_ASSIGN_OR_RETURN(std::shared_ptr<UdpTransport> udp,
                            UdpTransport::Start(loop_, scheduler_, dispatcher_, log_, netid,
                                                std::move(fd), udp_buffer_));
    udp_.push_back(std::move(udp));
  }
  listener_info_.push_back(
      ListenerInfo{std::string(NetidName(netid)), bound->port(), bound->Numeric()});
  return Status::Ok();
}

size_t RpcServer::connection_count() const { return tcp_->connection_count(); }

}  // namespace nfsrec::rpc
