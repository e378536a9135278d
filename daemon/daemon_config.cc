#include "daemon/daemon_config.h"

#include <cstdlib>
#include <optional>
#include <sstream>

namespace nfsrec {
namespace {

Result<uint16_t> ParsePort(const std::string& opt, const std::string& v) {
  if (v.empty() || v.size() > 5 || v.find_first_not_of("0123456789") != std::string::npos) {
    return Status::InvalidArgument("bad port number for " + opt + ": " + v);
  }
  long n = std::strtol(v.c_str(), nullptr, 10);
  if (n < 1 || n > 65535) return Status::InvalidArgument("bad port number for " + opt + ": " + v);
  return static_cast<uint16_t>(n);
}

template <typename T, typename V>
Status Take(Result<std::optional<V>> setting, T& target) {
  if (!setting.ok()) return setting.status();
  if (*setting) target = **setting;
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
  NFSREC_RETURN_IF_ERROR(Take(conf.GetBool("nfsrecd", "end-grace-early"), c.tracking.end_grace_early));
  NFSREC_RETURN_IF_ERROR(
      Take(conf.GetCount("nfsrecd", "reconcile-interval", 999999999), c.tracking.reconcile_interval));
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

}  // namespace

std::string ConfigFileFromArgs(const std::vector<std::string>& args) {
  std::string path = NfsConf::kDefaultPath;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--config" && i + 1 < args.size()) {
      path = args[++i];
    } else if (args[i].rfind("--config=", 0) == 0) {
      path = args[i].substr(9);
    }
  }
  return path;
}

std::string Usage(const std::string& program) {
  return "Usage: " + program +
         " [-F] [-d] [-L] [-p port] [-o port] [-P state-dir] [-n name] [-H prog]\n"
         "       [-T nlm-tcp-port] [-U nlm-udp-port] [--pidfile path] [--proc-root dir]\n"
         "       [--cld-pipe path] [--no-nfs4] [--no-end-grace-early] [--dump-config]\n"
         "       [--reconcile-interval seconds] [--config nfs.conf]\n"
         "       [-h] [-v]\n";
}

Result<CommandLine> ParseCommandLine(const std::vector<std::string>& args,
                                     const std::string& env_no_notify, const NfsConf& conf) {
  CommandLine cl;
  DaemonConfig& c = cl.config;
  c.process.config_file = ConfigFileFromArgs(args);
  if (Status s = ApplyNfsConf(conf, c); !s.ok()) return s;
  if (!env_no_notify.empty() && std::atoi(env_no_notify.c_str()) > 0) c.nsm.no_notify = true;

  // Short options that take a value, and their long names.
  struct Opt {
    const char* lng;
    char shrt;
    bool has_value;
  };
  static constexpr Opt kOpts[] = {
      {"foreground", 'F', false},  {"no-syslog", 'd', false},
      {"port", 'p', true},         {"outgoing-port", 'o', true},
      {"state-directory-path", 'P', true}, {"name", 'n', true},
      {"no-notify", 'L', false},   {"ha-callout", 'H', true},
      {"nlm-port", 'T', true},     {"nlm-udp-port", 'U', true},
      {"help", 'h', false},        {"version", 'v', false},
      {"pidfile", 0, true},        {"proc-root", 0, true},
      {"cld-pipe", 0, true},       {"no-nfs4", 0, false},
      {"no-end-grace-early", 0, false}, {"dump-config", 0, false},
      {"reconcile-interval", 0, true}, {"config", 0, true},
  };

  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    const Opt* opt = nullptr;
    std::string value;
    bool have_value = false;
    if (a.rfind("--", 0) == 0 && a.size() > 2) {
      std::string name = a.substr(2);
      auto eq = name.find('=');
      if (eq != std::string::npos) {
        value = name.substr(eq + 1);
        name.resize(eq);
        have_value = true;
      }
      for (const Opt& o : kOpts) {
        if (name == o.lng) opt = &o;
      }
      if (opt == nullptr) return Status::InvalidArgument("unknown option: " + a);
    } else if (a.size() >= 2 && a[0] == '-' && a[1] != '-') {
      char ch = a[1];
      if (ch == '?' || ch == 'V') ch = ch == 'V' ? 'v' : 'h';
      for (const Opt& o : kOpts) {
        if (o.shrt == ch) opt = &o;
      }
      if (opt == nullptr) return Status::InvalidArgument("unknown option: " + a);
      if (a.size() > 2) {
        if (!opt->has_value) return Status::InvalidArgument("unexpected value in " + a);
        value = a.substr(2);
        have_value = true;
      }
    } else {
      return Status::InvalidArgument("unexpected argument: " + a);
    }
    if (opt->has_value && !have_value) {
      if (i + 1 >= args.size()) return Status::InvalidArgument("missing value for " + a);
      value = args[++i];
    } else if (!opt->has_value && have_value) {
      return Status::InvalidArgument("unexpected value in " + a);
    }

    std::string lng = opt->lng;
    if (lng == "foreground") {
      c.process.foreground = true;
    } else if (lng == "no-syslog") {
      c.process.log_stderr = true;
      c.process.debug = true;
    } else if (lng == "port") {
      Result<uint16_t> p = ParsePort(a, value);
      if (!p.ok()) return p.status();
      c.nsm.port = p.value();
    } else if (lng == "outgoing-port") {
      Result<uint16_t> p = ParsePort(a, value);
      if (!p.ok()) return p.status();
      c.nsm.outgoing_port = p.value();
    } else if (lng == "state-directory-path") {
      if (value.empty()) return Status::InvalidArgument("empty state directory path");
      c.nsm.state_dir = value;
    } else if (lng == "name") {
      c.nsm.my_name = value;
    } else if (lng == "no-notify") {
      c.nsm.no_notify = true;
    } else if (lng == "ha-callout") {
      c.nsm.ha_callout = value;
    } else if (lng == "nlm-port") {
      Result<uint16_t> p = ParsePort(a, value);
      if (!p.ok()) return p.status();
      c.nsm.nlm_tcp_port = p.value();
    } else if (lng == "nlm-udp-port") {
      Result<uint16_t> p = ParsePort(a, value);
      if (!p.ok()) return p.status();
      c.nsm.nlm_udp_port = p.value();
    } else if (lng == "help") {
      cl.action = CommandLine::Action::kHelp;
    } else if (lng == "version") {
      cl.action = CommandLine::Action::kVersion;
    } else if (lng == "pidfile") {
      c.process.pidfile = value;
    } else if (lng == "proc-root") {
      c.process.proc_root = value;
    } else if (lng == "cld-pipe") {
      c.tracking.pipe_path = value;
    } else if (lng == "no-nfs4") {
      c.nfs4 = false;
    } else if (lng == "no-end-grace-early") {
      c.tracking.end_grace_early = false;
    } else if (lng == "reconcile-interval") {
      if (value.empty() || value.size() > 9 ||
          value.find_first_not_of("0123456789") != std::string::npos) {
        return Status::InvalidArgument("bad number of seconds for " + a + ": " + value);
      }
      c.tracking.reconcile_interval = std::strtol(value.c_str(), nullptr, 10);
    } else if (lng == "config") {
      if (value.empty()) return Status::InvalidArgument("empty path for --config");
    } else if (lng == "dump-config") {
      cl.action = CommandLine::Action::kDumpConfig;
    }
  }
  if (c.nsm.state_dir.empty()) return Status::InvalidArgument("empty state directory path");
  if (c.nsm.port != 0 && c.nsm.port == c.nsm.outgoing_port) {
    return Status::InvalidArgument("listening port and outgoing port cannot be the same");
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
     << "config_file = " << process.config_file << "\n";
  return os.str();
}

}  // namespace nfsrec
