#include "daemon/nfsrecctl_admin.h"

#include <sys/stat.h>

#include <cstdio>
#include <optional>
#include <utility>
#include <vector>

#include "common/base/logging.h"
#include "common/os/effective_owner.h"
#include "common/os/event_loop.h"
#include "common/os/file_system.h"
#include "common/store/commit_queue.h"
#include "daemon/control_client.h"
#include "daemon/nfsrecctl_format.h"
#include "daemon/nfsrecctl_import.h"
#include "daemon/process.h"
#include "nfs4rec/sqlite_client_store.h"
#include "statd/sqlite_nsm_store.h"

namespace nfsrec {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// How long the offline path waits for each store step.
constexpr auto kStoreWait = 30s;

const char* ViaText(AdminVia via) { return via == AdminVia::kDaemon ? "daemon" : "database"; }

// Runs `start` (which takes a completion) on `loop` until it completes.
template <typename T, typename StartFn>
Result<T> Await(EventLoop& loop, StartFn start) {
  std::optional<Result<T>> out;
  start([&out](Result<T> r) { out.emplace(std::move(r)); });
  if (!loop.RunUntil([&] { return out.has_value(); }, kStoreWait)) {
    return Status::TimedOut("the store did not answer");
  }
  return std::move(*out);
}

Status AwaitStatus(EventLoop& loop, const std::function<void(Callback<void(Status)>)>& start) {
  std::optional<Status> out;
  start([&out](Status s) { out.emplace(std::move(s)); });
  if (!loop.RunUntil([&] { return out.has_value(); }, kStoreWait)) {
    return Status::TimedOut("the store did not answer");
  }
  return std::move(*out);
}

// The database, which the offline path never creates.
Status RequireDatabase(const std::string& db_path) {
  struct stat st;
  if (::stat(db_path.c_str(), &st) != 0) return Status::NotFound("no database at " + db_path);
  return Status::Ok();
}

std::string Plural(size_t n, const char* one, const char* many) {
  return StrCat(n, " ", n == 1 ? one : many);
}

// A failed call to the daemon, as the command's output.
LiveOutput Failed(const std::string& command, const Status& st) {
  if (st.IsPermissionDenied()) {
    return LiveOutput{kCtlExitRefused, "",
                      "nfsrecctl: " + command + ": refused: " + st.message() +
                          " (run it as root or as the daemon's user)\n"};
  }
  return LiveOutput{kCtlExitFailure, "", "nfsrecctl: " + command + ": " + st.message() + "\n"};
}

void Print(const LiveOutput& o) {
  std::fputs(o.out.c_str(), stdout);
  std::fputs(o.err.c_str(), stderr);
}

// No daemon answers on this socket (none there, or a dead one's).
bool NobodyAnswers(const Status& st) {
  return (st.IsNotFound() && st.message().rfind("unknown command", 0) != 0) || st.IsUnavailable();
}

}  // namespace

LiveOutput RemoveMonitorOutput(const std::string& host, const Result<json>& reply, AdminVia via,
                               bool as_json) {
  const std::string command = "remove monitor " + Printable(host);
  if (!reply.ok()) return Failed(command, reply.status());
  auto removed = reply->find("removed");
  if (removed == reply->end() || !removed->is_number_integer() || removed->get<int64_t>() < 0) {
    return LiveOutput{kCtlExitFailure, "",
                      "nfsrecctl: " + command + ": the daemon's answer has no \"removed\"\n"};
  }
  const size_t n = removed->get<size_t>();
  if (as_json) {
    CtlJson doc;
    doc["removed"] = n;
    doc["via"] = ViaText(via);
    return LiveOutput{kCtlExitOk, doc.dump(2) + "\n", ""};
  }
  if (via == AdminVia::kStore) {
    return LiveOutput{
        kCtlExitOk,
        StrCat("daemon not running: removed ", Plural(n, "monitor record", "monitor records"),
               " of ", Printable(host), " from the database\n"),
        ""};
  }
  return LiveOutput{kCtlExitOk,
                    StrCat("removed ", Plural(n, "monitor record", "monitor records"), " of ",
                           Printable(host), "\n"),
                    ""};
}

LiveOutput ExpireClientOutput(const std::string& client, const Result<json>& reply, AdminVia via,
                              bool as_json) {
  const std::string command = "expire client " + client;
  if (!reply.ok()) return Failed(command, reply.status());
  auto outcome = reply->find("outcome");
  if (outcome == reply->end() || !outcome->is_string()) {
    return LiveOutput{kCtlExitFailure, "",
                      "nfsrecctl: " + command + ": the daemon's answer has no \"outcome\"\n"};
  }
  const std::string what = outcome->get<std::string>();
  if (as_json) {
    CtlJson doc;
    doc["outcome"] = what;
    doc["via"] = ViaText(via);
    return LiveOutput{kCtlExitOk, doc.dump(2) + "\n", ""};
  }
  if (via == AdminVia::kStore) {
    return LiveOutput{kCtlExitOk,
                      "daemon not running: removed client " + client +
                          " from the database; nfsd was not told (if it still holds the "
                          "client, write \"expire\" to its /proc/fs/nfsd/clients/*/ctl)\n",
                      ""};
  }
  return LiveOutput{kCtlExitOk, "client " + client + ": " + what + "\n", ""};
}

Result<size_t> RemoveMonitorsOffline(const std::string& db_path, const std::string& host,
                                     const CtlCommandLine& filter) {
  NFSREC_RETURN_IF_ERROR(RequireDatabase(db_path));
  // ORDER: declared first, so the store is closed before root comes back.
  NFSREC_ASSIGN_OR_RETURN(EffectiveOwner owner, EffectiveOwner::Become(DirName(db_path)));
  NFSREC_ASSIGN_OR_RETURN(std::unique_ptr<EventLoop> loop, EventLoop::Create());
  NFSREC_ASSIGN_OR_RETURN(std::unique_ptr<CommitQueue> queue, OpenStore(db_path, *loop));
  NFSREC_ASSIGN_OR_RETURN(std::unique_ptr<statd::SqliteNsmStore> nsm,
                          statd::SqliteNsmStore::Open(*queue));
  NFSREC_ASSIGN_OR_RETURN(statd::NsmSnapshot snap, Await<statd::NsmSnapshot>(*loop, [&](auto done) {
                            nsm->Load(std::move(done));
                          }));
  std::vector<statd::MonitorKey> keys;
  for (const statd::MonitorRecord& r : snap.monitors) {
    if (!HostMatches(r, host)) continue;
    if ((filter.prog && *filter.prog != r.key.my_prog) ||
        (filter.vers && *filter.vers != r.key.my_vers) ||
        (filter.proc && *filter.proc != r.key.my_proc)) {
      continue;
    }
    keys.push_back(r.key);
  }
  if (keys.empty()) return Status::NotFound("no monitor record for " + Printable(host));
  NFSREC_RETURN_IF_ERROR(
      AwaitStatus(*loop, [&](auto done) { nsm->DeleteMonitors(keys, std::move(done)); }));
  return keys.size();
}

Status ExpireClientOffline(const std::string& db_path, const std::string& id) {
  NFSREC_RETURN_IF_ERROR(RequireDatabase(db_path));
  // ORDER: declared first, so the store is closed before root comes back.
  NFSREC_ASSIGN_OR_RETURN(EffectiveOwner owner, EffectiveOwner::Become(DirName(db_path)));
  NFSREC_ASSIGN_OR_RETURN(std::unique_ptr<EventLoop> loop, EventLoop::Create());
  NFSREC_ASSIGN_OR_RETURN(std::unique_ptr<CommitQueue> queue, OpenStore(db_path, *loop));
  NFSREC_ASSIGN_OR_RETURN(std::unique_ptr<nfs4rec::SqliteClientStore> clients,
                          nfs4rec::SqliteClientStore::Open(*queue));
  NFSREC_ASSIGN_OR_RETURN(
      nfs4rec::ClientSnapshot snap,
      Await<nfs4rec::ClientSnapshot>(*loop, [&](auto done) { clients->Load(std::move(done)); }));
  auto has = [&id](const std::vector<nfs4rec::ClientRecord>& records) {
    for (const nfs4rec::ClientRecord& r : records) {
      if (r.id == id) return true;
    }
    return false;
  };
  if (!has(snap.current)) {
    if (has(snap.recovery)) {
      return Status::Busy(
          "the client has only a record of the recovery epoch: it may still reclaim, and "
          "the record goes when grace ends");
    }
    return Status::NotFound("no record of client " + ShowBytes(id));
  }
  return AwaitStatus(*loop, [&](auto done) { clients->RemoveClient(id, std::move(done)); });
}

int RunAdminCommand(const CtlCommandLine& cl, const CtlStore& store) {
  const bool remove = cl.command == "remove";
  const std::string& operand = cl.operands.at(1);
  json request;
  std::string id;
  std::vector<std::string> sockets = {store.control_socket};
  if (remove) {
    request = {{"command", "remove-monitor"}, {"host", operand}};
    if (cl.prog) request["prog"] = *cl.prog;
    if (cl.vers) request["vers"] = *cl.vers;
    if (cl.proc) request["proc"] = *cl.proc;
  } else {
    Result<std::string> parsed = ParseClientId(operand);
    if (!parsed.ok()) {
      std::fprintf(stderr, "nfsrecctl: expire client: %s\n", parsed.status().message().c_str());
      return kCtlExitUsage;
    }
    id = *parsed;
    request = {{"command", "expire-client"}, {"id", {{"hex", HexBytes(id.data(), id.size())}}}};
    // A daemon in the nfsdcld role tracks the clients under a socket of its own.
    if (store.nfsdcld_control_socket != store.control_socket) {
      sockets.push_back(store.nfsdcld_control_socket);
    }
  }
  auto output = [&](const Result<json>& reply, AdminVia via) {
    return remove ? RemoveMonitorOutput(operand, reply, via, cl.json)
                  : ExpireClientOutput(ShowBytes(id), reply, via, cl.json);
  };

  std::optional<Result<json>> declined;  // a daemon without NFSv4 tracking
  for (const std::string& socket : sockets) {
    if (socket.empty()) continue;
    Result<json> reply = CallDaemon(socket, request, kCtlLiveTimeout);
    if (!reply.ok() && NobodyAnswers(reply.status())) continue;
    if (!remove && !reply.ok() &&
        reply.status().message().rfind("Unavailable: this daemon does not track", 0) == 0) {
      declined = std::move(reply);
      continue;
    }
    LiveOutput o = output(reply, AdminVia::kDaemon);
    Print(o);
    return o.exit_code;
  }
  if (declined) {
    LiveOutput o = output(*declined, AdminVia::kDaemon);
    Print(o);
    return o.exit_code;
  }
  if (DaemonIsRunning(store.pidfile, store.control_socket) ||
      DaemonIsRunning("", store.nfsdcld_control_socket)) {
    std::fprintf(stderr,
                 "nfsrecctl: %s %s: nfsrecd is running (its pid file %s is locked or a control "
                 "socket accepts) but did not answer; nothing changed\n",
                 cl.command.c_str(), cl.operands[0].c_str(), store.pidfile.c_str());
    return kCtlExitNotRunning;
  }
  auto offline = [&]() -> Result<json> {
    if (remove) {
      NFSREC_ASSIGN_OR_RETURN(size_t n, RemoveMonitorsOffline(store.database, operand, cl));
      return json{{"removed", n}};
    }
    NFSREC_RETURN_IF_ERROR(ExpireClientOffline(store.database, id));
    return json{{"outcome", "removed from the store"}};
  };
  Result<json> done = offline();
  if (!done.ok()) {
    done = Result<json>(done.status().WithContext("daemon not running; in the database"));
  }
  LiveOutput o = output(done, AdminVia::kStore);
  Print(o);
  return o.exit_code;
}

}  // namespace nfsrec
