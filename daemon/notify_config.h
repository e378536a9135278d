// The sm-notify command's configuration (nfsrecd --sm-notify, or the binary
// invoked as "sm-notify" / "nfsrec-notify"): nfs.conf, then the command
// line, parsed by daemon/options.h, so short options bundle (-dfn, -dfm5).
//
// Options, as sm-notify(8):
//   -d         stay in the foreground, log to stderr, debug
//   -f         run even if this boot was already notified (guard file)
//   -m MIN     retry window in minutes (default 15; 0 = retry forever)
//   -n         do not bump the NSM state number
//   -p PORT    source port for SM_NOTIFY (default: a reserved port)
//   -v ADDR|NAME  as sm-notify: SM_NOTIFY leaves from this address (a
//              name's first address) and announces this name (an address's
//              reverse name; no reverse name: exit 1) instead of each
//              record's my_name (daemon/notify_source.h)
//   -P DIR     state directory (database DIR/nfsrecd/nfsrecd.sqlite)
//   --daemon-pidfile PATH  nfsrecd's pid file (default /run/rpc.statd.pid):
//              a running daemon is told (SIGUSR1) to reload its lists
//   --config FILE          nfs.conf to read (default /etc/nfs.conf)
//   --proc-root DIR, --guard-file PATH   (tests)
// There is no help option: -h, like any other mistake, prints the usage
// text and exits with 1, as sm-notify does.
//
// nfs.conf, as sm-notify reads it (bad values and unknown keys warned
// about, never fatal): [sm-notify] force, retry-time (minutes),
// update-state, outgoing-port, outgoing-addr (as -v), lift-grace, debug (a
// facility list: debug logging, still in the background and to syslog),
// and [statd] state-directory-path.
#pragma once

#include <string>
#include <vector>

#include "daemon/daemon_config.h"
#include "daemon/nfs_conf.h"
#include "daemon/options.h"
#include "statd/nsm_options.h"

namespace nfsrec {

struct NotifyCommandConfig {
  bool debug = false;      // -d: foreground, stderr, debug logging
  bool log_debug = false;  // [sm-notify] debug: debug logging only
  bool force = false;      // -f
  // Created O_EXCL and kept until reboot; honoured only with the default
  // state directory, as sm-notify does.
  std::string guard_file = "/run/sm-notify.pid";
  std::string daemon_pidfile = "/run/rpc.statd.pid";
  std::string proc_root;  // prefix of every /proc path ("" is the real one)
  std::string config_file = NfsConf::kDefaultPath;
  // state_dir (-P), my_name (-v), outgoing_port (-p), notify_window (-m),
  // update_state (-n), lift_grace; the daemon's other fields are unused.
  statd::NsmOptions nsm;
};

struct NotifyCommandLine {
  NotifyCommandConfig config;
  NfsConf conf;  // what was read, for its warnings
};

// Scans argv, loads the nfs.conf that --config names (or the default),
// applies it, then the options in command-line order.
options::ParseResult<NotifyCommandLine> ParseNotifyCommandLine(const std::vector<std::string>& args,
                                                               const NfsConfLoader& load_conf);

// sm-notify's answers: every error exits with 1; all but a bad nfs.conf
// print the usage text.
options::ErrorReply NotifyErrorReply(options::ErrorKind kind);

std::string NotifyUsage(const std::string& program);

}  // namespace nfsrec
