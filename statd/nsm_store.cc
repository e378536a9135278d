#include "statd/nsm_store.h"

#include <utility>

namespace nfsrec::statd {

void NsmSnapshotSink::Expect(size_t monitors, size_t notify) {
  snapshot_.monitors.reserve(monitors);
  snapshot_.notify.reserve(notify);
}

Status NsmSnapshotSink::Add(NsmList list, MonitorRecord&& record) {
  (list == NsmList::kMonitors ? snapshot_.monitors : snapshot_.notify).push_back(std::move(record));
  return Status::Ok();
}

NsmSnapshot NsmSnapshotSink::Take(NsmLoadInfo info) {
  NsmSnapshot out = std::move(snapshot_);
  snapshot_ = NsmSnapshot();
  out.local_state = info.local_state;
  out.boot_id = std::move(info.boot_id);
  return out;
}

void NsmStore::Load(LoadDone done) {
  auto sink = std::make_shared<NsmSnapshotSink>();
  LoadInto(sink, [sink, done = std::move(done)](Result<NsmLoadInfo> info) mutable {
    if (!info.ok()) return done(info.status());
    done(sink->Take(std::move(info).value()));
  });
}

}  // namespace nfsrec::statd
