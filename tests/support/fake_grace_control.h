// FakeGraceControl: the GraceControl port (nfs4rec/grace.h) that records
// calls and answers only when the test says so, through Finish().
#pragma once

#include <utility>

#include "common/base/callback.h"
#include "nfs4rec/grace.h"

namespace nfsrec::nfs4rec {

class FakeGraceControl final : public GraceControl {
 public:
  void EndGrace(Callback<void(Status)> done) override {
    ++calls;
    done_ = std::move(done);
  }
  // Answers the last EndGrace; false if none is waiting.
  bool Finish(Status status) {
    if (!done_) return false;
    Callback<void(Status)> done = std::move(done_);
    done_ = nullptr;
    done(std::move(status));
    return true;
  }
  bool waiting() const { return static_cast<bool>(done_); }

  int calls = 0;

 private:
  Callback<void(Status)> done_;
};

}  // namespace nfsrec::nfs4rec
