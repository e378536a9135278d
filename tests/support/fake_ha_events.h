// FakeHaEvents: records HA callouts as the command lines rpc.statd's -H
// program would get ("add-client mon my", "sm-notify mon ip state").
#pragma once

#include <string>
#include <vector>

#include "statd/ha_callout.h"

namespace nfsrec::statd {

class FakeHaEvents final : public HaEvents {
 public:
  void AddClient(const std::string& m, const std::string& my) override {
    events.push_back("add-client " + m + " " + my);
  }
  void DelClient(const std::string& m, const std::string& my) override {
    events.push_back("del-client " + m + " " + my);
  }
  void SmNotify(const std::string& m, const std::string& ip, int32_t st) override {
    events.push_back("sm-notify " + m + " " + ip + " " + std::to_string(st));
  }
  std::vector<std::string> events;
};

}  // namespace nfsrec::statd
