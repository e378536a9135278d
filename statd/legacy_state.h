// rpc.statd's state file, read when nfsrecd takes over a host.
//
// Format (nfs-utils support/nsm/file.c): <state-dir>/state holds the NSM
// state number as a 4-byte C int in host byte order; Debian ships it empty.
// nfsrecd keeps its state in its database; this file is only read, so that
// a host moving from rpc.statd continues from the number its peers know.
#pragma once

#include <cstdint>
#include <string>

namespace nfsrec::statd {

// The number stored in <state_dir>/state, or 0 if absent, empty or short.
int32_t ReadLegacyState(const std::string& state_dir);

}  // namespace nfsrec::statd
