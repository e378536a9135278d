// nfsrec-cltrack: see nfs4rec/cltrack.h and man/nfsrec-cltrack.8.
#include <getopt.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "nfs4rec/cltrack.h"

namespace {

std::optional<std::string> Env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

void Usage(const char* prog) {
  std::printf("%s [ -hfd ] [ -s dir ] <command> <args>\n", prog);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace nfsrec;
  nfs4rec::CltrackRequest req;
  bool debug = false;
  bool foreground = false;
  static const option kLong[] = {{"help", no_argument, nullptr, 'h'},
                                 {"debug", no_argument, nullptr, 'd'},
                                 {"foreground", no_argument, nullptr, 'f'},
                                 {"storagedir", required_argument, nullptr, 's'},
                                 {"proc-root", required_argument, nullptr, 'P'},
                                 {nullptr, 0, nullptr, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "hdfs:", kLong, nullptr)) != -1) {
    switch (c) {
      case 'd': debug = true; break;
      case 'f': foreground = true; break;
      case 's': req.storagedir = optarg; break;
      case 'P': req.proc_root = optarg; break;
      default:
        Usage(argv[0]);
        return 0;
    }
  }
  if (optind < argc) req.command = argv[optind];
  if (optind + 1 < argc) req.arg = std::string(argv[optind + 1]);
  req.has_session = Env("NFSDCLTRACK_CLIENT_HAS_SESSION");
  req.grace_start = Env("NFSDCLTRACK_GRACE_START");
  req.legacy_recdir = Env("NFSDCLTRACK_LEGACY_RECDIR");
  req.legacy_topdir = Env("NFSDCLTRACK_LEGACY_TOPDIR");
  std::unique_ptr<Logger> log;
  if (foreground) {
    log = std::make_unique<StderrLogger>("nfsrec-cltrack", debug);
  } else {
    log = std::make_unique<SyslogLogger>("nfsrec-cltrack", debug);
  }
  // A negative errno, so the exit status is its low byte, as nfsdcltrack's.
  return nfs4rec::RunCltrack(req, *log);
}
