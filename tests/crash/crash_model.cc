#include "tests/crash/crash_model.h"

#include <cstdio>

#include "common/base/logging.h"
#include "statd/nsm_codec.h"

namespace nfsrec::crash {
namespace {

constexpr int kMonNamesPerThread = 6;
constexpr int kMyNamesPerThread = 2;
constexpr int kV4Names = 64;

bool SameMyId(const statd::MonitorKey& a, const statd::MonitorKey& b) {
  return a.my_name == b.my_name && a.my_prog == b.my_prog && a.my_vers == b.my_vers &&
         a.my_proc == b.my_proc;
}

std::string Hex(const statd::Cookie& c) {
  std::string s;
  char buf[3];
  for (size_t i = 0; i < 4; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", c[i]);
    s += buf;
  }
  return s + "..";
}

std::string KeyName(const statd::MonitorKey& k) {
  return "(" + k.mon_name + ", " + k.my_name + ")";
}

std::string StateName(const MonitorMap& m, const statd::MonitorKey& k) {
  auto it = m.find(k);
  if (it == m.end()) return "absent";
  return StrCat("priv ", Hex(it->second.priv), " peer_state ", it->second.peer_state);
}

template <typename Op, typename Key>
std::string LastAcked(const std::vector<Op>& log, const Key& k) {
  for (auto it = log.rbegin(); it != log.rend(); ++it) {
    if (it->Touches(k)) return it->Describe();
  }
  return "none (the state the cycle started from)";
}

// Whether an operation in flight at the kill reached the store.
struct InFlightEffect {
  bool landed = false;
  bool lost = false;
  void CountInto(CheckResult& r) const {
    if (landed) ++r.in_flight_landed;
    if (lost && !landed) ++r.in_flight_lost;
  }
};

}  // namespace

std::string NsmOp::Describe() const {
  switch (kind) {
    case kMon:
      return "SM_MON" + KeyName(key) + " priv " + Hex(priv);
    case kUnmon:
      return "SM_UNMON" + KeyName(key);
    case kUnmonAll:
      return "SM_UNMON_ALL(" + key.my_name + ")";
    case kNotify:
      return StrCat("SM_NOTIFY(", key.mon_name, ", state ", state, ")");
  }
  return "?";
}

bool NsmOp::Touches(const statd::MonitorKey& k) const {
  switch (kind) {
    case kMon:
    case kUnmon:
      return k == key;
    case kUnmonAll:
      return SameMyId(k, key);
    case kNotify:
      return k.mon_name == key.mon_name;
  }
  return false;
}

void Apply(const NsmOp& op, MonitorMap& monitors) {
  switch (op.kind) {
    case NsmOp::kMon: {
      auto [it, inserted] = monitors.try_emplace(op.key, MonitorState{op.priv, 0});
      if (!inserted) it->second.priv = op.priv;  // a new cookie; the peer state stays
      break;
    }
    case NsmOp::kUnmon:
      monitors.erase(op.key);
      break;
    case NsmOp::kUnmonAll:
      std::erase_if(monitors, [&](const auto& kv) { return SameMyId(kv.first, op.key); });
      break;
    case NsmOp::kNotify:
      for (auto& [k, m] : monitors) {
        if (k.mon_name == op.key.mon_name) m.peer_state = op.state;
      }
      break;
  }
}

NsmHistory::NsmHistory(int index, const MonitorMap& stored) : index_(index) {
  for (auto& [k, m] : stored) {
    if (Owns(k)) acked_[k] = m;
  }
}

std::vector<statd::MonitorKey> NsmHistory::Keys() const {
  std::vector<statd::MonitorKey> keys;
  for (int m = 0; m < kMonNamesPerThread; ++m) {
    for (int y = 0; y < kMyNamesPerThread; ++y) {
      keys.push_back(statd::MonitorKey{
          StrCat("crash-peer-", index_, "-", m), StrCat("crash-lockd-", index_, "-", y),
          static_cast<int32_t>(statd::kNlmProgram), 3, statd::kNlmProcSmNotify});
    }
  }
  return keys;
}

bool NsmHistory::Owns(const statd::MonitorKey& k) const {
  for (const statd::MonitorKey& mine : Keys()) {
    if (mine == k) return true;
  }
  return false;
}

void NsmHistory::Ack() {
  Apply(*in_flight_, acked_);
  log_.push_back(*in_flight_);
  in_flight_.reset();
}

std::string V4Op::Describe() const {
  return std::string(create ? (reclaim ? "RECLAIM_COMPLETE Create(" : "Create(") : "Remove(") +
         name + ")";
}

V4History::V4History(int index, int threads) {
  for (int i = index; i < kV4Names; i += threads) names_.push_back(StrCat("crash-client-", i));
}

void V4History::Ack() {
  if (in_flight_->create) {
    acked_.insert(in_flight_->name);
  } else {
    acked_.erase(in_flight_->name);
  }
  log_.push_back(*in_flight_);
  in_flight_.reset();
}

CheckResult Check(const StoreSnapshot& before, const StoreSnapshot& after,
                  const std::vector<NsmHistory>& nsm, const std::vector<V4History>& v4,
                  GraceStartOutcome grace) {
  CheckResult r;
  // NSM: every key of every thread.
  for (const NsmHistory& h : nsm) {
    r.acked += h.acked_count();
    MonitorMap landed = h.acked();
    if (h.in_flight()) Apply(*h.in_flight(), landed);
    InFlightEffect effect;
    for (const statd::MonitorKey& k : h.Keys()) {
      ++r.keys;
      auto stored = after.monitors.find(k);
      auto want = h.acked().find(k);
      auto alt = landed.find(k);
      auto same = [&](MonitorMap::const_iterator it, const MonitorMap& m) {
        if (stored == after.monitors.end() || it == m.end()) {
          return stored == after.monitors.end() && it == m.end();
        }
        return stored->second == it->second;
      };
      const bool as_acked = same(want, h.acked());
      const bool as_landed = h.in_flight() && same(alt, landed);
      if (as_acked != as_landed) (as_landed ? effect.landed : effect.lost) = true;
      if (as_acked || as_landed) continue;
      std::string last = LastAcked(h.log(), k);
      const bool touched = h.in_flight() && h.in_flight()->Touches(k);
      r.violations.push_back(
          StrCat("monitor ", KeyName(k), ": stored ", StateName(after.monitors, k),
                 ", acknowledged ", StateName(h.acked(), k), " by ", last,
                 "; in flight on it: ", touched ? h.in_flight()->Describe() : "nothing"));
    }
  }
  for (const auto& [k, m] : after.monitors) {
    bool owned = false;
    for (const NsmHistory& h : nsm) owned = owned || h.Owns(k);
    if (!owned) r.violations.push_back("monitor " + KeyName(k) + " stored but never sent");
  }
  // v4: membership of the current epoch, per client name.
  if (grace == GraceStartOutcome::kAcked) ++r.acked;
  std::set<std::string> all;
  for (const V4History& h : v4) {
    r.acked += h.acked_count();
    for (const std::string& name : h.names()) {
      all.insert(name);
      ++r.keys;
      const bool stored = after.v4_current.count(name) != 0;
      const bool was = before.v4_current.count(name) != 0;
      bool ok = false;
      std::string expected;
      switch (grace) {
        case GraceStartOutcome::kNotSent:
          ok = stored == was;
          expected = was ? "present (no GraceStart sent)" : "absent (no GraceStart sent)";
          break;
        case GraceStartOutcome::kInFlight:
          ok = stored == was || !stored;  // GraceStart empties the current epoch
          expected = "as before or absent (GraceStart in flight)";
          break;
        case GraceStartOutcome::kAcked: {
          const bool want = h.acked().count(name) != 0;
          const auto& f = h.in_flight();
          const bool mine = f && f->name == name && f->create != want;
          ok = stored == want || (mine && stored == f->create);
          if (mine) {
            InFlightEffect effect;
            (stored == f->create ? effect.landed : effect.lost) = true;
            effect.CountInto(r);
          }
          expected = std::string(want ? "present" : "absent") + " by " + LastAcked(h.log(), name);
          expected += "; in flight on it: " +
                      (f && f->name == name ? f->Describe() : std::string("nothing"));
          break;
        }
      }
      if (!ok) {
        r.violations.push_back(StrCat("v4 client ", name, ": ", stored ? "present" : "absent",
                                      " in the current epoch, expected ", expected));
      }
    }
  }
  for (const std::string& name : after.v4_current) {
    if (!all.count(name)) r.violations.push_back("v4 client " + name + " stored but never sent");
  }
  return r;
}

}  // namespace nfsrec::crash
