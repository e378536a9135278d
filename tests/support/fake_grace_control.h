// FakeGraceControl: the GraceControl port (nfs4rec/grace.h) that records
// calls and answers only when the test says so, through Finish() and
// AnswerGraceTime().  The notices are recorded in order in `events`:
// "started N" (N = offered, "unknown" for kOfferedUnknown) and "ended".
#pragma once

#include <string>
#include <utility>
#include <vector>

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

  void ReadGraceTime(Callback<void(Result<Duration>)> done) override {
    ++grace_time_reads;
    grace_time_done_ = std::move(done);
  }
  // Answers the last ReadGraceTime; false if none is waiting.
  bool AnswerGraceTime(Result<Duration> r) {
    if (!grace_time_done_) return false;
    Callback<void(Result<Duration>)> done = std::move(grace_time_done_);
    grace_time_done_ = nullptr;
    done(std::move(r));
    return true;
  }
  int grace_time_reads = 0;

  void GraceStarted(uint64_t offered) override {
    events.push_back(offered == kOfferedUnknown ? std::string("started unknown")
                                                : "started " + std::to_string(offered));
  }
  void GraceEnded() override { events.push_back("ended"); }
  std::vector<std::string> events;

  int calls = 0;

 private:
  Callback<void(Status)> done_;
  Callback<void(Result<Duration>)> grace_time_done_;
};

}  // namespace nfsrec::nfs4rec
