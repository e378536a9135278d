// -T/-U and [lockd] port/udp-port: lockd's listener ports, written to
// /proc/sys/fs/nfs/nlm_tcpport and nlm_udpport at start-up, as rpc.statd
// does.  Those files exist only while lockd is loaded: on NotFound the
// module is loaded once ("modprobe lockd") and the write tried again.
//
// ORDER: as root, before privileges are dropped (the files are root's and
// modprobe needs CAP_SYS_MODULE), and before lockd can start listening, so
// early in start-up.  Blocking (it waits for modprobe): not on the loop.
#pragma once

#include <cstdint>
#include <functional>

#include "common/base/logging.h"
#include "common/base/status.h"
#include "common/os/file_system.h"

namespace nfsrec {

// Loads lockd; the real one runs "modprobe lockd" from PATH and waits.
using LoadLockd = std::function<Status()>;
Status RunModprobeLockd();

// Writes each non-zero port through `files` (which knows --proc-root).  A
// failure is logged and is not fatal (rpc.statd only complains too); the
// result is the first failure, for tests.
Status SetNlmPorts(FileSystem& files, uint16_t tcp_port, uint16_t udp_port, Logger& log,
                   const LoadLockd& load_lockd = RunModprobeLockd);

}  // namespace nfsrec
