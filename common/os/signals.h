// Which thread takes which signal, and what children start with.
//
// The daemon blocks its signals at the top of main(), before any thread or
// child exists, so that every thread inherits the mask; the loop thread
// unblocks them once its SignalWatchers (common/os/event_loop.h) exist.  A
// signal that arrives in between stays pending instead of being lost or,
// at its default action, killing a half-started process.  Threads started
// later (UnblockedSignals) never take them, and a child starts as a fresh
// process would: no signal blocked (SpawnWithDefaultSignals,
// ClearSignalMask after fork).
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <initializer_list>
#include <string_view>

#include "common/base/result.h"

namespace nfsrec {

// Blocks or unblocks every signal in `signals` in the calling thread.
Status BlockSignals(std::initializer_list<int> signals);
Status UnblockSignals(std::initializer_list<int> signals);

// In a child after fork(): no signal blocked.  Async-signal-safe.
void ClearSignalMask() noexcept;

// Unblocks `signals` in the calling thread for its lifetime, then blocks
// them again: while they are blocked in every thread, one that arrives
// stays pending and cannot end the process.
class UnblockedSignals {
 public:
  explicit UnblockedSignals(std::initializer_list<int> signals);
  ~UnblockedSignals();
  UnblockedSignals(const UnblockedSignals&) = delete;
  UnblockedSignals& operator=(const UnblockedSignals&) = delete;

 private:
  sigset_t set_;
};

// Every signal blocked in the calling thread for its lifetime (the old
// mask back after): a thread created meanwhile inherits the full mask, so
// signals keep going to the thread that unblocked them.
class AllSignalsBlocked {
 public:
  AllSignalsBlocked();
  ~AllSignalsBlocked();
  AllSignalsBlocked(const AllSignalsBlocked&) = delete;
  AllSignalsBlocked& operator=(const AllSignalsBlocked&) = delete;

 private:
  sigset_t old_;
};

// posix_spawn (`search_path`: posix_spawnp) of argv[0] with no signal
// blocked and SIGTERM, SIGINT, SIGHUP and SIGUSR1 at their default action,
// whatever the calling thread blocks or ignores.  Returns the child's pid,
// or the spawn's error named by `context`.
Result<pid_t> SpawnWithDefaultSignals(std::string_view context, char* const argv[],
                                      char* const envp[], bool search_path);

}  // namespace nfsrec
