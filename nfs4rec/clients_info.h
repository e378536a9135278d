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
//   ctl     write-only; "expire\n" makes nfsd expire the client at once
//           (force_expire_client): it sends the tracker a Remove for it
//           before the write returns.
//   states  one line per open/lock/delegation/layout stateid the client
//           holds, "- 0x...: { type: open, ... }"; empty if it holds none.
// Unknown lines are ignored, so newer kernels' additions do no harm.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/callback.h"
#include "common/base/liveness.h"
#include "common/base/result.h"
#include "common/os/executor.h"
#include "common/os/file_system.h"

namespace nfsrec::nfs4rec {

inline constexpr char kNfsdClientsDir[] = "/proc/fs/nfsd/clients";
inline constexpr char kNfsdLeaseTimePath[] = "/proc/fs/nfsd/nfsv4leasetime";

enum class NfsdClientStatus { kConfirmed, kUnconfirmed, kCourtesy, kExpirable, kOther };

const char* NfsdClientStatusName(NfsdClientStatus s);

struct NfsdClientInfo {
  std::string name;  // the decoded client owner, 1..1024 bytes
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

// The lease time (seconds) from nfsv4leasetime.
Result<int64_t> ReadLeaseTime(FileSystem& fs);

struct LiveClientScan {
  std::vector<NfsdClientInfo> clients;
  uint64_t unreadable = 0;  // directories whose info did not parse or read
  std::string first_error;  // of the unreadable ones, for the log
  // The kernel's lease at scan time, when the source knows it.  nfsd's
  // lease is set when nfsd starts, often after this daemon, so a value read
  // once at our start may be stale.
  std::optional<int64_t> lease_seconds;
};

// Reads every <id>/info and states under kNfsdClientsDir.  Blocking
// (procfs; many clients take a while): call it off the loop thread.
// Clients that vanish between the listing and the read are left out
// silently.
Result<LiveClientScan> ScanLiveClients(FileSystem& fs);

// The directory under kNfsdClientsDir (e.g. "/proc/fs/nfsd/clients/7") of
// the client whose info names `name`.  NotFound if no readable entry does,
// or if there is no list (nfsd not running, kernel before 5.3).  Blocking
// (procfs): call it off the loop thread.
Result<std::string> FindNfsdClient(FileSystem& fs, std::string_view name);

// Writes "expire\n" to <dir>/ctl.  Blocking, and nfsd holds the write until
// the tracker has answered the Remove upcall it sends: never call it on the
// thread that answers upcalls.
Status ExpireNfsdClient(FileSystem& fs, const std::string& dir);

// Port used by TrackingService.
class LiveClientSource {
 public:
  virtual ~LiveClientSource() = default;
  // `done` runs later on the loop thread, never inline.
  virtual void Scan(Callback<void(Result<LiveClientScan>)> done) = 0;
};

// ScanLiveClients and ReadLeaseTime on an Executor worker, the answer
// delivered on the loop thread.
class ProcLiveClientSource final : public LiveClientSource {
 public:
  // The scan shares `fs` with its worker, which may outlive us.
  ProcLiveClientSource(Executor& executor, std::shared_ptr<FileSystem> fs);
  // A scan still running finishes on its own and its answer is dropped.
  ~ProcLiveClientSource() override = default;
  ProcLiveClientSource(const ProcLiveClientSource&) = delete;
  ProcLiveClientSource& operator=(const ProcLiveClientSource&) = delete;

  void Scan(Callback<void(Result<LiveClientScan>)> done) override;

 private:
  Executor& executor_;
  std::shared_ptr<FileSystem> fs_;
  Liveness liveness_;  // last: dies first
};

}  // namespace nfsrec::nfs4rec
