#include "daemon/nfsdcld_config.h"

#include <climits>

namespace nfsrec {
namespace {

using options::Option;
using options::ParseResult;

enum : int {
  kConfig = options::kFirstLongOnlyId,
  kProcRoot,
};

constexpr options::OptionSpec kOptions[] = {
    {'h', 'h', "help", false},         {'F', 'F', "foreground", false},
    {'d', 'd', "debug", false},        {'p', 'p', "pipefsdir", true},
    {'s', 's', "storagedir", true},    {kConfig, 0, "config", true},
    {kProcRoot, 0, "proc-root", true},
};

}  // namespace

ParseResult<CommandLine> ParseNfsdcldCommandLine(const std::vector<std::string>& args,
                                                 const NfsConfLoader& load_conf) {
  CommandLine cl;
  DaemonConfig& c = cl.config;
  c.role = DaemonRole::kNfsdcld;
  c.serve_nsm = false;
  c.nfs4 = true;
  c.process.pidfile.clear();
  NFSREC_ASSIGN_OR_RETURN(ScannedConf scanned, ScanAndLoadConf(kOptions, args, kConfig,
                                                               c.process.config_file, load_conf));
  cl.conf = std::move(scanned.conf);
  NfsConf& conf = cl.conf;
  WarnUnknownKeys(conf, {"general", "nfsdcld", "statd"});
  if (auto v = conf.ReadNumber("nfsdcld", "debug", INT32_MIN, INT32_MAX); v && *v > 0) {
    c.process.debug = true;
  }
  if (auto v = conf.Get("nfsdcld", "storagedir")) c.database_dir = *v;
  if (auto v = conf.Get("nfsdcltrack", "storagedir")) c.tracking.nfsdcltrack_storagedir = *v;
  if (auto v = conf.Get("general", "pipefs-directory")) c.tracking.pipe_path = CldPipePath(*v);
  if (auto v = conf.Get("statd", "state-directory-path")) c.nsm.state_dir = *v;
  // One process serves an instance in cluster mode (it holds the instance's
  // lease); with nfsdcld beside an rpc.statd there would be two.
  if (conf.Get("nfsrecd", "backend").value_or("sqlite") != "sqlite") {
    return options::OptionError{
        options::ErrorKind::kBadNfsConf,
        "[nfsrecd] backend = etcd is served by nfsrecd alone (nfsrecd.service), "
        "not by the nfsdcld name"};
  }
  for (const Option& o : scanned.options) {
    switch (o.id) {
      case 'h':
        cl.action = CommandLine::Action::kHelp;
        return cl;
      case 'F':
        c.process.foreground = true;
        c.process.log_stderr = true;
        break;
      case 'd':
        c.process.debug = true;
        break;
      case 'p': {
        NFSREC_ASSIGN_OR_RETURN(std::string dir, options::PathValue(o));
        c.tracking.pipe_path = CldPipePath(dir);
        break;
      }
      case 's': {
        NFSREC_ASSIGN_OR_RETURN(c.database_dir, options::PathValue(o));
        break;
      }
      case kProcRoot:
        c.process.proc_root = o.value;
        break;
      case kConfig:
        break;  // read before nfs.conf
    }
  }
  // nfsdcld's own main.sqlite, if any, sits beside ours in its storagedir.
  if (!c.database_dir.empty()) c.tracking.nfsdcld_storagedir = c.database_dir;
  return cl;
}

options::ErrorReply NfsdcldErrorReply(options::ErrorKind) { return {0, true}; }

std::string NfsdcldUsage(const std::string& program) {
  return program + " [ -hFd ] [ -p pipefsdir ] [ -s storagedir ]\n";
}

}  // namespace nfsrec
