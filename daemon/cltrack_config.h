// nfsrec-cltrack's command line (nfsdcltrack's; the kernel runs it as
// /sbin/nfsdcltrack), parsed by daemon/options.h:
//   nfsrec-cltrack [-hdf] [-s DIR] [--config FILE] [--proc-root DIR] <command> [arg]
//   -h, --help        usage text on stdout, exit 1, run nothing
//   -d, --debug       log debug messages
//   -f, --foreground  log to stderr instead of syslog
//   -s, --storagedir DIR   directory of the database (DIR/nfsrecd.sqlite)
//   --config FILE     nfs.conf to read (default /etc/nfs.conf)
//   --proc-root DIR   prefix of proc/fs/nfsd/v4_end_grace (tests)
// Operands after the first two are ignored.  -h and a usage error print
// the usage text on stdout and exit with 1 without running anything, as
// Debian's nfsdcltrack (2.6.2) does.
//
// nfs.conf (daemon/nfs_conf.h; bad values and unknown keys are warned
// about on stderr, never fatal):
//   [nfsdcltrack] storagedir   as -s
//   [nfsdcltrack] debug        a facility list; any but 0 is -d
//   [statd] state-directory-path   without -s or storagedir, the database
//                              is the daemon's, DIR/nfsrecd/nfsrecd.sqlite
//                              (default /var/lib/nfs), so that the helper
//                              and the daemon share one file
#pragma once

#include <string>
#include <vector>

#include "daemon/daemon_config.h"
#include "daemon/nfs_conf.h"
#include "daemon/options.h"
#include "nfs4rec/cltrack.h"

namespace nfsrec {

struct CltrackCommandLine {
  bool help = false;
  bool debug = false;
  bool foreground = false;
  // storagedir, proc_root, command and arg; main adds the environment.
  nfs4rec::CltrackRequest request;
  std::string config_file = NfsConf::kDefaultPath;
  NfsConf conf;  // what was read, for its warnings
};

// Scans argv, loads the nfs.conf that --config names (or the default) with
// `load_conf` (none: no nfs.conf), applies it, then the options.
options::ParseResult<CltrackCommandLine> ParseCltrackCommandLine(
    const std::vector<std::string>& args, const NfsConfLoader& load_conf = {});

options::ErrorReply CltrackErrorReply(options::ErrorKind kind);

// Printed on stdout.
std::string CltrackUsage(const std::string& program);

}  // namespace nfsrec
