// The default implementations of ClientStore's paging and digest calls,
// in terms of Load and StartGrace.
#include "nfs4rec/client_store.h"

#include <algorithm>
#include <utility>

namespace nfsrec::nfs4rec {

void ClientStore::LoadDigest(Fingerprint fingerprint, RecordFilter offered,
                             ResultDone<ClientDigest> done) {
  Load([fingerprint = std::move(fingerprint), offered = std::move(offered),
        done = std::move(done)](Result<ClientSnapshot> snap) mutable {
    if (!snap.ok()) return done(snap.status());
    ClientDigest out;
    out.epochs = snap->epochs;
    out.current.reserve(snap->current.size());
    for (const ClientRecord& r : snap->current) {
      out.current.push_back(fingerprint(r.id));
      if (r.lease_expired) out.current_lease_expired.push_back(r.id);
    }
    for (const ClientRecord& r : snap->recovery) {
      if (offered(r)) {
        out.recovery.push_back(fingerprint(r.id));
      } else {
        ++out.recovery_left_out;
      }
    }
    done(std::move(out));
  });
}

void ClientStore::OpenGrace(ResultDone<GraceStartResult> done) {
  StartGrace([done = std::move(done)](Result<GraceStartResult> r) mutable {
    if (!r.ok()) return done(r.status());
    GraceStartResult out = std::move(r).value();
    std::vector<ClientRecord>().swap(out.reclaimable);
    done(std::move(out));
  });
}

void ClientStore::ReadRecords(uint64_t epoch, std::optional<std::string> after, size_t limit,
                              ResultDone<std::vector<ClientRecord>> done) {
  Load([epoch, after = std::move(after), limit,
        done = std::move(done)](Result<ClientSnapshot> snap) mutable {
    if (!snap.ok()) return done(snap.status());
    std::vector<ClientRecord> all;
    if (epoch == snap->epochs.current) all = std::move(snap->current);
    if (snap->epochs.in_grace() && epoch == snap->epochs.recovery) {
      all = std::move(snap->recovery);
    }
    std::sort(all.begin(), all.end(),
              [](const ClientRecord& a, const ClientRecord& b) { return a.id < b.id; });
    std::vector<ClientRecord> out;
    for (ClientRecord& r : all) {
      if (out.size() == limit) break;
      if (!after || r.id > *after) out.push_back(std::move(r));
    }
    done(std::move(out));
  });
}

}  // namespace nfsrec::nfs4rec
