// nfsrecctl's command line, parsed by daemon/options.h:
//   nfsrecctl [--config FILE] [--state-dir DIR] COMMAND [command options]
//   nfsrecctl -h | --help        usage on stdout, exit 0
//   nfsrecctl -V | --version     version on stdout, exit 0
// Options may stand before or after COMMAND (getopt permutes).  Commands are
// rows of one table (kCtlCommands in the .cc): a name, its synopsis, the
// options it accepts and how many operands; adding one is a row, a case in
// CheckCommand if it needs one, and a handler in main.
//   list monitors|notify|clients [--epoch current|recovery] [--json]
//   show HOST|CLIENT [--json]
//   grace [--json]
//   state [--json]           the listings: daemon/nfsrecctl_list.h
//   export --nfs-utils DIR   write rpc.statd's and nfsdcld's files under DIR
//   import [--from-nfsdcld DIR] [--from-nfsdcltrack DIR] [--from-v4recovery DIR]
//                            take over nfs-utils' NFSv4 records (daemon/nfsrecctl_import.h)
//   status [--json], metrics the running daemon's figures (daemon/nfsrecctl_live.h)
//   remove monitor HOST [--prog N] [--vers N] [--proc N] [--json]
//   expire client CLIENT [--json]
//                            through the daemon, or the store if none runs
//                            (daemon/nfsrecctl_admin.h)
//   cluster status|instances|grace|lift [INSTANCE...]|remove-node NODE
//           [--json] [--etcd-endpoints URL,...] [--cluster NAME]
//                            cluster mode on etcd (daemon/nfsrecctl_cluster.h)
//
// Which database: the daemon's own rules (daemon/daemon_config.h): nfs.conf
// ([statd] state-directory-path and whatever else places the database),
// then --state-dir as the daemon's -P.
//
// Exit statuses (man/nfsrecctl.8): 0 success; 1 an error or nothing found;
// 2 a command-line error (after the usage text on stderr for an unknown
// option, command or operand).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/cluster_config.h"
#include "daemon/daemon_config.h"
#include "daemon/options.h"

namespace nfsrec {

inline constexpr int kCtlExitOk = 0;
inline constexpr int kCtlExitFailure = 1;  // an error, or nothing found
inline constexpr int kCtlExitUsage = 2;

enum class CtlEpoch { kCurrent, kRecovery };

struct CtlCommandLine {
  enum class Action { kRun, kHelp, kVersion };
  Action action = Action::kRun;
  std::string command;                // "list", "export", ...
  std::vector<std::string> operands;  // after the command's name
  std::string config_file = NfsConf::kDefaultPath;
  std::string state_dir;      // --state-dir; "" if not given
  std::string nfs_utils_dir;  // export --nfs-utils
  bool json = false;          // --json: one JSON document on stdout (docs/nfsrecctl-json.md)
  CtlEpoch epoch = CtlEpoch::kCurrent;  // list clients --epoch
  bool epoch_given = false;
  struct ImportFrom {  // import --from-*; all empty: where nfs-utils keeps them
    std::string nfsdcld_dir, nfsdcltrack_dir, v4recovery_dir;
  } import_from;
  // remove monitor --prog/--vers/--proc: only the records lockd made with
  // that callback program, version, procedure.
  std::optional<int32_t> prog, vers, proc;
  // cluster --etcd-endpoints (comma-separated) and --cluster; empty: from
  // nfs.conf (ResolveCtlCluster).
  std::vector<std::string> etcd_endpoints;
  std::string cluster;
};

options::ParseResult<CtlCommandLine> ParseCtlCommandLine(const std::vector<std::string>& args);

// Where the store is, by the daemon's rules (above).
struct CtlStore {
  std::string state_dir;
  std::string database;        // the database file
  std::string control_socket;  // the daemon's control socket; "" if turned off
  // The nfsdcld role's control socket ("" if turned off): a daemon in that
  // role tracks NFSv4 clients on the same database.
  std::string nfsdcld_control_socket;
  std::string pidfile;  // the daemon's pid file, as nfsrecd -p would have it
  std::vector<std::string> conf_warnings;
};
options::ParseResult<CtlStore> ResolveCtlStore(const CtlCommandLine& cl,
                                               const NfsConfLoader& load_conf);

// Where the cluster's etcd is: the command line (--etcd-endpoints,
// --cluster), else nfs.conf's [nfsrecd] section as the daemon reads it
// (ReadClusterConf, daemon/cluster_config.h: the same keys, defaults and
// checks; `host_name` is its default instance and node name).  A bad value
// there is a kBadValue error naming the key, as the daemon would refuse
// it; no endpoint known is a usage error.
struct CtlCluster {
  std::vector<std::string> endpoints;
  std::string cluster;
  std::string ca_file, cert_file, key_file;  // "" if not set
};
options::ParseResult<CtlCluster> ResolveCtlCluster(const CtlCommandLine& cl,
                                                   const NfsConfLoader& load_conf,
                                                   std::string_view host_name = LocalHostName());

options::ErrorReply CtlErrorReply(options::ErrorKind kind);

std::string CtlUsage(const std::string& program);

}  // namespace nfsrec
