#include "daemon/control_admin.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <utility>

#include "common/base/logging.h"

namespace nfsrec {
namespace {

using nlohmann::json;

// The error reply for `st`: its kind first, so that the reader of the one
// line knows whether the thing was absent, busy or the service missing.
Status Reason(const Status& st) {
  const std::string full = st.ToString();
  return st.WithContext(full.substr(0, full.find(':')));
}

Result<std::optional<int32_t>> OptionalInt32(const json& request, const char* key) {
  auto it = request.find(key);
  if (it == request.end()) return std::optional<int32_t>();
  if (!it->is_number_integer()) {
    return Status::InvalidArgument(StrCat("\"", key, "\" is not an integer"));
  }
  const int64_t v = it->get<int64_t>();
  if (it->is_number_unsigned() && it->get<uint64_t>() > uint64_t{INT32_MAX}) {
    return Status::InvalidArgument(StrCat("\"", key, "\" is out of range"));
  }
  if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) {
    return Status::InvalidArgument(StrCat("\"", key, "\" is out of range"));
  }
  return std::optional<int32_t>(static_cast<int32_t>(v));
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<RemoveMonitorRequest> ParseRemoveMonitorRequest(const json& request) {
  auto host = request.find("host");
  if (host == request.end() || !host->is_string() || host->get<std::string>().empty()) {
    return Status::InvalidArgument("remove-monitor needs \"host\", a non-empty string");
  }
  RemoveMonitorRequest out;
  out.host = host->get<std::string>();
  NFSREC_ASSIGN_OR_RETURN(out.filter.my_prog, OptionalInt32(request, "prog"));
  NFSREC_ASSIGN_OR_RETURN(out.filter.my_vers, OptionalInt32(request, "vers"));
  NFSREC_ASSIGN_OR_RETURN(out.filter.my_proc, OptionalInt32(request, "proc"));
  return out;
}

Result<std::string> ParseExpireClientRequest(const json& request) {
  auto id = request.find("id");
  if (id == request.end() || !id->is_object() || !id->contains("hex") ||
      !id->at("hex").is_string()) {
    return Status::InvalidArgument("expire-client needs \"id\": {\"hex\": \"...\"}");
  }
  const std::string hex = id->at("hex").get<std::string>();
  if (hex.empty() || hex.size() % 2 != 0) {
    return Status::InvalidArgument("expire-client: \"hex\" needs an even, non-zero digit count");
  }
  std::string bytes;
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = HexDigit(hex[i]);
    const int lo = HexDigit(hex[i + 1]);
    if (hi < 0 || lo < 0) return Status::InvalidArgument("expire-client: \"hex\" is not hex");
    bytes.push_back(static_cast<char>(hi * 16 + lo));
  }
  return bytes;
}

Result<json> RemoveMonitorResult(const Result<size_t>& removed) {
  if (!removed.ok()) return Reason(removed.status());
  return json{{"removed", *removed}};
}

Result<json> ExpireClientResult(const Result<nfs4rec::TrackingDaemon::ExpireOutcome>& outcome) {
  if (!outcome.ok()) return Reason(outcome.status());
  return json{{"outcome", nfs4rec::TrackingDaemon::ExpireOutcomeText(*outcome)}};
}

void RegisterAdminCommands(ControlServer& server, statd::NsmDaemon* nsm,
                           nfs4rec::TrackingDaemon* tracking) {
  server.Register("remove-monitor", [nsm](const json& request, ControlServer::Reply reply) {
    if (nsm == nullptr) {
      return reply(
          Reason(Status::Unavailable("this daemon does not serve NSM (it runs in the nfsdcld "
                                     "role): no monitor records here")));
    }
    Result<RemoveMonitorRequest> args = ParseRemoveMonitorRequest(request);
    if (!args.ok()) return reply(Reason(args.status()));
    nsm->RemoveMonitors(args->host, args->filter,
                        [reply = std::move(reply)](Result<size_t> removed) mutable {
                          reply(RemoveMonitorResult(removed));
                        });
  });
  server.Register("expire-client", [tracking](const json& request, ControlServer::Reply reply) {
    if (tracking == nullptr) {
      return reply(Reason(Status::Unavailable(
          "this daemon does not track NFSv4 clients (the rpc.statd role, or NFSv4 tracking off)")));
    }
    Result<std::string> id = ParseExpireClientRequest(request);
    if (!id.ok()) return reply(Reason(id.status()));
    tracking->ExpireClient(
        *id,
        [reply = std::move(reply)](Result<nfs4rec::TrackingDaemon::ExpireOutcome> outcome) mutable {
          reply(ExpireClientResult(outcome));
        });
  });
}

}  // namespace nfsrec
