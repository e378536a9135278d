// The daemon's live figures as one plain value (LiveStatus), and its two
// renderings: the JSON status object (docs/schema/status.json, shown by
// `nfsrecctl status --json`) and the Prometheus text exposition format
// (docs/metrics.md, `nfsrecctl metrics`).  Pure functions: the composition
// root gathers the facades' Stats into a LiveStatus on the loop thread.
//
// Times are unix seconds (0: never or unknown) and, in JSON, also RFC 3339
// UTC strings (null when 0).  NSM host names are bytes off the wire: in
// JSON they are {"hex": ..., "text": ...} ("text" only when printable
// ASCII), in label values they are escaped with Printable().
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/base/clock.h"
#include "common/base/histogram.h"
#include <nlohmann/json.hpp>

namespace nfsrec {

struct LiveStatus {
  std::string version;
  int64_t pid = 0;
  int64_t uid = 0;
  int64_t now = 0;      // when gathered
  int64_t started = 0;  // when the daemon became ready

  struct Procedure {
    std::string name;  // "SM_MON"
    uint64_t calls = 0;
    uint64_t garbage = 0;  // GARBAGE_ARGS answers
    uint64_t refused = 0;  // refused for who called
  };
  struct Peer {
    std::string host;
    std::string state;  // queued, pending, answered, given_up
    uint64_t attempts = 0;
    int64_t next_retry = 0;
  };
  struct Nsm {
    int32_t state = 0;
    uint64_t monitors = 0;
    uint64_t notify_list = 0;
    std::vector<Procedure> procedures;  // every NSM procedure, in number order
    uint64_t replies_awaited = 0;       // waiting for DNS, a commit or a callout
    uint64_t calls_waiting_for_load = 0;
    uint64_t callbacks_in_progress = 0;
    uint64_t callbacks_delivered = 0;
    uint64_t callbacks_failed = 0;
    uint64_t peers_queued = 0;
    uint64_t peers_pending = 0;
    uint64_t peers_answered = 0;  // since start
    uint64_t peers_given_up = 0;
    std::vector<Peer> peers;   // at most kMaxPeersListed
    uint64_t peers_total = 0;  // every peer notified since start
    // The current or last boot notification run (none: runs == 0).
    struct BootRun {
      uint64_t runs = 0;
      bool running = false;
      bool new_boot = false;
      int32_t state = 0;
      uint64_t peers = 0;
      uint64_t answered = 0;
      uint64_t unreachable = 0;
      int64_t started = 0;
      int64_t finished = 0;  // 0 while running
    };
    BootRun boot;
  };
  std::optional<Nsm> nsm;

  struct Store {
    uint64_t units = 0;
    uint64_t transactions = 0;
    uint64_t queued = 0;
    uint64_t running = 0;
    uint64_t max_group = 0;
    LatencyHistogram commit_time;
  };
  // SQLite's commit queue; none in cluster mode (the stores are on etcd:
  // cluster->stores).
  std::optional<Store> store;

  struct GraceEnd {
    std::string reason;  // all-reclaimed, timer, admin, unknown (docs/events.md)
    std::optional<double> duration_seconds;  // unknown if grace began before this process
    uint64_t recovery_epoch = 0;
    bool may_reclaim_known = true;
    uint64_t may_reclaim = 0;
    uint64_t reclaimed = 0;                 // NFSv4.0 ones found live included
    uint64_t reclaimed_without_create = 0;  // of reclaimed: NFSv4.0, found live
    uint64_t not_returned = 0;
    uint64_t not_offered = 0;  // left out of the upload: lease expired before
    int64_t at = 0;
  };
  struct Grace {
    bool in_grace = false;
    uint64_t current_epoch = 0;
    uint64_t recovery_epoch = 0;    // 0 out of grace
    bool may_reclaim_known = true;  // false: a v0 kernel's Check opened it
    uint64_t may_reclaim = 0;
    uint64_t reclaimed = 0;
    uint64_t not_offered = 0;                    // left out of the upload: lease expired before
    int64_t since = 0;                           // when this grace started, if known
    std::optional<double> kernel_grace_seconds;  // nfsd's nfsv4gracetime, if read
    std::optional<GraceEnd> last_end;
  };
  struct Nfs4 {
    // By cld command: create, remove, check, gracestart, gracedone,
    // getversion, unsupported.
    std::map<std::string, uint64_t> upcalls;
    uint64_t upcalls_total = 0;
    uint64_t in_flight = 0;
    uint64_t store_errors = 0;
    bool pipe_open = false;
    std::string pipe_path;
    uint64_t pipe_opens = 0;
    int64_t last_upcall = 0;
    Grace grace;
  };
  std::optional<Nfs4> nfs4;

  // Cluster mode (backend = etcd) only.
  struct Cluster {
    std::string cluster;
    std::string instance;
    std::string node;
    bool etcd_available = false;  // the last call reached a member
    std::string etcd_endpoint;    // the member used now
    bool held = false;            // this process serves the instance
    int64_t token = 0;            // the fencing token (owner key's create revision)
    uint64_t grace_current = 0;   // cluster grace epochs; recovery 0: none running
    uint64_t grace_recovery = 0;
    bool need = false;       // this instance still has clients to recover
    bool enforcing = false;  // this instance's kernel is in grace
    // A store's etcd group commit (TxnBatcher::Stats); none: the service
    // is not run.
    struct Batcher {
      uint64_t units = 0;
      uint64_t transactions = 0;  // write Txns sent, re-runs included
      uint64_t reruns = 0;        // units re-run alone after their group failed
      uint64_t max_group = 0;
    };
    std::optional<Batcher> nsm_store;
    std::optional<Batcher> nfs4_store;
  };
  std::optional<Cluster> cluster;
};

// The longest peer list a status carries; peers_total says how many more.
constexpr size_t kMaxPeersListed = 1000;

// A point on a monotonic clock (the Scheduler's) as unix seconds, given
// both clocks' readings now; 0 for the clock's epoch, which the services
// use for "never".
int64_t UnixSecondsOf(TimePoint t, TimePoint mono_now, std::chrono::system_clock::time_point now);

// "2026-11-30T12:00:00Z"; "" for 0.
std::string Rfc3339Utc(int64_t unix_seconds);

// The status object (docs/schema/status.json).
nlohmann::json StatusToJson(const LiveStatus& status);

// The Prometheus text exposition (format 0.0.4) of the same figures.
std::string StatusToPrometheus(const LiveStatus& status);

}  // namespace nfsrec
