#include "daemon/daemon_config.h"

#include <cstdlib>
#include <optional>
#include <sstream>

namespace nfsrec {
namespace {

using options::ErrorKind;
using options::Option;
using options::OptionError;
using options::ParseResult;

// Ids of the long-only options.
enum : int {
  kPidfile = options::kFirstLongOnlyId,
  kProcRoot,
  kCldPipe,
  kNoNfs4,
  kNoEndGraceEarly,
  kReconcileInterval,
  kConfig,
  kDumpConfig,
};

constexpr options::OptionSpec kOptions[] = {
    {'F', 'F', "foreground", false},
    {'d', 'd', "no-syslog", false},
    {'p', 'p', "port", true},
    {'o', 'o', "outgoing-port", true},
    {'P', 'P', "state-directory-path", true},
    {'n', 'n', "name", true},
    {'L', 'L', "no-notify", false},
    {'H', 'H', "ha-callout", true},
    {'T', 'T', "nlm-port", true},
    {'U', 'U', "nlm-udp-port", true},
    {'h', 'h', "help", false},
    {'h', '?', nullptr, false},
    {'v', 'v', "version", false},
    {'v', 'V', nullptr, false},
    {kPidfile, 0, "pidfile", true},
    {kProcRoot, 0, "proc-root", true},
    {kCldPipe, 0, "cld-pipe", true},
    {kNoNfs4, 0, "no-nfs4", false},
    {kNoEndGraceEarly, 0, "no-end-grace-early", false},
    {kReconcileInterval, 0, "reconcile-interval", true},
    {kConfig, 0, "config", true},
    {kDumpConfig, 0, "dump-config", false},
};

template <typename T, typename V>
Status Take(const Result<std::optional<V>>& setting, T& target) {
  NFSREC_ASSIGN_OR_RETURN(std::optional<V> v, setting);
  if (v) target = *v;
  return Status::Ok();
}

// Settings from nfs.conf, onto the defaults (docs in the header).
Status ApplyNfsConf(const NfsConf& conf, DaemonConfig& c) {
  NFSREC_RETURN_IF_ERROR(Take(conf.GetPort("statd", "port"), c.nsm.port));
  NFSREC_RETURN_IF_ERROR(Take(conf.GetPort("statd", "outgoing-port"), c.nsm.outgoing_port));
  NFSREC_RETURN_IF_ERROR(Take(conf.GetBool("statd", "no-notify"), c.nsm.no_notify));
  NFSREC_RETURN_IF_ERROR(Take(conf.GetPort("lockd", "port"), c.nsm.nlm_tcp_port));
  NFSREC_RETURN_IF_ERROR(Take(conf.GetPort("lockd", "udp-port"), c.nsm.nlm_udp_port));
  NFSREC_RETURN_IF_ERROR(Take(conf.GetBool("nfsrecd", "nfs4"), c.nfs4));
  NFSREC_RETURN_IF_ERROR(
      Take(conf.GetBool("nfsrecd", "end-grace-early"), c.tracking.end_grace_early));
  NFSREC_RETURN_IF_ERROR(Take(conf.GetCount("nfsrecd", "reconcile-interval", 999999999),
                              c.tracking.reconcile_interval));
  NFSREC_RETURN_IF_ERROR(
      Take(conf.GetCount("nfsrecd", "rpcbind-check-interval", 86400), c.rpcbind_check_interval));
  if (auto v = conf.Get("statd", "name")) c.nsm.my_name = *v;
  if (auto v = conf.Get("statd", "state-directory-path")) c.nsm.state_dir = *v;
  if (auto v = conf.Get("statd", "ha-callout")) c.nsm.ha_callout = *v;
  if (auto v = conf.Get("statd", "debug"); v && *v != "0") c.process.debug = true;
  if (auto v = conf.Get("general", "pipefs-directory")) {
    std::string dir = *v;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    c.tracking.pipe_path = dir + "/nfsd/cld";
  }
  return Status::Ok();
}

// The command line with one more option applied.
ParseResult<CommandLine> Apply(const Option& o, CommandLine cl) {
  DaemonConfig& c = cl.config;
  switch (o.id) {
    case 'F':
      c.process.foreground = true;
      break;
    case 'd':
      c.process.log_stderr = true;
      c.process.debug = true;
      break;
    case 'p': {
      NFSREC_ASSIGN_OR_RETURN(c.nsm.port, options::PortValue(o));
      break;
    }
    case 'o': {
      NFSREC_ASSIGN_OR_RETURN(c.nsm.outgoing_port, options::PortValue(o));
      break;
    }
    case 'P': {
      NFSREC_ASSIGN_OR_RETURN(c.nsm.state_dir, options::PathValue(o));
      break;
    }
    case 'n':
      c.nsm.my_name = o.value;
      break;
    case 'L':
      c.nsm.no_notify = true;
      break;
    case 'H':
      c.nsm.ha_callout = o.value;
      break;
    case 'T': {
      NFSREC_ASSIGN_OR_RETURN(c.nsm.nlm_tcp_port, options::PortValue(o));
      break;
    }
    case 'U': {
      NFSREC_ASSIGN_OR_RETURN(c.nsm.nlm_udp_port, options::PortValue(o));
      break;
    }
    case 'h':
      cl.action = CommandLine::Action::kHelp;
      break;
    case 'v':
      cl.action = CommandLine::Action::kVersion;
      break;
    case kPidfile:
      c.process.pidfile = o.value;
      break;
    case kProcRoot:
      c.process.proc_root = o.value;
      break;
    case kCldPipe:
      c.tracking.pipe_path = o.value;
      break;
    case kNoNfs4:
      c.nfs4 = false;
      break;
    case kNoEndGraceEarly:
      c.tracking.end_grace_early = false;
      break;
    case kReconcileInterval: {
      NFSREC_ASSIGN_OR_RETURN(c.tracking.reconcile_interval, options::CountValue(o, 999999999));
      break;
    }
    case kConfig:
      break;  // read before nfs.conf
    case kDumpConfig:
      cl.action = CommandLine::Action::kDumpConfig;
      break;
  }
  return cl;
}

}  // namespace

std::string Usage(const std::string& program) {
  return "Usage: " + program +
         " [-FdL] [-p port] [-o port] [-P state-dir] [-n name] [-H prog]\n"
         "       [-T nlm-tcp-port] [-U nlm-udp-port] [--pidfile path] [--proc-root dir]\n"
         "       [--cld-pipe path] [--no-nfs4] [--no-end-grace-early] [--dump-config]\n"
         "       [--reconcile-interval seconds] [--config nfs.conf]\n"
         "       [-h] [-v]\n";
}

options::ErrorReply DaemonErrorReply(options::ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kUsage:
    case ErrorKind::kBadValue:
      return {255, true};
    case ErrorKind::kBadPort:
      return {1, true};
    case ErrorKind::kBadNfsConf:
      return {1, false};
  }
  return {255, true};
}

ParseResult<ScannedConf> ScanAndLoadConf(std::span<const options::OptionSpec> specs,
                                         const std::vector<std::string>& args, int config_id,
                                         std::string& config_file, const NfsConfLoader& load_conf) {
  NFSREC_ASSIGN_OR_RETURN(options::Scanned scanned, options::Scan(specs, args));
  if (!scanned.operands.empty()) {
    return OptionError{ErrorKind::kUsage, "unexpected argument: " + scanned.operands.front()};
  }
  for (const Option& o : scanned.options) {
    if (o.id == config_id) {
      NFSREC_ASSIGN_OR_RETURN(config_file, options::PathValue(o));
    }
  }
  return ScannedConf{std::move(scanned.options), load_conf(config_file)};
}

// The daemon's steps after ScanAndLoadConf: nfs.conf, the environment, the
// options in order, then the checks across options.
ParseResult<CommandLine> ParseCommandLine(const std::vector<std::string>& args,
                                          const std::string& env_no_notify,
                                          const NfsConfLoader& load_conf) {
  CommandLine cl;
  DaemonConfig& c = cl.config;
  NFSREC_ASSIGN_OR_RETURN(ScannedConf scanned, ScanAndLoadConf(kOptions, args, kConfig,
                                                               c.process.config_file, load_conf));
  cl.conf = std::move(scanned.conf);
  if (Status s = ApplyNfsConf(cl.conf, c); !s.ok()) {
    return OptionError{ErrorKind::kBadNfsConf, s.message()};
  }
  if (!env_no_notify.empty() && std::atoi(env_no_notify.c_str()) > 0) c.nsm.no_notify = true;
  for (const Option& o : scanned.options) {
    NFSREC_ASSIGN_OR_RETURN(cl, Apply(o, std::move(cl)));
  }
  if (c.nsm.port != 0 && c.nsm.port == c.nsm.outgoing_port) {
    return OptionError{ErrorKind::kBadValue, "listening port and outgoing port cannot be the same"};
  }
  // With -T alone, lockd uses the same port for UDP (as rpc.statd does).
  if (c.nsm.nlm_tcp_port != 0 && c.nsm.nlm_udp_port == 0) c.nsm.nlm_udp_port = c.nsm.nlm_tcp_port;
  return cl;
}

std::string DaemonConfig::Dump() const {
  std::ostringstream os;
  os << "foreground = " << process.foreground << "\n"
     << "log_stderr = " << process.log_stderr << "\n"
     << "debug = " << process.debug << "\n"
     << "port = " << nsm.port << "\n"
     << "outgoing_port = " << nsm.outgoing_port << "\n"
     << "state_directory_path = " << nsm.state_dir << "\n"
     << "database = " << DbPath() << "\n"
     << "name = " << nsm.my_name << "\n"
     << "no_notify = " << nsm.no_notify << "\n"
     << "ha_callout = " << nsm.ha_callout << "\n"
     << "nlm_tcp_port = " << nsm.nlm_tcp_port << "\n"
     << "nlm_udp_port = " << nsm.nlm_udp_port << "\n"
     << "pidfile = " << process.pidfile << "\n"
     << "proc_root = " << process.proc_root << "\n"
     << "cld_pipe = " << tracking.pipe_path << "\n"
     << "nfs4 = " << nfs4 << "\n"
     << "end_grace_early = " << tracking.end_grace_early << "\n"
     << "reconcile_interval = " << tracking.reconcile_interval << "\n"
     << "rpcbind_check_interval = " << rpcbind_check_interval << "\n"
     << "config_file = " << process.config_file << "\n";
  return os.str();
}

}  // namespace nfsrec
