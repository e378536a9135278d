#include "daemon/nfs4_takeover.h"

#include <time.h>

#include <map>
#include <string>
#include <utility>

namespace nfsrec {

nfs4rec::ImportLocations NfsUtilsLocations(const DaemonConfig& config) {
  nfs4rec::ImportLocations where;
  where.nfsdcld_dir = config.tracking.nfsdcld_storagedir;
  where.nfsdcltrack_dir = config.tracking.nfsdcltrack_storagedir;
  where.v4recovery_dirs = nfs4rec::V4recoveryDirs(config.process.proc_root);
  return where;
}

nfs4rec::ImportRead ReadNfsUtilsRecords(const nfs4rec::ImportLocations& where, Logger& log) {
  nfs4rec::ImportRead read = nfs4rec::ReadNfsUtilsSources(where);
  for (const std::string& w : read.warnings) log.Warning(w);
  return read;
}

nfs4rec::ImportRead ReadChangedNfsUtilsRecords(const nfs4rec::ImportLocations& where,
                                               const std::string& db_path, Logger& log) {
  Result<std::map<std::string, nfs4rec::SourceIdentity>> recorded =
      nfs4rec::ReadRecordedIdentities(db_path);
  if (!recorded.ok()) {
    log.Warning(StrCat("import: cannot read the identities recorded in ", db_path, ": ",
                       recorded.status().ToString(), "; reading every source"));
    return ReadNfsUtilsRecords(where, log);
  }
  nfs4rec::ImportRead read = nfs4rec::ReadChangedNfsUtilsSources(where, *recorded);
  for (const std::string& w : read.warnings) log.Warning(w);
  return read;
}

Status TakeOverNfsUtilsRecords(CommitQueue& queue, const nfs4rec::ImportRead& read, Logger& log) {
  if (read.sources.empty()) return Status::Ok();
  const int64_t now = static_cast<int64_t>(::time(nullptr));
  nfs4rec::ImportOutcome outcome;
  Status s = queue.RunSync([&](sqlite::Db& db) -> Status {
    NFSREC_ASSIGN_OR_RETURN(outcome, nfs4rec::ApplyNfsUtilsImport(db, read, now));
    return Status::Ok();
  });
  if (!s.ok()) {
    log.Warning(StrCat("import: nfs-utils' NFSv4 client records not taken over: ", s.ToString()));
    return s;
  }
  for (const nfs4rec::ImportLogLine& line : outcome.lines) {
    if (line.notice) {
      log.Notice(line.text);
    } else {
      log.Debug(line.text);
    }
  }
  return Status::Ok();
}

}  // namespace nfsrec
