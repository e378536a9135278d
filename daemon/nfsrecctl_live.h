// nfsrecctl's live commands, answered by the running daemon over its
// control socket (daemon/control_server.h):
//   status [--json]   the daemon's figures: a human summary, or the status
//                     object (docs/schema/status.json)
//   metrics           the same figures in the Prometheus text exposition
//                     format, for node_exporter's textfile collector
// Exit codes: 0 answered; 3 no daemon answers (nothing is printed on
// stdout); 4 the daemon refused this user; 1 any other failure.
#pragma once

#include <chrono>
#include <string>

#include "common/base/result.h"
#include <nlohmann/json.hpp>

namespace nfsrec {

constexpr int kCtlExitNotRunning = 3;
constexpr int kCtlExitRefused = 4;
// How long nfsrecctl waits for the daemon's answer.
constexpr std::chrono::milliseconds kCtlLiveTimeout{10000};

// What a live command prints and how it exits.
struct LiveOutput {
  int exit_code = 0;
  std::string out;  // for stdout
  std::string err;  // for stderr
};

// From the daemon's reply (CallDaemon's result) to `socket_path`; an empty
// path means the socket is turned off ([nfsrecd] control-socket = none).
LiveOutput StatusOutput(const std::string& socket_path, const Result<nlohmann::json>& reply,
                        bool as_json);
LiveOutput MetricsOutput(const std::string& socket_path, const Result<nlohmann::json>& reply);

// The human summary of a status object; throws nlohmann::json::exception
// if the object lacks what docs/schema/status.json requires.
std::string HumanStatus(const nlohmann::json& status);

// Asks the daemon at `socket_path` and prints; returns the exit code.
int RunLiveCommand(const std::string& command, const std::string& socket_path, bool as_json);

}  // namespace nfsrec
