// Helpers for NsmStore tests: sample records, and RunAndWait (from the store
// harness) for one mutating call, LoadAndWait for a snapshot.
#pragma once

#include <string>

#include "statd/nsm_store.h"
#include "tests/support/store_harness.h"

namespace nfsrec::statd {

using test_support::RunAndWait;

inline MonitorRecord SampleRecord(int i) {
  MonitorRecord r;
  r.key.mon_name = "host-" + std::to_string(i);
  r.key.my_name = "server.example";
  r.key.my_prog = 100021;
  r.key.my_vers = 3;
  r.key.my_proc = 16;
  for (size_t b = 0; b < r.priv.size(); ++b) r.priv[b] = static_cast<uint8_t>(i * 16 + b);
  r.canonical_name = "host-" + std::to_string(i) + ".example";
  r.peer_state = 0;
  return r;
}

// Runs store.Load and waits (bounded) for its snapshot, or TimedOut.  Adds a
// test failure if done ran inside the call.
inline Result<NsmSnapshot> LoadAndWait(EventLoop& loop, NsmStore& store) {
  return test_support::RunAndWait<Result<NsmSnapshot>>(
      loop, [&store](auto done) { store.Load(std::move(done)); });
}

}  // namespace nfsrec::statd
