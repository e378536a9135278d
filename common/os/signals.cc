#include "common/os/signals.h"

#include <pthread.h>
#include <spawn.h>

#include "common/base/logging.h"

namespace nfsrec {
namespace {

Result<sigset_t> SetOf(std::initializer_list<int> signals) {
  sigset_t set;
  sigemptyset(&set);
  for (int signo : signals) {
    if (sigaddset(&set, signo) != 0) return Status::InvalidArgument(StrCat("no signal ", signo));
  }
  return set;
}

Status ChangeMask(int how, std::initializer_list<int> signals) {
  NFSREC_ASSIGN_OR_RETURN(sigset_t set, SetOf(signals));
  int err = ::pthread_sigmask(how, &set, nullptr);
  return err == 0 ? Status::Ok() : PosixError("pthread_sigmask", err);
}

// Owns a posix_spawnattr_t.
class SpawnAttributes {
 public:
  SpawnAttributes() { ok_ = ::posix_spawnattr_init(&attr_) == 0; }
  ~SpawnAttributes() {
    if (ok_) ::posix_spawnattr_destroy(&attr_);
  }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;

  bool ok() const { return ok_; }
  posix_spawnattr_t* get() { return &attr_; }

 private:
  posix_spawnattr_t attr_;
  bool ok_ = false;
};

}  // namespace

Status BlockSignals(std::initializer_list<int> signals) { return ChangeMask(SIG_BLOCK, signals); }

Status UnblockSignals(std::initializer_list<int> signals) {
  return ChangeMask(SIG_UNBLOCK, signals);
}

void ClearSignalMask() noexcept {
  sigset_t none;
  sigemptyset(&none);
  (void)::sigprocmask(SIG_SETMASK, &none, nullptr);
}

UnblockedSignals::UnblockedSignals(std::initializer_list<int> signals) {
  sigemptyset(&set_);
  for (int signo : signals) (void)sigaddset(&set_, signo);
  // Fails only for an invalid `how`.
  (void)::pthread_sigmask(SIG_UNBLOCK, &set_, nullptr);
}

UnblockedSignals::~UnblockedSignals() { (void)::pthread_sigmask(SIG_BLOCK, &set_, nullptr); }

AllSignalsBlocked::AllSignalsBlocked() {
  sigset_t all;
  sigfillset(&all);
  (void)::pthread_sigmask(SIG_BLOCK, &all, &old_);
}

AllSignalsBlocked::~AllSignalsBlocked() { (void)::pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

Result<pid_t> SpawnWithDefaultSignals(std::string_view context, char* const argv[],
                                      char* const envp[], bool search_path) {
  SpawnAttributes attr;
  if (!attr.ok()) return Status::Unavailable(StrCat(context, ": no spawn attributes"));
  sigset_t none;
  sigemptyset(&none);
  NFSREC_ASSIGN_OR_RETURN(sigset_t defaults, SetOf({SIGTERM, SIGINT, SIGHUP, SIGUSR1}));
  int err = ::posix_spawnattr_setsigmask(attr.get(), &none);
  if (err == 0) err = ::posix_spawnattr_setsigdefault(attr.get(), &defaults);
  if (err == 0) {
    err = ::posix_spawnattr_setflags(attr.get(), POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  }
  if (err != 0) return PosixError(StrCat(context, ": spawn attributes"), err);
  pid_t pid = -1;
  err = search_path ? ::posix_spawnp(&pid, argv[0], nullptr, attr.get(), argv, envp)
                    : ::posix_spawn(&pid, argv[0], nullptr, attr.get(), argv, envp);
  if (err != 0) return PosixError(context, err);
  return pid;
}

}  // namespace nfsrec
