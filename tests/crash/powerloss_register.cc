// Linked into nfsrecd-powerloss only: makes PowerLossVfs SQLite's default
// VFS before main() runs, so the unchanged daemon opens its database
// through it.  The line on stderr lets the harness check that it did.
#include <cstdio>
#include <cstdlib>

#include "tests/crash/powerloss_vfs.h"

namespace {

__attribute__((constructor)) void RegisterBeforeMain() {
  nfsrec::Status s = nfsrec::crash::RegisterPowerLossVfs(/*make_default=*/true);
  if (!s.ok()) {
    std::fprintf(stderr, "nfsrecd-powerloss: %s\n", s.ToString().c_str());
    std::abort();
  }
  std::fprintf(stderr, "nfsrecd-powerloss: SQLite default VFS is %s\n",
               nfsrec::crash::kPowerLossVfsName);
}

}  // namespace
