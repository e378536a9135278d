#include "daemon/cltrack_config.h"

#include "common/base/result.h"
#include "common/store/database_location.h"
#include "statd/nsm_options.h"

namespace nfsrec {
namespace {

enum : int { kProcRoot = options::kFirstLongOnlyId, kConfig };

constexpr options::OptionSpec kOptions[] = {
    {'h', 'h', "help", false},         {'d', 'd', "debug", false},
    {'f', 'f', "foreground", false},   {'s', 's', "storagedir", true},
    {kProcRoot, 0, "proc-root", true}, {kConfig, 0, "config", true},
};

}  // namespace

options::ParseResult<CltrackCommandLine> ParseCltrackCommandLine(
    const std::vector<std::string>& args, const NfsConfLoader& load_conf) {
  NFSREC_ASSIGN_OR_RETURN(options::Scanned scanned, options::Scan(kOptions, args));
  CltrackCommandLine cl;
  if (auto v = options::LastValue(scanned, kConfig)) {
    options::Option o{kConfig, "--config", *v};
    NFSREC_ASSIGN_OR_RETURN(cl.config_file, options::PathValue(o));
  }
  std::string state_dir = statd::kDefaultStateDir;
  if (load_conf) {
    cl.conf = load_conf(cl.config_file);
    WarnUnknownKeys(cl.conf, {"nfsdcltrack", "statd"});
    if (auto v = cl.conf.Get("statd", "state-directory-path")) state_dir = *v;
    cl.debug = ReadDebugList(cl.conf, "nfsdcltrack");
  }
  cl.request.storagedir = DefaultDatabaseDir(state_dir);
  if (auto v = cl.conf.Get("nfsdcltrack", "storagedir")) cl.request.storagedir = *v;
  for (const options::Option& o : scanned.options) {
    switch (o.id) {
      case 'h':
        cl.help = true;
        break;
      case 'd':
        cl.debug = true;
        break;
      case 'f':
        cl.foreground = true;
        break;
      case 's':
        cl.request.storagedir = o.value;
        break;
      case kProcRoot:
        cl.request.proc_root = o.value;
        break;
      case kConfig:
        break;  // read before nfs.conf
    }
  }
  if (!scanned.operands.empty()) cl.request.command = scanned.operands[0];
  if (scanned.operands.size() > 1) cl.request.arg = scanned.operands[1];
  return cl;
}

options::ErrorReply CltrackErrorReply(options::ErrorKind) { return {1, true}; }

std::string CltrackUsage(const std::string& program) {
  return "Usage: " + program +
         " [ -hfd ] [ -s dir ] <command> [arg]\n"
         "  commands: init | create ID | remove ID | check ID | gracedone TIME\n";
}

}  // namespace nfsrec
