// MirrorSource: where the sm/ mirror's jobs (statd/sm_mirror.h) read the
// NSM lists: the store's committed rows, read on the mirror's own thread,
// never on the loop and never kept in memory beyond one host at a time.
// SqliteMirrorSource (statd/sqlite_mirror_source.h) reads the database
// through a read-only connection of its own; tests read a MemNsmStore.
//
// Blocking; used by one thread at a time (one mirror job runs at a time).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/base/result.h"
#include "statd/monitor.h"

namespace nfsrec::statd {

// The two lists rpc.statd keeps: sm/ (monitors) and sm.bak/ (peers still
// to be notified).
enum class MirrorList { kMonitors, kNotify };

class MirrorSource {
 public:
  using Each = std::function<Status(const MonitorRecord&)>;
  virtual ~MirrorSource() = default;

  // Every read between Begin and End sees one committed state of the
  // store (a read transaction).  End after every successful Begin.
  virtual Status Begin() = 0;
  virtual void End() = 0;
  // The stored local state number (0 if none).
  virtual Result<int32_t> LocalState() = 0;
  // The records of `list` filed under `host` (their canonical_name), to `each`.
  virtual Status ReadHost(MirrorList list, const std::string& host, const Each& each) = 0;
  // Every record of `list`, in byte order of canonical_name (the records of
  // one host together), to `each`.
  virtual Status Scan(MirrorList list, const Each& each) = 0;
};

}  // namespace nfsrec::statd
