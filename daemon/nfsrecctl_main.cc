// nfsrecctl: the administrator's command (man/nfsrecctl.8), a composition
// root like nfsrecd's main: the only other file that sees both statd/ and
// nfs4rec/.  Commands: daemon/nfsrecctl_config.h.
//
// The listings read the store through their own read-only connection and
// never write it (daemon/nfsrecctl_store.h); remove and expire write it only
// when no daemon runs (daemon/nfsrecctl_admin.h).
#include <sys/stat.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/base/logging.h"
#include "common/os/file_system.h"
#include "config.h"
#include "daemon/nfs_conf.h"
#include "daemon/nfsrecctl_admin.h"
#include "daemon/nfsrecctl_cluster.h"
#include "daemon/nfsrecctl_config.h"
#include "daemon/nfsrecctl_import.h"
#include "daemon/nfsrecctl_list.h"
#include "daemon/nfsrecctl_live.h"
#include "daemon/nfsrecctl_store.h"
#include "nfs4rec/nfsdcld_export.h"
#include "statd/nfs_utils_export.h"

namespace nfsrec {
namespace {

void ReportSkipped(const std::vector<std::string>& skipped) {
  for (const std::string& s : skipped) std::fprintf(stderr, "nfsrecctl: left out: %s\n", s.c_str());
}

int Fail(const std::string& what, const Status& why) {
  std::fprintf(stderr, "nfsrecctl: %s: %s\n", what.c_str(), why.ToString().c_str());
  return kCtlExitFailure;
}

int Export(const CtlStore& store, const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Fail("export", Status::NotFound(dir + " is not a directory (create it first)"));
  }
  // ORDER: the whole snapshot is read before anything is written, so a
  // database that cannot be read leaves DIR as it was.
  Result<CtlSnapshot> snap = ReadStoreSnapshot(store.database);
  if (!snap.ok()) return Fail(StrCat("export: read ", store.database), snap.status());
  std::printf("read %s\n", store.database.c_str());

  if (!snap->nsm) {
    std::printf("no NSM state stored: %s/sm, sm.bak and state left as they are\n", dir.c_str());
  } else {
    Result<statd::LegacyExportCounts> c = statd::ExportLegacyStatd(*snap->nsm, dir);
    if (!c.ok()) return Fail("export: rpc.statd's files", c.status());
    ReportSkipped(c->skipped);
    std::string state = c->state > 0 ? StrCat("state ", c->state) : std::string("no state number");
    std::printf(
        "wrote %zu monitors for %zu hosts to %s/sm, %zu for %zu hosts to %s/sm.bak, %s; "
        "removed %zu stale files\n",
        c->monitors, c->monitor_hosts, dir.c_str(), c->notify, c->notify_hosts, dir.c_str(),
        state.c_str(), c->removed);
  }

  const std::string storagedir = dir + "/nfsdcld";
  if (!snap->clients) {
    std::printf("no NFSv4 client tracking stored: %s left as it is\n", storagedir.c_str());
  } else {
    Result<nfs4rec::NfsdcldExportCounts> c = nfs4rec::ExportNfsdcld(*snap->clients, storagedir);
    if (!c.ok()) return Fail("export: nfsdcld's database", c.status());
    ReportSkipped(c->skipped);
    const nfs4rec::Epochs& e = c->epochs;
    if (e.in_grace()) {
      std::printf(
          "wrote %zu NFSv4 clients that may reclaim (recovery epoch %llu; %zu reclaimed "
          "so far, epoch %llu) to %s/%s\n",
          c->recovery, static_cast<unsigned long long>(e.recovery), c->current,
          static_cast<unsigned long long>(e.current), storagedir.c_str(),
          nfs4rec::kNfsdcldDatabaseName);
    } else {
      std::printf("wrote %zu NFSv4 clients (epoch %llu) to %s/%s\n", c->current,
                  static_cast<unsigned long long>(e.current), storagedir.c_str(),
                  nfs4rec::kNfsdcldDatabaseName);
    }
  }
  return 0;
}

}  // namespace
}  // namespace nfsrec

int main(int argc, char** argv) {
  using namespace nfsrec;
  const std::vector<std::string> args(argv, argv + argc);
  std::string prog = args.empty() ? "nfsrecctl" : args[0];
  if (auto slash = prog.rfind('/'); slash != std::string::npos) prog = prog.substr(slash + 1);
  options::ParseResult<CtlCommandLine> cl = ParseCtlCommandLine(args);
  if (!cl.ok()) {
    return options::ReportError(prog, cl.status(), CtlErrorReply(cl.status().kind), CtlUsage(prog),
                                stderr);
  }
  switch (cl->action) {
    case CtlCommandLine::Action::kHelp:
      std::printf("%s", CtlUsage(prog).c_str());
      return 0;
    case CtlCommandLine::Action::kVersion:
      std::printf("%s version %s\n", prog.c_str(), PACKAGE_VERSION);
      return 0;
    case CtlCommandLine::Action::kRun:
      break;
  }
  if (cl->command == "cluster") {
    options::ParseResult<CtlCluster> where = ResolveCtlCluster(*cl, [](const std::string& path) {
      RealFileSystem files;
      return NfsConf::Load(files, path, GetEnv);
    });
    if (!where.ok()) {
      return options::ReportError(prog, where.status(), CtlErrorReply(where.status().kind),
                                  CtlUsage(prog), stderr);
    }
    return RunClusterCommand(*cl, *where, stdout, stderr);
  }
  options::ParseResult<CtlStore> store = ResolveCtlStore(*cl, [](const std::string& path) {
    RealFileSystem files;
    return NfsConf::Load(files, path, GetEnv);
  });
  if (!store.ok()) {
    return options::ReportError(prog, store.status(), CtlErrorReply(store.status().kind),
                                CtlUsage(prog), stderr);
  }
  for (const std::string& w : store->conf_warnings) {
    std::fprintf(stderr, "%s: nfs.conf: %s\n", prog.c_str(), w.c_str());
  }
  if (IsListingCommand(cl->command)) return RunListing(*cl, *store, stdout, stderr);
  if (cl->command == "export") return Export(*store, cl->nfs_utils_dir);
  if (cl->command == "import") {
    return RunCtlImport(*cl, [](const std::string& path) {
      RealFileSystem files;
      return NfsConf::Load(files, path, GetEnv);
    });
  }
  if (cl->command == "status" || cl->command == "metrics") {
    return RunLiveCommand(cl->command, store->control_socket, cl->json);
  }
  if (cl->command == "remove" || cl->command == "expire") return RunAdminCommand(*cl, *store);
  return kCtlExitFailure;  // every command of the table is handled above
}
