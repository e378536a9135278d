// The crash harness's view of the daemon's database: what a checker needs
// of the "nsm" and "cld" components (schemas: statd/sqlite_nsm_store.cc,
// nfs4rec/client_sql.h), read through a read-only connection while the
// daemon is down.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "common/base/result.h"
#include "statd/monitor.h"

namespace nfsrec::crash {

struct MonitorState {
  statd::Cookie priv{};
  int32_t peer_state = 0;
  bool operator==(const MonitorState&) const = default;
};

struct StoreSnapshot {
  std::map<statd::MonitorKey, MonitorState> monitors;  // rows of `monitors`
  int64_t notify_rows = 0;                             // rows of `notify_list`
  int64_t current = 0;                                 // cld_grace.current (0: no row)
  int64_t recovery = 0;                                // cld_grace.recovery
  std::set<std::string> v4_current;                    // ids in the current epoch
  std::set<std::string> v4_recovery;                   // ids in the recovery epoch
  std::string integrity = "ok";                        // PRAGMA integrity_check

  // The ids the next GraceStart must upload: the recovery epoch while a
  // grace period is open (it is kept), else the current one.
  const std::set<std::string>& Reclaimable() const {
    return recovery != 0 ? v4_recovery : v4_current;
  }
};

// Reads the database at `path` read-only.  A missing file or a missing
// table reads as empty (the daemon may die before it creates them); any
// other error is returned.
Result<StoreSnapshot> ReadStore(const std::string& path);

// The checker's self-test: removes one stored monitor (by mon_name and
// my_name) or one client of the current epoch, as a lost write would.
Status DeleteMonitor(const std::string& path, const statd::MonitorKey& key);
Status DeleteClient(const std::string& path, const std::string& id);

}  // namespace nfsrec::crash
