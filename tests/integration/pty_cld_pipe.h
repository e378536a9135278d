// The kernel's end of the cld pipe, for a test without root: a
// pseudo-terminal in raw mode.  The daemon opens the terminal's path as its
// pipe (TrackingOptions::pipe_path); upcalls written to the master arrive
// there as bytes, downcalls come back the same way.
//
// Unlike rpc_pipefs, a terminal does not keep message boundaries; the
// daemon reads a message as the header and then the rest (nfs4rec/cld_pipe.h),
// so each upcall is written with one write() and the next one only after
// its answer was read.
//
// Blocking, test thread only.  Every read is bounded by a timeout.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/base/clock.h"
#include "common/base/result.h"
#include "common/base/unique_fd.h"
#include "nfs4rec/cld_codec.h"

namespace nfsrec::integration {

class PtyCldPipe {
 public:
  // Unsupported when this process is a session leader: the daemon's open
  // of the terminal would make it our controlling terminal.
  static Result<std::unique_ptr<PtyCldPipe>> Open();

  // Where the daemon opens its pipe.
  const std::string& path() const { return path_; }

  // Sends one upcall (of its version's size) and waits for the downcall
  // with its xid; downcalls for other xids are skipped.
  Result<nfs4rec::CldMessage> Call(const nfs4rec::CldMessage& upcall, Duration timeout);

 private:
  PtyCldPipe(UniqueFd master, UniqueFd slave, std::string path)
      : master_(std::move(master)), slave_(std::move(slave)), path_(std::move(path)) {}

  UniqueFd master_;
  UniqueFd slave_;  // held open so that the raw mode stays set
  std::string path_;
};

}  // namespace nfsrec::integration
