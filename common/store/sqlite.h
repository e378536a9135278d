// RAII over the SQLite C API.  Only store adapters include this header.
//
// Db::Open applies the durability settings in one place: WAL journal,
// synchronous=FULL (every COMMIT is fsynced before it returns),
// foreign_keys=ON and a busy timeout, so that the daemon and the
// nfsdcltrack-compatible helper can share one file safely.
//
// Threading: use each Db (and its Statements) from one thread at a time;
// handing it to another thread needs only the ordering the hand-over itself
// gives (a thread's start, a queue's mutex).  A connection is opened with
// SQLITE_OPEN_NOMUTEX (SQLite's multi-thread mode, which allows exactly
// that), because a serialized connection takes its mutex in every call,
// every column read included: about an eighth of the commit thread's time
// reading 100,000 monitor rows at start-up (docs/PERFORMANCE.md).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"
#include <sqlite3.h>

namespace nfsrec::sqlite {

using Blob = std::vector<uint8_t>;

// Converts an SQLite result code to a Status (SQLITE_BUSY -> Busy,
// SQLITE_CORRUPT/NOTADB -> Corruption, SQLITE_FULL/IOERR -> IOError, ...),
// with the database's error message and the context.
Status SqliteError(sqlite3* db, int rc, std::string_view context);

class Statement;

class Db {
 public:
  struct Options {
    int busy_timeout_ms = 10000;
    bool create_if_missing = true;
    // Name of a registered sqlite3_vfs; empty selects the default.  Tests use
    // it to route I/O through tests/support/fault_vfs.h.
    std::string vfs;
  };
  // Opens (creating if allowed) the database at path with the settings above.
  // A missing file is created with mode 0600 (SQLite gives the -wal and -shm
  // files the same mode) and its directory is fsynced.  A symlink at path is
  // refused; symlinks among its directories are followed.
  // An existing file must be nfsrecd's before anything is written to it (not
  // even the switch to WAL): empty, or an SQLite database that carries
  // kApplicationId (common/store/schema.h), or one with application_id 0 that is empty or has
  // nfsrecd's schema_versions table (made before the mark existed).  Any
  // other file is refused, unchanged, with a message that names it, says what
  // it looks like (nfsdcld's or nfsdcltrack's database, another program's,
  // not SQLite at all) and what to do.
  // Errors: NotFound if the file is missing and create_if_missing is false;
  // Corruption if the file is not an SQLite database; InvalidArgument if it
  // is another program's; IOError otherwise.
  static Result<std::unique_ptr<Db>> Open(const std::string& path, const Options& options);
  static Result<std::unique_ptr<Db>> Open(const std::string& path) { return Open(path, Options()); }
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Runs one or more SQL statements that take no parameters and return no rows.
  Status Exec(std::string_view sql);
  // Compiles a statement; prepare once and Reset() between uses.
  Result<Statement> Prepare(std::string_view sql);
  // Returns a statement compiled once per connection and cached by its SQL
  // text, already Reset() with bindings cleared.  The pointer stays valid for
  // the life of the Db.  Do not use the same SQL text twice at once.
  Result<Statement*> Cached(std::string_view sql);

  // Runs one SELECT that yields a single integer (e.g. a PRAGMA); NotFound if
  // it yields no row.
  Result<int64_t> QueryInt(std::string_view sql);
  // true while a transaction (or savepoint) is open on this connection.
  bool InTransaction() const;

  int64_t LastInsertRowId() const;
  int Changes() const;
  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }

  // Whether path() still names the file this connection opened (the same
  // device and inode).  A file renamed over it or an unlink leaves the
  // connection writing to an inode nobody will open again: IOError, naming
  // the path and the remedy.  One stat(); OK for in-memory and URI names.
  Status CheckFileIdentity() const;

 private:
  Db(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
  // The opened file's identity; has_identity_ is false for in-memory and
  // URI names, which have no path to compare.
  bool has_identity_ = false;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  // Finalized before the connection closes (declared after db_).
  std::map<std::string, std::unique_ptr<Statement>, std::less<>> cache_;
};

class Statement {
 public:
  Statement() = default;
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;

  // Parameter indexes start at 1, as in SQLite.
  Status BindInt(int index, int64_t value);
  Status BindText(int index, std::string_view value);
  Status BindBlob(int index, const void* data, size_t len);
  Status BindBlob(int index, const Blob& value) {
    return BindBlob(index, value.data(), value.size());
  }
  Status BindNull(int index);

  // true: a row is available; false: done.  Errors as Status.
  Result<bool> Step();
  // Steps to completion, expecting no rows.
  Status Run();
  // Resets for re-execution and clears bindings.
  void Reset();

  int64_t ColumnInt(int col) const;
  std::string ColumnText(int col) const;
  Blob ColumnBlob(int col) const;
  bool ColumnIsNull(int col) const;
  // The SQLite storage class of a column in the current row (SQLITE_BLOB, ...).
  int ColumnType(int col) const;

  bool valid() const { return stmt_ != nullptr; }

 private:
  friend class Db;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

// BEGIN IMMEDIATE on construction via Begin(); ROLLBACK in the destructor
// unless Commit() succeeded.  Transaction and Savepoint are twins on
// purpose: separate types, so a unit cannot commit the group's transaction
// and a savepoint cannot be opened where a transaction is wanted.
class Transaction {
 public:
  static Result<std::unique_ptr<Transaction>> Begin(Db& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Status Commit();

 private:
  explicit Transaction(Db& db) : db_(db) {}
  Db& db_;
  bool done_ = false;
};

// A nested unit inside an open transaction: SAVEPOINT on Begin(); Release()
// keeps its changes as part of the enclosing transaction; the destructor
// rolls back to the savepoint (undoing only this unit) unless Release()
// succeeded.  Outside a transaction a SAVEPOINT would start a deferred one,
// so Begin() refuses (InvalidArgument): use Transaction there.  A twin of
// Transaction on purpose (see there).
class Savepoint {
 public:
  static Result<std::unique_ptr<Savepoint>> Begin(Db& db);
  ~Savepoint();
  Savepoint(const Savepoint&) = delete;
  Savepoint& operator=(const Savepoint&) = delete;
  Status Release();

 private:
  explicit Savepoint(Db& db) : db_(db) {}
  Db& db_;
  bool done_ = false;
};

// "file:" and `path` as an SQLite URI's path: bytes other than unreserved
// ones and '/' %-escaped, so '?', '#' and '%' in a file name stay in the
// name.  Append "?mode=ro" and the like; open with SQLITE_OPEN_URI.
std::string FileUri(const std::string& path);

}  // namespace nfsrec::sqlite
