// Shared pieces of the cld emulator tests and benchmarks: a temporary
// directory, the emulator mounted in it, and cld-testd as a child process.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/cld_emulator/kernel_emulator.h"
#include "tests/support/temp_dir.h"

namespace nfsrec::cldemu {

using TempDir = test_support::TempDir;

// Where the test binaries live: $top_builddir/tests/cld_emulator, else the
// directory of /proc/self/exe.
std::string BuildDir();
std::string TopBuildDir();

// A child process with stderr sent to a log file.
class ChildProcess {
 public:
  static Result<std::unique_ptr<ChildProcess>> Spawn(const std::vector<std::string>& argv,
                                                     const std::string& log_path);
  ~ChildProcess();  // SIGKILLs a child still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // Sends sig and waits up to timeout_ms; returns the wait status or -1.
  int Stop(int sig, int timeout_ms);
  bool Running();
  pid_t pid() const { return pid_; }

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  bool reaped_ = false;
  int status_ = 0;
};

std::string ReadFile(const std::string& path);

}  // namespace nfsrec::cldemu
