#include "common/rpc/rpcbind.h"

#include <netconfig.h>
#include <rpc/rpc.h>
// After rpc.h, which defines the types these use.
#include <rpc/pmap_prot.h>
#include <rpc/rpcb_prot.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/base/unique_fd.h"
#include "common/rpc/rpc_message.h"
#include "common/rpc/sockaddr.h"

namespace nfsrec::rpc {

namespace {

// rpcbind_protocol.h is the definition; libtirpc must agree with it.
static_assert(kRpcbindProgram == PMAPPROG && kRpcbindProgram == RPCBPROG);
static_assert(kPmapVersion == PMAPVERS && kRpcbVersion3 == RPCBVERS && kRpcbVersion4 == RPCBVERS4);
static_assert(kPmapProcGetport == PMAPPROC_GETPORT && kRpcbProcGetaddr == RPCBPROC_GETADDR);
static_assert(kRpcbindPort == PMAPPORT && kPmapProtoUdp == IPPROTO_UDP &&
              kPmapProtoTcp == IPPROTO_TCP);

// Retransmission interval of the probe's datagram calls.
constexpr auto kProbeRetransmit = std::chrono::milliseconds(500);

struct NetconfigDeleter {
  void operator()(netconfig* n) const { freenetconfigent(n); }
};
using NetconfigPtr = std::unique_ptr<netconfig, NetconfigDeleter>;

Result<NetconfigPtr> GetNetconfig(const std::string& netid) {
  NetconfigPtr n(getnetconfigent(netid.c_str()));
  if (!n) {
    return Status::NotFound(StrCat("rpcbind: netid ", Printable(netid), " not in /etc/netconfig"));
  }
  return n;
}

// The reason a libtirpc rpcbind call failed, if libtirpc recorded one
// (it does when it cannot reach rpcbind at all).
std::string CreateErrorText() {
  if (rpc_createerr.cf_stat == RPC_SUCCESS) return "refused by rpcbind";
  // "local rpcbind: RPC: Remote system error - Connection refused"
  std::string text = clnt_spcreateerror("local rpcbind");
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

timeval ToTimeval(Duration d) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  return timeval{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
}

struct ClientDestroy {
  void operator()(CLIENT* c) const { clnt_destroy(c); }
};

// libtirpc's blocking datagram client to 127.0.0.1:port, on a socket of
// our own (close-on-exec).  Members are declared so that the client is
// destroyed before the socket it uses.
class LoopbackUdpClient {
 public:
  static Result<LoopbackUdpClient> Open(uint32_t prog, uint32_t vers, uint16_t port) {
    UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd) return PosixError("rpcbind probe: socket", errno);
    NFSREC_ASSIGN_OR_RETURN(Endpoint to, Endpoint::FromNumeric(AF_INET, "127.0.0.1", port));
    netbuf nb{to.len, to.len, &to.addr};
    rpc_createerr.cf_stat = RPC_SUCCESS;
    std::unique_ptr<CLIENT, ClientDestroy> client(clnt_dg_create(fd.get(), &nb, prog, vers, 0, 0));
    if (!client) {
      return Status::IOError(StrCat("rpcbind probe: no client: ", CreateErrorText()));
    }
    // Connected, so an ICMP port unreachable ends the call at once rather
    // than at the timeout.
    int one = 1;
    timeval retry = ToTimeval(kProbeRetransmit);
    if (!clnt_control(client.get(), CLSET_CONNECT, reinterpret_cast<char*>(&one)) ||
        !clnt_control(client.get(), CLSET_RETRY_TIMEOUT, reinterpret_cast<char*>(&retry))) {
      return Status::IOError("rpcbind probe: clnt_control refused");
    }
    return LoopbackUdpClient(std::move(fd), std::move(client));
  }

  // One call, retransmitted until answered or `timeout` has passed.
  clnt_stat Call(uint32_t proc, XdrProc xargs, void* args, XdrProc xres, void* res,
                 Duration timeout) {
    if (timeout <= Duration::zero()) return RPC_TIMEDOUT;
    return clnt_call(client_.get(), proc, reinterpret_cast<xdrproc_t>(xargs),
                     static_cast<char*>(args), reinterpret_cast<xdrproc_t>(xres),
                     static_cast<char*>(res), ToTimeval(timeout));
  }

 private:
  LoopbackUdpClient(UniqueFd fd, std::unique_ptr<CLIENT, ClientDestroy> client)
      : fd_(std::move(fd)), client_(std::move(client)) {}

  UniqueFd fd_;
  std::unique_ptr<CLIENT, ClientDestroy> client_;
};

}  // namespace

Result<std::unique_ptr<RpcbindRegistration>> RpcbindRegistration::Register(
    uint32_t prog, uint32_t vers, const std::vector<ListenerInfo>& listeners) {
  std::unique_ptr<RpcbindRegistration> reg(new RpcbindRegistration(prog, vers));
  for (const ListenerInfo& l : listeners) {
    if (std::find(reg->netids_.begin(), reg->netids_.end(), l.netid) != reg->netids_.end()) {
      continue;
    }
    NFSREC_ASSIGN_OR_RETURN(NetconfigPtr nconf, GetNetconfig(l.netid));
    int family = nconf->nc_protofmly != nullptr && std::strcmp(nconf->nc_protofmly, NC_INET6) == 0
                     ? AF_INET6
                     : AF_INET;
    Result<Endpoint> ep = Endpoint::FromNumeric(family, l.address, l.port);
    if (!ep.ok()) {
      return Status::InvalidArgument(
          StrCat("rpcbind: bad address ", Printable(l.address), " for ", l.netid));
    }
    netbuf nb{ep->len, ep->len, &ep->addr};
    rpc_createerr.cf_stat = RPC_SUCCESS;
    if (!rpcb_set(prog, vers, nconf.get(), &nb)) {
      // reg's destructor removes the entries made so far.  No create error
      // means rpcbind answered "no": another process holds the entry.
      const bool unreachable = rpc_createerr.cf_stat != RPC_SUCCESS;
      return Status::Unavailable(StrCat(
          "rpcbind: cannot register ", prog, "/", vers, " on ", l.netid, " ",
          UniversalAddress(l.address, l.port), ": ", CreateErrorText(),
          unreachable ? "; rpcbind is not running: start it (systemctl start rpcbind.socket)"
                      : "; another process holds this registration (see rpcinfo -p): stop it, "
                        "or remove its entry (rpcinfo -d)"));
    }
    reg->netids_.push_back(l.netid);
  }
  return reg;
}

RpcbindRegistration::~RpcbindRegistration() {
  for (const std::string& netid : netids_) {
    Result<NetconfigPtr> nconf = GetNetconfig(netid);
    if (nconf.ok()) rpcb_unset(prog_, vers_, nconf.value().get());
  }
}

Status UnsetAll(uint32_t prog, uint32_t vers) {
  rpc_createerr.cf_stat = RPC_SUCCESS;
  // With a null netconfig rpcbind drops the entries of every netid.  FALSE
  // also means "nothing was registered"; only a recorded create error says
  // rpcbind was unreachable.
  if (!rpcb_unset(prog, vers, nullptr) && rpc_createerr.cf_stat != RPC_SUCCESS) {
    return Status::Unavailable(
        StrCat("rpcbind: cannot unset ", prog, "/", vers, ": ", CreateErrorText()));
  }
  return Status::Ok();
}

Result<bool> ProbeRunning(uint32_t prog, uint32_t vers, Duration timeout, uint16_t* port_out) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto left = [&] { return deadline - std::chrono::steady_clock::now(); };

  NFSREC_ASSIGN_OR_RETURN(LoopbackUdpClient rpcbind,
                          LoopbackUdpClient::Open(kRpcbindProgram, kPmapVersion, kRpcbindPort));
  pmap mapping{prog, vers, kPmapProtoUdp, 0};
  u_long port = 0;
  if (rpcbind.Call(kPmapProcGetport, AsXdrProc(xdr_pmap), &mapping, AsXdrProc(xdr_u_long), &port,
                   left()) != RPC_SUCCESS ||
      port == 0 || port > 65535) {
    return false;
  }
  NFSREC_ASSIGN_OR_RETURN(LoopbackUdpClient service,
                          LoopbackUdpClient::Open(prog, vers, static_cast<uint16_t>(port)));
  if (port_out != nullptr) *port_out = static_cast<uint16_t>(port);
  return service.Call(NULLPROC, AsXdrProc(xdr_void), nullptr, AsXdrProc(xdr_void), nullptr,
                      left()) == RPC_SUCCESS;
}

// ---------------------------------------------------------------------------
// RpcbindWatch

RpcbindWatch::RpcbindWatch(UdpRpcClient& client, Scheduler& scheduler, Logger& log,
                           Endpoint rpcbind, uint32_t prog, uint32_t vers, Duration interval,
                           Reregister reregister)
    : client_(client),
      scheduler_(scheduler),
      log_(log),
      rpcbind_(rpcbind),
      prog_(prog),
      vers_(vers),
      interval_(interval),
      reregister_(std::move(reregister)) {}

RpcbindWatch::~RpcbindWatch() {
  if (timer_ != 0) scheduler_.Cancel(timer_);
}

void RpcbindWatch::Start() { Schedule(); }

void RpcbindWatch::Schedule() {
  timer_ = scheduler_.RunAfter(interval_, [this] {
    timer_ = 0;
    Check();
  });
}

void RpcbindWatch::Check() {
  if (busy_) return Schedule();
  busy_ = true;
  ++checks_;
  // A few quick resends: rpcbind answers on loopback at once when it runs.
  RetryPolicy policy;
  policy.first_timeout = std::chrono::milliseconds(500);
  policy.max_timeout = std::chrono::seconds(1);
  policy.max_sends = 3;
  GetUdpPort(client_, rpcbind_, prog_, vers_, policy,
             [this, alive = liveness_.token()](Result<uint16_t> port) {
               if (alive) OnPort(std::move(port));
             });
}

void RpcbindWatch::OnPort(Result<uint16_t> port) {
  if (!port.ok() || *port != 0) {
    if (!port.ok() && !rpcbind_silent_) {
      log_.Debug(StrCat("rpcbind check: no answer: ", port.status().ToString()));
    }
    rpcbind_silent_ = !port.ok();
    busy_ = false;
    return Schedule();
  }
  rpcbind_silent_ = false;
  reregister_([this, alive = liveness_.token()](Status st) {
    if (!alive) return;
    if (st.ok()) {
      ++reregistered_;
      log_.Notice(StrCat("rpcbind had lost program ", prog_, " version ", vers_,
                         " (restarted?); registered it again"));
    } else {
      log_.Warning(StrCat("rpcbind had lost program ", prog_, " version ", vers_,
                          "; registering it again failed: ", st.ToString()));
    }
    busy_ = false;
    Schedule();
  });
}

}  // namespace nfsrec::rpc
