// FakeKernelNsm: records what the NSM service tells the kernel.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "statd/kernel_nsm.h"

namespace nfsrec::statd {

class FakeKernelNsm final : public KernelNsm {
 public:
  Status PublishLocalState(int32_t state) override {
    published.push_back(state);
    return Status::Ok();
  }
  Status EndLockdGrace() override {
    ++end_grace;
    return Status::Ok();
  }
  Status SetNlmPort(const std::string& proto, uint16_t port) override {
    nlm_ports.emplace_back(proto, port);
    return Status::Ok();
  }

  std::vector<int32_t> published;  // every state published, in order
  int end_grace = 0;               // nlm_end_grace writes
  std::vector<std::pair<std::string, uint16_t>> nlm_ports;
};

}  // namespace nfsrec::statd
