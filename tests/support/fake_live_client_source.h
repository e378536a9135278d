// FakeLiveClientSource: the LiveClientSource port (nfs4rec/clients_info.h)
// that runs the real ScanLiveClients over a FileSystem (normally a
// FakeFileSystem) at once and delivers the answer on the Scheduler's next
// turn (FakeScheduler::Advance), never inline.  `lease` stands in for the
// kernel's lease time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

#include "common/base/callback.h"
#include "common/base/clock.h"
#include "common/os/file_system.h"
#include "nfs4rec/clients_info.h"

namespace nfsrec::nfs4rec {

class FakeLiveClientSource final : public LiveClientSource {
 public:
  FakeLiveClientSource(Scheduler& scheduler, FileSystem& fs) : scheduler_(scheduler), fs_(fs) {}

  void Scan(Callback<void(Result<LiveClientScan>)> done) override {
    ++scans;
    Result<LiveClientScan> r = ScanLiveClients(fs_);
    if (r.ok()) r->lease_seconds = lease;
    // Scheduler timers are copyable std::functions; the Callback is not.
    auto shared = std::make_shared<Callback<void(Result<LiveClientScan>)>>(std::move(done));
    scheduler_.RunAfter(Duration::zero(), [shared, r]() { (*shared)(r); });
  }

  int scans = 0;
  std::optional<int64_t> lease;

 private:
  Scheduler& scheduler_;
  FileSystem& fs_;
};

}  // namespace nfsrec::nfs4rec
