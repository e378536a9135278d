// rpc.statd's files, read when nfsrecd takes over a host.
//
// Formats (nfs-utils support/nsm/file.c):
// - <state-dir>/state holds the NSM state number as a 4-byte C int in host
//   byte order; Debian ships it empty.
// - <state-dir>/sm/<name> (monitor list) and <state-dir>/sm.bak/<name>
//   (peers not yet notified of a reboot): one line per SM_MON,
//     "%08x %08x %08x %08x " address, my_prog, my_vers, my_proc
//     32 lower-case hex digits                 priv, at offset 36
//     " <mon_name> <my_name>\n"
//   The address is always 127.0.0.1 (lockd's) and is not needed.  The file
//   name is the peer's canonical name.  Names starting with '.' are temp
//   files; anything but a regular file is skipped.
// Layouts: Debian keeps these files in /var/lib/nfs, Fedora and RHEL in
// /var/lib/nfs/statd.  Only the state directory's own files are read; files
// of the other layout (<state-dir>/statd/, or the parent of a state
// directory named "statd") are named in `problems` with the setting that
// would read them, never imported beside the state directory's.
// nfsrecd keeps everything in its database; these files are only read, so
// that a host moving from rpc.statd keeps its state number and still
// notifies the peers that rpc.statd monitored.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/base/result.h"
#include "common/os/file_system.h"
#include "statd/monitor.h"

namespace nfsrec::statd {

// The number stored in <state_dir>/state, or 0 if absent, empty or short.
int32_t ReadLegacyState(FileSystem& fs, const std::string& state_dir);

// One line of an sm/ or sm.bak/ file (without its newline); `canonical` is
// the file's name.
Result<MonitorRecord> ParseLegacyMonitorLine(std::string_view line, const std::string& canonical);

// The state number and both lists.  A file or line that does not parse is
// skipped and named in `problems`; a missing directory is not a problem.
// rpc.statd's files in the other layout's place (see above) add one entry
// to `problems` (MisplacedLegacyFiles).
LegacyStatd ReadLegacyStatd(FileSystem& fs, const std::string& state_dir);

// One line naming rpc.statd's files found where the other layout keeps
// them (monitor and notify files, a state number), that they are not
// imported, and the nfs.conf key and option that would import them; empty
// if there are none.
std::string MisplacedLegacyFiles(FileSystem& fs, const std::string& state_dir);

}  // namespace nfsrec::statd
