// One job of the sm/ mirror (statd/sm_mirror.h), run on the mirror's
// thread: it reads what it writes from a MirrorSource (the database), so
// the loop hands it only host names.
//
// The in-step marker: a clean stop (the drain's Flush, once every file was
// written) records in `marker` what the files were written from and how
// the directories looked afterwards:
//   nfsrecd-sm-mirror 1
//   lists <rows> <sum1> <sum2>          fingerprint of both lists (below)
//   sm <dev> <ino> <mtime s.ns> <ctime s.ns>
//   sm.bak <dev> <ino> <mtime s.ns> <ctime s.ns>
// The fingerprint is the count of records and two sums (mod 2^64) of two
// independent 64-bit hashes of each record's list, canonical name, key and
// cookie: it does not depend on the order rows are read in, and any change
// to what the files hold changes it.  The next start computes it again
// from the database and stats the directories: only if all of it is equal
// are the files in step, and the start writes no host file.  A change
// committed without the mirror (a crash before its job, the sm-notify
// command or `nfsrecctl remove` while the daemon was down, another
// version) changes the fingerprint; anything that added, removed or
// replaced a file in sm/ or sm.bak/ (rpc.statd, CTDB, an admin's rm, the
// mirror itself after the marker) changes the directories' times.  Any
// difference, an unreadable or missing marker: every file is rewritten.
// The marker is written only if the store's state number is still the one
// the mirror knows, so a change by the sm-notify command whose reload
// never came (it always bumps the state) is not taken as written.
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "common/base/result.h"
#include "statd/nfs_utils_export.h"
#include "statd/sm_mirror_source.h"

namespace nfsrec::statd {

// What a job does, decided on the loop thread.
struct MirrorJob {
  // Compare the marker first; rewrite everything unless the files are in step.
  bool check = false;
  // Rewrite every file of both lists and remove the others (strays).
  bool whole = false;
  std::set<std::string> monitors;  // hosts whose sm/ file is stale
  std::set<std::string> notify;    // hosts whose sm.bak/ file is stale
  int32_t state = 0;               // > 0: written to <state_dir>/state
  bool durable = false;            // ends with one syncfs (the drain's flush)
  // After writing, record the marker if the store's state is still
  // `known_state` (the mirror's).
  bool seal = false;
  int32_t known_state = 0;
};

struct MirrorJobResult {
  LegacyUpdateCounts counts;
  uint64_t skipped = 0;    // records rpc.statd's format cannot carry
  bool whole = false;      // every file was rewritten (or found exact)
  uint64_t unchanged = 0;  // files a whole rewrite found exact and left alone
  bool in_step = false;    // `check` found the marker current
  bool sealed = false;     // the marker was written
};

// Most host files one write holds in memory: a whole rewrite of 100,000
// hosts goes out in batches of this many.
inline constexpr size_t kMirrorFilesPerWrite = 1024;

// Runs `job` for the files under `state_dir`, the marker at `marker_dir`/
// `marker_name` ("" marker_dir: none).  Blocking.
Result<MirrorJobResult> RunMirrorJob(MirrorSource& source, const std::string& state_dir,
                                     const std::string& marker_dir, const std::string& marker_name,
                                     const MirrorJob& job);

}  // namespace nfsrec::statd
