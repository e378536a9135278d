// The daemon invoked as "nfsdcld": the NFSv4-tracking role with nfsdcld's
// command line, parsed by daemon/options.h (so -Fd bundles):
//   -F, --foreground         stay in the foreground, log to stderr
//                            (without it: detach, log to syslog)
//   -d, --debug              debug logging
//   -p, --pipefsdir DIR      rpc_pipefs mount point: the pipe is DIR/nfsd/cld
//                            (default [general] pipefs-directory, else
//                            /var/lib/nfs/rpc_pipefs)
//   -s, --storagedir DIR     the database's directory: DIR/nfsrecd.sqlite.
//                            Default [nfsdcld] storagedir; without either,
//                            the daemon's own database under [statd]
//                            state-directory-path, so that every name of
//                            nfsrecd shares one file.  nfsdcld's own
//                            main.sqlite there is taken over at start
//   -h, --help               usage on stdout, exit 0
//   --config FILE, --proc-root DIR   as for nfsrecd (tests)
// Like nfsdcld, any mistake (an unknown option, a missing value) prints the
// usage text to stdout and exits with 0.  No pid file.
//
// nfs.conf: [nfsdcld] debug (a number; > 0 turns debug logging on),
// [nfsdcld] storagedir, [general] pipefs-directory, [statd]
// state-directory-path; read as nfs-utils reads them, with warnings for
// bad values and unknown keys (daemon/nfs_conf.h).
#pragma once

#include <string>
#include <vector>

#include "daemon/daemon_config.h"
#include "daemon/options.h"

namespace nfsrec {

// A DaemonConfig with role kNfsdcld (serve_nsm off, nfs4 on), or an
// OptionError.  Action kHelp for -h.
options::ParseResult<CommandLine> ParseNfsdcldCommandLine(const std::vector<std::string>& args,
                                                          const NfsConfLoader& load_conf);

// nfsdcld's answer to every mistake: usage on stdout, exit 0.
options::ErrorReply NfsdcldErrorReply(options::ErrorKind kind);

// Printed on stdout.
std::string NfsdcldUsage(const std::string& program);

}  // namespace nfsrec
