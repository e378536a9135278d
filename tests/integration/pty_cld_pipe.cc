#include "tests/integration/pty_cld_pipe.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "common/base/logging.h"

namespace nfsrec::integration {
namespace {

Status Errno(const std::string& what) {
  return Status::IOError(what + ": " + std::strerror(errno));
}

}  // namespace

Result<std::unique_ptr<PtyCldPipe>> PtyCldPipe::Open() {
  if (::getsid(0) == ::getpid()) {
    return Status::Unsupported("a session leader would acquire the terminal");
  }
  UniqueFd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master) return Errno("posix_openpt");
  if (::grantpt(master.get()) != 0 || ::unlockpt(master.get()) != 0) return Errno("unlockpt");
  char name[128];
  if (::ptsname_r(master.get(), name, sizeof(name)) != 0) return Errno("ptsname_r");
  UniqueFd slave(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave) return Errno(StrCat("open ", name));
  // Raw: no echo, no line editing, no byte translation in either direction.
  termios t;
  if (::tcgetattr(slave.get(), &t) != 0) return Errno("tcgetattr");
  ::cfmakeraw(&t);
  if (::tcsetattr(slave.get(), TCSANOW, &t) != 0) return Errno("tcsetattr");
  return std::unique_ptr<PtyCldPipe>(new PtyCldPipe(std::move(master), std::move(slave), name));
}

Result<nfs4rec::CldMessage> PtyCldPipe::Call(const nfs4rec::CldMessage& upcall, Duration timeout) {
  NFSREC_ASSIGN_OR_RETURN(std::vector<uint8_t> out, nfs4rec::EncodeCldUpcall(upcall));
  if (::write(master_.get(), out.data(), out.size()) != static_cast<ssize_t>(out.size())) {
    return Errno("write upcall");
  }
  NFSREC_ASSIGN_OR_RETURN(const size_t size, nfs4rec::CldMessageSize(upcall.version));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<uint8_t> in;
  while (true) {
    if (in.size() >= size) {
      std::vector<uint8_t> one(in.begin(), in.begin() + static_cast<ptrdiff_t>(size));
      in.erase(in.begin(), in.begin() + static_cast<ptrdiff_t>(size));
      NFSREC_ASSIGN_OR_RETURN(nfs4rec::CldMessage down,
                              nfs4rec::DecodeCldDowncall(one, upcall.version));
      if (down.xid == upcall.xid) return down;
      continue;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Status::TimedOut(StrCat("no downcall for xid ", upcall.xid));
    pollfd p{master_.get(), POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) return Errno("poll");
    if (n <= 0) continue;
    uint8_t buf[4096];
    ssize_t got = ::read(master_.get(), buf, sizeof(buf));
    if (got < 0 && errno != EINTR && errno != EAGAIN) return Errno("read downcall");
    if (got > 0) in.insert(in.end(), buf, buf + got);
  }
}

}  // namespace nfsrec::integration
