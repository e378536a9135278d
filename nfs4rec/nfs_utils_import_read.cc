// The readers of nfs_utils_import.h: nfs-utils' files into plain structs.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <utility>

#include "common/base/logging.h"
#include "common/base/unique_fd.h"
#include "common/store/sqlite.h"
#include "nfs4rec/nfs_utils_import.h"
#include <sqlite3.h>

namespace nfsrec::nfs4rec {
namespace {

constexpr size_t kMaxIdBytes = 1024;    // NFS4_OPAQUE_LIMIT
constexpr size_t kPrinchashBytes = 32;  // SHA256_DIGEST_SIZE
constexpr size_t kMd5HexDigits = 32;
constexpr char kHashPrefix[] = "hash:";
constexpr int kBusyTimeoutMs = 10000;  // nfsdcld's own

using RawDb = std::unique_ptr<sqlite3, int (*)(sqlite3*)>;
using RawStmt = std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)>;

SourceIdentity IdentityOf(const struct stat& st) {
  return SourceIdentity{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
                        static_cast<int64_t>(st.st_size),
                        static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

Result<RawDb> OpenDb(const std::string& uri, int flags, const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(uri.c_str(), &raw, flags | SQLITE_OPEN_URI, nullptr);
  RawDb db(raw, sqlite3_close_v2);
  if (rc != SQLITE_OK) return sqlite::SqliteError(raw, rc, "open " + path);
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);
  return db;
}

Result<RawStmt> Prepare(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr);
  RawStmt st(raw, sqlite3_finalize);
  if (rc != SQLITE_OK) return sqlite::SqliteError(db, rc, sql);
  return st;
}

std::string BlobColumn(sqlite3_stmt* st, int col) {
  const void* p = sqlite3_column_blob(st, col);
  int n = sqlite3_column_bytes(st, col);
  return p == nullptr ? std::string() : std::string(static_cast<const char*>(p), n);
}

// Every row of a one-column query, as text.
Result<std::vector<std::string>> Strings(sqlite3* db, const std::string& sql, int col = 0) {
  NFSREC_ASSIGN_OR_RETURN(RawStmt st, Prepare(db, sql));
  std::vector<std::string> out;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) out.push_back(BlobColumn(st.get(), col));
  if (rc != SQLITE_DONE) return sqlite::SqliteError(db, rc, sql);
  return out;
}

std::string Quoted(const std::string& table) { return StrCat("\"", table, "\""); }

Result<std::set<std::string>> Columns(sqlite3* db, const std::string& table) {
  NFSREC_ASSIGN_OR_RETURN(std::vector<std::string> names,
                          Strings(db, StrCat("PRAGMA table_info(", Quoted(table), ")"), 1));
  return std::set<std::string>(names.begin(), names.end());
}

// Adds the rows of `table` to `into` (by id); ids out of range are counted.
Status ReadRecords(sqlite3* db, const std::string& table, std::map<std::string, ClientRecord>& into,
                   size_t& skipped) {
  NFSREC_ASSIGN_OR_RETURN(const std::set<std::string> cols, Columns(db, table));
  const std::string sql =
      StrCat("SELECT id, ", cols.count("princhash") != 0 ? "princhash" : "NULL", ", ",
             cols.count("has_session") != 0 ? "has_session" : "NULL", " FROM ", Quoted(table));
  NFSREC_ASSIGN_OR_RETURN(RawStmt st, Prepare(db, sql));
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    ClientRecord r;
    r.id = BlobColumn(st.get(), 0);
    if (r.id.empty() || r.id.size() > kMaxIdBytes) {
      ++skipped;
      continue;
    }
    // The kernel checks a princhash only if one is uploaded: one of another
    // length is left out rather than losing the client.
    std::string hash = BlobColumn(st.get(), 1);
    if (hash.size() == kPrinchashBytes) r.princhash = std::move(hash);
    if (sqlite3_column_type(st.get(), 2) != SQLITE_NULL) {
      r.has_session = sqlite3_column_int64(st.get(), 2) == 1;
    }
    into[r.id] = std::move(r);
  }
  if (rc != SQLITE_DONE) return sqlite::SqliteError(db, rc, sql);
  return Status::Ok();
}

std::vector<ClientRecord> Values(std::map<std::string, ClientRecord>& m) {
  std::vector<ClientRecord> out;
  out.reserve(m.size());
  for (auto& [id, r] : m) out.push_back(std::move(r));
  return out;
}

// The epoch of a table named "rec-<hex>", padded or not; false otherwise.
bool EpochOfTable(const std::string& name, uint64_t& epoch) {
  constexpr size_t kPrefix = 4;
  if (name.rfind("rec-", 0) != 0 || name.size() <= kPrefix || name.size() > kPrefix + 16) {
    return false;
  }
  for (size_t i = kPrefix; i < name.size(); ++i) {
    if (std::isxdigit(static_cast<unsigned char>(name[i])) == 0) return false;
  }
  epoch = std::strtoull(name.c_str() + kPrefix, nullptr, 16);
  return true;
}

Status ReadOpenDatabase(sqlite3* db, ImportSource& src) {
  // One read transaction: a running nfsdcld cannot change the file under us.
  if (int rc = sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr); rc != SQLITE_OK) {
    return sqlite::SqliteError(db, rc, "BEGIN");
  }
  NFSREC_ASSIGN_OR_RETURN(const std::vector<std::string> tables,
                          Strings(db, "SELECT name FROM sqlite_master WHERE type = 'table'"));
  const std::set<std::string> names(tables.begin(), tables.end());
  if (names.count("parameters") == 0) return Status::Unsupported("no parameters table");
  NFSREC_ASSIGN_OR_RETURN(
      const std::vector<std::string> version,
      Strings(db, "SELECT CAST(value AS TEXT) FROM parameters WHERE key = 'version'"));
  if (version.empty()) return Status::Unsupported("no schema version in parameters");
  src.schema = std::atoi(version[0].c_str());
  const int max_schema = src.kind == ImportKind::kNfsdcltrack ? 2 : 4;
  if (src.schema < 1 || src.schema > max_schema) {
    return Status::Unsupported(
        StrCat("schema version ", Printable(version[0]), " (known: 1 to ", max_schema, ")"));
  }
  if (src.schema <= 2) {
    if (names.count("clients") == 0) return Status::Unsupported("no clients table");
    std::map<std::string, ClientRecord> current;
    NFSREC_RETURN_IF_ERROR(ReadRecords(db, "clients", current, src.skipped_ids));
    src.current = Values(current);
    return Status::Ok();
  }
  NFSREC_ASSIGN_OR_RETURN(RawStmt st, Prepare(db, "SELECT current, recovery FROM grace"));
  if (sqlite3_step(st.get()) != SQLITE_ROW) return Status::Corruption("grace has no row");
  const int64_t cur = sqlite3_column_int64(st.get(), 0);
  const int64_t rec = sqlite3_column_int64(st.get(), 1);
  st.reset();
  if (cur <= 0 || rec < 0 || rec >= cur) {
    return Status::Corruption(StrCat("impossible epochs current=", cur, " recovery=", rec));
  }
  src.has_epochs = true;
  src.epochs = Epochs{static_cast<uint64_t>(cur), static_cast<uint64_t>(rec)};
  std::map<std::string, ClientRecord> current;
  std::map<std::string, ClientRecord> recovery;
  for (const std::string& t : tables) {
    uint64_t epoch = 0;
    if (!EpochOfTable(t, epoch)) continue;
    if (epoch == src.epochs.current) {
      NFSREC_RETURN_IF_ERROR(ReadRecords(db, t, current, src.skipped_ids));
    } else if (src.epochs.in_grace() && epoch == src.epochs.recovery) {
      NFSREC_RETURN_IF_ERROR(ReadRecords(db, t, recovery, src.skipped_ids));
    }
  }
  src.current = Values(current);
  src.recovery = Values(recovery);
  return Status::Ok();
}

// A private copy of `path` and its journal, removed with this object.
class JournalCopy {
 public:
  static Result<std::unique_ptr<JournalCopy>> Make(const std::string& path) {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ =
        StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/nfsrecd-import.XXXXXX");
    if (::mkdtemp(templ.data()) == nullptr) return PosixError("mkdtemp " + templ, errno);
    auto copy = std::unique_ptr<JournalCopy>(new JournalCopy(templ));
    namespace fs = std::filesystem;
    for (const char* suffix : {"", "-journal"}) {
      std::error_code ec;
      fs::copy_file(path + suffix, copy->db() + suffix, ec);
      if (ec) return Status::IOError(StrCat("copy ", path, suffix, ": ", ec.message()));
    }
    return copy;
  }
  ~JournalCopy() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  JournalCopy(const JournalCopy&) = delete;
  JournalCopy& operator=(const JournalCopy&) = delete;
  std::string db() const { return dir_ + "/main.sqlite"; }

 private:
  explicit JournalCopy(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

bool HotJournal(const std::string& path) {
  struct stat st;
  return ::stat((path + "-journal").c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

bool IsMd5Hex(const std::string& name) {
  if (name.size() != kMd5HexDigits) return false;
  for (char c : name) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// The first line of `path`, read by a child process and waited for at
// most `limit`; "" if absent, empty or not answered in time.  A file under
// /proc/fs/nfsd blocks its reader while nfsd starts: nfsd holds its mutex
// until the cld daemon (the caller, whose pipe may already be open) has
// answered its first upcall, so the caller must never wait for it.  The
// child is killed and left to the kernel (it goes when the read returns).
std::string FirstLineWithin(const std::string& path, std::chrono::milliseconds limit) {
  if (::access(path.c_str(), F_OK) != 0) return "";
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return "";
  UniqueFd in(fds[0]);
  UniqueFd out(fds[1]);
  const pid_t child = ::fork();
  if (child < 0) return "";
  if (child == 0) {
    // Only async-signal-safe calls: the parent may have threads.
    char buf[4096];
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : ::read(fd, buf, sizeof(buf));
    if (n > 0) (void)!::write(out.get(), buf, static_cast<size_t>(n));
    ::_exit(0);
  }
  out.reset();
  struct pollfd p = {in.get(), POLLIN, 0};
  std::string text;
  if (::poll(&p, 1, static_cast<int>(limit.count())) == 1) {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(in.get(), buf, sizeof(buf))) > 0) text.append(buf, static_cast<size_t>(n));
    ::waitpid(child, nullptr, 0);
  } else {
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, WNOHANG);
    return "";
  }
  return text.substr(0, text.find('\n'));
}

}  // namespace

const char* ImportKindName(ImportKind kind) {
  switch (kind) {
    case ImportKind::kNfsdcld:
      return "nfsdcld";
    case ImportKind::kNfsdcltrack:
      return "nfsdcltrack";
    case ImportKind::kV4recovery:
      return "v4recovery";
  }
  return "?";
}

std::vector<std::string> V4recoveryDirs(const std::string& proc_root,
                                        const std::string& default_dir) {
  std::vector<std::string> dirs;
  std::string line =
      FirstLineWithin(proc_root + "/proc/fs/nfsd/nfsv4recoverydir", std::chrono::milliseconds(100));
  if (!line.empty()) dirs.push_back(line);
  if (!default_dir.empty() && (dirs.empty() || dirs[0] != default_dir)) {
    dirs.push_back(default_dir);
  }
  return dirs;
}

Result<ImportSource> ReadTrackerDatabase(ImportKind kind, const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return PosixError("stat " + path, errno);
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument("not a regular file");
  ImportSource src;
  src.kind = kind;
  src.path = path;
  src.identity = IdentityOf(st);
  std::unique_ptr<JournalCopy> copy;
  std::string uri = sqlite::FileUri(path) + "?mode=ro";
  int flags = SQLITE_OPEN_READONLY;
  if (HotJournal(path)) {
    // A read-only connection cannot roll a hot journal back; a copy can.
    NFSREC_ASSIGN_OR_RETURN(copy, JournalCopy::Make(path));
    uri = sqlite::FileUri(copy->db());
    flags = SQLITE_OPEN_READWRITE;
    src.rolled_back = true;
  }
  NFSREC_ASSIGN_OR_RETURN(RawDb db, OpenDb(uri, flags, path));
  Status read = ReadOpenDatabase(db.get(), src);
  sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
  NFSREC_RETURN_IF_ERROR(read);
  return src;
}

Result<ImportSource> ReadV4recoveryDir(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return PosixError("stat " + dir, errno);
  if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument("not a directory");
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
  if (!d) return PosixError("opendir " + dir, errno);
  ImportSource src;
  src.kind = ImportKind::kV4recovery;
  src.path = dir;
  src.identity = IdentityOf(st);
  std::map<std::string, ClientRecord> current;
  errno = 0;
  while (struct dirent* e = ::readdir(d.get())) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat est;
    if (!IsMd5Hex(name) || ::fstatat(dirfd(d.get()), e->d_name, &est, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISDIR(est.st_mode)) {
      ++src.skipped_entries;
      continue;
    }
    ClientRecord r;
    r.id = std::string(kHashPrefix) + name;
    r.id.push_back('\0');
    current[r.id] = std::move(r);
  }
  if (errno != 0) return PosixError("readdir " + dir, errno);
  src.current = Values(current);
  return src;
}

namespace {

// The identity a source would be read with: the stat of main.sqlite, or of
// the v4recovery directory.  NotFound if absent.
Result<SourceIdentity> StatIdentity(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return PosixError("stat " + path, errno);
  return IdentityOf(st);
}

// Reads every source, or with `recorded` only those whose identity differs
// from the recorded one.
ImportRead ReadSources(const ImportLocations& where,
                       const std::map<std::string, SourceIdentity>* recorded) {
  ImportRead out;
  auto keep = [&out](ImportKind kind, const std::string& path, Result<ImportSource> r) {
    if (r.ok()) {
      out.sources.push_back(std::move(r).value());
    } else if (!r.status().IsNotFound()) {
      out.warnings.push_back(StrCat("import: ", ImportKindName(kind), " ", path,
                                    " cannot be read, not imported: ", r.status().ToString()));
    }
  };
  // True if `path` is as recorded: it is then listed, not read.
  auto unchanged = [&out, recorded](ImportKind kind, const std::string& path) {
    if (recorded == nullptr) return false;
    auto it = recorded->find(path);
    if (it == recorded->end()) return false;
    Result<SourceIdentity> now = StatIdentity(path);
    if (!now.ok() || !(*now == it->second)) return false;
    ImportSource src;
    src.kind = kind;
    src.path = path;
    src.identity = *now;
    src.not_read = true;
    out.sources.push_back(std::move(src));
    return true;
  };
  for (auto [kind, dir] : {std::pair{ImportKind::kNfsdcld, where.nfsdcld_dir},
                           std::pair{ImportKind::kNfsdcltrack, where.nfsdcltrack_dir}}) {
    if (dir.empty()) continue;
    const std::string path = dir + "/main.sqlite";
    if (unchanged(kind, path)) continue;
    keep(kind, path, ReadTrackerDatabase(kind, path));
  }
  std::set<std::pair<uint64_t, uint64_t>> seen_dirs;
  for (const std::string& dir : where.v4recovery_dirs) {
    struct stat st;
    if (::stat(dir.c_str(), &st) == 0 &&
        !seen_dirs.insert({static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)})
             .second) {
      continue;
    }
    if (unchanged(ImportKind::kV4recovery, dir)) continue;
    keep(ImportKind::kV4recovery, dir, ReadV4recoveryDir(dir));
  }
  return out;
}

}  // namespace

ImportRead ReadNfsUtilsSources(const ImportLocations& where) { return ReadSources(where, nullptr); }

ImportRead ReadChangedNfsUtilsSources(const ImportLocations& where,
                                      const std::map<std::string, SourceIdentity>& recorded) {
  return ReadSources(where, &recorded);
}

Result<std::map<std::string, SourceIdentity>> ReadRecordedIdentities(const std::string& db_path) {
  std::map<std::string, SourceIdentity> out;
  struct stat st;
  if (::stat(db_path.c_str(), &st) != 0) {
    if (errno == ENOENT) return out;
    return PosixError("stat " + db_path, errno);
  }
  if (st.st_size == 0) return out;  // made empty, not initialised yet
  NFSREC_ASSIGN_OR_RETURN(RawDb db,
                          OpenDb(sqlite::FileUri(db_path), SQLITE_OPEN_READONLY, db_path));
  NFSREC_ASSIGN_OR_RETURN(
      const std::vector<std::string> tables,
      Strings(db.get(), "SELECT name FROM sqlite_master WHERE name = 'nfs_utils_import'"));
  if (tables.empty()) return out;
  const std::string sql = "SELECT path, dev, ino, size, mtime_ns FROM nfs_utils_import";
  NFSREC_ASSIGN_OR_RETURN(RawStmt q, Prepare(db.get(), sql));
  int rc;
  while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) {
    out[BlobColumn(q.get(), 0)] =
        SourceIdentity{static_cast<uint64_t>(sqlite3_column_int64(q.get(), 1)),
                       static_cast<uint64_t>(sqlite3_column_int64(q.get(), 2)),
                       sqlite3_column_int64(q.get(), 3), sqlite3_column_int64(q.get(), 4)};
  }
  if (rc != SQLITE_DONE) return sqlite::SqliteError(db.get(), rc, sql);
  return out;
}

}  // namespace nfsrec::nfs4rec
