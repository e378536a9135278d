#include "tests/crash/powerloss_vfs.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <sqlite3.h>

namespace nfsrec::crash {
namespace {

// One unsynced operation on a file: a write, or a truncate to `offset`.
struct PendingOp {
  bool truncate = false;
  int64_t offset = 0;
  std::vector<uint8_t> data;
};

// The page cache of one file: what was written since its last sync.
struct Overlay {
  std::mutex mu;
  std::vector<PendingOp> ops;
};

// Our sqlite3_file: SQLite sees `base`; the wrapped VFS's file lives in the
// storage right after this struct.  overlay is null for temporary files.
struct File {
  sqlite3_file base;
  sqlite3_file* real;
  Overlay* overlay;
};

sqlite3_file* Real(sqlite3_file* f) { return reinterpret_cast<File*>(f)->real; }
Overlay* OverlayOf(sqlite3_file* f) { return reinterpret_cast<File*>(f)->overlay; }

// The process-wide state behind the registered sqlite3_vfs (which SQLite
// keeps a raw pointer to, so it must live as long as the process).
class PowerLoss {
 public:
  static PowerLoss& Get() {
    static PowerLoss* self = new PowerLoss();  // never destroyed: SQLite may call in at exit
    return *self;
  }

  Status Register(bool make_default) {
    std::lock_guard<std::mutex> lock(mu_);
    if (real_ == nullptr) {
      real_ = sqlite3_vfs_find(nullptr);
      if (real_ == nullptr) return Status::Unavailable("no default SQLite VFS");
      vfs_.iVersion = 2;
      vfs_.szOsFile = static_cast<int>(sizeof(File)) + real_->szOsFile;
      vfs_.mxPathname = real_->mxPathname;
      vfs_.zName = kPowerLossVfsName;
      vfs_.pAppData = this;
      vfs_.xOpen = &Open;
      vfs_.xDelete = &Delete;
      vfs_.xAccess = [](sqlite3_vfs*, const char* n, int fl, int* out) noexcept {
        return Get().real_->xAccess(Get().real_, n, fl, out);
      };
      vfs_.xFullPathname = [](sqlite3_vfs*, const char* n, int len, char* out) noexcept {
        return Get().real_->xFullPathname(Get().real_, n, len, out);
      };
      vfs_.xDlOpen = [](sqlite3_vfs*, const char* n) noexcept {
        return Get().real_->xDlOpen(Get().real_, n);
      };
      vfs_.xDlError = [](sqlite3_vfs*, int n, char* msg) noexcept {
        Get().real_->xDlError(Get().real_, n, msg);
      };
      vfs_.xDlSym = [](sqlite3_vfs*, void* h, const char* sym) noexcept {
        return Get().real_->xDlSym(Get().real_, h, sym);
      };
      vfs_.xDlClose = [](sqlite3_vfs*, void* h) noexcept { Get().real_->xDlClose(Get().real_, h); };
      vfs_.xRandomness = [](sqlite3_vfs*, int n, char* out) noexcept {
        return Get().real_->xRandomness(Get().real_, n, out);
      };
      vfs_.xSleep = [](sqlite3_vfs*, int us) noexcept {
        return Get().real_->xSleep(Get().real_, us);
      };
      vfs_.xCurrentTime = [](sqlite3_vfs*, double* out) noexcept {
        return Get().real_->xCurrentTime(Get().real_, out);
      };
      vfs_.xGetLastError = [](sqlite3_vfs*, int n, char* out) noexcept {
        return Get().real_->xGetLastError(Get().real_, n, out);
      };
      vfs_.xCurrentTimeInt64 = [](sqlite3_vfs*, sqlite3_int64* out) noexcept {
        return Get().real_->xCurrentTimeInt64(Get().real_, out);
      };
    }
    int rc = sqlite3_vfs_register(&vfs_, make_default ? 1 : 0);
    if (rc != SQLITE_OK) {
      return Status::IOError(std::string("sqlite3_vfs_register: ") + sqlite3_errstr(rc));
    }
    return Status::Ok();
  }

  Overlay* OverlayFor(const std::string& path) {
    std::lock_guard<std::mutex> lock(mu_);
    std::unique_ptr<Overlay>& o = overlays_[path];
    if (!o) o = std::make_unique<Overlay>();
    return o.get();
  }

  void Forget(const std::string& path) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = overlays_.find(path);
    if (it == overlays_.end()) return;
    std::lock_guard<std::mutex> olock(it->second->mu);
    it->second->ops.clear();
  }

  void DiscardAll() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [path, o] : overlays_) {
      std::lock_guard<std::mutex> olock(o->mu);
      discarded_ += o->ops.size();
      o->ops.clear();
    }
  }

  // Atomics, not mu_: they are counted while an overlay's lock is held.
  void CountWrite() { ++writes_; }
  void CountSync() { ++syncs_; }
  PowerLossCounters counters() {
    std::lock_guard<std::mutex> lock(mu_);
    return PowerLossCounters{writes_.load(), syncs_.load(), discarded_};
  }

  sqlite3_vfs* real() const { return real_; }

 private:
  PowerLoss() : vfs_{} {}

  static int Open(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags,
                  int* out_flags) noexcept;
  static int Delete(sqlite3_vfs*, const char* name, int sync_dir) noexcept;

  std::mutex mu_;
  sqlite3_vfs* real_ = nullptr;
  sqlite3_vfs vfs_;
  std::map<std::string, std::unique_ptr<Overlay>> overlays_;
  std::atomic<uint64_t> writes_{0};
  std::atomic<uint64_t> syncs_{0};
  uint64_t discarded_ = 0;  // guarded by mu_
};

// The file's size as the overlay shows it.
int LogicalSize(sqlite3_file* real, const Overlay& o, sqlite3_int64* size) {
  int rc = real->pMethods->xFileSize(real, size);
  if (rc != SQLITE_OK) return rc;
  for (const PendingOp& op : o.ops) {
    if (op.truncate) {
      *size = op.offset;
    } else {
      *size = std::max<sqlite3_int64>(*size, op.offset + static_cast<int64_t>(op.data.size()));
    }
  }
  return SQLITE_OK;
}

int Close(sqlite3_file* f) noexcept { return Real(f)->pMethods->xClose(Real(f)); }

int Read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) noexcept {
  Overlay* o = OverlayOf(f);
  if (o == nullptr) return Real(f)->pMethods->xRead(Real(f), buf, n, off);
  std::lock_guard<std::mutex> lock(o->mu);
  auto* out = static_cast<uint8_t*>(buf);
  int rc = Real(f)->pMethods->xRead(Real(f), buf, n, off);  // zero-fills a short read
  if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ) return rc;
  const int64_t end = off + n;
  for (const PendingOp& op : o->ops) {
    if (op.truncate) {
      // Bytes past the cut read as zeros, even if a later write extends the file.
      if (op.offset < end) {
        int64_t from = std::max<int64_t>(op.offset, off);
        std::memset(out + (from - off), 0, static_cast<size_t>(end - from));
      }
      continue;
    }
    int64_t lo = std::max<int64_t>(op.offset, off);
    int64_t hi = std::min<int64_t>(op.offset + static_cast<int64_t>(op.data.size()), end);
    if (lo < hi) {
      std::memcpy(out + (lo - off), op.data.data() + (lo - op.offset),
                  static_cast<size_t>(hi - lo));
    }
  }
  sqlite3_int64 size = 0;
  rc = LogicalSize(Real(f), *o, &size);
  if (rc != SQLITE_OK) return rc;
  if (end > size) {
    int64_t from = std::max<int64_t>(size, off);
    std::memset(out + (from - off), 0, static_cast<size_t>(end - from));
    return SQLITE_IOERR_SHORT_READ;
  }
  return SQLITE_OK;
}

int Write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) noexcept {
  Overlay* o = OverlayOf(f);
  if (o == nullptr) return Real(f)->pMethods->xWrite(Real(f), buf, n, off);
  {
    std::lock_guard<std::mutex> lock(o->mu);
    const auto* p = static_cast<const uint8_t*>(buf);
    // Rewriting the same range replaces the pending write in place: the WAL
    // header and the database's first page are rewritten often.
    if (!o->ops.empty()) {
      PendingOp& last = o->ops.back();
      if (!last.truncate && last.offset == off && last.data.size() == static_cast<size_t>(n)) {
        last.data.assign(p, p + n);
        PowerLoss::Get().CountWrite();
        return SQLITE_OK;
      }
    }
    o->ops.push_back(PendingOp{false, off, std::vector<uint8_t>(p, p + n)});
  }
  PowerLoss::Get().CountWrite();
  return SQLITE_OK;
}

int Truncate(sqlite3_file* f, sqlite3_int64 size) noexcept {
  Overlay* o = OverlayOf(f);
  if (o == nullptr) return Real(f)->pMethods->xTruncate(Real(f), size);
  {
    std::lock_guard<std::mutex> lock(o->mu);
    o->ops.push_back(PendingOp{true, size, {}});
  }
  PowerLoss::Get().CountWrite();
  return SQLITE_OK;
}

int Sync(sqlite3_file* f, int flags) noexcept {
  Overlay* o = OverlayOf(f);
  sqlite3_file* real = Real(f);
  if (o != nullptr) {
    std::lock_guard<std::mutex> lock(o->mu);
    size_t done = 0;
    int rc = SQLITE_OK;
    for (; done < o->ops.size() && rc == SQLITE_OK; ++done) {
      const PendingOp& op = o->ops[done];
      rc = op.truncate ? real->pMethods->xTruncate(real, op.offset)
                       : real->pMethods->xWrite(real, op.data.data(),
                                                static_cast<int>(op.data.size()), op.offset);
    }
    // What was written through is now the file's; a failed op stays pending.
    if (rc != SQLITE_OK) --done;
    o->ops.erase(o->ops.begin(), o->ops.begin() + static_cast<std::ptrdiff_t>(done));
    if (rc != SQLITE_OK) return rc;
    PowerLoss::Get().CountSync();
  }
  return real->pMethods->xSync(real, flags);
}

int FileSize(sqlite3_file* f, sqlite3_int64* size) noexcept {
  Overlay* o = OverlayOf(f);
  if (o == nullptr) return Real(f)->pMethods->xFileSize(Real(f), size);
  std::lock_guard<std::mutex> lock(o->mu);
  return LogicalSize(Real(f), *o, size);
}

int Lock(sqlite3_file* f, int level) noexcept { return Real(f)->pMethods->xLock(Real(f), level); }
int Unlock(sqlite3_file* f, int level) noexcept {
  return Real(f)->pMethods->xUnlock(Real(f), level);
}
int CheckReservedLock(sqlite3_file* f, int* out) noexcept {
  return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
}

int FileControl(sqlite3_file* f, int op, void* arg) noexcept {
  if (op == SQLITE_FCNTL_SIZE_HINT && OverlayOf(f) != nullptr) return SQLITE_OK;
  return Real(f)->pMethods->xFileControl(Real(f), op, arg);
}

int SectorSize(sqlite3_file* f) noexcept { return Real(f)->pMethods->xSectorSize(Real(f)); }

int DeviceCharacteristics(sqlite3_file* f) noexcept {
  int c = Real(f)->pMethods->xDeviceCharacteristics(Real(f));
  constexpr int kAtomic = SQLITE_IOCAP_ATOMIC | SQLITE_IOCAP_ATOMIC512 | SQLITE_IOCAP_ATOMIC1K |
                          SQLITE_IOCAP_ATOMIC2K | SQLITE_IOCAP_ATOMIC4K | SQLITE_IOCAP_ATOMIC8K |
                          SQLITE_IOCAP_ATOMIC16K | SQLITE_IOCAP_ATOMIC32K | SQLITE_IOCAP_ATOMIC64K |
                          SQLITE_IOCAP_BATCH_ATOMIC;
  return c & ~(kAtomic | SQLITE_IOCAP_SEQUENTIAL);
}

int ShmMap(sqlite3_file* f, int region, int size, int extend, void volatile** out) noexcept {
  return Real(f)->pMethods->xShmMap(Real(f), region, size, extend, out);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) noexcept {
  return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) noexcept { Real(f)->pMethods->xShmBarrier(Real(f)); }
int ShmUnmap(sqlite3_file* f, int delete_flag) noexcept {
  return Real(f)->pMethods->xShmUnmap(Real(f), delete_flag);
}

const sqlite3_io_methods kIoMethods = {
    2,  // iVersion: shared memory (WAL), no memory-mapped xFetch
    &Close,
    &Read,
    &Write,
    &Truncate,
    &Sync,
    &FileSize,
    &Lock,
    &Unlock,
    &CheckReservedLock,
    &FileControl,
    &SectorSize,
    &DeviceCharacteristics,
    &ShmMap,
    &ShmLock,
    &ShmBarrier,
    &ShmUnmap,
    nullptr,
    nullptr,
};

int PowerLoss::Open(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags,
                    int* out_flags) noexcept {
  PowerLoss& self = Get();
  File* f = reinterpret_cast<File*>(file);
  f->real = reinterpret_cast<sqlite3_file*>(f + 1);
  f->real->pMethods = nullptr;
  f->overlay = name != nullptr ? self.OverlayFor(name) : nullptr;
  int rc = self.real_->xOpen(self.real_, name, f->real, flags, out_flags);
  // SQLite calls xClose whenever pMethods is set, even after a failed open.
  f->base.pMethods = f->real->pMethods != nullptr ? &kIoMethods : nullptr;
  return rc;
}

int PowerLoss::Delete(sqlite3_vfs*, const char* name, int sync_dir) noexcept {
  PowerLoss& self = Get();
  self.Forget(name);
  return self.real_->xDelete(self.real_, name, sync_dir);
}

}  // namespace

Status RegisterPowerLossVfs(bool make_default) { return PowerLoss::Get().Register(make_default); }

void DiscardUnsyncedWrites() { PowerLoss::Get().DiscardAll(); }

PowerLossCounters PowerLossStats() { return PowerLoss::Get().counters(); }

}  // namespace nfsrec::crash
