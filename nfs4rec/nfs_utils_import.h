// Taking over the NFSv4 client records that nfs-utils' trackers left, so
// that the first GraceStart after a switch to nfsrecd uploads them.
//
// Sources (formats from nfs-utils, read only; nothing of them is changed):
//  - nfsdcld: <[nfsdcld] storagedir>/main.sqlite.  parameters(key, value)
//    holds "version":
//      1, 2  clients(id BLOB PRIMARY KEY, time INTEGER[, has_session INTEGER])
//      3, 4  grace(current, recovery), one row; one table per epoch named
//            "rec-" + the epoch as 16 lower-case hex digits (also read:
//            unpadded names, which nfsdcld releases of 2019 created), with
//            id BLOB PRIMARY KEY and, in 4, princhash BLOB (SHA-256 or NULL).
//    With recovery != 0 nfsdcld died during grace: the recovery epoch's
//    records may reclaim, the current epoch's already did (or are new).
//  - nfsdcltrack: <[nfsdcltrack] storagedir>/main.sqlite, version 1 or 2 of
//    the clients table above.
//  - v4recovery: one directory per client, named by the 32 lower-case hex
//    digits of the MD5 of its id; it becomes the id "hash:" + name + NUL
//    (38 bytes), as nfsdcld records it, and the kernel strips "hash:" at
//    upload.  The directory is /proc/fs/nfsd/nfsv4recoverydir's value when
//    that file exists, and the kernel's default /var/lib/nfs/v4recovery
//    (newer kernels no longer create the proc file); both are read.
// An SQLite file with a hot journal (an nfsdcld killed mid-transaction) is
// copied with its journal into a private temporary directory and opened
// there read-write, so SQLite rolls the copy back; otherwise files are
// opened read-only.
//
// Decisions (ApplyNfsUtilsImport), recorded in the component "nfs_utils_import":
//
//   CREATE TABLE nfs_utils_import (
//     path     TEXT PRIMARY KEY,  -- main.sqlite, or the v4recovery directory
//     kind     TEXT NOT NULL,     -- "nfsdcld", "nfsdcltrack", "v4recovery"
//     dev      INTEGER NOT NULL,  -- identity when last seen: st_dev,
//     ino      INTEGER NOT NULL,  --   st_ino,
//     size     INTEGER NOT NULL,  --   st_size,
//     mtime_ns INTEGER NOT NULL,  --   st_mtim in nanoseconds
//     seen     INTEGER NOT NULL,  -- unix seconds of that start
//     records  INTEGER NOT NULL,  -- records the source held
//     outcome  TEXT NOT NULL);    -- adopted, replaced, older, superseded
//
// A source whose identity equals the recorded one is skipped; the daemon
// compares identities before reading (ReadChangedNfsUtilsSources: a stat
// per source, the recorded ones read from the database), so an unchanged
// source is never read at all.  Of those
// that changed (or are new) only the most recently modified is considered
// (the tracker the kernel used last); all are recorded as seen.  If the
// store holds no record in any epoch, the source is adopted (nfsdcld v3/v4
// with its epochs; the others into the current epoch, out of grace); if
// the source was modified after the store's newest record was written
// (nfs-utils ran after nfsrecd), it replaces every record of the store;
// otherwise nothing is imported.  Ids that are empty or over 1024 bytes are
// skipped and counted.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/base/result.h"
#include "common/store/schema.h"
#include "common/store/sqlite.h"
#include "nfs4rec/client_store.h"

namespace nfsrec::nfs4rec {

inline constexpr char kImportComponent[] = "nfs_utils_import";
inline constexpr char kDefaultNfsdcldDir[] = "/var/lib/nfs/nfsdcld";
inline constexpr char kDefaultNfsdcltrackDir[] = "/var/lib/nfs/nfsdcltrack";
inline constexpr char kDefaultV4recoveryDir[] = "/var/lib/nfs/v4recovery";

const std::vector<Migration>& ImportMigrations();

enum class ImportKind { kNfsdcld, kNfsdcltrack, kV4recovery };
const char* ImportKindName(ImportKind kind);

struct SourceIdentity {
  uint64_t dev = 0;
  uint64_t ino = 0;
  int64_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const SourceIdentity&) const = default;
};

// One source, read whole.
struct ImportSource {
  ImportKind kind = ImportKind::kNfsdcld;
  std::string path;  // main.sqlite, or the directory
  SourceIdentity identity;
  int schema = 0;           // parameters.version; 0 for v4recovery
  bool has_epochs = false;  // nfsdcld schema 3 or 4: `epochs` are its own
  Epochs epochs;
  std::vector<ClientRecord> current;
  std::vector<ClientRecord> recovery;  // has_epochs and in grace only
  size_t skipped_ids = 0;              // empty or over 1024 bytes
  size_t skipped_entries = 0;          // v4recovery: not a client directory
  bool rolled_back = false;            // read from a copy rolled back from its hot journal
  // Not read: its identity equalled the one recorded when it was stat'ed
  // (ReadChangedNfsUtilsSources); kind, path and identity only.
  bool not_read = false;
};

// Where to look.  An empty string is not read.
struct ImportLocations {
  std::string nfsdcld_dir = kDefaultNfsdcldDir;
  std::string nfsdcltrack_dir = kDefaultNfsdcltrackDir;
  std::vector<std::string> v4recovery_dirs;
};

// The v4recovery directories of this host: /proc/fs/nfsd/nfsv4recoverydir's
// value (under proc_root) if the file exists and answers within 100 ms (a
// child process reads it: while nfsd starts it blocks until the cld daemon
// has answered nfsd's first upcall), then `default_dir`.
std::vector<std::string> V4recoveryDirs(const std::string& proc_root,
                                        const std::string& default_dir = kDefaultV4recoveryDir);

// nfsdcld's or nfsdcltrack's main.sqlite.  NotFound if missing; else the
// reason it cannot be read.  Blocking.
Result<ImportSource> ReadTrackerDatabase(ImportKind kind, const std::string& path);
// A v4recovery directory.  NotFound if missing.  Blocking.
Result<ImportSource> ReadV4recoveryDir(const std::string& dir);

struct ImportRead {
  std::vector<ImportSource> sources;  // each that exists and could be read
  std::vector<std::string> warnings;  // one line per source that could not
};
// Every location that exists, v4recovery directories without duplicates
// (the same directory under two names is read once).  Blocking.
ImportRead ReadNfsUtilsSources(const ImportLocations& where);

// The identities the database at `db_path` recorded (path -> identity), read
// through a read-only connection (as root, before the drop: SQLite gives a
// -wal or -shm it creates the database file's owner).  Empty if the file,
// or the table, does not exist yet.  Blocking; a few rows.
Result<std::map<std::string, SourceIdentity>> ReadRecordedIdentities(const std::string& db_path);

// As ReadNfsUtilsSources, but a source whose identity (one stat) equals
// `recorded`'s for its path is not read: it comes back with not_read set.
ImportRead ReadChangedNfsUtilsSources(const ImportLocations& where,
                                      const std::map<std::string, SourceIdentity>& recorded);

struct ImportLogLine {
  bool notice = true;  // false: debug
  std::string text;
};
struct ImportOutcome {
  bool imported = false;  // the store's records were replaced
  std::vector<ImportLogLine> lines;
};

// Decides and applies (see the top of this file) inside the caller's
// transaction (a CommitQueue unit, or RunSync); brings the "cld" and
// "nfs_utils_import" components up to date first.  `now` in unix seconds.
Result<ImportOutcome> ApplyNfsUtilsImport(sqlite::Db& db, const ImportRead& read, int64_t now);

}  // namespace nfsrec::nfs4rec
