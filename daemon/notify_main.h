// The sm-notify-compatible command (nfsrecd --sm-notify, or this binary
// invoked as "sm-notify" / "nfsrec-notify").  It shares the database and
// the notify engine with the daemon.  Options and nfs.conf settings:
// daemon/notify_config.h.
//
// Exit status: 0 when every peer answered (or there was nobody), 1 when a
// peer was given up or on error (a usage error too, as sm-notify's).
#pragma once

#include <string>
#include <vector>

#include "daemon/nfs_conf.h"
#include "daemon/notify_config.h"

namespace nfsrec {

// Parses args (args[0] is the program's name) and runs the command.
int NotifyMain(const std::vector<std::string>& args);

// The run part, on a parsed configuration; `conf` is for its warnings.
int RunNotifyCommand(const NotifyCommandConfig& config, const NfsConf& conf);

}  // namespace nfsrec
