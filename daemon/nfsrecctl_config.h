// nfsrecctl's command line, parsed by daemon/options.h:
//   nfsrecctl [--config FILE] [--state-dir DIR] COMMAND [command options]
//   nfsrecctl -h | --help        usage on stdout, exit 0
//   nfsrecctl -V | --version     version on stdout, exit 0
// Options may stand before or after COMMAND (getopt permutes).  Commands are
// rows of one table (kCtlCommands in the .cc): a name, its synopsis, the
// options it accepts and how many operands; adding one (list, show, grace,
// status, metrics) is a row, a case in CheckCommand and a handler in main.
//   export --nfs-utils DIR   write rpc.statd's and nfsdcld's files under DIR
//   import [--from-nfsdcld DIR] [--from-nfsdcltrack DIR] [--from-v4recovery DIR]
//                            take over nfs-utils' NFSv4 records (daemon/nfsrecctl_import.h)
//
// Which database: the daemon's own rules (daemon/daemon_config.h): nfs.conf
// ([statd] state-directory-path and whatever else places the database),
// then --state-dir as the daemon's -P.  Errors exit 1, a usage error after
// the usage text on stderr.
#pragma once

#include <string>
#include <vector>

#include "daemon/daemon_config.h"
#include "daemon/options.h"

namespace nfsrec {

struct CtlCommandLine {
  enum class Action { kRun, kHelp, kVersion };
  Action action = Action::kRun;
  std::string command;                // "export"
  std::vector<std::string> operands;  // after the command's name
  std::string config_file = NfsConf::kDefaultPath;
  std::string state_dir;      // --state-dir; "" if not given
  std::string nfs_utils_dir;  // export --nfs-utils
  struct ImportFrom {         // import --from-*; all empty: where nfs-utils keeps them
    std::string nfsdcld_dir, nfsdcltrack_dir, v4recovery_dir;
  } import_from;
};

options::ParseResult<CtlCommandLine> ParseCtlCommandLine(const std::vector<std::string>& args);

// Where the store is, by the daemon's rules (above).
struct CtlStore {
  std::string state_dir;
  std::string database;  // the database file
  std::vector<std::string> conf_warnings;
};
options::ParseResult<CtlStore> ResolveCtlStore(const CtlCommandLine& cl,
                                               const NfsConfLoader& load_conf);

options::ErrorReply CtlErrorReply(options::ErrorKind kind);

std::string CtlUsage(const std::string& program);

}  // namespace nfsrec
