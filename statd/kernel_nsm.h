// KernelNsm: what the NSM service tells the local kernel, behind a port.
// ProcKernelNsm writes the /proc files under a configurable root prefix so
// tests can point it at a temporary directory.
#pragma once

#include <cstdint>
#include <string>

#include "common/base/status.h"

namespace nfsrec {
class Logger;
}  // namespace nfsrec

namespace nfsrec::statd {

class KernelNsm {
 public:
  virtual ~KernelNsm() = default;
  // Publishes the local NSM state number to lockd.
  // NotFound if lockd is not loaded (the file is absent): callers log and go on.
  virtual Status PublishLocalState(int32_t state) = 0;
  // Ends lockd's grace period early (nothing to reclaim).
  virtual Status EndLockdGrace() = 0;
  // Fixes lockd's listener ports (-T/-U): "tcp" or "udp".
  virtual Status SetNlmPort(const std::string& proto, uint16_t port) = 0;
};

class ProcKernelNsm final : public KernelNsm {
 public:
  // proc_root "" means the real /proc; otherwise paths are proc_root + "/proc/...".
  explicit ProcKernelNsm(std::string proc_root) : root_(std::move(proc_root)) {}
  Status PublishLocalState(int32_t state) override;
  Status EndLockdGrace() override;
  Status SetNlmPort(const std::string& proto, uint16_t port) override;

  std::string LocalStatePath() const { return root_ + "/proc/sys/fs/nfs/nsm_local_state"; }
  std::string EndGracePath() const { return root_ + "/proc/fs/lockd/nlm_end_grace"; }

 private:
  std::string root_;
};

// Writes data to an existing file (no O_CREAT: a missing /proc file means the
// kernel feature is absent, reported as NotFound).
Status WriteExistingFile(const std::string& path, const std::string& data);

// Applies -T/-U (0 = leave alone), logging failures: lockd may not be loaded.
void WriteNlmPorts(KernelNsm& kernel, uint16_t tcp_port, uint16_t udp_port, Logger& log);

}  // namespace nfsrec::statd
