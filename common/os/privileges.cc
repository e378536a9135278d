#include "common/os/privileges.h"

#include <dirent.h>
#include <grp.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string_view>

#include "common/os/file_system.h"

namespace nfsrec {
namespace {

struct CapFree {
  void operator()(void* p) const { ::cap_free(p); }
};
using CapState = std::unique_ptr<std::remove_pointer_t<cap_t>, CapFree>;

Status RequireSingleThread(std::string_view what) {
  const size_t threads = CountThreads();
  if (threads > 1) {
    return Status::InvalidArgument(
        StrCat(what, " with ", threads, " threads: capabilities would change in one only"));
  }
  return Status::Ok();
}

// Every capability out of the bounding set; with it gone, no execve can
// grant it again (not even of a set-user-ID root program).
Status PruneBoundingSet() {
  for (cap_value_t c = 0; c < ::cap_max_bits(); ++c) {
    if (::cap_get_bound(c) <= 0) continue;  // absent already, or unknown to this kernel
    if (::cap_drop_bound(c) != 0)
      return PosixError(StrCat("drop capability ", c, " from bounding set"), errno);
  }
  return Status::Ok();
}

// Permitted and effective become exactly `keep` (nothing inheritable), and
// the ambient set is emptied.
Status SetCapabilities(const std::vector<cap_value_t>& keep) {
  CapState caps(::cap_init());
  if (!caps) return PosixError("cap_init", errno);
  if (!keep.empty()) {
    for (cap_flag_t flag : {CAP_PERMITTED, CAP_EFFECTIVE}) {
      if (::cap_set_flag(caps.get(), flag, static_cast<int>(keep.size()), keep.data(), CAP_SET) !=
          0) {
        return PosixError("cap_set_flag", errno);
      }
    }
  }
  if (::cap_set_proc(caps.get()) != 0) return PosixError("cap_set_proc", errno);
  if (::cap_reset_ambient() != 0 && errno != EINVAL) return PosixError("clear ambient set", errno);
  // The outcome, read back from the kernel.
  CapState now(::cap_get_proc());
  if (!now) return PosixError("cap_get_proc", errno);
  if (::cap_compare(now.get(), caps.get()) != 0) {
    return Status::PermissionDenied("capability sets differ from those asked for");
  }
  return Status::Ok();
}

// Every thread but the caller runs as `uid` with no capability.
Status CheckOtherThreads(uid_t uid) {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir("/proc/self/task"), ::closedir);
  if (!dir) return PosixError("opendir /proc/self/task", errno);
  const std::string self = std::to_string(::gettid());
  const std::string want_uid = StrCat("Uid:\t", uid, "\t", uid, "\t", uid, "\t");
  while (const dirent* e = ::readdir(dir.get())) {
    if (e->d_name[0] == '.' || self == e->d_name) continue;
    RealFileSystem files;
    Result<std::string> status =
        files.ReadSmallFile(StrCat("/proc/self/task/", e->d_name, "/status"), ReadFileOptions{});
    if (!status.ok()) continue;  // the thread ended
    if (status->find(want_uid) == std::string::npos ||
        status->find("CapPrm:\t0000000000000000\n") == std::string::npos ||
        status->find("CapEff:\t0000000000000000\n") == std::string::npos) {
      return Status::PermissionDenied(StrCat("thread ", e->d_name, " kept its privileges"));
    }
  }
  return Status::Ok();
}

}  // namespace

size_t CountThreads() {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir("/proc/self/task"), ::closedir);
  if (!dir) return 0;
  size_t n = 0;
  while (const dirent* e = ::readdir(dir.get())) {
    if (e->d_name[0] != '.') ++n;
  }
  return n;
}

Result<PrivilegePlan> PlanPrivilegeDrop(const std::string& state_dir, uid_t current_uid) {
  PrivilegePlan plan;
  plan.sm_path = state_dir + "/sm";
  if (current_uid != 0) return plan;  // kNone: nothing to drop
  struct stat st;
  if (::lstat(plan.sm_path.c_str(), &st) != 0) {
    if (errno != ENOENT) return PosixError("lstat " + plan.sm_path, errno);
    plan.action = PrivilegePlan::Action::kStayRoot;
    plan.sm_missing = true;
    return plan;
  }
  plan.uid = st.st_uid;
  plan.gid = st.st_gid;
  plan.action = st.st_uid == 0 ? PrivilegePlan::Action::kStayRoot : PrivilegePlan::Action::kDrop;
  return plan;
}

Status ApplyPrivilegePlan(const PrivilegePlan& plan, Logger& log, OtherThreads others) {
  if (plan.action == PrivilegePlan::Action::kNone) return Status::Ok();
  if (others == OtherThreads::kRefuse) {
    NFSREC_RETURN_IF_ERROR(RequireSingleThread("dropping privileges"));
  }
  NFSREC_RETURN_IF_ERROR(PruneBoundingSet());
  if (plan.action == PrivilegePlan::Action::kStayRoot) {
    log.Warning(
        plan.sm_missing
            ? StrCat("Running as root.  Make ", plan.sm_path, " owned by the user to run as")
            : StrCat("Running as root.  chown ", plan.sm_path, " to choose a different user"));
    return Status::Ok();
  }
  // ORDER: keep-caps before setuid (else the permitted set is cleared with
  // the uid change); supplementary groups and gid before the uid, which
  // takes away the right to change them.
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return PosixError("PR_SET_KEEPCAPS", errno);
  if (::setgroups(0, nullptr) != 0) return PosixError("setgroups", errno);
  if (::setresgid(plan.gid, plan.gid, plan.gid) != 0) {
    return PosixError(StrCat("setgid ", plan.gid), errno);
  }
  if (::setresuid(plan.uid, plan.uid, plan.uid) != 0) {
    return PosixError(StrCat("setuid ", plan.uid), errno);
  }
  if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) return PosixError("PR_SET_KEEPCAPS", errno);
  // CAP_NET_BIND_SERVICE: lockd accepts NSM callbacks only from a reserved
  // port, SM_NOTIFY goes out from one, and listeners (re)bind to
  // --port/--outgoing-port values below 1024, also after the drop.
  NFSREC_RETURN_IF_ERROR(SetCapabilities({CAP_NET_BIND_SERVICE}));
  uid_t r, e, s;
  gid_t gr, ge, gs;
  if (::getresuid(&r, &e, &s) != 0 || ::getresgid(&gr, &ge, &gs) != 0) {
    return PosixError("getresuid", errno);
  }
  if (r != plan.uid || e != plan.uid || s != plan.uid || gr != plan.gid || ge != plan.gid ||
      gs != plan.gid) {
    return Status::PermissionDenied("uid or gid did not change as asked");
  }
  if (::setuid(0) == 0) return Status::PermissionDenied("root could be regained after the drop");
  if (others == OtherThreads::kLoseEverything) NFSREC_RETURN_IF_ERROR(CheckOtherThreads(plan.uid));
  log.Notice(StrCat("Effective UID, GID: ", plan.uid, ", ", plan.gid));
  return Status::Ok();
}

Status DropToRootWithoutCapabilities(RootKeeps keeps) {
  if (::getuid() != 0 || ::geteuid() != 0) {
    return Status::PermissionDenied("not running as root");
  }
  NFSREC_RETURN_IF_ERROR(RequireSingleThread("dropping capabilities"));
  std::vector<cap_value_t> keep;
  if (keeps == RootKeeps::kReadSearchIfPermitted) {
    CapState now(::cap_get_proc());
    if (!now) return PosixError("cap_get_proc", errno);
    cap_flag_value_t permitted = CAP_CLEAR;
    if (::cap_get_flag(now.get(), CAP_DAC_READ_SEARCH, CAP_PERMITTED, &permitted) != 0) {
      return PosixError("cap_get_flag", errno);
    }
    if (permitted == CAP_SET) keep.push_back(CAP_DAC_READ_SEARCH);
  }
  NFSREC_RETURN_IF_ERROR(PruneBoundingSet());
  return SetCapabilities(keep);
}

}  // namespace nfsrec
