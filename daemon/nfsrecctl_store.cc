#include "daemon/nfsrecctl_store.h"

#include <sys/stat.h>

#include <cerrno>

#include "common/base/logging.h"
#include "common/os/effective_owner.h"
#include "common/os/file_system.h"
#include "common/store/schema.h"
#include "nfs4rec/nfsdcld_export.h"
#include "statd/nfs_utils_export.h"

namespace nfsrec {
namespace {

// SQLite's waits for the daemon's checkpoints, as nfsdcld's busy timeout.
constexpr int kBusyTimeoutMs = 10000;

}  // namespace

Result<std::unique_ptr<sqlite::Db>> OpenStoreReadOnly(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return Status::NotFound(StrCat("no database at ", path,
                                     ": nfsrecd has not run with this state directory "
                                     "(see --state-dir and --config)"));
    }
    return PosixError("stat " + path, errno);
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::InvalidArgument(
        StrCat(path, " is not a regular file, so not nfsrecd's database"));
  }
  // ORDER: before SQLite opens the file: a read-only URI open skips
  // Db::Open's own check, and another program's database (nfsdcld's
  // main.sqlite, say) would otherwise fail later with a puzzling message.
  NFSREC_RETURN_IF_ERROR(CheckDatabaseIsOurs(path, path, "", kBusyTimeoutMs));
  struct stat wal;
  if (st.st_size == 0 && ::stat((path + "-wal").c_str(), &wal) != 0) {
    return Status::NotFound(
        StrCat("the database ", path, " is empty: nfsrecd has stored nothing yet"));
  }
  sqlite::Db::Options options;
  options.create_if_missing = false;
  options.busy_timeout_ms = kBusyTimeoutMs;
  return sqlite::Db::Open(sqlite::FileUri(path) + "?mode=ro", options);
}

Result<CtlSnapshot> ReadCtlSnapshot(sqlite::Db& db) {
  NFSREC_RETURN_IF_ERROR(db.Exec("BEGIN"));
  CtlSnapshot snap;
  Status failed;
  Result<statd::NsmSnapshot> nsm = statd::ReadNsmOffline(db);
  if (nsm.ok()) {
    snap.nsm = std::move(nsm).value();
  } else if (!nsm.status().IsNotFound()) {
    failed = nsm.status();
  }
  Result<nfs4rec::ClientSnapshot> clients = nfs4rec::ReadClientsOffline(db);
  if (clients.ok()) {
    snap.clients = std::move(clients).value();
  } else if (!clients.status().IsNotFound() && failed.ok()) {
    failed = clients.status();
  }
  Status ended = db.Exec("COMMIT");
  NFSREC_RETURN_IF_ERROR(failed);
  NFSREC_RETURN_IF_ERROR(ended);
  return snap;
}

Result<CtlSnapshot> ReadStoreSnapshot(const std::string& path) {
  // ORDER: before the open and outliving the connection: a reader may create
  // the -wal and -shm files, and the last one to close removes them.
  NFSREC_ASSIGN_OR_RETURN(EffectiveOwner owner, EffectiveOwner::Become(DirName(path)));
  NFSREC_ASSIGN_OR_RETURN(std::unique_ptr<sqlite::Db> db, OpenStoreReadOnly(path));
  return ReadCtlSnapshot(*db);
}

}  // namespace nfsrec
