#include "daemon/nfsrecctl_import.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "common/base/logging.h"
#include "common/base/unique_fd.h"
#include "common/os/effective_owner.h"
#include "common/os/file_system.h"
#include "common/store/sqlite.h"
#include "daemon/nfs4_takeover.h"

namespace nfsrec {
namespace {

// nfsrecctl's lines: notices and debug on stdout, warnings on stderr.
class PrintLogger final : public Logger {
 public:
  void Write(LogLevel level, std::string_view message) override {
    std::FILE* out = level >= LogLevel::kWarning ? stderr : stdout;
    std::fprintf(out, "%s%.*s\n", out == stderr ? "nfsrecctl: " : "",
                 static_cast<int>(message.size()), message.data());
  }
  bool DebugEnabled() const override { return true; }
};

int Fail(const std::string& why) {
  std::fprintf(stderr, "nfsrecctl: import: %s\n", why.c_str());
  return 1;
}

}  // namespace

bool DaemonIsRunning(const std::string& pidfile, const std::string& control_socket) {
  if (!pidfile.empty()) {
    UniqueFd fd(::open(pidfile.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (fd.get() >= 0 && ::flock(fd.get(), LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
      return true;
    }
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (control_socket.size() >= sizeof(addr.sun_path)) return false;
  std::memcpy(addr.sun_path, control_socket.data(), control_socket.size());
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  return sock.get() >= 0 &&
         ::connect(sock.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
}

int RunCtlImport(const CtlCommandLine& cl, const NfsConfLoader& load_conf) {
  // The daemon's own parser, so that its nfs.conf places everything here too.
  std::vector<std::string> daemon_args = {"nfsrecd", "--config", cl.config_file};
  if (!cl.state_dir.empty()) {
    daemon_args.push_back("-P");
    daemon_args.push_back(cl.state_dir);
  }
  options::ParseResult<CommandLine> daemon = ParseCommandLine(daemon_args, "", load_conf);
  if (!daemon.ok()) return Fail(daemon.status().message);
  const DaemonConfig& config = daemon->config;
  // The nfsdcld role has no pid file and a control socket of its own.
  DaemonConfig as_nfsdcld = config;
  as_nfsdcld.role = DaemonRole::kNfsdcld;
  if (DaemonIsRunning(config.process.pidfile, config.ControlSocketPath()) ||
      DaemonIsRunning("", as_nfsdcld.ControlSocketPath())) {
    return Fail("nfsrecd is running; it imports at start");
  }
  nfs4rec::ImportLocations where = NfsUtilsLocations(config);
  const CtlCommandLine::ImportFrom& from = cl.import_from;
  if (!from.nfsdcld_dir.empty() || !from.nfsdcltrack_dir.empty() || !from.v4recovery_dir.empty()) {
    where.nfsdcld_dir = from.nfsdcld_dir;
    where.nfsdcltrack_dir = from.nfsdcltrack_dir;
    where.v4recovery_dirs.clear();
    if (!from.v4recovery_dir.empty()) where.v4recovery_dirs.push_back(from.v4recovery_dir);
  }
  PrintLogger log;
  nfs4rec::ImportRead read = ReadNfsUtilsRecords(where, log);
  if (read.sources.empty()) {
    std::printf("import: no nfs-utils NFSv4 records found%s\n",
                read.warnings.empty() ? "" : " that could be read");
    return read.warnings.empty() ? 0 : 1;
  }
  // ORDER: after nfs-utils' files were read as root, before the store is
  // opened, and outliving it: whatever SQLite creates there is the daemon's.
  Result<EffectiveOwner> owner = EffectiveOwner::Become(DirName(config.DbPath()));
  if (!owner.ok()) return Fail(owner.status().ToString());
  sqlite::Db::Options options;
  options.create_if_missing = false;
  Result<std::unique_ptr<sqlite::Db>> db = sqlite::Db::Open(config.DbPath(), options);
  if (!db.ok()) {
    return Fail(
        StrCat("open ", config.DbPath(), ": ", db.status().ToString(),
               db.status().IsNotFound() ? " (start nfsrecd once: it imports at start)" : ""));
  }
  const int64_t now = static_cast<int64_t>(::time(nullptr));
  Result<std::unique_ptr<sqlite::Transaction>> txn = sqlite::Transaction::Begin(**db);
  if (!txn.ok()) return Fail(txn.status().ToString());
  Result<nfs4rec::ImportOutcome> outcome = nfs4rec::ApplyNfsUtilsImport(**db, read, now);
  if (!outcome.ok()) return Fail(outcome.status().ToString());
  if (Status s = (*txn)->Commit(); !s.ok()) return Fail(s.ToString());
  for (const nfs4rec::ImportLogLine& line : outcome->lines) log.Notice(line.text);
  return 0;
}

}  // namespace nfsrec
