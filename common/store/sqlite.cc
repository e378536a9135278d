#include "common/store/sqlite.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <utility>

#include "common/base/unique_fd.h"
#include "common/os/file_system.h"
#include "common/store/schema.h"

namespace nfsrec::sqlite {
namespace {

// Longest SQL prefix quoted in an error message.
constexpr size_t kSqlInMessage = 80;

std::string SqlForMessage(std::string_view sql) {
  if (sql.size() <= kSqlInMessage) return std::string(sql);
  return std::string(sql.substr(0, kSqlInMessage)) + "...";
}

bool IsPlainPath(const std::string& path) {
  return !path.empty() && path != ":memory:" && path.rfind("file:", 0) != 0;
}

// Creates the database file with mode 0600 before SQLite sees it, because
// SQLite creates files 0644 (minus umask) and copies the main file's mode to
// the -wal and -shm files.  The directory is fsynced so that the new entry
// survives a crash.  An existing file is left alone.
Status PrecreateFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    int err = errno;
    if (err == EEXIST) return Status::Ok();
    return PosixError("create " + path +
                          " (its directory must be writable by the user nfsrecd runs as, on a "
                          "writable file system)",
                      err);
  }
  UniqueFd file(fd);
  if (::fsync(file.get()) != 0) return PosixError("fsync " + path, errno);
  std::string dir = DirName(path);
  UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd.valid()) return PosixError("open directory " + dir, errno);
  if (::fsync(dir_fd.get()) != 0) return PosixError("fsync directory " + dir, errno);
  return Status::Ok();
}

// path with its directory resolved (symbolic links, "..") and its last
// component as it is.
Result<std::string> RealDirectoryName(const std::string& path) {
  const std::string dir = DirName(path);
  const size_t slash = path.rfind('/');
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  char* real = ::realpath(dir.c_str(), nullptr);
  if (real == nullptr) return PosixError("resolve directory " + dir, errno);
  std::string resolved(real);
  ::free(real);
  return resolved == "/" ? "/" + base : resolved + "/" + base;
}

// Asks for WAL and returns the journal mode in force: anything but "wal"
// means the file cannot do WAL (e.g. a VFS without shared memory), which
// would silently weaken concurrency with the nfsdcltrack helper.
Result<std::string> SwitchToWal(Db& db, int busy_timeout_ms) {
  NFSREC_ASSIGN_OR_RETURN(Statement mode, db.Prepare("PRAGMA journal_mode=WAL"));
  // Switching a new file to WAL takes an exclusive lock without consulting
  // the busy handler, so two processes opening a fresh database at once (the
  // daemon and the sm-notify command at first boot) would fail: retry for
  // the busy timeout.  Start-up only, so sleeping here blocks no loop.
  Result<bool> step = mode.Step();
  for (int waited_ms = 0; !step.ok() && step.status().IsBusy() && waited_ms < busy_timeout_ms;
       waited_ms += 10) {
    mode.Reset();
    ::usleep(10 * 1000);
    step = mode.Step();
  }
  NFSREC_ASSIGN_OR_RETURN(const bool row, std::move(step));
  std::string got = row ? mode.ColumnText(0) : std::string();
  mode.Reset();
  return got;
}

// What an administrator can do about a failure of this class, appended to
// its message; "" where the cause is a bug or a bad input, not the system.
std::string FixFor(sqlite3* db, int rc) {
  const char* name = db != nullptr ? sqlite3_db_filename(db, "main") : nullptr;
  const std::string file = name != nullptr && *name != '\0' ? name : "the database file";
  switch (rc & 0xff) {
    case SQLITE_FULL:
      return "; free space on the file system that holds " + file + " (df), then restart";
    case SQLITE_READONLY:
      return "; " + file +
             " cannot be written: the file system is read-only, or the file, its -wal and -shm "
             "files or their directory do not belong to the user nfsrecd runs as";
    case SQLITE_CANTOPEN:
      return "; the directory of " + file +
             " must exist and be writable by the user nfsrecd runs as";
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return "; another process holds " + file + " locked (find it with: fuser " + file + ")";
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return "; " + file +
             " is damaged: stop nfsrecd, move it away with its -wal and -shm files, and restore a "
             "copy (or start afresh, which forgets every monitor and client record)";
    case SQLITE_IOERR:
      return "; the disk that holds " + file + " failed a read or write: see the kernel log";
    default:
      return "";
  }
}

}  // namespace

Status SqliteError(sqlite3* db, int rc, std::string_view context) {
  std::string msg(context);
  msg += ": ";
  msg += sqlite3_errstr(rc);
  if (db != nullptr && sqlite3_extended_errcode(db) == rc) {
    // The connection's message names the table, constraint or file.
    const char* detail = sqlite3_errmsg(db);
    if (detail != nullptr && std::string_view(detail) != sqlite3_errstr(rc)) {
      msg += " (";
      msg += detail;
      msg += ")";
    }
  }
  msg += FixFor(db, rc);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_PROTOCOL:
    case SQLITE_SCHEMA:
      return Status::Busy(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_FORMAT:
      return Status::Corruption(msg);
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_AUTH:
      return Status::PermissionDenied(msg);
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE) {
        return Status::AlreadyExists(msg);
      }
      return Status::InvalidArgument(msg);
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
    case SQLITE_TOOBIG:
    case SQLITE_MISUSE:
      return Status::InvalidArgument(msg);
    case SQLITE_INTERRUPT:
    case SQLITE_ABORT:
      return Status::Unavailable(msg);
    case SQLITE_NOTFOUND:
      return Status::NotFound(msg);
    default:  // SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_NOMEM, SQLITE_ERROR, ...
      return Status::IOError(msg);
  }
}

Result<std::unique_ptr<Db>> Db::Open(const std::string& path, const Options& options) {
  if (IsPlainPath(path)) {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
      int err = errno;
      if (err != ENOENT) return PosixError("stat " + path, err);
      if (!options.create_if_missing)
        return Status::NotFound("database " + path + " does not exist");
      NFSREC_RETURN_IF_ERROR(PrecreateFile(path));
    } else if (S_ISLNK(st.st_mode)) {
      return Status::PermissionDenied("database " + path + " is a symbolic link");
    }
  }

  // SQLite's NOFOLLOW refuses a symbolic link anywhere in the name, but a
  // linked directory (a state directory on shared storage) is fine: only
  // the file itself must not be a link (checked above).  So SQLite is given
  // the directory's real path.
  std::string open_name = path;
  if (IsPlainPath(path)) {
    NFSREC_ASSIGN_OR_RETURN(open_name, RealDirectoryName(path));
    // ORDER: before the read-write open, which may already change the file
    // (a hot journal rolled back, the switch to WAL).
    NFSREC_RETURN_IF_ERROR(
        CheckDatabaseIsOurs(path, open_name, options.vfs, options.busy_timeout_ms));
  }
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW;
  if (options.create_if_missing) flags |= SQLITE_OPEN_CREATE;
  if (path.rfind("file:", 0) == 0) flags |= SQLITE_OPEN_URI;
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(open_name.c_str(), &raw, flags,
                           options.vfs.empty() ? nullptr : options.vfs.c_str());
  if (rc != SQLITE_OK) {
    Status st = SqliteError(raw, rc, "open " + path);
    sqlite3_close_v2(raw);  // a handle is returned even on most failures
    return st;
  }
  std::unique_ptr<Db> db(new Db(raw, path));
  sqlite3_extended_result_codes(raw, 1);

  rc = sqlite3_busy_timeout(raw, options.busy_timeout_ms);
  if (rc != SQLITE_OK) return SqliteError(raw, rc, "busy_timeout " + path);

  Result<std::string> got = SwitchToWal(*db, options.busy_timeout_ms);
  if (!got.ok()) return got.status().WithContext(path);
  if (*got != "wal" && !(*got == "memory" && !IsPlainPath(path))) {
    return Status::Unsupported("database " + path + ": journal_mode is '" + *got + "', not 'wal'");
  }
  NFSREC_RETURN_IF_ERROR(db->Exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"));
  if (IsPlainPath(path)) {
    // SQLite opened the file by this name just now: its identity is the
    // one later commits compare against.
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return PosixError("stat " + path, errno);
    db->has_identity_ = true;
    db->dev_ = st.st_dev;
    db->ino_ = st.st_ino;
  }
  return db;
}

Status Db::CheckFileIdentity() const {
  if (!has_identity_) return Status::Ok();
  struct stat st;
  if (::stat(path_.c_str(), &st) != 0) {
    int err = errno;
    if (err != ENOENT) return PosixError("stat " + path_, err);
    return Status::IOError("database " + path_ +
                           " was removed while open: nothing written now would be found "
                           "again; restore the file or restart nfsrecd");
  }
  if (st.st_dev == dev_ && st.st_ino == ino_) return Status::Ok();
  return Status::IOError("database " + path_ +
                         " was replaced by another file while open: nothing written now would "
                         "be found again; restore the file or restart nfsrecd");
}

Db::~Db() {
  cache_.clear();  // statements are finalized before the connection closes
  sqlite3_close_v2(db_);
}

Status Db::Exec(std::string_view sql) {
  std::string text(sql);  // sqlite3_exec needs a NUL-terminated string
  char* err = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);  // the same text is available from sqlite3_errmsg
  if (rc != SQLITE_OK) return SqliteError(db_, rc, SqlForMessage(sql));
  return Status::Ok();
}

Result<Statement> Db::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, &tail);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "prepare " + SqlForMessage(sql));
  Statement result(db_, stmt);
  if (stmt == nullptr) return Status::InvalidArgument("prepare: empty SQL");
  if (tail != nullptr) {
    std::string_view rest(tail, sql.data() + sql.size() - tail);
    if (rest.find_first_not_of(" \t\r\n;") != std::string_view::npos) {
      return Status::InvalidArgument("prepare: more than one statement in " + SqlForMessage(sql));
    }
  }
  return result;
}

Result<Statement*> Db::Cached(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    NFSREC_ASSIGN_OR_RETURN(Statement stmt, Prepare(sql));
    it = cache_.emplace(std::string(sql), std::make_unique<Statement>(std::move(stmt))).first;
  } else {
    it->second->Reset();
  }
  return it->second.get();
}

Result<int64_t> Db::QueryInt(std::string_view sql) {
  NFSREC_ASSIGN_OR_RETURN(Statement stmt, Prepare(sql));
  NFSREC_ASSIGN_OR_RETURN(const bool row, stmt.Step());
  if (!row) return Status::NotFound("no row from " + SqlForMessage(sql));
  return stmt.ColumnInt(0);
}

bool Db::InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

int64_t Db::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }

int Db::Changes() const { return sqlite3_changes(db_); }

Statement::~Statement() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    if (stmt_ != nullptr) sqlite3_finalize(stmt_);
    db_ = std::exchange(other.db_, nullptr);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

Status Statement::BindInt(int index, int64_t value) {
  assert(stmt_ != nullptr);
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "bind");
  return Status::Ok();
}

Status Statement::BindText(int index, std::string_view value) {
  assert(stmt_ != nullptr);
  // A null pointer would bind SQL NULL; an empty string must stay a string.
  const char* data = value.empty() ? "" : value.data();
  int rc = sqlite3_bind_text64(stmt_, index, data, value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "bind");
  return Status::Ok();
}

Status Statement::BindBlob(int index, const void* data, size_t len) {
  assert(stmt_ != nullptr);
  // sqlite3_bind_blob with a null pointer binds NULL, so an empty value is
  // bound as a zero-length blob explicitly.
  int rc = len == 0 ? sqlite3_bind_zeroblob(stmt_, index, 0)
                    : sqlite3_bind_blob64(stmt_, index, data, len, SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "bind");
  return Status::Ok();
}

Status Statement::BindNull(int index) {
  assert(stmt_ != nullptr);
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "bind");
  return Status::Ok();
}

Result<bool> Statement::Step() {
  assert(stmt_ != nullptr);
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const char* sql = sqlite3_sql(stmt_);
  Status st = SqliteError(db_, rc, SqlForMessage(sql != nullptr ? sql : "step"));
  sqlite3_reset(stmt_);  // leaves the statement re-executable
  return st;
}

Status Statement::Run() {
  for (;;) {
    NFSREC_ASSIGN_OR_RETURN(const bool row, Step());
    if (!row) break;
  }
  // Ends the statement so it holds no read snapshot; bindings are kept.
  sqlite3_reset(stmt_);
  return Status::Ok();
}

void Statement::Reset() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t Statement::ColumnInt(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string Statement::ColumnText(int col) const {
  // Pointer first, then the length, as the SQLite documentation requires.
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  if (p == nullptr) return std::string();
  return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
}

Blob Statement::ColumnBlob(int col) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  if (p == nullptr || n <= 0) return Blob();
  const auto* bytes = static_cast<const uint8_t*>(p);
  return Blob(bytes, bytes + n);
}

bool Statement::ColumnIsNull(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

int Statement::ColumnType(int col) const { return sqlite3_column_type(stmt_, col); }

Result<std::unique_ptr<Transaction>> Transaction::Begin(Db& db) {
  // IMMEDIATE takes the write lock now, so a later write cannot fail with a
  // busy snapshot that the busy timeout cannot resolve.
  NFSREC_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
  return std::unique_ptr<Transaction>(new Transaction(db));
}

Transaction::~Transaction() {
  // After some errors (SQLITE_FULL, IOERR, ...) SQLite has already rolled
  // back; a second ROLLBACK would only report "no transaction is active".
  if (!done_ && db_.InTransaction()) {
    Status ignored = db_.Exec("ROLLBACK");
    (void)ignored;
  }
}

Status Transaction::Commit() {
  assert(!done_);
  Status st = db_.Exec("COMMIT");
  if (st.ok()) done_ = true;
  return st;
}

Result<std::unique_ptr<Savepoint>> Savepoint::Begin(Db& db) {
  if (!db.InTransaction()) return Status::InvalidArgument("savepoint outside a transaction");
  NFSREC_RETURN_IF_ERROR(db.Exec("SAVEPOINT unit"));
  return std::unique_ptr<Savepoint>(new Savepoint(db));
}

Savepoint::~Savepoint() {
  // If the enclosing transaction was rolled back by an error, the savepoint
  // is gone with it.
  if (!done_ && db_.InTransaction()) {
    Status ignored = db_.Exec("ROLLBACK TO unit; RELEASE unit");
    (void)ignored;
  }
}

Status Savepoint::Release() {
  assert(!done_);
  Status st = db_.Exec("RELEASE unit");
  if (st.ok()) done_ = true;
  return st;
}

std::string FileUri(const std::string& path) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "file:";
  for (unsigned char c : path) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '/' || c == '-' || c == '.' || c == '_' || c == '~';
    if (plain) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace nfsrec::sqlite
