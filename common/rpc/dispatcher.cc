#include "common/rpc/dispatcher.h"

#include <utility>

namespace nfsrec::rpc {

namespace {

constexpr size_t kMaxAuthSysMachineName = 255;
constexpr size_t kMaxAuthSysGids = 16;

// AUTH_SYS body (RFC 5531 appendix A): stamp, machinename<255>, uid, gid,
// gids<16>.  Only its shape is checked; nothing here trusts its contents.
bool AuthSysBodyParses(std::span<const uint8_t> body) {
  XdrReader r(body);
  uint32_t stamp, uid, gid, ngids, gid_i;
  std::string machine;
  if (!r.GetUint32(&stamp) || !r.GetString(kMaxAuthSysMachineName, &machine) ||
      !r.GetUint32(&uid) || !r.GetUint32(&gid) || !r.GetUint32(&ngids) || ngids > kMaxAuthSysGids) {
    return false;
  }
  for (uint32_t i = 0; i < ngids; ++i) {
    if (!r.GetUint32(&gid_i)) return false;
  }
  return r.remaining() == 0;
}

}  // namespace

std::string_view NetidName(Netid netid) {
  switch (netid) {
    case Netid::kUdp:
      return "udp";
    case Netid::kTcp:
      return "tcp";
    case Netid::kUdp6:
      return "udp6";
    case Netid::kTcp6:
      return "tcp6";
  }
  return "?";
}

std::string CallContext::PeerString() const {
  return StrCat(NetidName(netid), " ", PeerAddress(), " port ", PeerPort());
}

// ---------------------------------------------------------------------------
// Responder

Responder::Responder() = default;
Responder::~Responder() = default;
Responder::Responder(Responder&& other) noexcept = default;
Responder& Responder::operator=(Responder&& other) noexcept = default;

Responder::Responder(std::unique_ptr<internal::PendingCall> call) : call_(std::move(call)) {}

void Responder::SendMessage(std::vector<uint8_t> message) {
  if (!call_) return;
  // Release first: Send may close a connection, and the PendingCall's
  // destructor does the in-flight bookkeeping exactly once.
  std::unique_ptr<internal::PendingCall> call = std::move(call_);
  call->Send(std::move(message));
}

void Responder::Reply(std::vector<uint8_t> encoded_results) {
  if (!call_) return;
  SendMessage(EncodeAcceptedReply(xid_, AcceptStat::kSuccess, encoded_results));
}

void Responder::GarbageArgs() {
  if (!call_) return;
  SendMessage(EncodeAcceptedReply(xid_, AcceptStat::kGarbageArgs));
}

void Responder::SystemErr() {
  if (!call_) return;
  SendMessage(EncodeAcceptedReply(xid_, AcceptStat::kSystemErr));
}

// ---------------------------------------------------------------------------
// Dispatcher

Status Dispatcher::AddProgram(uint32_t prog, uint32_t vers, std::map<uint32_t, Handler> procs) {
  auto& versions = programs_[prog];
  if (versions.count(vers) != 0) {
    return Status::AlreadyExists(
        StrCat("rpc: program ", prog, " version ", vers, " already added"));
  }
  versions.emplace(vers, std::move(procs));
  return Status::Ok();
}

Status Dispatcher::Dispatch(std::span<const uint8_t> message, CallContext& ctx,
                            Responder responder) {
  NFSREC_ASSIGN_OR_RETURN(const CallHeader hdr, DecodeCall(message));
  ctx.xid = hdr.xid;
  responder.xid_ = hdr.xid;

  if (hdr.rpcvers != kRpcVersion) {
    log_.Debug(StrCat("rpc: RPC version ", hdr.rpcvers, " from ", ctx.PeerString()));
    responder.SendMessage(EncodeRejectedReply(hdr.xid, RejectStat::kRpcMismatch));
    return Status::Ok();
  }
  ctx.prog = hdr.prog;
  ctx.vers = hdr.vers;
  ctx.proc = hdr.proc;
  ctx.cred_flavor = hdr.cred.flavor;

  if (hdr.cred.flavor == kAuthSys) {
    if (!AuthSysBodyParses(hdr.cred.body)) {
      responder.SendMessage(
          EncodeRejectedReply(hdr.xid, RejectStat::kAuthError, {}, AuthStat::kBadCred));
      return Status::Ok();
    }
  } else if (hdr.cred.flavor != kAuthNone) {
    // Same answer libtirpc gives for a flavor it does not serve.
    responder.SendMessage(
        EncodeRejectedReply(hdr.xid, RejectStat::kAuthError, {}, AuthStat::kRejectedCred));
    return Status::Ok();
  }

  auto prog_it = programs_.find(hdr.prog);
  if (prog_it == programs_.end() || prog_it->second.empty()) {
    responder.SendMessage(EncodeAcceptedReply(hdr.xid, AcceptStat::kProgUnavail));
    return Status::Ok();
  }
  const auto& versions = prog_it->second;
  auto vers_it = versions.find(hdr.vers);
  if (vers_it == versions.end()) {
    VersionRange range{versions.begin()->first, versions.rbegin()->first};
    responder.SendMessage(EncodeAcceptedReply(hdr.xid, AcceptStat::kProgMismatch, range));
    return Status::Ok();
  }
  auto proc_it = vers_it->second.find(hdr.proc);
  if (proc_it == vers_it->second.end()) {
    if (hdr.proc == 0) {
      responder.ReplyVoid();
    } else {
      responder.SendMessage(EncodeAcceptedReply(hdr.xid, AcceptStat::kProcUnavail));
    }
    return Status::Ok();
  }
  proc_it->second(ctx, hdr.args, std::move(responder));
  return Status::Ok();
}

}  // namespace nfsrec::rpc
