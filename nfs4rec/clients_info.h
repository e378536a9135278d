// The kernel's list of live NFSv4 clients: /proc/fs/nfsd/clients/<id>/.
//
// knfsd (Linux 5.3+) makes one directory per client, with (among others):
//   info    "key: value" lines, one per field.  Forms seen in 5.3-6.x:
//             clientid: 0x5f0c1b2a00000001
//             address: "192.0.2.7:751"
//             status: confirmed | unconfirmed | courtesy | expirable
//             seconds from last renew: 12
//             name: "Linux NFSv4.0 host/192.0.2.1 tcp"
//             minor version: 0
//             Implementation domain: "kernel.org"
//             Implementation name: "Linux 6.1.0 ..."
//             Implementation time: [0, 0]
//             callback state: UP
//             callback address: "192.0.2.7:0"
//             admin-revoked states: 0
//           `name` is the client owner that cld upcalls carry, printed by
//           seq_quote_mem(): inside double quotes, printable ASCII bytes as
//           they are and every other byte, and '"' and '\', as \xNN.
//   states  one line per open/lock/delegation/layout stateid the client
//           holds, "- 0x...: { type: open, ... }"; empty if it holds none.
// Unknown lines are ignored, so newer kernels' additions do no harm.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/os/event_loop.h"
#include "common/base/result.h"

namespace nfsrec::nfs4rec {

enum class NfsdClientStatus { kConfirmed, kUnconfirmed, kCourtesy, kExpirable, kOther };

const char* NfsdClientStatusName(NfsdClientStatus s);

struct NfsdClientInfo {
  std::string name;      // the decoded client owner, 1..1024 bytes
  NfsdClientStatus status = NfsdClientStatus::kOther;
  std::string clientid;  // as printed ("0x..."), empty if absent
  std::string address;   // without the quotes, empty if absent
  std::optional<uint32_t> minor_version;
  std::optional<int64_t> seconds_from_last_renew;
  bool holds_state = false;  // from the states file, not from info
};

// Decodes one seq_quote_mem() string, quotes included, e.g. "a\x22b".
// Fails on a missing quote, an escape other than \xNN, a raw '"' inside,
// text after the closing quote, an empty result or one over 1024 bytes.
Result<std::string> DecodeQuotedName(std::string_view quoted);

// Parses the text of one info file.  Fails if `name` or `status` is missing
// or appears twice, or if the name does not decode.
Result<NfsdClientInfo> ParseClientInfo(std::string_view text);

// True if the text of a states file lists at least one state.
bool StatesHoldState(std::string_view text);

// "<proc_root>/proc/fs/nfsd/clients"; an empty proc_root means "/".
std::string NfsdClientsDir(const std::string& proc_root);

// Reads the lease time (seconds) from <proc_root>/proc/fs/nfsd/nfsv4leasetime.
Result<int64_t> ReadLeaseTime(const std::string& proc_root);

struct LiveClientScan {
  std::vector<NfsdClientInfo> clients;
  uint64_t unreadable = 0;   // directories whose info did not parse or read
  std::string first_error;   // of the unreadable ones, for the log
  // The kernel's lease at scan time, when the source knows it.  nfsd's
  // lease is set when nfsd starts, often after this daemon, so a value read
  // once at our start may be stale.
  std::optional<int64_t> lease_seconds;
};

// Reads every <dir>/<id>/info and states.  Blocking (procfs; many clients
// take a while): call it off the loop thread.  Clients that vanish between
// the listing and the read are left out silently.
Result<LiveClientScan> ScanLiveClients(const std::string& clients_dir);

// Port used by TrackingService.
class LiveClientSource {
 public:
  virtual ~LiveClientSource() = default;
  // `done` runs later on the loop thread, never inline.
  virtual void Scan(std::function<void(Result<LiveClientScan>)> done) = 0;
};

// ScanLiveClients on a worker thread, the answer posted to the loop.
class ProcLiveClientSource final : public LiveClientSource {
 public:
  ProcLiveClientSource(EventLoop& loop, const std::string& proc_root);
  // A scan still running finishes on its own and its answer is dropped.
  ~ProcLiveClientSource() override;
  ProcLiveClientSource(const ProcLiveClientSource&) = delete;
  ProcLiveClientSource& operator=(const ProcLiveClientSource&) = delete;

  void Scan(std::function<void(Result<LiveClientScan>)> done) override;

 private:
  struct Shared {
    std::mutex mu;
    EventLoop* loop = nullptr;
  };
  std::string dir_;
  std::string proc_root_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace nfsrec::nfs4rec
