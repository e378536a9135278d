// FakeHaEvents: records HA callouts as the command lines rpc.statd's -H
// program would get ("add-client mon my", "sm-notify mon ip state").  An
// add-client or del-client stays pending until Flush() finishes it.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "statd/ha_callout.h"

namespace nfsrec::statd {

class FakeHaEvents final : public HaEvents {
 public:
  void AddClient(const std::string& m, const std::string& my, Done done) override {
    events.push_back("add-client " + m + " " + my);
    pending.push_back(std::move(done));
  }
  void DelClient(const std::string& m, const std::string& my, Done done) override {
    events.push_back("del-client " + m + " " + my);
    pending.push_back(std::move(done));
  }
  void SmNotify(const std::string& m, const std::string& ip, int32_t st) override {
    events.push_back("sm-notify " + m + " " + ip + " " + std::to_string(st));
  }
  // Ends every pending add-client/del-client with `outcome`; returns how many.
  size_t Flush(CalloutOutcome outcome = CalloutOutcome::kFinished) {
    std::vector<Done> now = std::move(pending);
    pending.clear();
    for (Done& d : now) d(outcome);
    return now.size();
  }
  std::vector<std::string> events;
  std::vector<Done> pending;
};

}  // namespace nfsrec::statd
