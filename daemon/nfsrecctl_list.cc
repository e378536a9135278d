#include "daemon/nfsrecctl_list.h"

#include <set>
#include <vector>

#include "common/base/logging.h"
#include "daemon/nfsrecctl_format.h"

namespace nfsrec {
namespace {

using nfs4rec::ClientRecord;
using nfs4rec::ClientSnapshot;
using statd::MonitorRecord;
using statd::NsmSnapshot;

constexpr char kNoNsm[] =
    "the database holds no NSM state: no nfsrecd (or sm-notify command) has run on it";
constexpr char kNoClients[] =
    "the database holds no NFSv4 client tracking: nfsrecd has not tracked NFSv4 clients "
    "with this state directory";

std::string Document(const CtlJson& j) { return j.dump(2) + "\n"; }

bool CallbackOwed(const MonitorRecord& r) { return r.peer_state != r.lockd_state; }

CtlJson MonitorJson(const MonitorRecord& r) {
  CtlJson j = CtlJson::object();
  j["mon_name"] = BytesJson(r.key.mon_name);
  j["canonical_name"] = BytesJson(r.canonical_name);
  j["my_name"] = BytesJson(r.key.my_name);
  j["my_prog"] = r.key.my_prog;
  j["my_vers"] = r.key.my_vers;
  j["my_proc"] = r.key.my_proc;
  j["cookie"] =
      BytesJson(std::string_view(reinterpret_cast<const char*>(r.priv.data()), r.priv.size()));
  j["peer_state"] = r.peer_state;
  j["lockd_state"] = r.lockd_state;
  j["callback_owed"] = CallbackOwed(r);
  return j;
}

std::vector<std::string> MonitorRow(const MonitorRecord& r) {
  return {ShowBytes(r.key.mon_name), ShowBytes(r.canonical_name),   ShowBytes(r.key.my_name),
          StrCat(r.key.my_prog),     StrCat(r.key.my_vers),         StrCat(r.key.my_proc),
          StrCat(r.peer_state),      CallbackOwed(r) ? "owed" : "-"};
}

const std::vector<std::string> kMonitorHeader = {
    "MON_NAME", "CANONICAL_NAME", "MY_NAME", "PROG", "VERS", "PROC", "PEER_STATE", "CALLBACK"};

std::string MonitorBlock(const char* kind, const MonitorRecord& r) {
  return StrCat(kind, " ", ShowBytes(r.key.mon_name), "\n",                           //
                "  canonical name:  ", ShowBytes(r.canonical_name), "\n",             //
                "  my_name:         ", ShowBytes(r.key.my_name), "\n",                //
                "  lockd:           program ", r.key.my_prog, " version ",            //
                r.key.my_vers, " procedure ", r.key.my_proc, "\n",                    //
                "  cookie:          ", HexBytes(r.priv.data(), r.priv.size()), "\n",  //
                "  peer state:      ", r.peer_state, "\n",                            //
                "  lockd state:     ", r.lockd_state,
                CallbackOwed(r) ? " (a callback to lockd is owed)" : "", "\n");
}

std::set<std::string> Ids(const std::vector<ClientRecord>& records) {
  std::set<std::string> ids;
  for (const ClientRecord& r : records) ids.insert(r.id);
  return ids;
}

CtlJson ClientJson(const ClientRecord& r) {
  CtlJson j = CtlJson::object();
  j["id"] = BytesJson(r.id);
  j["princhash"] = r.princhash.empty() ? CtlJson(nullptr) : CtlJson(BytesJson(r.princhash));
  j["has_session"] = r.has_session ? CtlJson(*r.has_session) : CtlJson(nullptr);
  j["time"] = r.time;
  j["lease_expired"] = r.lease_expired;
  return j;
}

std::string Session(const ClientRecord& r) {
  if (!r.has_session) return "-";
  return *r.has_session ? "yes" : "no";
}

std::string Princhash(const ClientRecord& r) {
  // The first 8 digits tell principals apart at a glance; show has them all.
  return r.princhash.empty() ? "-" : HexBytes(r.princhash.data(), r.princhash.size()).substr(0, 8);
}

std::string ListMonitors(const CtlCommandLine& cl, const std::vector<MonitorRecord>& records,
                         const char* key) {
  if (cl.json) {
    CtlJson list = CtlJson::array();
    for (const MonitorRecord& r : records) list.push_back(MonitorJson(r));
    CtlJson j = CtlJson::object();
    j[key] = std::move(list);
    return Document(j);
  }
  std::vector<std::vector<std::string>> rows;
  for (const MonitorRecord& r : records) rows.push_back(MonitorRow(r));
  return FormatTable(kMonitorHeader, rows);
}

std::string ListClients(const CtlCommandLine& cl, const ClientSnapshot& snap) {
  const bool recovery = cl.epoch == CtlEpoch::kRecovery;
  const uint64_t epoch = recovery ? snap.epochs.recovery : snap.epochs.current;
  const std::vector<ClientRecord>& records = recovery ? snap.recovery : snap.current;
  const std::set<std::string> current = Ids(snap.current);
  if (cl.json) {
    CtlJson list = CtlJson::array();
    for (const ClientRecord& r : records) {
      CtlJson c = ClientJson(r);
      if (recovery) c["reclaimed"] = current.count(r.id) != 0;
      list.push_back(std::move(c));
    }
    CtlJson j = CtlJson::object();
    j["epoch"] = recovery ? "recovery" : "current";
    j["epoch_number"] = epoch;
    j["in_grace"] = snap.epochs.in_grace();
    j["clients"] = std::move(list);
    return Document(j);
  }
  std::vector<std::string> header = {"EPOCH", "TIME", "SESSION", "PRINCHASH", "EXPIRED"};
  if (recovery) header.push_back("RECLAIMED");
  header.push_back("ID");
  std::vector<std::vector<std::string>> rows;
  for (const ClientRecord& r : records) {
    std::vector<std::string> row = {StrCat(epoch), RecordTimeUtc(r.time), Session(r), Princhash(r),
                                    r.lease_expired ? "yes" : "no"};
    if (recovery) row.push_back(current.count(r.id) != 0 ? "yes" : "no");
    row.push_back(ShowBytes(r.id));
    rows.push_back(std::move(row));
  }
  std::string out;
  if (recovery && !snap.epochs.in_grace()) out = "not in grace: there is no recovery epoch\n";
  return out + FormatTable(header, rows);
}

std::string ClientBlock(const char* role, uint64_t epoch, const ClientRecord& r) {
  return StrCat("client ", ShowBytes(r.id), "\n",                            //
                "  epoch:      ", epoch, " (", role, ")\n",                  //
                "  id (hex):   ", HexBytes(r.id.data(), r.id.size()), "\n",  //
                "  princhash:  ",
                r.princhash.empty() ? "-" : HexBytes(r.princhash.data(), r.princhash.size()),
                "\n",                                                            //
                "  session:    ", r.has_session ? Session(r) : "unknown", "\n",  //
                "  lease:      ",
                r.lease_expired ? "expired at the last reconciliation (courtesy or expirable; "
                                  "not offered at the next GraceStart)"
                                : "not seen expired",
                "\n",  //
                "  time:       ", RecordTimeUtc(r.time), " (", r.time, ")\n");
}

Result<std::string> Show(const CtlCommandLine& cl, const CtlSnapshot& snap) {
  const std::string& query = cl.operands.at(0);
  std::vector<const MonitorRecord*> monitors;
  std::vector<const MonitorRecord*> notify;
  if (snap.nsm) {
    for (const MonitorRecord& r : snap.nsm->monitors) {
      if (HostMatches(r, query)) monitors.push_back(&r);
    }
    for (const MonitorRecord& r : snap.nsm->notify) {
      if (HostMatches(r, query)) notify.push_back(&r);
    }
  }
  struct Found {
    const char* role;
    uint64_t epoch;
    const ClientRecord* record;
  };
  std::vector<Found> clients;
  if (snap.clients) {
    NFSREC_ASSIGN_OR_RETURN(const std::string id, ParseClientId(query));
    for (const ClientRecord& r : snap.clients->current) {
      if (r.id == id) clients.push_back({"current", snap.clients->epochs.current, &r});
    }
    for (const ClientRecord& r : snap.clients->recovery) {
      if (r.id == id) clients.push_back({"recovery", snap.clients->epochs.recovery, &r});
    }
  }
  if (monitors.empty() && notify.empty() && clients.empty()) {
    return Status::NotFound(
        StrCat("no monitor, notify entry or NFSv4 client matches '", Printable(query), "'"));
  }
  if (cl.json) {
    CtlJson j = CtlJson::object();
    j["query"] = BytesJson(query);
    j["monitors"] = CtlJson::array();
    for (const MonitorRecord* r : monitors) j["monitors"].push_back(MonitorJson(*r));
    j["notify"] = CtlJson::array();
    for (const MonitorRecord* r : notify) j["notify"].push_back(MonitorJson(*r));
    j["clients"] = CtlJson::array();
    for (const Found& f : clients) {
      CtlJson c = ClientJson(*f.record);
      c["epoch"] = f.role;
      c["epoch_number"] = f.epoch;
      j["clients"].push_back(std::move(c));
    }
    return Document(j);
  }
  std::string out;
  for (const MonitorRecord* r : monitors) out += MonitorBlock("monitor", *r);
  for (const MonitorRecord* r : notify) out += MonitorBlock("notify", *r);
  for (const Found& f : clients) out += ClientBlock(f.role, f.epoch, *f.record);
  return out;
}

std::string Grace(const CtlCommandLine& cl, const ClientSnapshot& snap) {
  const std::set<std::string> current = Ids(snap.current);
  size_t reclaimed = 0;
  for (const ClientRecord& r : snap.recovery) reclaimed += current.count(r.id);
  size_t expired = 0;
  for (const ClientRecord& r : snap.current) expired += r.lease_expired;
  if (cl.json) {
    CtlJson j = CtlJson::object();
    j["in_grace"] = snap.epochs.in_grace();
    j["current_epoch"] = snap.epochs.current;
    j["recovery_epoch"] = snap.epochs.recovery;
    j["current_clients"] = snap.current.size();
    j["current_lease_expired"] = expired;
    j["may_reclaim"] = snap.recovery.size();
    j["reclaimed"] = reclaimed;
    j["clients"] = CtlJson::array();
    for (const ClientRecord& r : snap.recovery) {
      CtlJson c = CtlJson::object();
      c["id"] = BytesJson(r.id);
      c["reclaimed"] = current.count(r.id) != 0;
      j["clients"].push_back(std::move(c));
    }
    return Document(j);
  }
  if (!snap.epochs.in_grace()) {
    return StrCat("grace:            not in grace\n",               //
                  "current epoch:    ", snap.epochs.current, "\n",  //
                  "recovery epoch:   none\n",                       //
                  "clients:          ", snap.current.size(),        //
                  " (they may reclaim after the next server restart)\n",
                  expired == 0 ? std::string()
                               : StrCat("lease expired:    ", expired,
                                        " of them, seen courtesy or expirable: the next "
                                        "GraceStart does not offer them\n"));
  }
  std::string out = StrCat("grace:            in grace\n",                    //
                           "current epoch:    ", snap.epochs.current, "\n",   //
                           "recovery epoch:   ", snap.epochs.recovery, "\n",  //
                           "may reclaim:      ", snap.recovery.size(), "\n",  //
                           "reclaimed:        ", reclaimed, "\n");
  if (reclaimed < snap.recovery.size()) {
    out += "not reclaimed yet:\n";
    for (const ClientRecord& r : snap.recovery) {
      if (current.count(r.id) == 0) out += StrCat("  ", ShowBytes(r.id), "\n");
    }
  }
  return out;
}

std::string State(const CtlCommandLine& cl, const NsmSnapshot& nsm) {
  const int32_t state = nsm.local_state;
  const bool odd = (state & 1) != 0;
  if (cl.json) {
    CtlJson j = CtlJson::object();
    j["state"] = state != 0 ? CtlJson(state) : CtlJson(nullptr);
    j["parity"] = state != 0 ? CtlJson(odd ? "odd" : "even") : CtlJson(nullptr);
    return Document(j);
  }
  if (state == 0) return "state: none stored yet\n";
  return StrCat("state: ", state, odd ? " (odd: up)\n" : " (even: down)\n");
}

}  // namespace

bool IsListingCommand(const std::string& command) {
  return command == "list" || command == "show" || command == "grace" || command == "state";
}

Result<std::string> RenderListing(const CtlCommandLine& cl, const CtlSnapshot& snapshot) {
  if (cl.command == "show") return Show(cl, snapshot);
  if (cl.command == "list" && !cl.operands.empty() && cl.operands[0] != "clients") {
    if (!snapshot.nsm) return Status::NotFound(kNoNsm);
    const bool notify = cl.operands[0] == "notify";
    return ListMonitors(cl, notify ? snapshot.nsm->notify : snapshot.nsm->monitors,
                        notify ? "notify" : "monitors");
  }
  if (cl.command == "list" || cl.command == "grace") {
    if (!snapshot.clients) return Status::NotFound(kNoClients);
    return cl.command == "list" ? ListClients(cl, *snapshot.clients) : Grace(cl, *snapshot.clients);
  }
  if (cl.command == "state") {
    if (!snapshot.nsm) return Status::NotFound(kNoNsm);
    return State(cl, *snapshot.nsm);
  }
  return Status::InvalidArgument(StrCat("'", Printable(cl.command), "' is not a listing"));
}

int RunListing(const CtlCommandLine& cl, const CtlStore& store, std::FILE* out, std::FILE* err) {
  Result<CtlSnapshot> snap = ReadStoreSnapshot(store.database);
  if (!snap.ok()) {
    std::fprintf(err, "nfsrecctl: %s: %s\n", cl.command.c_str(), snap.status().message().c_str());
    return kCtlExitFailure;
  }
  Result<std::string> text = RenderListing(cl, *snap);
  if (!text.ok()) {
    std::fprintf(err, "nfsrecctl: %s: %s\n", cl.command.c_str(), text.status().message().c_str());
    return kCtlExitFailure;
  }
  std::fputs(text->c_str(), out);
  return std::fflush(out) == 0 ? kCtlExitOk : kCtlExitFailure;
}

}  // namespace nfsrec
