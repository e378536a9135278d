// Writing rpc.statd's files from nfsrecd's NSM state: the way back to
// nfs-utils (nfsrecctl export --nfs-utils DIR).  The formats are those that
// statd/legacy_state.h reads (nfs-utils support/nsm/file.c):
//   DIR/sm/<canonical name>      one line per monitor record of that host:
//     "%08x %08x %08x %08x " of 127.0.0.1's s_addr (network order printed as
//     a host-endian unsigned, as rpc.statd prints it), my_prog, my_vers,
//     my_proc; lockd's 16-byte cookie as 32 lower-case hex digits; then
//     " <mon_name> <my_name>\n".
//   DIR/sm.bak/<canonical name>  the same, for peers still owed an SM_NOTIFY
//   DIR/state                    the NSM state number, a 4-byte host-endian int
// The peer and lockd states a record carries in nfsrecd have no place in
// these files; rpc.statd does not keep them either.
//
// Every file is replaced atomically and made owned like its directory
// (common/os/atomic_file.h); files of sm/ and sm.bak/ naming hosts that the
// snapshot does not hold are removed, so rpc.statd and sm-notify see exactly
// the snapshot.  A record that rpc.statd's format cannot carry (a name with
// a blank, a file name with '/', a line longer than rpc.statd reads) is left
// out and named in `skipped`, never written mangled.
//
// The daemon's mirror (statd/sm_mirror.h) writes the same files, a few
// hosts at a time, through WriteLegacyUpdate.
//
// Blocking file I/O: for commands and executor workers, never for the
// daemon's event loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/base/result.h"
#include "common/store/sqlite.h"
#include "statd/monitor.h"
#include "statd/nsm_store.h"

namespace nfsrec::statd {

// The NSM state, read on `db` inside the caller's read transaction (the
// connection may be read-only).  NotFound if the database holds no NSM
// state; Unsupported if its schema is not the one this program reads.
Result<NsmSnapshot> ReadNsmOffline(sqlite::Db& db);

// One sm/ line for `record`, newline included.
std::string FormatLegacyMonitorLine(const MonitorRecord& record);

// Why rpc.statd could not read `record` back as it is, or OK.
Status CheckLegacyExportable(const MonitorRecord& record);

struct LegacyExportCounts {
  size_t monitors = 0;  // lines written to sm/
  size_t monitor_hosts = 0;
  size_t notify = 0;  // lines written to sm.bak/
  size_t notify_hosts = 0;
  size_t removed = 0;                // stale files removed from sm/ and sm.bak/
  int32_t state = 0;                 // written to DIR/state; 0: none stored, the file is left alone
  std::vector<std::string> skipped;  // records left out, with the reason
};

// Writes sm/, sm.bak/ and state under `dir` (which must exist; sm/ and
// sm.bak/ are created mode 0700 if missing) from `snapshot`.
Result<LegacyExportCounts> ExportLegacyStatd(const NsmSnapshot& snapshot, const std::string& dir);

// The files of one list (sm/ or sm.bak/): file name (canonical name) ->
// content.  In a LegacyUpdate an empty content removes the file.
using LegacyFiles = std::map<std::string, std::string>;

// Adds the lines of `records` to `files`, in the records' order; a record
// that CheckLegacyExportable refuses is left out and named in `skipped`
// after `list`.  Returns the number of lines added.
size_t AddLegacyLines(const std::vector<MonitorRecord>& records, const char* list,
                      LegacyFiles& files, std::vector<std::string>& skipped);

// A change to rpc.statd's files under a state directory.
struct LegacyUpdate {
  // The lists are whole: files of sm/ and sm.bak/ named neither in
  // monitors/notify nor in keep_monitors/keep_notify are removed.
  bool whole = false;
  LegacyFiles monitors;  // sm/
  LegacyFiles notify;    // sm.bak/
  // With `whole`: more files to keep as they are (a later update writes
  // them: SmMirror writes a whole rewrite in batches).
  std::set<std::string> keep_monitors;
  std::set<std::string> keep_notify;
  int32_t state = 0;  // > 0: written to DIR/state
  // true: every file is on disk when the call returns, with those that
  // earlier non-durable updates wrote (one syncfs at the end).  false:
  // nothing is flushed (AtomicDirectory::set_durable): the mirror's files
  // are rewritten from the database at the next start anyway.
  bool durable = true;
  // true: a state file this process may not write (Debian's is root's and
  // the daemon runs as statd, as rpc.statd does) is left alone and said in
  // the counts, instead of failing the update.
  bool state_optional = false;
};

struct LegacyUpdateCounts {
  size_t written = 0;               // files replaced, state included
  size_t removed = 0;               // files removed from sm/ and sm.bak/
  bool state_not_writable = false;  // state_optional, and DIR/state was not ours to write
};

// Applies `update` under `dir` (sm/ and sm.bak/ are created mode 0700 if
// missing).  Each file is replaced atomically; many files at once share
// one flush (AtomicDirectory::Stage).  DIR/state is replaced atomically
// too, or, where the state directory is not ours to create files in (it
// stays root's after the daemon dropped to sm/'s owner, as Debian sets it
// up), overwritten in place: a 4-byte write at offset 0, then fsync,
// which no crash can tear.
Result<LegacyUpdateCounts> WriteLegacyUpdate(const std::string& dir, const LegacyUpdate& update);

}  // namespace nfsrec::statd
