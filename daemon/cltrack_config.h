// nfsrec-cltrack's command line (nfsdcltrack's), parsed by daemon/options.h:
//   nfsrec-cltrack [-hdf] [-s DIR] [--proc-root DIR] <command> [arg]
//   -h, --help        usage text on stdout, exit 0, run nothing
//   -d, --debug       log debug messages
//   -f, --foreground  log to stderr instead of syslog
//   -s, --storagedir DIR   directory of the database (default /var/lib/nfs/nfsrecd)
//   --proc-root DIR   prefix of proc/fs/nfsd/v4_end_grace (tests)
// Operands after the first two are ignored.  A usage error prints the
// usage text on stdout and exits with 0 without running anything, as
// nfsdcltrack does (nonzero statuses are the commands' answers).
#pragma once

#include <string>
#include <vector>

#include "daemon/options.h"
#include "nfs4rec/cltrack.h"

namespace nfsrec {

struct CltrackCommandLine {
  bool help = false;
  bool debug = false;
  bool foreground = false;
  // storagedir, proc_root, command and arg; main adds the environment.
  nfs4rec::CltrackRequest request;
};

options::ParseResult<CltrackCommandLine> ParseCltrackCommandLine(
    const std::vector<std::string>& args);

options::ErrorReply CltrackErrorReply(options::ErrorKind kind);

// Printed on stdout.
std::string CltrackUsage(const std::string& program);

}  // namespace nfsrec
