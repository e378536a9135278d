#include "statd/boot_notifier.h"

#include <chrono>
#include <utility>

namespace nfsrec::statd {

std::string ReadBootId(FileSystem& fs) {
  Result<std::string> text = fs.ReadSmallFile("/proc/sys/kernel/random/boot_id",
                                              ReadFileOptions{.max_bytes = 128, .truncate = true});
  if (!text.ok()) return "";
  std::string id = std::move(text).value();
  while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
  return id;
}

BootNotifier::BootNotifier(NsmService& service, NotifyEngine& engine, KernelNsm& kernel,
                           Scheduler& scheduler, Logger& log, Options options)
    : service_(service),
      engine_(engine),
      kernel_(kernel),
      scheduler_(scheduler),
      log_(log),
      options_(std::move(options)) {}

void BootNotifier::Run(const std::string& boot_id, bool force,
                       Callback<void(Result<Summary>)> started,
                       Callback<void(size_t, size_t)> finished) {
  if (finished) finished_ = std::move(finished);
  service_.PrepareReboot(
      boot_id, force, options_.bump_state,
      [this, alive = liveness_.token(),
       started = std::move(started)](Result<NsmService::RebootPlan> plan) mutable {
        if (!alive) return;
        if (!plan.ok()) return started(plan.status());
        Summary summary{plan->new_boot, plan->state, plan->peers.size()};
        if (plan->peers.empty()) {
          log_.Notice("No hosts to notify");
          if (plan->new_boot && options_.lift_grace) {
            Status st = kernel_.EndLockdGrace();
            if (!st.ok() && !st.IsNotFound()) {
              log_.Warning(StrCat("Cannot end lockd grace period: ", st.ToString()));
            }
          }
          started(summary);
          if (outstanding_ == 0 && finished_) finished_(answered_, failed_);
          return;
        }
        NotifyAll(plan->peers, plan->state, plan->new_boot);
        started(summary);
      });
}

void BootNotifier::NotifyAll(const std::vector<MonitorRecord>& records, int32_t state,
                             bool new_boot) {
  std::vector<NotifyEngine::Peer> peers;
  peers.reserve(records.size());
  for (const MonitorRecord& r : records) {
    NotifyEngine::Peer p;
    p.key = r.key;
    // lockd records peers by address by default; an address needs no DNS at
    // boot, when name service may not be up yet.
    std::string ignored;
    p.host = IsNumericAddress(r.key.mon_name, &ignored) || r.canonical_name.empty()
                 ? r.key.mon_name
                 : r.canonical_name;
    p.notify_name = options_.my_name.empty() ? r.key.my_name : options_.my_name;
    peers.push_back(std::move(p));
  }
  size_t before = engine_.peers_in_progress();
  engine_.NotifyPeers(std::move(peers), state,
                      [this, alive = liveness_.token()](const NotifyEngine::Peer& p, bool ok) {
                        if (!alive) return;
                        if (ok) service_.PeerNotified(p.key);
                        PeerDone(ok);
                      });
  // The engine answers later, never inline, so the run is set up in time.
  const size_t added = engine_.peers_in_progress() - before;
  if (added == 0) return;  // all of them already in progress
  const bool new_run = outstanding_ == 0;
  if (new_run) {
    report_ = Report{report_.runs + 1, true, new_boot, state, 0, 0, 0, scheduler_.Now(), {}};
  }
  report_.new_boot = report_.new_boot || new_boot;
  report_.state = state;
  outstanding_ += added;
  report_.peers += added;
  log_.Notice(StrCat("Boot notification started: notifying ", added, " host(s) of NSM state ",
                     state, new_boot ? "" : " (resumed)",
                     new_run ? "" : StrCat(", ", outstanding_, " in progress in all")));
}

void BootNotifier::PeerDone(bool answered) {
  if (answered) {
    ++answered_;
    ++report_.answered;
  } else {
    ++failed_;
    ++report_.unreachable;
  }
  if (outstanding_ > 0) --outstanding_;
  if (outstanding_ != 0) return;
  report_.running = false;
  report_.finished_at = scheduler_.Now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*report_.finished_at -
                                                                        report_.started_at);
  log_.Notice(StrCat("Boot notification finished: ", report_.answered, " of ", report_.peers,
                     " host(s) answered, ", report_.unreachable, " unreachable (given up) in ",
                     ms.count() / 1000, ".", ms.count() % 1000 / 100, " s"));
  if (finished_) finished_(answered_, failed_);
}

}  // namespace nfsrec::statd
