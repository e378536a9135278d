// KernelNsm: what the NSM service tells the local kernel, behind a port.
// ProcKernelNsm writes lockd's /proc files through a FileSystem
// (common/os/file_system.h), which also knows where /proc is.
#pragma once

#include <cstdint>
#include <string>

#include "common/base/status.h"
#include "common/os/file_system.h"

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

inline constexpr char kNsmLocalStatePath[] = "/proc/sys/fs/nfs/nsm_local_state";
inline constexpr char kNlmEndGracePath[] = "/proc/fs/lockd/nlm_end_grace";

// Writes are synchronous: small sysctl-like files that the kernel answers at
// once.  A missing file (NotFound) means lockd is not loaded.
class ProcKernelNsm final : public KernelNsm {
 public:
  explicit ProcKernelNsm(FileSystem& fs) : fs_(fs) {}
  Status PublishLocalState(int32_t state) override;
  Status EndLockdGrace() override;
  Status SetNlmPort(const std::string& proto, uint16_t port) override;

 private:
  FileSystem& fs_;
};

// Applies -T/-U (0 = leave alone), logging failures: lockd may not be loaded.
void WriteNlmPorts(KernelNsm& kernel, uint16_t tcp_port, uint16_t udp_port, Logger& log);

}  // namespace nfsrec::statd
