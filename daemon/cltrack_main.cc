// nfsrec-cltrack, also installed as nfsdcltrack (the kernel's default
// cltrack_prog): see nfs4rec/cltrack.h, daemon/cltrack_config.h and
// man/nfsrec-cltrack.8.  Messages name the program as it was invoked.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/os/file_system.h"
#include "daemon/cltrack_config.h"
#include "nfs4rec/cltrack.h"

namespace {

std::optional<std::string> Env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace nfsrec;
  const std::vector<std::string> args(argv, argv + argc);
  std::string prog = args.empty() ? "nfsrec-cltrack" : args[0];
  if (auto slash = prog.rfind('/'); slash != std::string::npos) prog = prog.substr(slash + 1);
  options::ParseResult<CltrackCommandLine> cl =
      ParseCltrackCommandLine(args, [](const std::string& path) {
        RealFileSystem files;
        return NfsConf::Load(files, path, GetEnv);
      });
  if (!cl.ok()) {
    return options::ReportError(prog, cl.status(), CltrackErrorReply(cl.status().kind),
                                CltrackUsage(prog), stdout);
  }
  if (cl->help) {
    std::printf("%s", CltrackUsage(prog).c_str());
    return 1;
  }
  nfs4rec::CltrackRequest req = cl->request;
  req.has_session = Env("NFSDCLTRACK_CLIENT_HAS_SESSION");
  req.grace_start = Env("NFSDCLTRACK_GRACE_START");
  req.legacy_recdir = Env("NFSDCLTRACK_LEGACY_RECDIR");
  req.legacy_topdir = Env("NFSDCLTRACK_LEGACY_TOPDIR");
  // The ident must outlive the logger (openlog keeps the pointer).
  const char* ident = prog == "nfsdcltrack" ? "nfsdcltrack" : "nfsrec-cltrack";
  std::unique_ptr<Logger> log;
  if (cl->foreground) {
    log = std::make_unique<StderrLogger>(ident, cl->debug);
  } else {
    log = std::make_unique<SyslogLogger>(ident, cl->debug);
  }
  for (const std::string& w : cl->conf.warnings()) log->Warning(StrCat("nfs.conf: ", w));
  // A negative errno, so the exit status is its low byte, as nfsdcltrack's.
  return nfs4rec::RunCltrack(req, *log);
}
