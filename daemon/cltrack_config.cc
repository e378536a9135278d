#include "daemon/cltrack_config.h"

#include "common/base/result.h"

namespace nfsrec {
namespace {

enum : int { kProcRoot = options::kFirstLongOnlyId };

constexpr options::OptionSpec kOptions[] = {
    {'h', 'h', "help", false},         {'d', 'd', "debug", false},
    {'f', 'f', "foreground", false},   {'s', 's', "storagedir", true},
    {kProcRoot, 0, "proc-root", true},
};

}  // namespace

options::ParseResult<CltrackCommandLine> ParseCltrackCommandLine(
    const std::vector<std::string>& args) {
  NFSREC_ASSIGN_OR_RETURN(options::Scanned scanned, options::Scan(kOptions, args));
  CltrackCommandLine cl;
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
    }
  }
  if (!scanned.operands.empty()) cl.request.command = scanned.operands[0];
  if (scanned.operands.size() > 1) cl.request.arg = scanned.operands[1];
  return cl;
}

options::ErrorReply CltrackErrorReply(options::ErrorKind) { return {0, true}; }

std::string CltrackUsage(const std::string& program) {
  return program + " [ -hfd ] [ -s dir ] <command> <args>\n";
}

}  // namespace nfsrec
