// Fuzz target: the NSM program (statd/nsm_program.h) behind the RPC
// dispatcher, over NsmService with the in-memory store and fake ports: a
// fuzzed call is decoded, runs the procedure logic (caller checks, name
// checks, DNS, store writes, lockd callbacks, HA events) and its reply is
// encoded.
//
// Input: a sequence of calls, so that state carries over (SM_MON, then
// SM_NOTIFY for that peer, then SM_UNMON_ALL).  Each record is
//   flags (1 byte), length (2 bytes, big-endian), that many message bytes
// (fewer at the end of the input).  flags:
//   bits 0-1  the caller: 0 loopback privileged port, 1 loopback unprivileged,
//             2 a remote host, 3 v4-mapped loopback on udp6
//   bit 2     the store fails the next write
//   bit 3     lockd acknowledges the callbacks queued so far; bit 4 it gives up
// Invariants: a dispatched call is answered exactly once, once DNS and the
// store have settled (at most once if a store write failed: SM_NOTIFY is
// then left unanswered on purpose), with a reply that decodes and carries its xid; SUCCESS
// results decode as the procedure's result type; the service has nothing
// waiting afterwards.

#include <memory>
#include <utility>
#include <vector>

#include "common/rpc/dispatcher.h"
#include "statd/nsm_codec.h"
#include "statd/nsm_program.h"
#include "statd/nsm_service.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/support/dispatch_testutil.h"
#include "tests/support/fake_ha_events.h"
#include "tests/support/fake_kernel_nsm.h"
#include "tests/support/fake_lockd_callbacks.h"
#include "tests/support/fake_resolver.h"
#include "tests/support/mem_nsm_store.h"

namespace nfsrec::fuzz {
namespace {

using statd::NsmProc;

rpc::CallContext Context(uint8_t caller) {
  using test_support::DatagramContext;
  switch (caller) {
    case 0:
      return DatagramContext("127.0.0.1", 801, "127.0.0.1", rpc::Netid::kUdp, true);
    case 1:
      return DatagramContext("127.0.0.1", 40001, "127.0.0.1", rpc::Netid::kUdp, true);
    case 2:
      return DatagramContext("10.0.0.2", 40001, "10.0.0.1", rpc::Netid::kTcp, false);
    default:  // from the wire, to the V6ONLY udp6 socket
      return DatagramContext("::ffff:127.0.0.1", 800, "2001:db8::1", rpc::Netid::kUdp6, false);
  }
}

// The results of a SUCCESS reply have the procedure's result type.
void CheckResults(uint32_t proc, std::span<const uint8_t> results) {
  switch (static_cast<NsmProc>(proc)) {
    case NsmProc::kStat:
    case NsmProc::kMon:
      NFSREC_FUZZ_CHECK(statd::DecodeSmStatRes(results).ok());
      break;
    case NsmProc::kUnmon:
    case NsmProc::kUnmonAll:
      NFSREC_FUZZ_CHECK(statd::DecodeSmStat(results).ok());
      break;
    default:
      NFSREC_FUZZ_CHECK(results.empty());
  }
}

struct World {
  World() : service(store, resolver, kernel, callbacks, log) {
    resolver.Add("client2", HostInfo{"client2.example", {"10.0.0.2"}});
    resolver.Add("10.0.0.2", HostInfo{"client2.example", {"10.0.0.2"}});
    resolver.Add("127.0.0.1", HostInfo{"localhost", {"127.0.0.1"}});
    resolver.Add("localhost", HostInfo{"localhost", {"127.0.0.1", "::1"}});
    service.SetHaEvents(&ha);
  }
  // Runs DNS, commits, the HA callouts replies wait for, and lockd's
  // answers until nothing moves.
  void Settle(uint8_t flags) {
    while (resolver.Flush() + store.Flush() + ha.Flush() > 0) {
    }
    if ((flags & 0x18) != 0) {
      std::vector<statd::CallbackRequest> owed = std::move(callbacks.requests);
      callbacks.requests.clear();
      for (auto& r : owed) r.done((flags & 0x08) != 0);
      while (resolver.Flush() + store.Flush() + ha.Flush() > 0) {
      }
    }
  }

  DiscardingLogger log;
  statd::MemNsmStore store;
  FakeResolver resolver;
  statd::FakeKernelNsm kernel;
  statd::FakeLockdCallbacks callbacks;
  statd::FakeHaEvents ha;
  statd::NsmService service;
};

}  // namespace
}  // namespace nfsrec::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nfsrec;
  using namespace nfsrec::fuzz;
  World w;
  bool started = false;
  w.service.Start(statd::LegacyStatd{}, [&](Status st) { started = st.ok(); });
  w.Settle(0);
  NFSREC_FUZZ_CHECK(started);
  int simu_crashes = 0;
  rpc::Dispatcher dispatcher(w.log);
  NFSREC_FUZZ_CHECK(dispatcher
                        .AddProgram(statd::kNsmProgram, statd::kNsmVersion,
                                    statd::NsmHandlers(w.service, w.log, [&] { ++simu_crashes; }))
                        .ok());

  Input in(data, size);
  while (!in.empty()) {
    uint8_t flags = in.Byte();
    std::span<const uint8_t> message = in.Take(in.U16());
    if ((flags & 0x04) != 0) w.store.FailNext(Status::IOError("injected"));
    rpc::CallContext ctx = Context(flags & 0x03);
    std::vector<std::vector<uint8_t>> replies;
    const int failed_before = w.store.failed_writes();
    Status st = dispatcher.Dispatch(
        message, ctx, rpc::Responder(std::make_unique<test_support::CapturedCall>(&replies)));
    w.Settle(flags);
    if (!st.ok()) {
      NFSREC_FUZZ_CHECK(replies.empty());
      continue;
    }
    NFSREC_FUZZ_CHECK(replies.size() <= 1);
    // A call whose store write failed may stay unanswered, so that the
    // caller retransmits (SM_NOTIFY); any other call is answered.
    if (w.store.failed_writes() == failed_before) NFSREC_FUZZ_CHECK(replies.size() == 1);
    if (replies.empty()) continue;
    Result<rpc::ReplyInfo> reply = rpc::DecodeReply(replies[0]);
    NFSREC_FUZZ_CHECK(reply.ok() && reply->xid == ctx.xid);
    if (reply->accepted && reply->accept_stat == rpc::AcceptStat::kSuccess) {
      CheckResults(ctx.proc, reply->results);
    }
    NFSREC_FUZZ_CHECK(w.service.waiting() == 0);
  }
  return 0;
}
