// Helpers for NsmStore tests: sample records, and blocking wrappers that
// run one call (a mutation, or Load), check that `done` did not run inline,
// and run the loop until it does.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/os/event_loop.h"
#include "statd/nsm_store.h"
#include <gtest/gtest.h>

namespace nfsrec::statd {

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

// Runs `call(done)` and waits (bounded) for done; returns its status, or
// TimedOut.  Adds a test failure if done ran inside the call.
inline Status RunAndWait(EventLoop& loop, const std::function<void(NsmStore::Done)>& call) {
  // Shared, so a completion that arrives after a timeout writes to live memory.
  auto result = std::make_shared<std::optional<Status>>();
  call([result](Status st) { *result = std::move(st); });
  EXPECT_FALSE(result->has_value()) << "done ran inside the call";
  if (!loop.RunUntil([&] { return result->has_value(); }, std::chrono::seconds(30))) {
    return Status::TimedOut("store call did not complete");
  }
  return **result;
}

// Runs store.Load and waits (bounded) for its snapshot, or TimedOut.  Adds a
// test failure if done ran inside the call.
inline Result<NsmSnapshot> LoadAndWait(EventLoop& loop, NsmStore& store) {
  auto result = std::make_shared<std::optional<Result<NsmSnapshot>>>();
  store.Load([result](Result<NsmSnapshot> r) { *result = std::move(r); });
  EXPECT_FALSE(result->has_value()) << "Load's done ran inside the call";
  if (!loop.RunUntil([&] { return result->has_value(); }, std::chrono::seconds(30))) {
    return Status::TimedOut("store load did not complete");
  }
  return std::move(**result);
}

}  // namespace nfsrec::statd
