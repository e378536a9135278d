#include "daemon/notify_config.h"

#include <chrono>
#include <optional>

namespace nfsrec {
namespace {

using options::ErrorKind;
using options::Option;
using options::OptionError;
using options::ParseResult;

enum : int {
  kProcRoot = options::kFirstLongOnlyId,
  kGuardFile,
  kDaemonPidfile,
  kConfig,
};

constexpr options::OptionSpec kOptions[] = {
    {'d', 'd', nullptr, false},          {'f', 'f', nullptr, false},
    {'n', 'n', nullptr, false},          {'m', 'm', nullptr, true},
    {'p', 'p', nullptr, true},           {'v', 'v', nullptr, true},
    {'P', 'P', nullptr, true},           {kProcRoot, 0, "proc-root", true},
    {kGuardFile, 0, "guard-file", true}, {kDaemonPidfile, 0, "daemon-pidfile", true},
    {kConfig, 0, "config", true},
};

// The longest -m: about two years.
constexpr int64_t kMaxMinutes = 1000000;

void ApplyNfsConf(NfsConf& conf, NotifyCommandConfig& c) {
  WarnUnknownKeys(conf, {"sm-notify", "statd"});
  ApplySmNotifyConf(conf, c.nsm);
  c.force = c.nsm.force_notify;
  c.log_debug = ReadDebugList(conf, "sm-notify");
  if (auto v = conf.Get("statd", "state-directory-path")) c.nsm.state_dir = *v;
}

// The configuration with one more option applied.
ParseResult<NotifyCommandConfig> Apply(const Option& o, NotifyCommandConfig c) {
  switch (o.id) {
    case 'd':
      c.debug = true;
      break;
    case 'f':
      c.force = true;
      break;
    case 'n':
      c.nsm.update_state = false;
      break;
    case 'm': {
      NFSREC_ASSIGN_OR_RETURN(int64_t minutes, options::CountValue(o, kMaxMinutes));
      c.nsm.notify_window = std::chrono::minutes(minutes);
      break;
    }
    case 'p': {
      NFSREC_ASSIGN_OR_RETURN(c.nsm.outgoing_port, options::PortValue(o));
      break;
    }
    case 'v':
      c.nsm.my_name = o.value;
      break;
    case 'P': {
      NFSREC_ASSIGN_OR_RETURN(c.nsm.state_dir, options::PathValue(o));
      break;
    }
    case kProcRoot:
      c.proc_root = o.value;
      break;
    case kGuardFile:
      c.guard_file = o.value;
      break;
    case kDaemonPidfile:
      c.daemon_pidfile = o.value;
      break;
    case kConfig:
      break;  // read before nfs.conf
  }
  return c;
}

}  // namespace

ParseResult<NotifyCommandLine> ParseNotifyCommandLine(const std::vector<std::string>& args,
                                                      const NfsConfLoader& load_conf) {
  NotifyCommandLine cl;
  NFSREC_ASSIGN_OR_RETURN(ScannedConf scanned, ScanAndLoadConf(kOptions, args, kConfig,
                                                               cl.config.config_file, load_conf));
  cl.conf = std::move(scanned.conf);
  ApplyNfsConf(cl.conf, cl.config);
  for (const Option& o : scanned.options) {
    NFSREC_ASSIGN_OR_RETURN(cl.config, Apply(o, std::move(cl.config)));
  }
  return cl;
}

options::ErrorReply NotifyErrorReply(options::ErrorKind kind) {
  return {1, kind != ErrorKind::kBadNfsConf};
}

std::string NotifyUsage(const std::string& program) {
  return "Usage: " + program +
         " -notify [-dfn] [-m max-retry-minutes] [-p srcport] "
         "[-P /path/to/state/directory] [-v my_host_name]\n";
}

}  // namespace nfsrec
