// NotifyEngine: the one owner of outgoing NSM traffic.
//
//  - Lockd callbacks (LockdCallbacks::Enqueue): after a peer's SM_NOTIFY, call
//    my_prog/my_vers/my_proc on 127.0.0.1 with struct status{mon_name stored
//    at SM_MON, new state, cookie}, found through the local rpcbind, sent
//    from the privileged loopback socket that the kernel insists on.
//  - Boot notification (NotifyPeers): SM_NOTIFY(our name, our state) to every
//    peer through the peer's rpcbind, all peers in parallel, each on its own
//    schedule so that an unreachable peer never delays another.
//
// Slots (boot notification): Options::max_parallel bounds the peers on
// their FIRST attempt, not the peers in progress.  A peer holds a slot from
// when it is taken off the queue until it answers, its first attempt fails
// (no answer after the transmissions of one address, no statd, no name),
// or the slot's hold passes, whichever comes first; then it retries on
// its own back-off outside the slots (its call in flight carries on).  So
// however many dead peers come first in the list, a live one behind them
// waits at most (its place in the queue / max_parallel) x the hold for
// its first transmission, never for a dead peer's time-out or give-up.
// The hold follows the peers' round trip: kHoldRoundTrips x the smoothed
// time from a slot's start to its peer's first answer, within
// [slot_hold_min, slot_hold]; slot_hold_min until a first answer came.  A
// peer slower than its hold only leaves its slot early: its call goes on,
// the hold bounds how many first calls are outstanding, not who is served.
// Retrying peers are not bounded by count: each sends one datagram per
// back-off period (2 s doubling to 120 s).  A numeric host is sent to
// without the resolver.
//
// Retry schedules (rpc.statd and sm-notify numbers, and where we differ):
//  - Callbacks: rpc.statd makes 5 transmissions 5 s apart and gives up after
//    ~25 s, so a lockd that is briefly busy or restarting never learns that
//    a peer rebooted.  We resend after 1 s, doubling to 30 s, and keep trying
//    for Options::callback_window (10 min).  lockd's port is asked of
//    rpcbind once per (prog, vers) and kept: one GETPORT in flight answers
//    every job waiting for it, and a failed call to lockd forgets the port,
//    so the next round of every job asks rpcbind again (lockd may have
//    restarted on another port) and uses whatever it answers then.  There is at most
//    one job per monitor record (MonitorKey): a newer notification replaces
//    the state of the pending job, which then sends only the newest state;
//    it restarts the window but keeps the back-off, so however many
//    SM_NOTIFY arrive, calls to rpcbind and lockd follow one schedule.
//  - SM_NOTIFY: as sm-notify: 2 s, doubling to 120 s, inside a window (-m,
//    default 15 min; 0 = forever).  The timeout of each rpcbind or SM_NOTIFY
//    transmission is the current backoff; after 4 unanswered transmissions
//    the next address of the peer is tried and its port looked up again.
//    "No statd on host" (port 0) waits 120 s.  A name that does not resolve
//    is retried on the same schedule.  When the name we announce contains a
//    '.', a second SM_NOTIFY with the part before the first dot follows, as
//    sm-notify does, because peers may have recorded either form.
//
// Loop thread only.  Timers come from the Scheduler, so tests run it on a
// FakeScheduler with fake datagram ports.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/base/clock.h"
#include "common/base/liveness.h"
#include "common/base/logging.h"
#include "common/os/resolver.h"
#include "common/rpc/udp_rpc_client.h"
#include "statd/lockd_callbacks.h"
#include "statd/monitor.h"

namespace nfsrec::statd {

// The engine's two sockets: lockd callbacks from a reserved port bound to
// 127.0.0.1 (the kernel accepts nothing else), and SM_NOTIFY from
// `outgoing_port` or, if 0, a reserved port, on IPv6 reaching IPv4 too (IPv4
// only on a host without IPv6).  A numeric `source_address` (sm-notify -v)
// binds SM_NOTIFY's socket to it, in its own family.
//
// SM_NOTIFY's socket asks for a receive buffer of kNotifyReceiveBuffer,
// which only a process with CAP_NET_ADMIN gets beyond net.core.rmem_max:
// open the sockets before dropping privileges, and keep them for the life
// of the process.  The size obtained is logged (info).
struct NotifySockets {
  std::unique_ptr<rpc::UdpSocketPort> callback;
  std::unique_ptr<rpc::UdpSocketPort> notify;
};
Result<NotifySockets> OpenNotifySockets(EventLoop& loop, Logger& log, uint16_t outgoing_port,
                                        const std::string& source_address = "");

// Boot notification has up to max_parallel first calls outstanding plus the
// calls of peers that left their slots, and their answers arrive in bursts;
// a datagram dropped for a full buffer costs its peer a 2 s retransmission.
// The default (about 200 KiB, some 200 small datagrams as the kernel counts
// them) overflowed with 10,000 peers while the loop waited for a CPU
// (docs/PERFORMANCE.md).
inline constexpr int kNotifyReceiveBuffer = 4 << 20;

class NotifyEngine final : public LockdCallbacks {
 public:
  struct Options {
    Duration callback_first_timeout = std::chrono::seconds(1);
    Duration callback_max_timeout = std::chrono::seconds(30);
    Duration callback_window = std::chrono::minutes(10);
    Duration notify_first_timeout = std::chrono::seconds(2);
    Duration notify_max_timeout = std::chrono::seconds(120);
    Duration notify_window = std::chrono::minutes(15);  // zero: no limit
    Duration no_statd_delay = std::chrono::seconds(120);
    int sends_per_address = 4;
    size_t max_parallel = 256;  // peers on their first attempt at once
    // Bounds of a first attempt's hold on its slot (see above).
    Duration slot_hold_min = std::chrono::milliseconds(20);
    Duration slot_hold = std::chrono::milliseconds(500);
    std::string lockd_address = "127.0.0.1";
  };

  struct Peer {
    MonitorKey key;           // the notify-list record this is for
    std::string host;         // name or address to resolve and send to
    std::string notify_name;  // SM_NOTIFY mon_name: our own name
  };
  // Called once per peer: true when it answered, false when we gave up.
  using PeerDone = std::function<void(const Peer& peer, bool answered)>;

  struct Stats {
    uint64_t callbacks_ok = 0;
    uint64_t callbacks_failed = 0;
    uint64_t callbacks_replaced = 0;  // a newer state replaced a pending one
    uint64_t lockd_port_lookups = 0;  // GETPORTs sent for lockd's port
    uint64_t peers_notified = 0;
    uint64_t peers_failed = 0;
  };

  // Where one peer of boot notification stands, for status reports.
  struct PeerProgress {
    enum class State { kQueued, kPending, kAnswered, kGivenUp };
    std::string host;
    State state = State::kQueued;
    // rpcbind lookups and SM_NOTIFY calls made to it so far.
    uint32_t attempts = 0;
    // When the next try is due, while one waits on a timer; else the epoch.
    TimePoint next_retry{};
  };
  // The most recently finished peers kept for Progress().
  static constexpr size_t kFinishedKept = 1000;
  // A slot is held for this many smoothed round trips (GETPORT, SM_NOTIFY
  // and slack for a loaded peer).
  static constexpr int kHoldRoundTrips = 4;

  NotifyEngine(rpc::UdpRpcClient& callback_client, rpc::UdpRpcClient& notify_client,
               Resolver& resolver, Scheduler& scheduler, Logger& log, Options options);
  ~NotifyEngine() override;
  NotifyEngine(const NotifyEngine&) = delete;
  NotifyEngine& operator=(const NotifyEngine&) = delete;

  void Enqueue(const CallbackRequest& request) override;

  // Starts notifying peers of `state`; may be called again while a run is
  // in progress (SIGUSR1): peers already in progress are not duplicated.
  void NotifyPeers(std::vector<Peer> peers, int32_t state, PeerDone on_peer);

  size_t callbacks_in_progress() const { return callbacks_.size(); }
  size_t peers_in_progress() const { return active_.size() + queued_.size(); }
  // Of those, the ones waiting for their turn (Options::max_parallel).
  size_t peers_queued() const { return queued_.size(); }
  // Of those, the ones on their first attempt, holding a slot.
  size_t peers_in_slots() const { return in_slot_; }
  // How long a slot taken now is held at most (see above).
  Duration slot_hold() const;
  const Stats& stats() const { return stats_; }
  // Peers in progress (active first, then queued), then finished ones,
  // newest first; at most `max` in all.
  std::vector<PeerProgress> Progress(size_t max) const;

 private:
  struct CallbackJob;
  struct PeerJob;

  // The job for `key` if `attempt` is its current rpcbind round, else null.
  CallbackJob* CurrentCallback(const MonitorKey& key, uint64_t attempt);
  void CallbackLookup(const MonitorKey& key);
  void CallbackSend(const MonitorKey& key, uint16_t port);
  using LockdService = std::pair<uint32_t, uint32_t>;  // (my_prog, my_vers)
  // rpcbind answered (or failed): the jobs that waited for it go on.
  void LockdPortAnswer(const LockdService& service, Result<uint16_t> port);
  // After a failed call to `port`: unless a newer answer replaced it, it
  // is looked up again at the next round.
  void ForgetLockdPort(const MonitorKey& key, uint16_t port);
  void CallbackRetry(const MonitorKey& key, const std::string& why);
  // Counts, forgets the job, then tells its requester.
  void CallbackFinished(const MonitorKey& key, bool delivered);

  void StartQueuedPeers();
  // The peer's first attempt is over (or slot_hold passed): it frees its
  // slot and carries on outside the slots.
  void LeaveSlot(PeerJob& job);
  // A peer's first rpcbind call was answered `elapsed` after its slot start.
  void SampleRoundTrip(Duration elapsed);
  void PeerResolve(uint64_t id);
  void PeerGetPort(uint64_t id);
  void PeerSend(uint64_t id, uint16_t port);
  void PeerRetry(uint64_t id, const std::string& why, void (NotifyEngine::*step)(uint64_t),
                 Duration delay);
  void PeerFinish(uint64_t id, bool answered);
  // The job whose call just answered, its call cleared; null if it is gone.
  PeerJob* PeerAnswered(uint64_t id);
  // After a failed rpcbind or SM_NOTIFY call: asks for the port again at
  // once, on the next address, with a longer back-off for the calls.
  void PeerNextAddress(uint64_t id, PeerJob& job, const std::string& why);
  bool PeerExpired(const PeerJob& job) const;
  Duration GrowAfterCall(Duration backoff) const;
  rpc::RetryPolicy PeerPolicy(const PeerJob& job) const;

  rpc::UdpRpcClient& callback_client_;
  rpc::UdpRpcClient& notify_client_;
  Resolver& resolver_;
  Scheduler& scheduler_;
  Logger& log_;
  Options options_;
  Stats stats_;
  std::unordered_map<MonitorKey, std::unique_ptr<CallbackJob>, MonitorKeyHash> callbacks_;
  // lockd's port per (prog, vers): 0 until rpcbind answered, and after a
  // failed call; the jobs (and their rounds) waiting for the answer.
  struct LockdPort {
    uint16_t port = 0;
    bool asking = false;
    std::vector<std::pair<MonitorKey, uint64_t>> waiting;
  };
  std::map<LockdService, LockdPort> lockd_ports_;
  uint64_t next_peer_id_ = 1;
  std::map<uint64_t, std::unique_ptr<PeerJob>> active_;  // in a slot or retrying
  size_t in_slot_ = 0;                                   // of active_, those in a slot
  // Smoothed first-answer time (RFC 6298's SRTT, gain 1/8); zero: no sample yet.
  Duration round_trip_{};
  std::deque<std::unique_ptr<PeerJob>> queued_;  // in arrival order
  // The notify-list records of every peer in active_ or queued_.
  std::unordered_set<MonitorKey, MonitorKeyHash> peer_keys_;
  std::deque<PeerProgress> finished_;  // newest at the front, kFinishedKept at most
  Liveness liveness_;                  // last: late timers and replies check it
};

}  // namespace nfsrec::statd
