#include "statd/kernel_nsm.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "common/base/logging.h"
#include "common/base/unique_fd.h"

namespace nfsrec::statd {

Status WriteExistingFile(const std::string& path, const std::string& data) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) return PosixError("open " + path, errno);
  ssize_t n = ::write(fd.get(), data.data(), data.size());
  if (n < 0) return PosixError("write " + path, errno);
  if (static_cast<size_t>(n) != data.size()) return Status::IOError("short write to " + path);
  return Status::Ok();
}

Status ProcKernelNsm::PublishLocalState(int32_t state) {
  // Decimal ASCII without a newline, as the sysctl expects.
  return WriteExistingFile(LocalStatePath(), std::to_string(state));
}

Status ProcKernelNsm::EndLockdGrace() { return WriteExistingFile(EndGracePath(), "Y"); }

Status ProcKernelNsm::SetNlmPort(const std::string& proto, uint16_t port) {
  return WriteExistingFile(root_ + "/proc/sys/fs/nfs/nlm_" + proto + "port", std::to_string(port));
}

void WriteNlmPorts(KernelNsm& kernel, uint16_t tcp_port, uint16_t udp_port, Logger& log) {
  for (auto [proto, port] : {std::pair<const char*, uint16_t>{"tcp", tcp_port}, {"udp", udp_port}}) {
    if (port == 0) continue;
    Status st = kernel.SetNlmPort(proto, port);
    if (!st.ok()) log.Warning(StrCat("Cannot set lockd ", proto, " port: ", st.ToString()));
  }
}

}  // namespace nfsrec::statd
