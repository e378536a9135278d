// FaultVfs: a wrapping sqlite3_vfs that fails chosen I/O, for store tests.
//
// It forwards every call to the default VFS ("unix") and counts, on every
// file it opened (database, -wal, -journal, temporary files; not -shm,
// which SQLite maps into memory), xOpen, xWrite, xSync and xTruncate.  When
// armed it fails the Nth one of one kind without touching the file (the way
// SQLite's own test_vfs / ioerr tests do), as the disk would report it:
//
//   flavour   xOpen            xWrite              xSync               xTruncate
//   kEio      SQLITE_CANTOPEN  SQLITE_IOERR_WRITE  SQLITE_IOERR_FSYNC  SQLITE_IOERR_TRUNCATE
//   kEnospc   SQLITE_FULL      SQLITE_FULL         SQLITE_FULL         SQLITE_FULL
//
// (the unix VFS reports every failed open(2) as SQLITE_CANTOPEN; SQLITE_FULL
// is what SQLite makes of ENOSPC).  In persistent mode every later
// operation of that kind fails too, modelling a disk that has died or filled.
//
// Use: create one, pass its name() in sqlite::Db::Options::vfs, Arm(), do a
// store write, check the error, Disarm(), reopen and check the data.
// The object registers the VFS in its factory and unregisters it in its
// destructor: connections using it must be closed first.
//
// Thread-safe: counters are atomic, because the commit thread does the I/O.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "common/base/result.h"
#include <sqlite3.h>

namespace nfsrec::sqlite {

class FaultVfs {
 public:
  enum class Op { kWrite, kSync, kOpen, kTruncate };
  // What the failed operation reports (see the table above).
  enum class Flavour { kEio, kEnospc };

  // Registers a VFS called `name` wrapping the default one.  AlreadyExists if
  // a VFS of that name is registered.
  static Result<std::unique_ptr<FaultVfs>> Create(const std::string& name);
  ~FaultVfs();
  FaultVfs(const FaultVfs&) = delete;
  FaultVfs& operator=(const FaultVfs&) = delete;

  const std::string& name() const { return name_; }

  // Fails the nth (1-based) `op` from now; with persistent, also every later
  // one.  Resets the counters.
  void Arm(Op op, int nth, bool persistent, Flavour flavour = Flavour::kEio);
  // Stops failing (counters keep counting).
  void Disarm();

  // Operations seen since the last Arm() (or creation).
  int writes() const { return writes_.load(); }
  int syncs() const { return syncs_.load(); }
  int opens() const { return opens_.load(); }
  int truncates() const { return truncates_.load(); }
  int count(Op op) const;
  // Failures injected since the last Arm().
  int injected() const { return injected_.load(); }

 private:
  struct File;
  explicit FaultVfs(std::string name, sqlite3_vfs* real);
  // Counts one op; the SQLite code it must fail with, or SQLITE_OK.
  int Fault(Op op);
  // The wrapped VFS's file inside one of ours.
  static sqlite3_file* Real(sqlite3_file* f);

  static int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags,
                  int* out_flags) noexcept;
  static int Delete(sqlite3_vfs* vfs, const char* name, int sync_dir) noexcept;
  static int Access(sqlite3_vfs* vfs, const char* name, int flags, int* out) noexcept;
  static int FullPathname(sqlite3_vfs* vfs, const char* name, int n, char* out) noexcept;
  static void* DlOpen(sqlite3_vfs* vfs, const char* name) noexcept;
  static void DlError(sqlite3_vfs* vfs, int n, char* msg) noexcept;
  using SymbolFn = void (*)(void);
  static SymbolFn DlSym(sqlite3_vfs* vfs, void* handle, const char* sym) noexcept;
  static void DlClose(sqlite3_vfs* vfs, void* handle) noexcept;
  static int Randomness(sqlite3_vfs* vfs, int n, char* out) noexcept;
  static int Sleep(sqlite3_vfs* vfs, int micros) noexcept;
  static int CurrentTime(sqlite3_vfs* vfs, double* out) noexcept;
  static int GetLastError(sqlite3_vfs* vfs, int n, char* out) noexcept;
  static int CurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* out) noexcept;

  static int Close(sqlite3_file* f) noexcept;
  static int Read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) noexcept;
  static int Write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) noexcept;
  static int Truncate(sqlite3_file* f, sqlite3_int64 size) noexcept;
  static int Sync(sqlite3_file* f, int flags) noexcept;
  static int FileSize(sqlite3_file* f, sqlite3_int64* size) noexcept;
  static int Lock(sqlite3_file* f, int level) noexcept;
  static int Unlock(sqlite3_file* f, int level) noexcept;
  static int CheckReservedLock(sqlite3_file* f, int* out) noexcept;
  static int FileControl(sqlite3_file* f, int op, void* arg) noexcept;
  static int SectorSize(sqlite3_file* f) noexcept;
  static int DeviceCharacteristics(sqlite3_file* f) noexcept;
  static int ShmMap(sqlite3_file* f, int region, int size, int extend,
                    void volatile** out) noexcept;
  static int ShmLock(sqlite3_file* f, int offset, int n, int flags) noexcept;
  static void ShmBarrier(sqlite3_file* f) noexcept;
  static int ShmUnmap(sqlite3_file* f, int delete_flag) noexcept;
  static int Fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** out) noexcept;
  static int Unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) noexcept;

  static const sqlite3_io_methods kIoMethods;

  std::string name_;
  sqlite3_vfs* real_;
  sqlite3_vfs vfs_;
  std::atomic<bool> armed_{false};
  std::atomic<bool> persistent_{false};
  std::atomic<int> fail_op_{0};  // Op as int
  std::atomic<int> nth_{0};
  std::atomic<Flavour> flavour_{Flavour::kEio};
  std::atomic<int> writes_{0};
  std::atomic<int> syncs_{0};
  std::atomic<int> opens_{0};
  std::atomic<int> truncates_{0};
  std::atomic<int> injected_{0};
};

}  // namespace nfsrec::sqlite
