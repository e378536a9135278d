#include "tests/support/fault_vfs.h"

#include <utility>

namespace nfsrec::sqlite {

// Our sqlite3_file: SQLite sees `base` (pMethods = kIoMethods); the wrapped
// VFS's file lives in the storage right after this struct.
struct FaultVfs::File {
  sqlite3_file base;
  FaultVfs* owner;
  sqlite3_file* real;
};

namespace {

FaultVfs* Self(sqlite3_vfs* vfs) { return static_cast<FaultVfs*>(vfs->pAppData); }

}  // namespace

const sqlite3_io_methods FaultVfs::kIoMethods = {
    3,  // iVersion: shared memory (WAL) and memory-mapped fetch
    &FaultVfs::Close,
    &FaultVfs::Read,
    &FaultVfs::Write,
    &FaultVfs::Truncate,
    &FaultVfs::Sync,
    &FaultVfs::FileSize,
    &FaultVfs::Lock,
    &FaultVfs::Unlock,
    &FaultVfs::CheckReservedLock,
    &FaultVfs::FileControl,
    &FaultVfs::SectorSize,
    &FaultVfs::DeviceCharacteristics,
    &FaultVfs::ShmMap,
    &FaultVfs::ShmLock,
    &FaultVfs::ShmBarrier,
    &FaultVfs::ShmUnmap,
    &FaultVfs::Fetch,
    &FaultVfs::Unfetch,
};

Result<std::unique_ptr<FaultVfs>> FaultVfs::Create(const std::string& name) {
  if (sqlite3_vfs_find(name.c_str()) != nullptr) {
    return Status::AlreadyExists("VFS " + name + " is already registered");
  }
  sqlite3_vfs* real = sqlite3_vfs_find(nullptr);
  if (real == nullptr) return Status::Unavailable("no default VFS");
  std::unique_ptr<FaultVfs> self(new FaultVfs(name, real));
  int rc = sqlite3_vfs_register(&self->vfs_, 0);
  if (rc != SQLITE_OK)
    return Status::IOError(std::string("sqlite3_vfs_register: ") + sqlite3_errstr(rc));
  return self;
}

FaultVfs::FaultVfs(std::string name, sqlite3_vfs* real)
    : name_(std::move(name)), real_(real), vfs_{} {
  vfs_.iVersion = 2;
  vfs_.szOsFile = static_cast<int>(sizeof(File)) + real->szOsFile;
  vfs_.mxPathname = real->mxPathname;
  vfs_.zName = name_.c_str();
  vfs_.pAppData = this;
  vfs_.xOpen = &FaultVfs::Open;
  vfs_.xDelete = &FaultVfs::Delete;
  vfs_.xAccess = &FaultVfs::Access;
  vfs_.xFullPathname = &FaultVfs::FullPathname;
  vfs_.xDlOpen = &FaultVfs::DlOpen;
  vfs_.xDlError = &FaultVfs::DlError;
  vfs_.xDlSym = &FaultVfs::DlSym;
  vfs_.xDlClose = &FaultVfs::DlClose;
  vfs_.xRandomness = &FaultVfs::Randomness;
  vfs_.xSleep = &FaultVfs::Sleep;
  vfs_.xCurrentTime = &FaultVfs::CurrentTime;
  vfs_.xGetLastError = &FaultVfs::GetLastError;
  vfs_.xCurrentTimeInt64 = &FaultVfs::CurrentTimeInt64;
}

FaultVfs::~FaultVfs() { sqlite3_vfs_unregister(&vfs_); }

void FaultVfs::Arm(Op op, int nth, bool persistent, Flavour flavour) {
  armed_ = false;
  writes_ = 0;
  syncs_ = 0;
  opens_ = 0;
  truncates_ = 0;
  injected_ = 0;
  fail_op_ = static_cast<int>(op);
  nth_ = nth;
  persistent_ = persistent;
  flavour_ = flavour;
  armed_ = true;
}

void FaultVfs::Disarm() { armed_ = false; }

int FaultVfs::count(Op op) const {
  switch (op) {
    case Op::kWrite:
      return writes_;
    case Op::kSync:
      return syncs_;
    case Op::kOpen:
      return opens_;
    case Op::kTruncate:
      return truncates_;
  }
  return 0;
}

int FaultVfs::Fault(Op op) {
  int n = 0;
  int eio = SQLITE_OK;
  switch (op) {
    case Op::kWrite:
      n = ++writes_;
      eio = SQLITE_IOERR_WRITE;
      break;
    case Op::kSync:
      n = ++syncs_;
      eio = SQLITE_IOERR_FSYNC;
      break;
    case Op::kOpen:
      n = ++opens_;
      eio = SQLITE_CANTOPEN;
      break;
    case Op::kTruncate:
      n = ++truncates_;
      eio = SQLITE_IOERR_TRUNCATE;
      break;
  }
  if (!armed_ || fail_op_ != static_cast<int>(op)) return SQLITE_OK;
  if (n == nth_ || (persistent_ && n > nth_)) {
    ++injected_;
    return flavour_ == Flavour::kEnospc ? SQLITE_FULL : eio;
  }
  return SQLITE_OK;
}

int FaultVfs::Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags,
                   int* out_flags) noexcept {
  FaultVfs* self = Self(vfs);
  File* f = reinterpret_cast<File*>(file);
  f->owner = self;
  f->real = reinterpret_cast<sqlite3_file*>(f + 1);
  f->real->pMethods = nullptr;
  if (int fault = self->Fault(Op::kOpen); fault != SQLITE_OK) {
    f->base.pMethods = nullptr;  // nothing opened, nothing to close
    return fault;
  }
  int rc = self->real_->xOpen(self->real_, name, f->real, flags, out_flags);
  // SQLite calls xClose whenever pMethods is set, even after a failed open.
  f->base.pMethods = f->real->pMethods != nullptr ? &kIoMethods : nullptr;
  return rc;
}

int FaultVfs::Delete(sqlite3_vfs* vfs, const char* name, int sync_dir) noexcept {
  return Self(vfs)->real_->xDelete(Self(vfs)->real_, name, sync_dir);
}

int FaultVfs::Access(sqlite3_vfs* vfs, const char* name, int flags, int* out) noexcept {
  return Self(vfs)->real_->xAccess(Self(vfs)->real_, name, flags, out);
}

int FaultVfs::FullPathname(sqlite3_vfs* vfs, const char* name, int n, char* out) noexcept {
  return Self(vfs)->real_->xFullPathname(Self(vfs)->real_, name, n, out);
}

void* FaultVfs::DlOpen(sqlite3_vfs* vfs, const char* name) noexcept {
  return Self(vfs)->real_->xDlOpen(Self(vfs)->real_, name);
}

void FaultVfs::DlError(sqlite3_vfs* vfs, int n, char* msg) noexcept {
  Self(vfs)->real_->xDlError(Self(vfs)->real_, n, msg);
}

FaultVfs::SymbolFn FaultVfs::DlSym(sqlite3_vfs* vfs, void* handle, const char* sym) noexcept {
  return Self(vfs)->real_->xDlSym(Self(vfs)->real_, handle, sym);
}

void FaultVfs::DlClose(sqlite3_vfs* vfs, void* handle) noexcept {
  Self(vfs)->real_->xDlClose(Self(vfs)->real_, handle);
}

int FaultVfs::Randomness(sqlite3_vfs* vfs, int n, char* out) noexcept {
  return Self(vfs)->real_->xRandomness(Self(vfs)->real_, n, out);
}

int FaultVfs::Sleep(sqlite3_vfs* vfs, int micros) noexcept {
  return Self(vfs)->real_->xSleep(Self(vfs)->real_, micros);
}

int FaultVfs::CurrentTime(sqlite3_vfs* vfs, double* out) noexcept {
  return Self(vfs)->real_->xCurrentTime(Self(vfs)->real_, out);
}

int FaultVfs::GetLastError(sqlite3_vfs* vfs, int n, char* out) noexcept {
  return Self(vfs)->real_->xGetLastError(Self(vfs)->real_, n, out);
}

int FaultVfs::CurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* out) noexcept {
  sqlite3_vfs* real = Self(vfs)->real_;
  if (real->iVersion >= 2 && real->xCurrentTimeInt64 != nullptr) {
    return real->xCurrentTimeInt64(real, out);
  }
  double days = 0;
  int rc = real->xCurrentTime(real, &days);
  *out = static_cast<sqlite3_int64>(days * 86400000.0);
  return rc;
}

sqlite3_file* FaultVfs::Real(sqlite3_file* f) { return reinterpret_cast<File*>(f)->real; }

int FaultVfs::Close(sqlite3_file* f) noexcept {
  sqlite3_file* real = Real(f);
  int rc = real->pMethods->xClose(real);
  f->pMethods = nullptr;
  return rc;
}

int FaultVfs::Read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) noexcept {
  return Real(f)->pMethods->xRead(Real(f), buf, n, off);
}

int FaultVfs::Write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) noexcept {
  if (int fault = reinterpret_cast<File*>(f)->owner->Fault(Op::kWrite)) return fault;
  return Real(f)->pMethods->xWrite(Real(f), buf, n, off);
}

int FaultVfs::Truncate(sqlite3_file* f, sqlite3_int64 size) noexcept {
  if (int fault = reinterpret_cast<File*>(f)->owner->Fault(Op::kTruncate)) return fault;
  return Real(f)->pMethods->xTruncate(Real(f), size);
}

int FaultVfs::Sync(sqlite3_file* f, int flags) noexcept {
  if (int fault = reinterpret_cast<File*>(f)->owner->Fault(Op::kSync)) return fault;
  return Real(f)->pMethods->xSync(Real(f), flags);
}

int FaultVfs::FileSize(sqlite3_file* f, sqlite3_int64* size) noexcept {
  return Real(f)->pMethods->xFileSize(Real(f), size);
}

int FaultVfs::Lock(sqlite3_file* f, int level) noexcept {
  return Real(f)->pMethods->xLock(Real(f), level);
}

int FaultVfs::Unlock(sqlite3_file* f, int level) noexcept {
  return Real(f)->pMethods->xUnlock(Real(f), level);
}

int FaultVfs::CheckReservedLock(sqlite3_file* f, int* out) noexcept {
  return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
}

int FaultVfs::FileControl(sqlite3_file* f, int op, void* arg) noexcept {
  return Real(f)->pMethods->xFileControl(Real(f), op, arg);
}

int FaultVfs::SectorSize(sqlite3_file* f) noexcept {
  return Real(f)->pMethods->xSectorSize(Real(f));
}

int FaultVfs::DeviceCharacteristics(sqlite3_file* f) noexcept {
  return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
}

int FaultVfs::ShmMap(sqlite3_file* f, int region, int size, int extend,
                     void volatile** out) noexcept {
  const sqlite3_io_methods* m = Real(f)->pMethods;
  if (m->iVersion < 2) return SQLITE_IOERR_SHMMAP;
  return m->xShmMap(Real(f), region, size, extend, out);
}

int FaultVfs::ShmLock(sqlite3_file* f, int offset, int n, int flags) noexcept {
  const sqlite3_io_methods* m = Real(f)->pMethods;
  if (m->iVersion < 2) return SQLITE_IOERR_SHMLOCK;
  return m->xShmLock(Real(f), offset, n, flags);
}

void FaultVfs::ShmBarrier(sqlite3_file* f) noexcept {
  const sqlite3_io_methods* m = Real(f)->pMethods;
  if (m->iVersion >= 2) m->xShmBarrier(Real(f));
}

int FaultVfs::ShmUnmap(sqlite3_file* f, int delete_flag) noexcept {
  const sqlite3_io_methods* m = Real(f)->pMethods;
  if (m->iVersion < 2) return SQLITE_OK;
  return m->xShmUnmap(Real(f), delete_flag);
}

int FaultVfs::Fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** out) noexcept {
  const sqlite3_io_methods* m = Real(f)->pMethods;
  if (m->iVersion < 3) {
    *out = nullptr;  // "no mapping": SQLite falls back to xRead
    return SQLITE_OK;
  }
  return m->xFetch(Real(f), off, n, out);
}

int FaultVfs::Unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) noexcept {
  const sqlite3_io_methods* m = Real(f)->pMethods;
  if (m->iVersion < 3) return SQLITE_OK;
  return m->xUnfetch(Real(f), off, p);
}

}  // namespace nfsrec::sqlite
