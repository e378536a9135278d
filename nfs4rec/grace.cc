#include "nfs4rec/grace.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <thread>
#include <utility>

#include "common/base/unique_fd.h"

namespace nfsrec::nfs4rec {

std::string EndGracePath(const std::string& proc_root) {
  std::string root = proc_root;
  while (!root.empty() && root.back() == '/') root.pop_back();
  return root + "/proc/fs/nfsd/v4_end_grace";
}

Status WriteEndGrace(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return PosixError("open " + path, errno);
  ssize_t n;
  do {
    n = ::write(fd.get(), "Y", 1);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return PosixError("write " + path, errno);
  if (n != 1) return Status::IOError("short write to " + path);
  return Status::Ok();
}

ProcGraceControl::ProcGraceControl(EventLoop& loop, std::string proc_root)
    : path_(EndGracePath(proc_root)), shared_(std::make_shared<Shared>()) {
  shared_->loop = &loop;
}

ProcGraceControl::~ProcGraceControl() {
  std::lock_guard<std::mutex> lock(shared_->mu);
  shared_->loop = nullptr;
}

void ProcGraceControl::EndGrace(std::function<void(Status)> done) {
  // Detached: the thread owns copies of everything it touches, and reaches
  // the loop only through `shared`, under its mutex.
  std::thread([path = path_, shared = shared_, done = std::move(done)]() mutable {
    Status st = WriteEndGrace(path);
    std::lock_guard<std::mutex> lock(shared->mu);
    if (shared->loop != nullptr) {
      shared->loop->Post([done = std::move(done), st = std::move(st)]() mutable { done(st); });
    }
  }).detach();
}

}  // namespace nfsrec::nfs4rec
