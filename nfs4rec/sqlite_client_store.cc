#include "nfs4rec/sqlite_client_store.h"

#include <optional>
#include <utility>

#include "nfs4rec/client_sql.h"

namespace nfsrec::nfs4rec {

Result<std::unique_ptr<SqliteClientStore>> SqliteClientStore::Open(CommitQueue& queue) {
  Status st = queue.RunSync([](sqlite::Db& db) {
    return ApplyMigrations(db, client_sql::kComponent, client_sql::Migrations());
  });
  if (!st.ok()) return st.WithContext("cld schema");
  return std::unique_ptr<SqliteClientStore>(new SqliteClientStore(queue));
}

template <typename T>
void SqliteClientStore::SubmitWithResult(std::function<Result<T>(sqlite::Db&)> work,
                                         ResultDone<T> done) {
  queue_.SubmitWithResult<T>(std::move(work), liveness_.Guard(std::move(done)));
}

void SqliteClientStore::SubmitGuarded(CommitQueue::Work work, Done done) {
  queue_.Submit(std::move(work), liveness_.Guard(std::move(done)));
}

void SqliteClientStore::Load(ResultDone<ClientSnapshot> done) {
  SubmitWithResult<ClientSnapshot>(
      [](sqlite::Db& db) -> Result<ClientSnapshot> {
        ClientSnapshot out;
        NFSREC_ASSIGN_OR_RETURN(out.epochs, client_sql::ReadEpochs(db));
        NFSREC_ASSIGN_OR_RETURN(out.current, client_sql::ReadClients(db, out.epochs.current));
        if (out.epochs.in_grace()) {
          NFSREC_ASSIGN_OR_RETURN(out.recovery, client_sql::ReadClients(db, out.epochs.recovery));
        }
        return out;
      },
      [done = std::move(done)](Result<ClientSnapshot> r) mutable {
        if (!r.ok()) return done(r.status().WithContext("load cld state"));
        done(std::move(r));
      });
}

void SqliteClientStore::LoadDigest(Fingerprint fingerprint, RecordFilter offered,
                                   ResultDone<ClientDigest> done) {
  SubmitWithResult<ClientDigest>(
      [fingerprint = std::move(fingerprint),
       offered = std::move(offered)](sqlite::Db& db) -> Result<ClientDigest> {
        ClientDigest out;
        NFSREC_ASSIGN_OR_RETURN(out.epochs, client_sql::ReadEpochs(db));
        NFSREC_ASSIGN_OR_RETURN(const int64_t n, client_sql::CountClients(db, out.epochs.current));
        out.current.reserve(static_cast<size_t>(n));
        NFSREC_RETURN_IF_ERROR(client_sql::ForEachClientId(
            db, out.epochs.current,
            [&](std::string_view id) { out.current.push_back(fingerprint(id)); }));
        NFSREC_ASSIGN_OR_RETURN(out.current_lease_expired,
                                client_sql::ReadLeaseExpiredIds(db, out.epochs.current));
        if (out.epochs.in_grace()) {
          // Only after a restart during grace; the full records are needed
          // for `offered`.
          NFSREC_ASSIGN_OR_RETURN(const std::vector<ClientRecord> recovery,
                                  client_sql::ReadClients(db, out.epochs.recovery));
          for (const ClientRecord& r : recovery) {
            if (offered(r)) {
              out.recovery.push_back(fingerprint(r.id));
            } else {
              ++out.recovery_left_out;
            }
          }
        }
        return out;
      },
      [done = std::move(done)](Result<ClientDigest> r) mutable {
        if (!r.ok()) return done(r.status().WithContext("load cld state"));
        done(std::move(r));
      });
}

void SqliteClientStore::StartGrace(ResultDone<GraceStartResult> done) {
  SubmitWithResult<GraceStartResult>([](sqlite::Db& db) { return client_sql::StartGrace(db); },
                                     std::move(done));
}

void SqliteClientStore::OpenGrace(ResultDone<GraceStartResult> done) {
  SubmitWithResult<GraceStartResult>([](sqlite::Db& db) { return client_sql::OpenGrace(db); },
                                     std::move(done));
}

void SqliteClientStore::ReadRecords(uint64_t epoch, std::optional<std::string> after, size_t limit,
                                    ResultDone<std::vector<ClientRecord>> done) {
  SubmitWithResult<std::vector<ClientRecord>>(
      [epoch, after = std::move(after), limit](sqlite::Db& db) {
        return client_sql::ReadClientsAfter(db, epoch, after, limit);
      },
      std::move(done));
}

void SqliteClientStore::PutClient(const ClientRecord& record, Done done) {
  SubmitGuarded(
      [record](sqlite::Db& db) -> Status {
        NFSREC_ASSIGN_OR_RETURN(const Epochs e, client_sql::ReadEpochs(db));
        return client_sql::PutClient(db, e.current, record);
      },
      std::move(done));
}

void SqliteClientStore::RemoveClient(const std::string& id, Done done) {
  SubmitGuarded(
      [id](sqlite::Db& db) -> Status {
        NFSREC_ASSIGN_OR_RETURN(const Epochs e, client_sql::ReadEpochs(db));
        return client_sql::RemoveClient(db, e.current, id);
      },
      std::move(done));
}

void SqliteClientStore::SetLeaseExpired(const std::string& id, bool expired, Done done) {
  SubmitGuarded(
      [id, expired](sqlite::Db& db) -> Status {
        NFSREC_ASSIGN_OR_RETURN(const Epochs e, client_sql::ReadEpochs(db));
        return client_sql::SetLeaseExpired(db, e.current, id, expired);
      },
      std::move(done));
}

void SqliteClientStore::CheckReclaim(const std::string& id, ResultDone<CheckResult> done) {
  SubmitWithResult<CheckResult>(
      [id](sqlite::Db& db) -> Result<CheckResult> {
        CheckResult out;
        NFSREC_ASSIGN_OR_RETURN(out.epochs, client_sql::ReadEpochs(db));
        if (!out.epochs.in_grace()) {
          NFSREC_ASSIGN_OR_RETURN(GraceStartResult g, client_sql::StartGrace(db));
          out.started_grace = true;
          out.epochs = g.epochs;
        }
        NFSREC_ASSIGN_OR_RETURN(out.outcome, client_sql::Reclaim(db, out.epochs, id, true));
        return out;
      },
      std::move(done));
}

void SqliteClientStore::EndGrace(ResultDone<EndGraceResult> done) {
  SubmitWithResult<EndGraceResult>([](sqlite::Db& db) { return client_sql::EndGrace(db); },
                                   std::move(done));
}

}  // namespace nfsrec::nfs4rec
