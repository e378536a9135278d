// NsmService, continued: administration requests (nfsrecctl).  They change
// the lists through the same steps as the NSM procedures, so the store, the
// in-memory list and the HA callouts stay as SM_UNMON leaves them.
#include <utility>
#include <vector>

#include "statd/nsm_service.h"

namespace nfsrec::statd {

void NsmService::RemoveMonitorsOf(const std::string& host, const MonitorFilter& filter,
                                  Callback<void(Result<size_t>)> done) {
  if (loading_) {
    return Wait([this, host, filter, done = std::move(done)]() mutable {
      RemoveMonitorsOf(host, filter, std::move(done));
    });
  }
  std::string host_address;
  if (!IsNumericAddress(host, &host_address)) host_address.clear();
  std::vector<MonitorKey> keys;
  std::vector<Entry> removed;
  // The host: its mon_name or canonical name case-insensitively, or, for a
  // numeric address, a mon_name spelling the same address.
  for (Slot s : monitors_.MatchAdministered(host, host_address)) {
    MonitorKey k = monitors_.Key(s);
    const bool match = (!filter.my_prog || *filter.my_prog == k.my_prog) &&
                       (!filter.my_vers || *filter.my_vers == k.my_vers) &&
                       (!filter.my_proc || *filter.my_proc == k.my_proc);
    if (!match) continue;
    removed.push_back(monitors_.Get(s));
    keys.push_back(std::move(k));
    monitors_.Erase(s);
  }
  if (keys.empty()) {
    // Never inline: an empty deletion answers after the calls before it.
    store_.DeleteMonitors(
        {}, [alive = liveness_.token(), host, done = std::move(done)](Status) mutable {
          if (alive) done(Status::NotFound(StrCat("no monitor record for ", Printable(host))));
        });
    return;
  }
  const size_t n = keys.size();
  log_.Info(
      StrCat("Administrator request: removing ", n, " monitor record(s) of ", Printable(host)));
  std::string failure = StrCat("Failed to remove ", n, " monitor record(s) of ", Printable(host));
  RemoveMonitors(std::move(keys), std::move(removed), std::move(failure),
                 [n, done = std::move(done)](Result<int32_t> st) mutable {
                   if (!st.ok()) return done(st.status());
                   done(n);
                 });
}

}  // namespace nfsrec::statd
