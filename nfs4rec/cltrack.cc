#include "nfs4rec/cltrack.h"

#include <dirent.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "common/store/schema.h"
#include "common/store/sqlite.h"
#include "nfs4rec/cld_codec.h"
#include "nfs4rec/client_sql.h"
#include "nfs4rec/grace.h"

namespace nfsrec::nfs4rec {
namespace {

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool ParseTime(const std::optional<std::string>& s, int64_t* out) {
  if (!s || s->empty()) return false;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(s->c_str(), &end, 0);
  if (errno != 0 || end == nullptr || *end != '\0') return false;
  *out = v;
  return true;
}

bool IsDir(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

class Helper {
 public:
  Helper(const CltrackRequest& req, Logger& log) : req_(req), log_(log) {}

  int Run() {
    const std::string& c = req_.command;
    if (c.empty()) {
      log_.Error("no command given");
      return -EINVAL;
    }
    if (c == "init") return Init();
    if (c != "create" && c != "remove" && c != "check" && c != "gracedone") {
      log_.Error(StrCat("unknown command ", Printable(c)));
      return -ENOSYS;
    }
    if (!req_.arg) {
      log_.Error(StrCat(c, " needs an argument"));
      return -EINVAL;
    }
    if (c == "gracedone") return GraceDone();
    std::string id;
    int rc = DecodeHexId(*req_.arg, &id);
    if (rc != 0) {
      log_.Error(StrCat("bad client id ", Printable(*req_.arg)));
      return rc;
    }
    if (c == "create") return Create(id);
    if (c == "remove") return Remove(id);
    return Check(id);
  }

 private:
  Status Open() {
    std::string path = req_.storagedir + "/" + kCltrackDbName;
    auto db = sqlite::Db::Open(path);
    if (!db.ok() && !IsDir(req_.storagedir)) {
      ::mkdir(req_.storagedir.c_str(), 0700);
      db = sqlite::Db::Open(path);
    }
    NFSREC_ASSIGN_OR_RETURN(db_, std::move(db));
    return ApplyMigrations(*db_, client_sql::kComponent, client_sql::Migrations());
  }

  // Runs fn inside BEGIN IMMEDIATE ... COMMIT.
  template <typename F>
  Status InTransaction(F fn) {
    NFSREC_ASSIGN_OR_RETURN(std::unique_ptr<sqlite::Transaction> txn,
                            sqlite::Transaction::Begin(*db_));
    NFSREC_RETURN_IF_ERROR(fn());
    return txn->Commit();
  }

  // Open, then fn in a transaction: what every command but init does.
  template <typename F>
  Status OpenAndRun(F fn) {
    NFSREC_RETURN_IF_ERROR(Open());
    return InTransaction(std::move(fn));
  }

  bool HasSession() const {
    return req_.has_session && !req_.has_session->empty() && (*req_.has_session)[0] == 'Y';
  }

  void LiftGrace() {
    RealFileSystem fs(req_.proc_root);
    Status st = WriteEndGrace(fs);
    if (st.ok()) {
      log_.Info("all clients have reclaimed; lifted the grace period");
    } else {
      log_.Warning(StrCat("cannot lift the grace period: ", st.ToString()));
    }
  }

  // Lifts grace if every client of the recovery epoch has come back with a
  // session (nfsdcltrack's "no client still reclaiming" test).
  void MaybeLiftGrace() {
    int64_t t;
    if (!ParseTime(req_.grace_start, &t)) return;
    bool done = false;
    Status st = InTransaction([&]() -> Status {
      NFSREC_ASSIGN_OR_RETURN(const Epochs e, client_sql::ReadEpochs(*db_));
      NFSREC_ASSIGN_OR_RETURN(done, client_sql::AllReclaimedWithSessions(*db_, e));
      return Status::Ok();
    });
    if (st.ok() && done) LiftGrace();
  }

  int Init() {
    Status st = Open();
    if (!st.ok()) {
      log_.Error(StrCat("cannot open the database: ", st.ToString()));
      return -EACCES;
    }
    GraceStartResult g;
    st = InTransaction([&]() -> Status {
      NFSREC_ASSIGN_OR_RETURN(g, client_sql::StartGrace(*db_));
      return Status::Ok();
    });
    if (!st.ok()) {
      log_.Error(StrCat("init: ", st.ToString()));
      return -EACCES;
    }
    log_.Debug(StrCat("init: recovery epoch ", g.epochs.recovery, " (", g.reclaimable.size(),
                      " clients), current epoch ", g.epochs.current));
    int64_t t;
    if (g.reclaimable.empty() && ParseTime(req_.grace_start, &t)) LiftGrace();
    return 0;
  }

  int Create(const std::string& id) {
    Status st = OpenAndRun([&]() -> Status {
      NFSREC_ASSIGN_OR_RETURN(const Epochs e, client_sql::ReadEpochs(*db_));
      ClientRecord r;
      r.id = id;
      r.has_session = HasSession();
      return client_sql::PutClient(*db_, e.current, r);
    });
    if (!st.ok()) {
      log_.Error(StrCat("create: ", st.ToString()));
      return -EREMOTEIO;
    }
    if (HasSession()) MaybeLiftGrace();
    return 0;
  }

  int Remove(const std::string& id) {
    Status st = OpenAndRun([&]() -> Status {
      NFSREC_ASSIGN_OR_RETURN(const Epochs e, client_sql::ReadEpochs(*db_));
      return client_sql::RemoveClient(*db_, e.current, id);
    });
    if (!st.ok()) {
      log_.Error(StrCat("remove: ", st.ToString()));
      return -EREMOTEIO;
    }
    return 0;
  }

  int Check(const std::string& id) {
    bool allowed = false;
    bool legacy = false;
    Status st = OpenAndRun([&]() -> Status {
      NFSREC_ASSIGN_OR_RETURN(const Epochs e, client_sql::ReadEpochs(*db_));
      // A v4.0 client counts as reclaimed once it is checked (it sends no
      // RECLAIM_COMPLETE); a v4.1 client only at its later "create".
      NFSREC_ASSIGN_OR_RETURN(const ReclaimOutcome r,
                              client_sql::Reclaim(*db_, e, id, !HasSession()));
      allowed = r != ReclaimOutcome::kNotFound;
      if (allowed || !req_.legacy_recdir || !IsDir(*req_.legacy_recdir)) return Status::Ok();
      // Known only to the legacy recovery directory: adopt it.
      ClientRecord rec;
      rec.id = id;
      rec.has_session = HasSession();
      uint64_t epoch = HasSession() && e.in_grace() ? e.recovery : e.current;
      NFSREC_RETURN_IF_ERROR(client_sql::PutClient(*db_, epoch, rec));
      allowed = legacy = true;
      return Status::Ok();
    });
    if (!st.ok()) {
      log_.Error(StrCat("check: ", st.ToString()));
      return -EPERM;
    }
    if (legacy && ::rmdir(req_.legacy_recdir->c_str()) != 0) {
      log_.Warning(StrCat("cannot remove ", *req_.legacy_recdir, ": ", std::strerror(errno)));
    }
    return allowed ? 0 : -EPERM;
  }

  int GraceDone() {
    int64_t boot;
    if (!ParseTime(req_.arg, &boot)) {
      log_.Error(StrCat("gracedone: bad boot time ", Printable(*req_.arg)));
      return -EINVAL;
    }
    Status st = OpenAndRun([&]() -> Status { return client_sql::EndGrace(*db_).status(); });
    if (!st.ok()) {
      log_.Error(StrCat("gracedone: ", st.ToString()));
      return -EREMOTEIO;
    }
    if (req_.legacy_topdir) PurgeLegacy(*req_.legacy_topdir);
    return 0;
  }

  void PurgeLegacy(const std::string& top) {
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(top.c_str()), &::closedir);
    if (!dir) return;
    while (dirent* d = ::readdir(dir.get())) {
      std::string name = d->d_name;
      if (name == "." || name == "..") continue;
      std::string p = top + "/" + name;
      if (::rmdir(p.c_str()) != 0) {
        log_.Warning(StrCat("cannot remove ", p, ": ", std::strerror(errno)));
      }
    }
  }

  const CltrackRequest& req_;
  Logger& log_;
  std::unique_ptr<sqlite::Db> db_;
};

}  // namespace

int DecodeHexId(const std::string& hex, std::string* out) {
  if (hex.empty() || hex.size() % 2 != 0) return -EINVAL;
  if (hex.size() / 2 > kCldNameMax) return -ENOBUFS;
  out->clear();
  out->reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = HexVal(hex[i]);
    int lo = HexVal(hex[i + 1]);
    if (hi < 0 || lo < 0) return -EINVAL;
    out->push_back(static_cast<char>(hi * 16 + lo));
  }
  return 0;
}

int RunCltrack(const CltrackRequest& req, Logger& log) { return Helper(req, log).Run(); }

}  // namespace nfsrec::nfs4rec
