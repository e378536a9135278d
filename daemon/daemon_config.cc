#include "daemon/daemon_config.h"

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <sstream>

#include "nfs4rec/tracking_service.h"

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
  kNoMirrorSm,
  kControlSocket,
};

// The longest retry window (-m, retry-time): about two years.
constexpr int64_t kMaxNotifyMinutes = 1000000;

constexpr options::OptionSpec kOptions[] = {
    {'F', 'F', "foreground", false},
    {'d', 'd', "no-syslog", false},
    {'p', 'p', "port", true},
    {'o', 'o', "outgoing-port", true},
    {'P', 'P', "state-directory-path", true},
    {'n', 'n', "name", true},
    {'L', 'L', "no-notify", false},
    {'N', 'N', "notify-mode", false},
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
    {kNoMirrorSm, 0, "no-mirror-sm", false},
    {kControlSocket, 0, "control-socket", true},
};

// Settings from nfs.conf, onto the role's defaults (docs in the header).
void ApplyNfsConf(NfsConf& conf, DaemonConfig& c) {
  WarnUnknownKeys(conf, {"general", "statd", "sm-notify", "lockd", "nfsdcld", "nfsrecd"});
  // [sm-notify] first: rpc.statd hands its own outgoing port and name to
  // sm-notify on the command line, which wins over sm-notify's settings.
  ApplySmNotifyConf(conf, c.nsm);
  if (auto v = conf.ReadPort("statd", "port")) c.nsm.port = *v;
  if (auto v = conf.ReadPort("statd", "outgoing-port")) c.nsm.outgoing_port = *v;
  if (auto v = conf.ReadBool("statd", "no-notify")) c.nsm.no_notify = *v;
  if (auto v = conf.ReadPort("lockd", "port")) c.nsm.nlm_tcp_port = *v;
  if (auto v = conf.ReadPort("lockd", "udp-port")) c.nsm.nlm_udp_port = *v;
  if (auto v = conf.ReadBool("nfsrecd", "nfs4")) c.nfs4 = *v;
  if (auto v = conf.ReadBool("nfsrecd", "end-grace-early")) c.tracking.end_grace_early = *v;
  if (auto v = conf.ReadBool("nfsrecd", "grace-upload-expired")) {
    c.tracking.grace_upload_expired = *v;
  }
  if (auto v = conf.ReadNumber("nfsrecd", "reconcile-interval", 0, 999999999)) {
    c.tracking.reconcile_interval = *v;
  }
  if (auto v = conf.ReadNumber("nfsrecd", "rpcbind-check-interval", 0, 86400)) {
    c.rpcbind_check_interval = *v;
  }
  if (auto v = conf.ReadBool("nfsrecd", "mirror-sm")) c.nsm.mirror_sm = *v;
  if (auto v = conf.Get("nfsrecd", "control-socket")) c.control_socket = *v;
  if (auto v = conf.Get("statd", "name")) c.nsm.my_name = *v;
  if (auto v = conf.Get("statd", "state-directory-path")) c.nsm.state_dir = *v;
  if (auto v = conf.Get("statd", "ha-callout")) c.nsm.ha_callout = *v;
  if (ReadDebugList(conf, "statd")) c.process.debug = true;
  // The full daemon is nfsdcld too; nfsdcld reads its debug as a number.
  if (auto v = conf.ReadNumber("nfsdcld", "debug", INT32_MIN, INT32_MAX); v && *v > 0) {
    c.process.debug = true;
  }
  if (auto v = conf.Get("general", "pipefs-directory")) c.tracking.pipe_path = CldPipePath(*v);
  if (auto v = conf.Get("nfsdcld", "storagedir")) c.tracking.nfsdcld_storagedir = *v;
  if (auto v = conf.Get("nfsdcltrack", "storagedir")) c.tracking.nfsdcltrack_storagedir = *v;
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
    case 'N':
      cl.action = CommandLine::Action::kNotifyOnly;
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
    case kNoMirrorSm:
      c.nsm.mirror_sm = false;
      break;
    case kControlSocket: {
      NFSREC_ASSIGN_OR_RETURN(c.control_socket, options::PathValue(o));
      break;
    }
  }
  return cl;
}

}  // namespace

std::string Usage(const std::string& program) {
  return "Usage: " + program +
         " [-FdLN] [-p port] [-o port] [-P state-dir] [-n name] [-H prog]\n"
         "       [-T nlm-tcp-port] [-U nlm-udp-port] [--pidfile path] [--proc-root dir]\n"
         "       [--cld-pipe path] [--no-nfs4] [--no-end-grace-early] [--dump-config]\n"
         "       [--reconcile-interval seconds] [--no-mirror-sm] [--control-socket path|none]\n"
         "       [--config nfs.conf]\n"
         "       [-h] [-v]\n";
}

options::ErrorReply DaemonErrorReply(options::ErrorKind kind, DaemonRole role) {
  switch (kind) {
    case ErrorKind::kUsage:
      return {role == DaemonRole::kRpcStatd ? 0 : 255, true};
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
                                         std::string& config_file, const NfsConfLoader& load_conf,
                                         std::vector<std::string>* ignored_operands) {
  NFSREC_ASSIGN_OR_RETURN(options::Scanned scanned, options::Scan(specs, args));
  if (ignored_operands != nullptr) {
    *ignored_operands = scanned.operands;
  } else if (!scanned.operands.empty()) {
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
                                          const NfsConfLoader& load_conf, DaemonRole role) {
  CommandLine cl;
  DaemonConfig& c = cl.config;
  c.role = role;
  if (role == DaemonRole::kRpcStatd) c.nfs4 = false;
  std::vector<std::string> ignored;
  NFSREC_ASSIGN_OR_RETURN(ScannedConf scanned,
                          ScanAndLoadConf(kOptions, args, kConfig, c.process.config_file, load_conf,
                                          role == DaemonRole::kRpcStatd ? &ignored : nullptr));
  cl.conf = std::move(scanned.conf);
  for (const std::string& operand : ignored) {
    cl.conf.AddWarning("ignoring argument " + operand + ": rpc.statd takes none");
  }
  ApplyNfsConf(cl.conf, c);
  Result<ClusterOptions> cluster = ReadClusterConf(cl.conf, LocalHostName());
  if (!cluster.ok()) return OptionError{ErrorKind::kBadNfsConf, cluster.status().message()};
  c.cluster = std::move(cluster).value();
  if (!env_no_notify.empty() && std::atoi(env_no_notify.c_str()) > 0) c.nsm.no_notify = true;
  for (const Option& o : scanned.options) {
    NFSREC_ASSIGN_OR_RETURN(cl, Apply(o, std::move(cl)));
    // rpc.statd exits at -h or -v: what follows is never looked at.
    if (cl.action == CommandLine::Action::kHelp || cl.action == CommandLine::Action::kVersion) {
      return cl;
    }
  }
  if (c.nsm.port != 0 && c.nsm.port == c.nsm.outgoing_port) {
    return OptionError{ErrorKind::kBadValue, "listening port and outgoing port cannot be the same"};
  }
  // With -T alone, lockd uses the same port for UDP (as rpc.statd does).
  if (c.nsm.nlm_tcp_port != 0 && c.nsm.nlm_udp_port == 0) c.nsm.nlm_udp_port = c.nsm.nlm_tcp_port;
  if (c.cluster.on_etcd()) {
    // The instance's peers know it by its service address: notification
    // comes from there, named by its reverse name or else the address
    // itself (daemon/notify_source.h), unless -n or [statd] name says
    // otherwise.
    if (c.nsm.my_name.empty() && !c.cluster.addresses.empty()) {
      c.nsm.my_name = c.cluster.addresses.front();
    }
    // The kernel must leave the end of grace to the cluster.
    c.tracking.grace_hold_id = nfs4rec::ClusterGraceHoldId();
  }
  return cl;
}

void ApplySmNotifyConf(NfsConf& conf, statd::NsmOptions& nsm) {
  if (auto v = conf.ReadNumber("sm-notify", "retry-time", 0, kMaxNotifyMinutes)) {
    nsm.notify_window = std::chrono::minutes(*v);
  }
  if (auto v = conf.ReadBool("sm-notify", "lift-grace")) nsm.lift_grace = *v;
  if (auto v = conf.ReadBool("sm-notify", "update-state")) nsm.update_state = *v;
  if (auto v = conf.ReadBool("sm-notify", "force")) nsm.force_notify = *v;
  if (auto v = conf.ReadPort("sm-notify", "outgoing-port")) nsm.outgoing_port = *v;
  if (auto v = conf.Get("sm-notify", "outgoing-addr")) nsm.my_name = *v;
}

const char* RoleName(DaemonRole role) {
  switch (role) {
    case DaemonRole::kNfsrecd:
      return "nfsrecd";
    case DaemonRole::kRpcStatd:
      return "rpc.statd";
    case DaemonRole::kNfsdcld:
      return "nfsdcld";
  }
  return "nfsrecd";
}

std::vector<std::string> NotifyOnlyArgs(const DaemonConfig& config) {
  std::vector<std::string> args{"sm-notify"};
  if (config.process.foreground) args.push_back("-d");
  if (config.nsm.outgoing_port != 0) {
    args.push_back("-p" + std::to_string(config.nsm.outgoing_port));
  }
  if (!config.nsm.my_name.empty()) {
    args.push_back("-v");
    args.push_back(config.nsm.my_name);
  }
  if (config.nsm.state_dir != statd::kDefaultStateDir) {
    args.push_back("-P");
    args.push_back(config.nsm.state_dir);
  }
  if (!config.process.proc_root.empty()) args.push_back("--proc-root=" + config.process.proc_root);
  if (config.process.pidfile != ProcessOptions().pidfile) {
    args.push_back("--daemon-pidfile=" + config.process.pidfile);
  }
  args.push_back("--config=" + config.process.config_file);
  return args;
}

std::string NotifyOnlyWarning(const std::string& program) {
  return program + ": -N deprecated, consider using /usr/sbin/sm-notify directly";
}

std::string DaemonConfig::Dump() const {
  std::ostringstream os;
  os << "role = " << RoleName(role) << "\n"
     << "nsm = " << serve_nsm << "\n"
     << "foreground = " << process.foreground << "\n"
     << "log_stderr = " << process.log_stderr << "\n"
     << "debug = " << process.debug << "\n"
     << "port = " << nsm.port << "\n"
     << "outgoing_port = " << nsm.outgoing_port << "\n"
     << "state_directory_path = " << nsm.state_dir << "\n"
     << "database = " << DbPath() << "\n"
     << "name = " << nsm.my_name << "\n"
     << "notify_window_minutes = " << nsm.notify_window.count() << "\n"
     << "lift_grace = " << nsm.lift_grace << "\n"
     << "update_state = " << nsm.update_state << "\n"
     << "force_notify = " << nsm.force_notify << "\n"
     << "no_notify = " << nsm.no_notify << "\n"
     << "ha_callout = " << nsm.ha_callout << "\n"
     << "nlm_tcp_port = " << nsm.nlm_tcp_port << "\n"
     << "nlm_udp_port = " << nsm.nlm_udp_port << "\n"
     << "pidfile = " << process.pidfile << "\n"
     << "proc_root = " << process.proc_root << "\n"
     << "cld_pipe = " << tracking.pipe_path << "\n"
     << "nfs4 = " << nfs4 << "\n"
     << "end_grace_early = " << tracking.end_grace_early << "\n"
     << "grace_upload_expired = " << tracking.grace_upload_expired << "\n"
     << "reconcile_interval = " << tracking.reconcile_interval << "\n"
     << "rpcbind_check_interval = " << rpcbind_check_interval << "\n"
     << "mirror_sm = " << nsm.mirror_sm << "\n"
     << "control_socket = " << (ControlSocketPath().empty() ? "none" : ControlSocketPath()) << "\n"
     << "backend = " << cluster.Describe() << "\n"
     << "config_file = " << process.config_file << "\n";
  return os.str();
}

}  // namespace nfsrec
