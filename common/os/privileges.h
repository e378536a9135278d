// Dropping root, as rpc.statd does: the user to become is the owner of the
// state directory's sm/ (lstat, so a symbolic link named sm speaks for
// itself), never of the state directory, which stays root's.
//
// Capabilities are per thread and so are the keep-caps flag and the
// bounding set: a drop runs while the process has a single thread (before
// the executor's workers or the commit thread exist) and refuses otherwise,
// unless the caller accepts that the other threads lose everything
// (OtherThreads::kLoseEverything, for the sm-notify command's late drop).  Nothing is left
// inheritable or ambient, so a program we execute (an ha-callout) starts with no capabilities at
// all, and the bounding set is emptied so that not even a set-user-ID root program it runs could
// regain them.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/base/logging.h"
#include "common/base/result.h"

namespace nfsrec {

struct PrivilegePlan {
  enum class Action {
    kNone,      // not running as root: nothing to drop
    kStayRoot,  // sm/ belongs to root: stay root (the admin chose so)
    kDrop,      // become uid/gid, keeping only CAP_NET_BIND_SERVICE
  };
  Action action = Action::kNone;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string sm_path;  // <state_dir>/sm, for the log lines
  bool sm_missing = false;
};

// What ApplyPrivilegePlan will do for a process running as `current_uid`
// (getuid()).  A missing sm/ means staying root (the database needs no sm/,
// so none may exist); any other lstat failure is an error.  Not looked at
// unless running as root.
Result<PrivilegePlan> PlanPrivilegeDrop(const std::string& state_dir, uid_t current_uid);

// Threads other than the caller, when there are some:
enum class OtherThreads {
  kRefuse,  // InvalidArgument: the drop must come before any thread exists
  // The uid change reaches every thread (glibc applies set*id to all), and
  // keep-caps is set in the calling thread only, so the others lose every
  // capability with it; checked in /proc/self/task.  Their bounding sets
  // stay as they were: none of them may execute programs.
  kLoseEverything,
};

// kNone: nothing.  kStayRoot: prunes the bounding set and warns "Running as
// root.  chown <sm> to choose a different user" (or, with no sm/, to make
// one owned by that user).  kDrop: prunes the
// bounding set, setgroups(0), setgid, setuid with keep-caps, then leaves
// exactly CAP_NET_BIND_SERVICE permitted and effective, and logs "Effective
// UID, GID: u, g".  Checks the outcome (and that root cannot be regained);
// any failure is an error value and the caller must not go on.
Status ApplyPrivilegePlan(const PrivilegePlan& plan, Logger& log,
                          OtherThreads others = OtherThreads::kRefuse);

// What DropToRootWithoutCapabilities leaves permitted and effective.
enum class RootKeeps {
  kNothing,
  // CAP_DAC_READ_SEARCH, if permitted now (else nothing): nfsd makes
  // /proc/fs/nfsd/clients and every client's directory mode 0600, which
  // uid 0 can list but not enter without a capability.
  kReadSearchIfPermitted,
};

// For the nfsdcld role and the privileged helper: uid stays 0 (what /proc
// and rpc_pipefs permission checks ask for), every capability but `keeps`
// is dropped and the bounding set pruned, as nfsdcld does.
// PermissionDenied unless running as root.
Status DropToRootWithoutCapabilities(RootKeeps keeps = RootKeeps::kNothing);

// Number of threads of this process (/proc/self/task), 0 if unknown.
size_t CountThreads();

}  // namespace nfsrec
