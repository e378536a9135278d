// The daemon's configuration, from nfs.conf and then the command line
// (rpc.statd-compatible options plus nfsrecd's own; the command line wins,
// as with rpc.statd), immutable once parsed.  Short options bundle as
// getopt's do (-Fd, -FdL, -p662, -FdP/dir; daemon/options.h).  The nfsdcld
// name has a command line of its own: daemon/nfsdcld_config.h.
//
// Roles, by the program's name (argv[0]'s last component):
//   nfsrecd    NSM (rpc.statd and boot notification) and NFSv4 tracking
//   rpc.statd  NSM only; NFSv4 tracking only with [nfsrecd] nfs4 = y, so
//              that an rpc.statd started beside nfsdcld (Ganesha pods,
//              nfs-utils' units) never takes the cld pipe from it
//   nfsdcld    NFSv4 tracking only (daemon/nfsdcld_config.h)
//
// Options:                                   rpc.statd equivalent
//   -F, --foreground                         same
//   -d, --no-syslog      log to stderr, debug on (only with -F; else syslog)
//   -p, --port PORT      fixed NSM listener port (all transports)
//   -o, --outgoing-port PORT  source port for SM_NOTIFY
//   -P, --state-directory-path DIR   base dir; the database is DIR/nfsrecd/nfsrecd.sqlite
//   -n, --name NAME      boot notification as sm-notify -v NAME: NAME (an
//                        address is reverse-resolved) is SM_NOTIFY's
//                        mon_name and its address the packets' source
//   -N, --notify-mode    deprecated: warns, then runs the sm-notify command
//                        (-F as -d, -o as -p, -n as -v, -P, --config) and
//                        exits with its status
//   -L, --no-notify      no boot notification (also RPC_STATD_NO_NOTIFY>0)
//   -H, --ha-callout PROG
//   -T, --nlm-port, -U, --nlm-udp-port PORT   written to
//                        /proc/sys/fs/nfs/nlm_{tcp,udp}port at start-up
//                        (daemon/nlm_ports.h); -T alone sets both
//   --pidfile PATH       default /run/rpc.statd.pid, where mount.nfs looks
//   --proc-root DIR      prefix for every /proc path (tests)
//   --cld-pipe PATH      the nfsd/cld rpc_pipefs pipe
//   --no-nfs4            do not serve NFSv4 client tracking
//   --no-end-grace-early never end the NFSv4 grace period early
//   --reconcile-interval SECONDS  record live NFSv4 clients every SECONDS
//                        (default: the lease time; 0: off)
//   --no-mirror-sm       do not keep sm/, sm.bak/ and state current
//                        (statd/sm_mirror.h)
//   --control-socket PATH  the control socket (daemon/control_server.h);
//                        "none": no socket
//   --config FILE        nfs.conf to read (default /etc/nfs.conf, plus
//                        /usr/etc/nfs.conf and the .d directories)
//   --dump-config        print the effective configuration and exit
//   -h, -?, --help; -v, -V, --version
//
// nfs.conf settings (daemon/nfs_conf.h for the syntax).  Values are read as
// nfs-utils reads them (NfsConf::Read*): a bad yes/no value gives the
// default, a number is read as atoi() reads it, each with a warning that
// names FILE:LINE; an unknown key in these sections is warned about too.
// None of them stops the daemon.
//   [statd]     port, outgoing-port, name (as -n), state-directory-path,
//               ha-callout, no-notify (bool), debug (facility list: any
//               but 0 turns debug logging on)
//   [sm-notify] the daemon's own boot notification, as rpc.statd's
//               sm-notify would run it: retry-time (minutes, 0: forever),
//               lift-grace (bool), update-state (bool), force (bool:
//               notify at every start, not once per boot), outgoing-port
//               and outgoing-addr (as sm-notify -p and -v; [statd]
//               outgoing-port and name win, as rpc.statd passes them on)
//   [lockd]     port, udp-port                      as -T, -U
//   [general]   pipefs-directory                    the cld pipe is DIR/nfsd/cld
//   [nfsdcld]   debug (a number, >0: debug logging; the nfsrecd role)
//   [nfsdcld] storagedir, [nfsdcltrack] storagedir   where nfs-utils' NFSv4
//               records are taken over from at start (nfs4rec/nfs_utils_import.h)
//   [nfsrecd]   nfs4 (bool), end-grace-early (bool), reconcile-interval,
//               grace-upload-expired (bool, default n: GraceStart leaves out
//               clients whose lease had expired; docs/nfs4rec.md),
//               rpcbind-check-interval (seconds, 0: off; default 30),
//               mirror-sm (bool, default y: keep rpc.statd's files current)
//               control-socket (as --control-socket),
//               backend, etcd-*, cluster, instance, node, cluster-* (cluster
//               mode: daemon/cluster_config.h; a bad value stops the daemon)
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "common/store/database_location.h"
#include "daemon/cluster_config.h"
#include "daemon/nfs_conf.h"
#include "daemon/options.h"
#include "nfs4rec/tracking_options.h"
#include "statd/nsm_options.h"

namespace nfsrec {

// The one database of the daemon and the sm-notify command (nfsrec-cltrack
// names the same file: nfs4rec/cltrack.h): common/store/database_location.h.
inline std::string DatabasePath(const std::string& state_dir) {
  return DatabaseFile(DefaultDatabaseDir(state_dir));
}

// The cld pipe under an rpc_pipefs mount point ([general]
// pipefs-directory, nfsdcld -p): DIR/nfsd/cld.
inline std::string CldPipePath(std::string pipefs_dir) {
  while (pipefs_dir.size() > 1 && pipefs_dir.back() == '/') pipefs_dir.pop_back();
  return pipefs_dir + "/nfsd/cld";
}

// Process-wide settings, owned by the composition root.
struct ProcessOptions {
  bool foreground = false;
  bool log_stderr = false;
  bool debug = false;
  std::string pidfile = "/run/rpc.statd.pid";
  std::string proc_root;  // prefix of every /proc path ("" is the real one)
  std::string config_file = NfsConf::kDefaultPath;
};

// Which program this is, by argv[0] (see the top of this file).
enum class DaemonRole { kNfsrecd, kRpcStatd, kNfsdcld };

// The role's name for messages: "nfsrecd", "rpc.statd" or "nfsdcld".
const char* RoleName(DaemonRole role);

// One sub-struct per module; each module owns its options type.
struct DaemonConfig {
  DaemonRole role = DaemonRole::kNfsrecd;
  ProcessOptions process;
  // What this process serves: the role's defaults, then nfs.conf and the
  // command line (--no-nfs4, [nfsrecd] nfs4).
  bool serve_nsm = true;  // NSM (rpc.statd) and the boot notification
  statd::NsmOptions nsm;
  bool nfs4 = true;  // NFSv4 client tracking
  nfs4rec::TrackingOptions tracking;
  // Where the records live, and in cluster mode which instance this is
  // ([nfsrecd] backend and the cluster keys: daemon/cluster_config.h).
  ClusterOptions cluster;
  // [nfsrecd] rpcbind-check-interval: seconds between checks that rpcbind
  // still holds our entries (re-registered if not); 0: never.
  int64_t rpcbind_check_interval = 30;

  // The database's directory; "" is DefaultDatabaseDir(nsm.state_dir).
  std::string database_dir;

  std::string DatabaseDir() const {
    return database_dir.empty() ? DefaultDatabaseDir(nsm.state_dir) : database_dir;
  }
  std::string DbPath() const { return DatabaseFile(DatabaseDir()); }

  // [nfsrecd] control-socket, --control-socket: "" is the default,
  // DatabaseDir()/control; "none" turns the socket off.
  std::string control_socket;
  // The control socket's path; "" when turned off.  The nfsdcld role has
  // its own default, so that it and an rpc.statd role (Debian's two units
  // pointed at nfsrecd) both have one.
  std::string ControlSocketPath() const {
    if (control_socket == "none") return "";
    if (!control_socket.empty()) return control_socket;
    return DatabaseDir() + (role == DaemonRole::kNfsdcld ? "/control-nfsdcld" : "/control");
  }
  // One "key = value" line per setting.
  std::string Dump() const;
};

struct CommandLine {
  // kNotifyOnly: rpc.statd -N, run NotifyOnlyArgs() as the sm-notify command.
  enum class Action { kRun, kHelp, kVersion, kDumpConfig, kNotifyOnly };
  Action action = Action::kRun;
  DaemonConfig config;
  NfsConf conf;  // what was read, for its file list and warnings
};

// Reads the nfs.conf at `path` (with its companions): NfsConf::Load in
// main, NfsConf::FromText in tests.
using NfsConfLoader = std::function<NfsConf(const std::string& path)>;

// The first steps of every command that reads nfs.conf: argv scanned
// against `specs` (operands are a usage error), then the nfs.conf that the
// last option `config_id` (--config) names, or `config_file` as given,
// loaded.  `config_file` is left naming the file that was read.
struct ScannedConf {
  std::vector<options::Option> options;  // in command-line order
  NfsConf conf;
};
// Operands are an error unless `ignored_operands` is given: then they are
// put there (rpc.statd ignores its operands, and so does its role here).
options::ParseResult<ScannedConf> ScanAndLoadConf(
    std::span<const options::OptionSpec> specs, const std::vector<std::string>& args, int config_id,
    std::string& config_file, const NfsConfLoader& load_conf,
    std::vector<std::string>* ignored_operands = nullptr);

// Scans argv (options::Scan), loads the nfs.conf that --config names (or
// the default), applies it, then RPC_STATD_NO_NOTIFY (`env_no_notify`, or
// empty), then the options in command-line order.  A bad value in nfs.conf
// is an error too (kBadNfsConf): running on another port or directory than
// the admin configured would be worse than not starting.
// `role` is kNfsrecd or kRpcStatd (nfsdcld: ParseNfsdcldCommandLine).
options::ParseResult<CommandLine> ParseCommandLine(const std::vector<std::string>& args,
                                                   const std::string& env_no_notify,
                                                   const NfsConfLoader& load_conf,
                                                   DaemonRole role = DaemonRole::kNfsrecd);

// rpc.statd -N: the sm-notify command line that rpc.statd would exec
// (args[0] "sm-notify"): -d for -F, -p for the outgoing port, -v for the
// name, and ours, -P for a state directory other than the default and
// --config for the nfs.conf that was read.
std::vector<std::string> NotifyOnlyArgs(const DaemonConfig& config);
// What rpc.statd prints for -N, without the newline.
std::string NotifyOnlyWarning(const std::string& program);

// The settings of [sm-notify] that every boot notification honours (the
// sm-notify command's and the daemon's own): retry-time, lift-grace,
// update-state, force (force_notify), outgoing-port, outgoing-addr (into
// my_name, resolved later by daemon/notify_source.h).  Bad values are
// warned about in `conf`.
void ApplySmNotifyConf(NfsConf& conf, statd::NsmOptions& nsm);

// The answers to a bad command line.  As rpc.statd (Debian's 2.6.2, whose
// getopt error lands on the help case): a usage error (unknown option,
// missing value) exits 0 after the usage text, a bad port number 1 after
// it, contradicting options -1 (255).  The nfsrecd name answers a usage
// error with 255, so that a mistyped unit fails.  A bad nfs.conf: 1 alone.
options::ErrorReply DaemonErrorReply(options::ErrorKind kind,
                                     DaemonRole role = DaemonRole::kNfsrecd);

std::string Usage(const std::string& program);

}  // namespace nfsrec
