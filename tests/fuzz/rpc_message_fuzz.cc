// Fuzz target: the ONC RPC call and reply headers (common/rpc/rpc_message.h)
// and the dispatcher's checks before any handler runs (RPC version, the
// credential flavor and the AUTH_SYS body, program, version, procedure).
//
// Input: one whole RPC message, as a transport hands it over.
// Invariants: a call that decodes re-encodes to the same header fields; a
// dispatched call is answered exactly once, with a reply that decodes and
// carries the call's xid; a call that does not decode is not answered.

#include <memory>
#include <utility>
#include <vector>

#include "common/rpc/dispatcher.h"
#include "common/rpc/rpc_message.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/support/dispatch_testutil.h"

namespace nfsrec::fuzz {
namespace {

void CheckDecodeCall(std::span<const uint8_t> message) {
  Result<rpc::CallHeader> call = rpc::DecodeCall(message);
  if (!call.ok() || call->rpcvers != rpc::kRpcVersion) return;
  NFSREC_FUZZ_CHECK(call->cred.body.size() <= rpc::kMaxAuthBodyBytes);
  NFSREC_FUZZ_CHECK(call->verf.body.size() <= rpc::kMaxAuthBodyBytes);
  NFSREC_FUZZ_CHECK(call->args_offset + call->args.size() == message.size());
  std::vector<uint8_t> again =
      rpc::EncodeCall(call->xid, call->prog, call->vers, call->proc, call->args, call->cred);
  Result<rpc::CallHeader> back = rpc::DecodeCall(again);
  NFSREC_FUZZ_CHECK(back.ok());
  NFSREC_FUZZ_CHECK(back->xid == call->xid && back->prog == call->prog &&
                    back->vers == call->vers && back->proc == call->proc);
  NFSREC_FUZZ_CHECK(back->cred.flavor == call->cred.flavor && back->cred.body == call->cred.body);
  NFSREC_FUZZ_CHECK(
      std::equal(back->args.begin(), back->args.end(), call->args.begin(), call->args.end()));
}

void CheckDecodeReply(std::span<const uint8_t> message) {
  Result<rpc::ReplyInfo> reply = rpc::DecodeReply(message);
  if (!reply.ok()) return;
  NFSREC_FUZZ_CHECK(reply->verf.body.size() <= rpc::kMaxAuthBodyBytes);
  NFSREC_FUZZ_CHECK(reply->results_offset + reply->results.size() <= message.size());
  (void)rpc::AcceptStatName(reply->accept_stat);
  (void)rpc::AuthStatName(reply->auth_stat);
}

// The caller the transport saw: the first input bit picks loopback or remote.
rpc::CallContext Context(bool loopback) {
  return loopback
             ? test_support::DatagramContext("127.0.0.1", 801, "127.0.0.1", rpc::Netid::kUdp, true)
             : test_support::DatagramContext("10.0.0.9", 40000, "10.0.0.1", rpc::Netid::kTcp,
                                             false);
}

void CheckDispatch(std::span<const uint8_t> message) {
  DiscardingLogger log;
  rpc::Dispatcher dispatcher(log);
  // Two versions of one program, so PROG_MISMATCH has a range; procedure 1
  // echoes its arguments, procedure 2 refuses them.
  for (uint32_t vers : {1u, 3u}) {
    std::map<uint32_t, rpc::Handler> procs;
    procs[1] = [](const rpc::CallContext&, std::span<const uint8_t> args, rpc::Responder r) {
      r.Reply(std::vector<uint8_t>(args.begin(), args.end()));
    };
    procs[2] = [](const rpc::CallContext&, std::span<const uint8_t>, rpc::Responder r) {
      r.GarbageArgs();
    };
    NFSREC_FUZZ_CHECK(dispatcher.AddProgram(100024, vers, std::move(procs)).ok());
  }
  std::vector<std::vector<uint8_t>> replies;
  rpc::CallContext ctx = Context(!message.empty() && (message[0] & 1) != 0);
  Status st = dispatcher.Dispatch(
      message, ctx, rpc::Responder(std::make_unique<test_support::CapturedCall>(&replies)));
  if (!st.ok()) {
    NFSREC_FUZZ_CHECK(replies.empty());
    return;
  }
  NFSREC_FUZZ_CHECK(replies.size() == 1);
  Result<rpc::ReplyInfo> reply = rpc::DecodeReply(replies[0]);
  NFSREC_FUZZ_CHECK(reply.ok());
  NFSREC_FUZZ_CHECK(reply->xid == ctx.xid);
  Result<rpc::MessageKind> kind = rpc::PeekMessageKind(replies[0]);
  NFSREC_FUZZ_CHECK(kind.ok() && !kind->is_call);
}

}  // namespace
}  // namespace nfsrec::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> message(data, size);
  (void)nfsrec::rpc::PeekMessageKind(message);
  nfsrec::fuzz::CheckDecodeCall(message);
  nfsrec::fuzz::CheckDecodeReply(message);
  nfsrec::fuzz::CheckDispatch(message);
  return 0;
}
