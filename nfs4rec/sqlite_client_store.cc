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

Result<Epochs> SqliteClientStore::LoadEpochs() {
  Epochs out;
  Status st = queue_.RunSync([&out](sqlite::Db& db) {
    Result<Epochs> e = client_sql::ReadEpochs(db);
    if (!e.ok()) return e.status();
    out = *e;
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<ClientRecord>> SqliteClientStore::LoadClients(uint64_t epoch) {
  std::vector<ClientRecord> out;
  Status st = queue_.RunSync([&out, epoch](sqlite::Db& db) {
    Result<std::vector<ClientRecord>> r = client_sql::ReadClients(db, epoch);
    if (!r.ok()) return r.status();
    out = std::move(r).value();
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return out;
}

template <typename T>
void SqliteClientStore::SubmitWithResult(std::function<Result<T>(sqlite::Db&)> work,
                                         std::function<void(Result<T>)> done) {
  // Written on the commit thread, read on the loop thread after the
  // completion is posted; the post orders the two.
  auto slot = std::make_shared<std::optional<T>>();
  std::weak_ptr<int> alive = alive_;
  queue_.Submit(
      [work = std::move(work), slot](sqlite::Db& db) -> Status {
        Result<T> r = work(db);
        if (!r.ok()) return r.status();
        *slot = std::move(r).value();
        return Status::Ok();
      },
      [done = std::move(done), slot, alive](Status st) {
        if (alive.expired()) return;
        if (!st.ok()) {
          done(std::move(st));
        } else {
          done(Result<T>(std::move(**slot)));
        }
      });
}

void SqliteClientStore::StartGrace(std::function<void(Result<GraceStartResult>)> done) {
  SubmitWithResult<GraceStartResult>([](sqlite::Db& db) { return client_sql::StartGrace(db); },
                                     std::move(done));
}

void SqliteClientStore::PutClient(const ClientRecord& record, Done done) {
  std::weak_ptr<int> alive = alive_;
  queue_.Submit(
      [record](sqlite::Db& db) -> Status {
        Result<Epochs> e = client_sql::ReadEpochs(db);
        if (!e.ok()) return e.status();
        return client_sql::PutClient(db, e->current, record);
      },
      [done = std::move(done), alive](Status st) {
        if (!alive.expired()) done(std::move(st));
      });
}

void SqliteClientStore::RemoveClient(const std::string& id, Done done) {
  std::weak_ptr<int> alive = alive_;
  queue_.Submit(
      [id](sqlite::Db& db) -> Status {
        Result<Epochs> e = client_sql::ReadEpochs(db);
        if (!e.ok()) return e.status();
        return client_sql::RemoveClient(db, e->current, id);
      },
      [done = std::move(done), alive](Status st) {
        if (!alive.expired()) done(std::move(st));
      });
}

void SqliteClientStore::CheckReclaim(const std::string& id,
                                     std::function<void(Result<CheckResult>)> done) {
  SubmitWithResult<CheckResult>(
      [id](sqlite::Db& db) -> Result<CheckResult> {
        CheckResult out;
        Result<Epochs> e = client_sql::ReadEpochs(db);
        if (!e.ok()) return e.status();
        out.epochs = *e;
        if (!e->in_grace()) {
          Result<GraceStartResult> g = client_sql::StartGrace(db);
          if (!g.ok()) return g.status();
          out.started_grace = true;
          out.epochs = g->epochs;
        }
        Result<ReclaimOutcome> r = client_sql::Reclaim(db, out.epochs, id, true);
        if (!r.ok()) return r.status();
        out.outcome = *r;
        return out;
      },
      std::move(done));
}

void SqliteClientStore::EndGrace(std::function<void(Result<EndGraceResult>)> done) {
  SubmitWithResult<EndGraceResult>([](sqlite::Db& db) { return client_sql::EndGrace(db); },
                                   std::move(done));
}

}  // namespace nfsrec::nfs4rec
