// ClientStore: the persistence port of NFSv4 client tracking.
//
// The store keeps client records in reboot epochs, as nfsdcld does:
//   current   the epoch that receives Create (and loses records on Remove);
//   recovery  the epoch whose clients may reclaim, non-zero only during grace.
// GraceStart turns current into recovery and opens a new, empty current
// epoch.  A GraceStart that finds a recovery epoch still open (the server
// rebooted again during grace) keeps that recovery epoch and empties only
// current, so clients that had not reclaimed yet keep their right to
// (pynfs REBT3).  GraceDone drops every epoch but current.
//
// Implementations: SqliteClientStore (nfs4rec/sqlite_client_store.h), group
// committed into the shared database; MemClientStore
// (tests/support/mem_client_store.h) for tests.
//
// Contract for every call: `done` runs later on the loop thread, never
// inline inside the call.  For a mutating call it runs after the change is
// durable (OK) or has failed (no part of it applied).  Each call reads the
// epochs inside its own transaction, so a concurrent writer (the
// nfsdcltrack-compatible helper) cannot make it act on a stale epoch.
// Calls are ordered: each applies after, and completes after, every call
// made before it.  Load is ordered the same way, so its snapshot holds every
// earlier change that succeeded and none made after it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/callback.h"
#include "common/base/result.h"

namespace nfsrec::nfs4rec {

struct ClientRecord {
  std::string id;         // raw long-form client owner (cld cn_id), 1..1024 bytes
  std::string princhash;  // SHA-256 of the client's principal: empty or 32 bytes
  // true for NFSv4.1+ clients (they have a session).  The cld pipe does not
  // say; only the nfsdcltrack-compatible helper learns it from the kernel.
  std::optional<bool> has_session;
  int64_t time = 0;  // unix seconds of the last write; set by the store
  // The last reconciliation saw this client's lease expired (courtesy or
  // expirable in /proc/fs/nfsd/clients): GraceStart does not offer it
  // unless configured to (docs/nfs4rec.md, "Who is offered at GraceStart").
  // A record written by PutClient (a Create) always has it false.
  bool lease_expired = false;
  bool operator==(const ClientRecord&) const = default;
};

struct Epochs {
  uint64_t current = 1;
  uint64_t recovery = 0;  // 0: not in grace
  bool in_grace() const { return recovery != 0; }
  bool operator==(const Epochs&) const = default;
};

struct GraceStartResult {
  Epochs epochs;                          // after the switch
  bool kept_recovery = false;             // true: started during grace (REBT3)
  std::vector<ClientRecord> reclaimable;  // the recovery epoch, as stored
};

// Outcome of a reclaim check (the v0 kernel's Check, the helper's check).
enum class ReclaimOutcome {
  kNotFound,        // no record in the recovery epoch (nor in current)
  kAlreadyCurrent,  // the client already has a record in the current epoch
  kReclaimed,       // found in recovery; copied into current if asked to
};

struct CheckResult {
  ReclaimOutcome outcome = ReclaimOutcome::kNotFound;
  bool started_grace = false;  // no grace was open, so the call opened one
  Epochs epochs;
};

struct EndGraceResult {
  Epochs epochs;
  bool was_in_grace = false;
  uint64_t dropped = 0;  // records removed with the recovery epoch
};

// What a starting service reads, in one transaction.
struct ClientSnapshot {
  Epochs epochs;
  std::vector<ClientRecord> current;   // the current epoch's records
  std::vector<ClientRecord> recovery;  // the recovery epoch's; empty out of grace
  bool operator==(const ClientSnapshot&) const = default;
};

// What a starting TrackingService keeps of the records: the epochs and one
// fingerprint per id (ClientIdSet), never the records themselves.
struct ClientDigest {
  Epochs epochs;
  std::vector<uint64_t> current;  // fingerprints of the current epoch's ids
  // Of the recovery epoch's records that the caller's filter accepts (those
  // the kernel may have been sent at GraceStart); empty out of grace.
  std::vector<uint64_t> recovery;
  // How many recovery records the filter refused (not offered at GraceStart).
  uint64_t recovery_left_out = 0;
  // The current epoch's ids marked lease_expired (few: clients whose lease
  // ran out and that nfsd still keeps as courtesy clients).
  std::vector<std::string> current_lease_expired;
};

class ClientStore {
 public:
  using Done = Callback<void(Status)>;
  template <typename T>
  using ResultDone = Callback<void(Result<T>)>;
  virtual ~ClientStore() = default;

  // Reads the epochs and the records of the current and recovery epochs.
  // Writes nothing.  Corruption if the stored epochs are impossible.
  virtual void Load(ResultDone<ClientSnapshot> done) = 0;

  // What Load reads, as a ClientDigest: `fingerprint` of each current id;
  // of each recovery record that `offered` accepts.  Both may run on
  // another thread (the store's) and must only compute.  The default reads
  // through Load; a store that can stream its rows overrides it, so that a
  // million records never sit in memory at once.
  using Fingerprint = std::function<uint64_t(std::string_view id)>;
  using RecordFilter = std::function<bool(const ClientRecord& record)>;
  virtual void LoadDigest(Fingerprint fingerprint, RecordFilter offered,
                          ResultDone<ClientDigest> done);

  // Opens a grace period (see the header comment) and returns the recovery
  // epoch's records, read in the same transaction.
  virtual void StartGrace(ResultDone<GraceStartResult> done) = 0;
  // As StartGrace, but `reclaimable` is left empty: the caller pages
  // through the recovery epoch with ReadRecords instead of holding it whole.
  // The default calls StartGrace.
  virtual void OpenGrace(ResultDone<GraceStartResult> done);
  // Up to `limit` records of `epoch`, by id (bytes compared unsigned), each
  // with an id after `after` (none: from the first).  Writes nothing.  The
  // default reads through Load, so it sees the current and recovery epochs
  // only, and costs a whole Load per page.
  virtual void ReadRecords(uint64_t epoch, std::optional<std::string> after, size_t limit,
                           ResultDone<std::vector<ClientRecord>> done);
  // Inserts the record into the current epoch, replacing one with the same id.
  virtual void PutClient(const ClientRecord& record, Done done) = 0;
  // Deletes the id from the current epoch; an absent id is not an error.
  virtual void RemoveClient(const std::string& id, Done done) = 0;
  // Sets lease_expired of the id's current-epoch record, nothing else (its
  // time included); an absent id is not an error.
  virtual void SetLeaseExpired(const std::string& id, bool expired, Done done) = 0;
  // The v0 Check: opens a grace period first if none is open (old kernels
  // send no GraceStart), then looks the id up; a client found only in the
  // recovery epoch is copied into current.
  virtual void CheckReclaim(const std::string& id, ResultDone<CheckResult> done) = 0;
  // Ends the grace period: drops every epoch but current.  Idempotent.
  virtual void EndGrace(ResultDone<EndGraceResult> done) = 0;
};

}  // namespace nfsrec::nfs4rec
