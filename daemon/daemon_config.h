// The daemon's configuration, from nfs.conf and then the command line
// (rpc.statd-compatible options plus nfsrecd's own; the command line wins,
// as with rpc.statd), immutable once parsed.
//
// Options:                                   rpc.statd equivalent
//   -F, --foreground                         same
//   -d, --no-syslog      log to stderr, debug on (only with -F; else syslog)
//   -p, --port PORT      fixed NSM listener port (all transports)
//   -o, --outgoing-port PORT  source port for SM_NOTIFY
//   -P, --state-directory-path DIR   base dir; the database is DIR/nfsrecd.sqlite
//   -n, --name NAME      our name in SM_NOTIFY
//   -L, --no-notify      no boot notification (also RPC_STATD_NO_NOTIFY>0)
//   -H, --ha-callout PROG
//   -T, --nlm-port, -U, --nlm-udp-port PORT   (written to /proc/sys/fs/nfs)
//   --pidfile PATH       default /run/rpc.statd.pid, where mount.nfs looks
//   --proc-root DIR      prefix for every /proc path (tests)
//   --cld-pipe PATH      the nfsd/cld rpc_pipefs pipe
//   --no-nfs4            do not serve NFSv4 client tracking
//   --no-end-grace-early never end the NFSv4 grace period early
//   --reconcile-interval SECONDS  record live NFSv4 clients every SECONDS
//                        (default: the lease time; 0: off)
//   --config FILE        nfs.conf to read (default /etc/nfs.conf, plus
//                        /usr/etc/nfs.conf and the .d directories)
//   --dump-config        print the effective configuration and exit
//
// nfs.conf settings (common/nfs_conf.h for the syntax):
//   [statd]   port, outgoing-port, name, state-directory-path, ha-callout,
//             no-notify (bool), debug (any value but 0: debug logging)
//   [lockd]   port, udp-port                      as -T, -U
//   [general] pipefs-directory                    the cld pipe is DIR/nfsd/cld
//   [nfsrecd] nfs4 (bool), end-grace-early (bool), reconcile-interval
//   -h, --help; -v, -V, --version
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "daemon/nfs_conf.h"
#include "nfs4rec/tracking_options.h"
#include "statd/nsm_options.h"
#include "common/base/result.h"

namespace nfsrec {

// Process-wide settings, owned by the composition root.
struct ProcessOptions {
  bool foreground = false;
  bool log_stderr = false;
  bool debug = false;
  std::string pidfile = "/run/rpc.statd.pid";
  std::string proc_root;  // prefix of every /proc path ("" is the real one)
  std::string config_file = NfsConf::kDefaultPath;
};

// One sub-struct per module; each module owns its options type.
struct DaemonConfig {
  ProcessOptions process;
  statd::NsmOptions nsm;
  bool nfs4 = true;  // serve NFSv4 client tracking
  nfs4rec::TrackingOptions tracking;

  std::string DbPath() const { return nsm.state_dir + "/nfsrecd.sqlite"; }
  // One "key = value" line per setting.
  std::string Dump() const;
};

struct CommandLine {
  enum class Action { kRun, kHelp, kVersion, kDumpConfig };
  Action action = Action::kRun;
  DaemonConfig config;
};

// The nfs.conf path that argv names with --config, or the default.
std::string ConfigFileFromArgs(const std::vector<std::string>& args);

// Applies `conf` (read from ConfigFileFromArgs), then argv.
// `env_no_notify` is the value of RPC_STATD_NO_NOTIFY (or empty).
// InvalidArgument carries a message fit for the user; a bad value in
// nfs.conf is an error too, because running on another port or directory
// than the admin configured would be worse than not starting.
Result<CommandLine> ParseCommandLine(const std::vector<std::string>& args,
                                     const std::string& env_no_notify, const NfsConf& conf);

std::string Usage(const std::string& program);

}  // namespace nfsrec
