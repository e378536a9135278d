#include "statd/kernel_nsm.h"

#include <string>
#include <utility>

#include "common/base/logging.h"

namespace nfsrec::statd {

Status ProcKernelNsm::PublishLocalState(int32_t state) {
  // Decimal ASCII without a newline, as the sysctl expects.
  return fs_.WriteExistingFile(kNsmLocalStatePath, std::to_string(state));
}

Status ProcKernelNsm::EndLockdGrace() { return fs_.WriteExistingFile(kNlmEndGracePath, "Y"); }

Status ProcKernelNsm::SetNlmPort(const std::string& proto, uint16_t port) {
  return fs_.WriteExistingFile("/proc/sys/fs/nfs/nlm_" + proto + "port", std::to_string(port));
}

void WriteNlmPorts(KernelNsm& kernel, uint16_t tcp_port, uint16_t udp_port, Logger& log) {
  using ProtoPort = std::pair<const char*, uint16_t>;
  for (auto [proto, port] : {ProtoPort{"tcp", tcp_port}, ProtoPort{"udp", udp_port}}) {
    if (port == 0) continue;
    Status st = kernel.SetNlmPort(proto, port);
    if (!st.ok()) log.Warning(StrCat("Cannot set lockd ", proto, " port: ", st.ToString()));
  }
}

}  // namespace nfsrec::statd
