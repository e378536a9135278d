// The sm-notify-compatible command (nfsrecd --sm-notify, or this binary
// invoked as "sm-notify" / "nfsrec-notify").  It shares the database and
// the notify engine with the daemon.
//
// Options, as sm-notify(8):
//   -d         stay in the foreground, log to stderr, debug
//   -f         run even if this boot was already notified (guard file)
//   -m MIN     retry window in minutes (default 15; 0 = retry forever)
//   -n         do not bump the NSM state number
//   -p PORT    source port for SM_NOTIFY (default: a reserved port)
//   -v NAME    announce NAME (an address or a name) instead of each
//              record's my_name
//   -P DIR     state directory (database DIR/nfsrecd.sqlite)
//   --daemon-pidfile PATH  nfsrecd's pid file (default /run/rpc.statd.pid):
//              a running daemon is told (SIGUSR1) to reload its lists
//   --proc-root DIR, --guard-file PATH   (tests)
// Exit status: 0 when every peer answered (or there was nobody), 1 when a
// peer was given up or on error.  The run-once guard is /run/sm-notify.pid,
// created O_EXCL and kept until reboot, honoured only with the default
// state directory, as sm-notify does.
#pragma once

#include <string>
#include <vector>

namespace nfsrec::statd {

int NotifyMain(const std::vector<std::string>& args);

}  // namespace nfsrec::statd
