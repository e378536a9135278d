// Fuzz target: the cld upcall decoder (nfs4rec/cld_codec.h) and
// TrackingService over the in-memory client store, a fake grace control and
// a fake /proc client list: a fuzzed upcall is decoded, handled (store
// writes, grace uploads, early end of grace, reconciliation) and every
// downcall encoded as the pipe would write it.
//
// Input: an options byte, then records of
//   control (1 byte), then one upcall: its first byte is cm_vers and the
//   upcall is as long as that version's message (1034 or 1067 bytes, zero
//   padded at the end of the input); for another cm_vers, the rest of the
//   input up to 1067 bytes, which the decoder must refuse.
// options: bit 0 end grace early, bit 1 upload one record per loop turn,
//   bit 2 the store holds a recovery epoch (a grace period is open).
// control: bit 0 the store fails the next call, bit 1 the kernel refuses the
//   early end of grace.
// Invariants: every downcall encodes, carries the upcall's xid, command and
// version, and each upcall gets exactly one final answer (GraceStart: any
// number of -EINPROGRESS records first) once the store and timers settle.
#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nfs4rec/cld_codec.h"
#include "nfs4rec/tracking_service.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/support/fake_file_system.h"
#include "tests/support/fake_grace_control.h"
#include "tests/support/fake_live_client_source.h"
#include "tests/support/fake_scheduler.h"
#include "tests/support/mem_client_store.h"

namespace nfsrec::fuzz {
namespace {

using nfs4rec::CldMessage;

struct World {
  explicit World(uint8_t options) : source(scheduler, fs) {
    store.Insert(1, nfs4rec::ClientRecord{"client-a", std::string(32, 'h'), true, 1});
    store.Insert(1, nfs4rec::ClientRecord{"client-b", "", std::nullopt, 1});
    if ((options & 0x04) != 0) {
      store.SetEpochs(nfs4rec::Epochs{2, 1});
      store.Insert(2, nfs4rec::ClientRecord{"client-a", std::string(32, 'h'), true, 2});
    }
    fs.SetFile("/proc/fs/nfsd/clients/7/info",
               "clientid: 0x1\naddress: \"10.0.0.2:700\"\nstatus: confirmed\n"
               "name: \"client-c\"\nminor version: 2\n");
    fs.SetFile("/proc/fs/nfsd/clients/7/states", "- 0x1: { type: open }\n");
    source.lease = 90;
    nfs4rec::TrackingServiceOptions opts;
    opts.end_grace_early = (options & 0x01) != 0;
    if ((options & 0x02) != 0) opts.upload_batch = 1;
    service = std::make_unique<nfs4rec::TrackingService>(store, grace, scheduler, log, opts);
    service->EnableReconcile(source, Duration::zero());
  }

  // Runs store completions, timers and grace answers until nothing moves.
  void Settle(bool refuse_grace_end) {
    for (int i = 0; i < 100000; ++i) {
      bool moved = store.RunPending() > 0;
      if (scheduler.pending() > 0) {
        scheduler.Advance(Duration::zero());
        moved = true;
      }
      if (grace.waiting()) {
        grace.Finish(refuse_grace_end ? Status::IOError("injected") : Status::Ok());
        moved = true;
      }
      if (!moved) return;
    }
    NFSREC_FUZZ_CHECK(!"the service kept itself busy");
  }

  DiscardingLogger log;
  nfs4rec::MemClientStore store;
  nfs4rec::FakeGraceControl grace;
  FakeScheduler scheduler;
  FakeFileSystem fs;
  nfs4rec::FakeLiveClientSource source;
  std::unique_ptr<nfs4rec::TrackingService> service;
};

std::vector<uint8_t> NextUpcall(Input& in) {
  uint8_t version = in.empty() ? 0 : in.Byte();
  Result<size_t> size = nfs4rec::CldMessageSize(version);
  size_t want = size.ok() ? *size : nfs4rec::kCldMsgMaxSize;
  std::span<const uint8_t> body = in.Take(want - 1);
  std::vector<uint8_t> bytes(size.ok() ? *size : 1 + body.size(), 0);
  bytes[0] = version;
  std::copy(body.begin(), body.end(), bytes.begin() + 1);
  return bytes;
}

}  // namespace
}  // namespace nfsrec::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nfsrec;
  using namespace nfsrec::fuzz;
  Input in(data, size);
  World w(in.Byte());
  bool started = false;
  w.service->Start([&](Status st) { started = st.ok(); });
  w.Settle(false);
  NFSREC_FUZZ_CHECK(started);

  while (!in.empty()) {
    uint8_t control = in.Byte();
    std::vector<uint8_t> bytes = NextUpcall(in);
    (void)nfs4rec::DecodeCldHeader(bytes);
    Result<CldMessage> up = nfs4rec::DecodeCldUpcall(bytes);
    if (!up.ok()) continue;
    (void)nfs4rec::CldCommandName(up->command);
    NFSREC_FUZZ_CHECK(up->name.size() <= nfs4rec::kCldNameMax);
    NFSREC_FUZZ_CHECK(up->princhash.size() <= nfs4rec::kCldPrincHashSize);
    if ((control & 0x01) != 0) w.store.FailNext(Status::IOError("injected"));

    int finals = 0;
    CldMessage upcall = *up;
    w.service->Handle(upcall, [&finals, upcall](const CldMessage& down) {
      NFSREC_FUZZ_CHECK(down.xid == upcall.xid && down.command == upcall.command &&
                        down.version == upcall.version);
      Result<std::vector<uint8_t>> wire = nfs4rec::EncodeCldDowncall(down);
      NFSREC_FUZZ_CHECK(wire.ok());
      Result<CldMessage> back = nfs4rec::DecodeCldDowncall(*wire, down.version);
      NFSREC_FUZZ_CHECK(back.ok() && back->xid == down.xid && back->status == down.status);
      bool record =
          down.Is(nfs4rec::CldCommand::kGraceStart) && down.status == nfs4rec::kCldEInProgress;
      if (!record) ++finals;
    });
    w.Settle((control & 0x02) != 0);
    NFSREC_FUZZ_CHECK(finals == 1);
    NFSREC_FUZZ_CHECK(w.service->in_flight() == 0);
  }
  (void)w.service->StatusReport();
  return 0;
}
