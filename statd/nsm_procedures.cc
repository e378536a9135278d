// NsmService: the NSM procedures (SM_STAT ... SM_NOTIFY) and the checks
// they apply.  Loading and boot notification are in nsm_service.cc.
#include <memory>
#include <optional>
#include <utility>

#include "statd/nsm_service.h"

namespace nfsrec::statd {

bool AcceptableMonName(const std::string& name) {
  return !name.empty() && name.front() != '.' && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

std::string SanitizeMyName(std::string name) {
  for (char& c : name) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') c = '_';
  }
  return name;
}

bool EqualsIgnoreCase(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    unsigned char x = static_cast<unsigned char>(a[i]);
    unsigned char y = static_cast<unsigned char>(b[i]);
    if (x >= 'A' && x <= 'Z') x = static_cast<unsigned char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<unsigned char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string Describe(const MonitorKey& key) {
  return StrCat(Printable(key.mon_name), " for ", Printable(key.my_name));
}

namespace {

constexpr int32_t kFailState = -1;

}  // namespace

void NsmService::Lookup(const std::string& name, Resolver::Done then) {
  resolver_.Resolve(name, liveness_.Guard(std::move(then)));
}

void NsmService::Stat(const Caller& caller, const std::string& mon_name, StatReply reply) {
  log_.Debug(StrCat("SM_STAT from ", caller.address, " for ", Printable(mon_name)));
  if (mon_name.empty() || mon_name.find('\0') != std::string::npos) {
    return reply(StatRes{false, local_state_});
  }
  Lookup(mon_name, [this, reply = std::move(reply)](Result<HostInfo> r) mutable {
    // SM_STAT reports whether the name is usable; the state is ours either way.
    reply(StatRes{r.ok(), local_state_});
  });
}

// rpc.statd serves the monitor calls to local callers only (lockd); a
// remote caller is logged and refused.  Refusals are rate limited: one
// spoofed datagram costs an attacker less than a log line costs us.
bool NsmService::FromLocalHost(const Caller& caller, const char* procedure, bool reserved_port) {
  std::string who = caller.address.find(':') != std::string::npos
                        ? StrCat("[", caller.address, "]:", caller.port)
                        : StrCat(caller.address, ":", caller.port);
  std::string refusal;
  if (!caller.loopback) {
    refusal = StrCat(procedure, " call from non-local host ", who, " refused");
  } else if (reserved_port && !caller.privileged_port) {
    refusal = StrCat(procedure, " call from unprivileged port on ", who, " refused");
  }
  if (!refusal.empty()) {
    ++refused_calls_[procedure];
    refused_log_.Write(log_, LogLevel::kWarning, caller.received, refusal);
    return false;
  }
  log_.Debug(StrCat(procedure, " call from ", who, " accepted"));
  return true;
}

void NsmService::Mon(const Caller& caller, MonArgs args, StatReply reply) {
  if (loading_) {
    return Wait([this, caller, args = std::move(args), reply = std::move(reply)]() mutable {
      Mon(caller, std::move(args), std::move(reply));
    });
  }
  // 1. Only local lock managers may register monitors (CERT CA-99.05).
  if (!FromLocalHost(caller, "SM_MON")) return reply(StatRes{false, kFailState});
  // 2. Only NLM's notify procedures may be called back.
  const MonitorKey& id = args.id;
  if (id.my_prog != static_cast<int32_t>(kNlmProgram) ||
      (id.my_proc != kNlmProcSmNotify && id.my_proc != kNlm4ProcSmNotify)) {
    log_.Warning(StrCat("Attempt to register callback to ", id.my_prog, "/", id.my_proc));
    return reply(StatRes{false, kFailState});
  }
  // 3. The name must be a plausible host name (CERT CA-96.09).
  if (!AcceptableMonName(id.mon_name)) {
    log_.Warning(StrCat("SM_MON request for hostname that is empty, contains '/' or NUL, ",
                        "or starts with '.': ", Printable(id.mon_name)));
    log_.Warning("POSSIBLE SPOOF/ATTACK ATTEMPT!");
    return reply(StatRes{false, kFailState});
  }
  if (id.my_name.empty() || id.my_name.find('\0') != std::string::npos) {
    log_.Warning(StrCat("SM_MON request with an empty or NUL-containing my_name for ",
                        Printable(id.mon_name)));
    return reply(StatRes{false, kFailState});
  }
  // 4. rpc.statd's on-disk format could not hold whitespace in my_name; the
  //    mapping is kept so that records and logs look the same.
  args.id.my_name = SanitizeMyName(std::move(args.id.my_name));

  // 5. A duplicate: same cookie is a no-op, a new cookie replaces the old one.
  const Slot dup = monitors_.Find(args.id);
  if (dup != MonitorIndex::kNone) {
    if (monitors_.priv(dup) == args.priv && monitors_.generation(dup) == 0) {
      // Already durable.  If its add-client callout has not run in this
      // process (a crash cut it and the reply short), this is lockd asking
      // again: run it now.
      if (ha_ == nullptr || monitors_.ha_reported(dup)) return reply(StatRes{true, local_state_});
      return ReportAdded(args.id, StatRes{true, local_state_}, std::move(reply));
    }
    // Either the cookie changed, or the first MON's write is still in flight:
    // writing again orders this reply after that commit.
    std::string canonical(monitors_.canonical_name(dup));
    return FinishMon(std::move(args), std::move(canonical), std::move(reply));
  }

  // 6. Canonical name, without blocking the loop.
  std::string mon_name = args.id.mon_name;
  Lookup(mon_name,
         [this, args = std::move(args), reply = std::move(reply)](Result<HostInfo> r) mutable {
           std::string canonical;
           if (r.ok()) {
             canonical = r.value().canonical_name;
           } else {
             // rpc.statd fails the SM_MON here and the client gets ENOLCK.  The
             // record is still useful: the peer can be matched by the name lockd
             // gave and by its address when it notifies, and name resolution is
             // retried when we notify it.  So monitor it under the name as given.
             log_.Warning(StrCat("No canonical hostname found for ", Printable(args.id.mon_name),
                                 " (", r.status().ToString(), "); monitoring it under that name"));
             canonical = args.id.mon_name;
           }
           FinishMon(std::move(args), std::move(canonical), std::move(reply));
         });
}

void NsmService::FinishMon(MonArgs args, std::string canonical, StatReply reply) {
  if (loading_) {
    return Wait([this, args = std::move(args), canonical = std::move(canonical),
                 reply = std::move(reply)]() mutable {
      FinishMon(std::move(args), std::move(canonical), std::move(reply));
    });
  }
  MonitorRecord rec;
  rec.key = args.id;
  rec.priv = args.priv;
  rec.canonical_name = std::move(canonical);

  std::optional<Entry> previous;
  const Slot existing = monitors_.Find(rec.key);
  if (existing != MonitorIndex::kNone) {
    previous = monitors_.Get(existing);
    rec.peer_state = monitors_.peer_state(existing);
  }
  const uint32_t gen = NextGeneration();
  monitors_.Put(Entry{rec, gen, false});

  store_.PutMonitor(rec, [this, alive = liveness_.token(), key = rec.key, gen, previous,
                          reply = std::move(reply)](Status st) mutable {
    if (!alive) return;
    const Slot cur = monitors_.Find(key);
    const bool still_ours = cur != MonitorIndex::kNone && monitors_.generation(cur) == gen;
    if (!st.ok()) {
      log_.Error(StrCat("Failed to insert monitor ", Describe(key), ": ", st.ToString()));
      log_.Warning(StrCat("STAT_FAIL for SM_MON of ", Printable(key.mon_name)));
      if (still_ours) {
        if (previous) {
          monitors_.Put(*previous);
        } else {
          monitors_.Erase(cur);
        }
      }
      return reply(StatRes{false, kFailState});
    }
    if (still_ours) monitors_.set_generation(cur, 0);  // durable, nothing newer pending
    log_.Notice(StrCat("MONITORING ", Describe(key)));
    ReportAdded(key, StatRes{true, local_state_}, std::move(reply));
  });
}

void NsmService::ReportAdded(const MonitorKey& key, StatRes res, StatReply reply) {
  if (ha_ == nullptr) return reply(res);
  ha_->AddClient(key.mon_name, key.my_name,
                 [this, alive = liveness_.token(), key, res,
                  reply = std::move(reply)](CalloutOutcome outcome) mutable {
                   if (!alive) return;
                   if (outcome == CalloutOutcome::kDropped) {
                     log_.Warning(StrCat("SM_MON of ", Describe(key),
                                         " not answered: its HA callout did not run"));
                     return;
                   }
                   const Slot slot = monitors_.Find(key);
                   if (slot != MonitorIndex::kNone) monitors_.set_ha_reported(slot);
                   reply(res);
                 });
}

uint32_t NsmService::NextGeneration() {
  const uint32_t gen = next_generation_++;
  if (next_generation_ == 0) next_generation_ = 1;  // 0 means durable
  return gen;
}

void NsmService::Unmon(const Caller& caller, MonitorKey id, StateReply reply) {
  if (loading_) {
    return Wait([this, caller, id = std::move(id), reply = std::move(reply)]() mutable {
      Unmon(caller, std::move(id), std::move(reply));
    });
  }
  if (!FromLocalHost(caller, "SM_UNMON")) return reply(kFailState);
  id.my_name = SanitizeMyName(std::move(id.my_name));
  // Host names are case-insensitive; lockd sends the same bytes for MON and
  // UNMON, other lock managers may not.
  const Slot slot = monitors_.FindLoose(id);
  if (slot == MonitorIndex::kNone) {
    log_.Warning(StrCat("Received erroneous SM_UNMON request from ", Printable(id.my_name), " for ",
                        Printable(id.mon_name)));
    return reply(local_state_);
  }
  Entry entry = monitors_.Get(slot);
  std::string failure = StrCat("Failed to delete monitor ", Describe(entry.record.key));
  std::vector<MonitorKey> keys{entry.record.key};
  std::vector<Entry> removed{std::move(entry)};
  monitors_.Erase(slot);
  RemoveMonitors(std::move(keys), std::move(removed), std::move(failure), std::move(reply));
}

void NsmService::RemoveMonitors(std::vector<MonitorKey> keys, std::vector<Entry> removed,
                                std::string failure, StateReply reply) {
  store_.DeleteMonitors(
      keys, [this, alive = liveness_.token(), keys, removed = std::move(removed),
             failure = std::move(failure), reply = std::move(reply)](Status st) mutable {
        if (!alive) return;
        if (!st.ok()) {
          log_.Error(StrCat(failure, ": ", st.ToString()));
          // Still on disk, so still monitored.
          for (size_t i = 0; i < keys.size(); ++i) {
            if (monitors_.Find(keys[i]) == MonitorIndex::kNone) monitors_.Put(removed[i]);
          }
          // Never acknowledge a delete that is not durable: sm_stat has no
          // failure value, so the error goes up as an RPC-level error
          // (SYSTEM_ERR), which lockd reports ("cannot unmonitor") instead
          // of believing the peer forgotten.  Retrying here instead would
          // hold lockd's call for as long as the disk stays full.
          return reply(st.WithContext(failure));
        }
        for (const MonitorKey& k : keys) log_.Notice(StrCat("UNMONITORING ", Describe(k)));
        ReportRemoved(keys, std::move(reply));
      });
}

namespace {

// The del-client callouts of one SM_UNMON[_ALL], and the reply waiting for them.
struct RemovedCallouts {
  size_t pending = 0;
  bool dropped = false;
  int32_t state = 0;
  NsmService::StateReply reply;
};

}  // namespace

void NsmService::ReportRemoved(const std::vector<MonitorKey>& keys, StateReply reply) {
  if (ha_ == nullptr || keys.empty()) return reply(local_state_);
  auto calls = std::make_shared<RemovedCallouts>();
  calls->pending = keys.size();
  calls->state = local_state_;
  calls->reply = std::move(reply);
  for (const MonitorKey& k : keys) {
    ha_->DelClient(k.mon_name, k.my_name,
                   [this, alive = liveness_.token(), calls](CalloutOutcome outcome) {
                     if (!alive) return;
                     calls->dropped = calls->dropped || outcome == CalloutOutcome::kDropped;
                     if (--calls->pending > 0) return;
                     if (calls->dropped) {
                       log_.Warning("SM_UNMON not answered: an HA callout did not run");
                       return;
                     }
                     calls->reply(calls->state);
                   });
  }
}

void NsmService::UnmonAll(const Caller& caller, MyId id, StateReply reply) {
  if (loading_) {
    return Wait([this, caller, id = std::move(id), reply = std::move(reply)]() mutable {
      UnmonAll(caller, std::move(id), std::move(reply));
    });
  }
  if (!FromLocalHost(caller, "SM_UNMON_ALL")) return reply(kFailState);
  id.my_name = SanitizeMyName(std::move(id.my_name));
  std::vector<MonitorKey> keys;
  std::vector<Entry> removed;
  for (Slot s : monitors_.FindClient(id.my_name, id.my_prog, id.my_vers, id.my_proc)) {
    removed.push_back(monitors_.Get(s));
    keys.push_back(removed.back().record.key);
    monitors_.Erase(s);
  }
  if (keys.empty()) return reply(local_state_);
  std::string failure = StrCat("SM_UNMON_ALL: failed to delete ", keys.size(), " monitor(s)");
  RemoveMonitors(std::move(keys), std::move(removed), std::move(failure), std::move(reply));
}

bool NsmService::SimuCrashAllowed(const Caller& caller) {
  return FromLocalHost(caller, "SM_SIMU_CRASH", /*reserved_port=*/true);
}

namespace {

// Collects the two lookups an SM_NOTIFY needs before matching.
struct NotifyLookup {
  TimePoint received;
  NotifyArgs args;
  NsmService::VoidReply reply;
  std::vector<std::string> names;
  std::vector<std::string> addresses;
  int pending = 2;
};

void AddResult(NotifyLookup& l, const Result<HostInfo>& r) {
  if (!r.ok()) return;
  l.names.push_back(r.value().canonical_name);
  for (const auto& a : r.value().addresses) l.addresses.push_back(a);
}

}  // namespace

void NsmService::Notify(const Caller& caller, NotifyArgs args, VoidReply reply) {
  if (log_.DebugEnabled()) {  // once per SM_NOTIFY: not even the string otherwise
    log_.Debug(StrCat("Received SM_NOTIFY from ", caller.address, " for ", Printable(args.mon_name),
                      ", state ", args.state));
  }
  // Cluster software hears of every notification, matched or not.
  if (ha_ != nullptr) ha_->SmNotify(args.mon_name, caller.address, args.state);
  if (monitors_.empty()) {
    LogUnmatchedNotify(caller.received,
                       StrCat("SM_NOTIFY from ", caller.address, " for ", Printable(args.mon_name),
                              " while not monitoring any hosts"));
    return reply();
  }
  // The sender's name and address, each looked up only if the answer can
  // change the match: the look-up of a numeric address adds its address
  // (known without it) and its reverse name, which can match only a record
  // whose mon_name or canonical name is not an address (monitors_.named()).
  // Both look-ups run at once; the second to answer goes on.
  auto lookup = std::make_shared<NotifyLookup>();
  lookup->names = {args.mon_name, caller.address};
  const bool named = !args.mon_name.empty() && args.mon_name.find('\0') == std::string::npos;
  auto needs_lookup = [&](const std::string& host) {
    std::string norm;
    if (!IsNumericAddress(host, &norm)) return true;
    lookup->addresses.push_back(std::move(norm));
    return monitors_.named() > 0;
  };
  const bool look_name = named && needs_lookup(args.mon_name);
  const bool look_sender = needs_lookup(caller.address);
  lookup->pending = (look_name ? 1 : 0) + (look_sender ? 1 : 0);
  lookup->reply = std::move(reply);
  lookup->received = caller.received;
  lookup->args = std::move(args);
  if (lookup->pending == 0) {
    return NotifyMatched(lookup->received, lookup->args, lookup->names, lookup->addresses,
                         std::move(lookup->reply));
  }
  auto step = [this, lookup](Result<HostInfo> r) {
    AddResult(*lookup, r);
    if (--lookup->pending > 0) return;
    NotifyMatched(lookup->received, lookup->args, lookup->names, lookup->addresses,
                  std::move(lookup->reply));
  };
  if (look_name) Lookup(lookup->args.mon_name, step);
  if (look_sender) Lookup(caller.address, step);
}

void NsmService::LogUnmatchedNotify(TimePoint received, const std::string& line) {
  // Anybody can send SM_NOTIFY, as fast as they like.
  uint64_t suppressed = 0;
  if (!unmatched_log_.Allow(received, &suppressed)) return;
  if (suppressed > 0) {
    log_.Notice(StrCat(line, " (", suppressed, " similar line(s) suppressed)"));
  } else {
    log_.Notice(line);
  }
}

void NsmService::NotifyMatched(TimePoint received, const NotifyArgs& args,
                               const std::vector<std::string>& names,
                               const std::vector<std::string>& addresses, VoidReply reply) {
  if (loading_) {
    return Wait([this, received, args, names, addresses, reply = std::move(reply)]() mutable {
      NotifyMatched(received, args, names, addresses, std::move(reply));
    });
  }
  std::vector<std::pair<MonitorKey, int32_t>> updates;
  std::vector<std::pair<MonitorKey, int32_t>> previous;
  std::vector<MonitorRecord> owed;
  // Records whose mon_name or canonical name is one of the sender's names
  // (case-insensitively) or one of its addresses (monitor_index.h).
  const std::vector<Slot> slots = monitors_.MatchHost(names, addresses);
  const bool matched = !slots.empty();
  for (Slot s : slots) {
    const int32_t peer_state = monitors_.peer_state(s);
    if (peer_state == args.state) {
      log_.Debug(StrCat("SM_NOTIFY for ", Describe(monitors_.Key(s)), " repeats state ", args.state,
                        "; suppressed"));
      continue;
    }
    monitors_.set_peer_state(s, args.state);
    owed.push_back(monitors_.Record(s));
    previous.emplace_back(owed.back().key, peer_state);
    updates.emplace_back(owed.back().key, args.state);
  }
  if (!matched) {
    LogUnmatchedNotify(received, StrCat("SM_NOTIFY for ", Printable(args.mon_name), " (from ",
                                        names.size() > 1 ? Printable(names[1]) : std::string("?"),
                                        ") matches no monitored host"));
    return reply();
  }
  if (updates.empty()) {
    log_.Debug(StrCat("SM_NOTIFY for ", Printable(args.mon_name), ": no monitor to call back"));
    return reply();
  }
  store_.SetPeerStates(updates, [this, alive = liveness_.token(), previous, owed = std::move(owed),
                                 reply = std::move(reply)](Status st) mutable {
    if (!alive) return;
    if (!st.ok()) {
      // Not recorded: undo, and do not answer, so the peer retransmits.
      log_.Error(StrCat("Failed to record SM_NOTIFY: ", st.ToString()));
      for (const auto& [key, state] : previous) {
        const Slot slot = monitors_.Find(key);
        if (slot != MonitorIndex::kNone) monitors_.set_peer_state(slot, state);
      }
      return;
    }
    for (const MonitorRecord& r : owed) OwedCallback(r);
    reply();
  });
}

}  // namespace nfsrec::statd
