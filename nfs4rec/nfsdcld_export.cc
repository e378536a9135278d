#include "nfs4rec/nfsdcld_export.h"

#include <cinttypes>
#include <cstdio>
#include <utility>

#include "common/base/logging.h"
#include "common/os/atomic_file.h"
#include "common/store/schema.h"
#include "nfs4rec/client_sql.h"

namespace nfsrec::nfs4rec {
namespace {

constexpr size_t kMaxIdBytes = 1024;    // NFS4_OPAQUE_LIMIT: nfsdcld copies no more
constexpr size_t kPrinchashBytes = 32;  // SHA256_DIGEST_SIZE
constexpr mode_t kStorageDirMode = 0700;

Status CheckUploadable(const ClientRecord& r) {
  if (r.id.empty() || r.id.size() > kMaxIdBytes) {
    return Status::InvalidArgument(StrCat("client id of ", r.id.size(), " bytes (",
                                          Printable(r.id.substr(0, 64)), ") is not 1..1024 bytes"));
  }
  if (!r.princhash.empty() && r.princhash.size() != kPrinchashBytes) {
    return Status::InvalidArgument(StrCat("client ", Printable(r.id.substr(0, 64)),
                                          ": princhash of ", r.princhash.size(), " bytes"));
  }
  return Status::Ok();
}

// Creates the rec- table of `epoch` in `db` and fills it; returns the count.
Result<size_t> WriteEpoch(sqlite::Db& db, uint64_t epoch, const std::vector<ClientRecord>& records,
                          std::vector<std::string>& skipped) {
  const std::string table = NfsdcldTableName(epoch);
  NFSREC_RETURN_IF_ERROR(
      db.Exec(StrCat("CREATE TABLE \"", table, "\" (id BLOB PRIMARY KEY, princhash BLOB);")));
  NFSREC_ASSIGN_OR_RETURN(
      sqlite::Statement insert,
      db.Prepare(StrCat("INSERT INTO \"", table, "\" (id, princhash) VALUES (?1, ?2)")));
  size_t written = 0;
  for (const ClientRecord& r : records) {
    Status ok = CheckUploadable(r);
    if (!ok.ok()) {
      skipped.push_back(StrCat("epoch ", epoch, ": ", ok.message()));
      continue;
    }
    insert.Reset();
    NFSREC_RETURN_IF_ERROR(insert.BindBlob(1, r.id.data(), r.id.size()));
    if (r.princhash.empty()) {
      NFSREC_RETURN_IF_ERROR(insert.BindNull(2));
    } else {
      NFSREC_RETURN_IF_ERROR(insert.BindBlob(2, r.princhash.data(), r.princhash.size()));
    }
    NFSREC_RETURN_IF_ERROR(insert.Run());
    ++written;
  }
  return written;
}

}  // namespace

std::string NfsdcldTableName(uint64_t epoch) {
  char name[24];
  std::snprintf(name, sizeof(name), "rec-%016" PRIx64, epoch);
  return name;
}

Result<ClientSnapshot> ReadClientsOffline(sqlite::Db& db) {
  NFSREC_ASSIGN_OR_RETURN(const int version, SchemaVersion(db, client_sql::kComponent));
  const int known = static_cast<int>(client_sql::Migrations().size());
  if (version == 0) return Status::NotFound("the database holds no NFSv4 client tracking");
  if (version != known) {
    return Status::Unsupported(
        StrCat("NFSv4 client schema is at version ", version, ", this program reads version ",
               known, ": use the nfsrecctl of the nfsrecd that wrote the database"));
  }
  ClientSnapshot snap;
  NFSREC_ASSIGN_OR_RETURN(snap.epochs, client_sql::ReadEpochs(db));
  NFSREC_ASSIGN_OR_RETURN(snap.current, client_sql::ReadClients(db, snap.epochs.current));
  if (snap.epochs.in_grace()) {
    NFSREC_ASSIGN_OR_RETURN(snap.recovery, client_sql::ReadClients(db, snap.epochs.recovery));
  }
  return snap;
}

Result<NfsdcldExportCounts> ExportNfsdcld(const ClientSnapshot& snapshot,
                                          const std::string& storagedir) {
  NfsdcldExportCounts counts;
  counts.epochs = snapshot.epochs;
  // Built in memory, then copied to the temp file in one go by VACUUM INTO,
  // which writes a plain rollback-journal database as nfsdcld keeps it.
  NFSREC_ASSIGN_OR_RETURN(std::unique_ptr<sqlite::Db> db, sqlite::Db::Open(":memory:"));
  NFSREC_RETURN_IF_ERROR(
      db->Exec("CREATE TABLE parameters (key TEXT PRIMARY KEY, value TEXT);"
               "CREATE TABLE grace (current INTEGER , recovery INTEGER);"
               "INSERT INTO parameters VALUES ('version', '4');"
               "INSERT INTO parameters VALUES ('first_time', '0');"));
  NFSREC_ASSIGN_OR_RETURN(sqlite::Statement grace,
                          db->Prepare("INSERT INTO grace VALUES (?1, ?2)"));
  NFSREC_RETURN_IF_ERROR(grace.BindInt(1, static_cast<int64_t>(snapshot.epochs.current)));
  NFSREC_RETURN_IF_ERROR(grace.BindInt(2, static_cast<int64_t>(snapshot.epochs.recovery)));
  NFSREC_RETURN_IF_ERROR(grace.Run());
  NFSREC_ASSIGN_OR_RETURN(
      counts.current, WriteEpoch(*db, snapshot.epochs.current, snapshot.current, counts.skipped));
  if (snapshot.epochs.in_grace()) {
    NFSREC_ASSIGN_OR_RETURN(counts.recovery, WriteEpoch(*db, snapshot.epochs.recovery,
                                                        snapshot.recovery, counts.skipped));
  }

  NFSREC_ASSIGN_OR_RETURN(std::unique_ptr<AtomicDirectory> dir,
                          AtomicDirectory::Open(storagedir, kStorageDirMode));
  const std::string name = kNfsdcldDatabaseName;
  const std::string temp = AtomicDirectory::TempName(name);
  NFSREC_RETURN_IF_ERROR(dir->Remove(temp));
  NFSREC_ASSIGN_OR_RETURN(sqlite::Statement vacuum, db->Prepare("VACUUM INTO ?1"));
  NFSREC_RETURN_IF_ERROR(vacuum.BindText(1, storagedir + "/" + temp));
  NFSREC_RETURN_IF_ERROR(vacuum.Run());
  // A journal left by an nfsdcld that died mid-transaction belongs to the
  // old file; SQLite would roll it back into the new one.
  for (const char* suffix : {"-journal", "-wal", "-shm"}) {
    NFSREC_RETURN_IF_ERROR(dir->Remove(name + suffix));
  }
  NFSREC_RETURN_IF_ERROR(dir->Commit(name));
  NFSREC_RETURN_IF_ERROR(dir->Sync());
  return counts;
}

}  // namespace nfsrec::nfs4rec
