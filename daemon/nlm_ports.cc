#include "daemon/nlm_ports.h"

#include <sys/wait.h>

#include <cerrno>
#include <string>
#include <utility>

#include "common/os/signals.h"
#include "statd/kernel_nsm.h"

extern char** environ;

namespace nfsrec {

Status RunModprobeLockd() {
  char arg0[] = "modprobe";
  char arg1[] = "lockd";
  char* argv[] = {arg0, arg1, nullptr};
  NFSREC_ASSIGN_OR_RETURN(pid_t pid, SpawnWithDefaultSignals("run modprobe lockd", argv, environ,
                                                             /*search_path=*/true));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return PosixError("wait for modprobe lockd", errno);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status::Unavailable(StrCat("modprobe lockd failed (status ", status, ")"));
  }
  return Status::Ok();
}

Status SetNlmPorts(FileSystem& files, uint16_t tcp_port, uint16_t udp_port, Logger& log,
                   const LoadLockd& load_lockd) {
  statd::ProcKernelNsm kernel(files);
  bool loaded = false;
  Status first = Status::Ok();
  using ProtoPort = std::pair<const char*, uint16_t>;
  for (auto [proto, port] : {ProtoPort{"tcp", tcp_port}, ProtoPort{"udp", udp_port}}) {
    if (port == 0) continue;
    Status st = kernel.SetNlmPort(proto, port);
    if (st.IsNotFound() && !loaded) {
      loaded = true;  // once: a second NotFound will not change with another try
      if (Status load = load_lockd(); !load.ok()) log.Warning(load.ToString());
      st = kernel.SetNlmPort(proto, port);
    }
    if (!st.ok()) {
      log.Warning(StrCat("Cannot set lockd's ", proto, " port to ", port, ": ", st.ToString()));
      if (first.ok()) first = st;
    } else {
      log.Debug(StrCat("lockd's ", proto, " port set to ", port));
    }
  }
  return first;
}

}  // namespace nfsrec
