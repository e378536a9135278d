// PowerLossVfs: a wrapping sqlite3_vfs that loses every write not yet
// synced when the process dies, the way a machine that loses power loses
// its page cache.  For the crash harness (tests/crash/).
//
// Contract (what it models):
//  - Every xWrite and xTruncate of a named file (database, -wal, -journal)
//    is kept in an in-memory overlay of that file, in order, and nothing of
//    it reaches the file system until an xSync of that file: the sync writes
//    the overlay through, in order, then fsyncs.  Reads and xFileSize see
//    the overlay on top of the file, as the page cache would.
//  - The overlay belongs to the file (keyed by its full path), not to one
//    handle: every connection of the process sees it, and it outlives
//    xClose (the page cache outlives a close(2)).  xDelete drops it.
//  - So a SIGKILL of the process at any moment leaves on disk exactly what
//    was synced.  A kill during an xSync keeps an in-order prefix of that
//    sync's writes: one of the outcomes real hardware allows.
//  - Memory-mapped I/O is off (io methods version 2, no xFetch), so no page
//    is read behind the overlay's back; SQLITE_FCNTL_SIZE_HINT is ignored
//    (it would grow the real file outside the overlay).
//  - Device characteristics never claim atomic or sequential writes, so
//    SQLite does not skip a sync on their account.
//
// What it does not model:
//  - The -shm file (WAL index): shared memory goes straight to the wrapped
//    VFS.  A reboot loses it; the harness deletes it after each kill, and
//    SQLite rebuilds it from the WAL anyway when the first connection opens.
//  - Torn or reordered writes: a synced write is whole and in order, an
//    unsynced one is lost whole.  Real disks may tear a sector or persist a
//    later unsynced write and lose an earlier one.
//  - Directory entries: creating, deleting or renaming a file is immediate
//    and durable here, with or without a directory fsync.
//  - Temporary files (opened without a name) pass straight through.
//
// Thread-safe: the overlays are locked; SQLite calls in from any thread.
#pragma once

#include <cstdint>

#include "common/base/status.h"

namespace nfsrec::crash {

inline constexpr char kPowerLossVfsName[] = "nfsrec-powerloss";

// Registers the VFS once per process, wrapping the default VFS of the
// moment; with make_default it becomes the default, so every
// sqlite3_open_v2 without a VFS name goes through it.  Repeated calls are
// no-ops (except that make_default makes it the default).
Status RegisterPowerLossVfs(bool make_default);

// Forgets every unsynced write of every file, as a power cut would; for
// tests that model the crash inside one process.  Close every connection
// first: an open connection would keep pages it read from the overlay.
void DiscardUnsyncedWrites();

struct PowerLossCounters {
  uint64_t writes = 0;     // xWrite + xTruncate calls kept in an overlay
  uint64_t syncs = 0;      // xSync calls that wrote an overlay through
  uint64_t discarded = 0;  // operations dropped by DiscardUnsyncedWrites
};
PowerLossCounters PowerLossStats();

}  // namespace nfsrec::crash
