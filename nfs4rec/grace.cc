#include "nfs4rec/grace.h"

#include <utility>

namespace nfsrec::nfs4rec {

Status WriteEndGrace(FileSystem& fs) { return fs.WriteExistingFile(kV4EndGracePath, "Y"); }

ProcGraceControl::ProcGraceControl(Executor& executor, std::shared_ptr<FileSystem> fs)
    : executor_(executor), fs_(std::move(fs)) {}

void ProcGraceControl::EndGrace(Callback<void(Status)> done) {
  executor_.Run(
      liveness_.token(), [fs = fs_] { return WriteEndGrace(*fs); },
      [done = std::move(done)](Status st) mutable { done(std::move(st)); });
}

}  // namespace nfsrec::nfs4rec
