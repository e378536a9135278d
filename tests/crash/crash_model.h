// The crash harness's model: the operations each load thread sent, which of
// them were acknowledged, and the per-key check against the store.
//
// Each history belongs to one load thread and covers only that thread's
// keys, so its operations are sequential and at most the last one is in
// flight (sent, no acknowledgement) when the daemon dies.  A key's stored
// state must be the state after the last acknowledged operation on it, or
// after the operation in flight.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "statd/monitor.h"
#include "tests/crash/crash_store.h"

namespace nfsrec::crash {

struct NsmOp {
  enum Kind { kMon, kUnmon, kUnmonAll, kNotify } kind = kMon;
  statd::MonitorKey key;  // kUnmonAll: its my_id part; kNotify: its mon_name
  statd::Cookie priv{};   // kMon
  int32_t state = 0;      // kNotify
  std::string Describe() const;
  bool Touches(const statd::MonitorKey& k) const;
};

using MonitorMap = std::map<statd::MonitorKey, MonitorState>;

// What the daemon must do to the monitors for op (statd/nsm_procedures.cc).
void Apply(const NsmOp& op, MonitorMap& monitors);

class NsmHistory {
 public:
  // Thread `index`'s keys, starting from what the store held.
  NsmHistory(int index, const MonitorMap& stored);
  std::vector<statd::MonitorKey> Keys() const;
  bool Owns(const statd::MonitorKey& k) const;
  const MonitorMap& acked() const { return acked_; }
  const std::optional<NsmOp>& in_flight() const { return in_flight_; }
  uint64_t acked_count() const { return log_.size(); }
  const std::vector<NsmOp>& log() const { return log_; }

  void Send(const NsmOp& op) { in_flight_ = op; }
  void Ack();

 private:
  int index_;
  MonitorMap acked_;
  std::optional<NsmOp> in_flight_;
  std::vector<NsmOp> log_;  // acknowledged, in order
};

struct V4Op {
  std::string name;
  bool create = true;    // else Remove
  bool reclaim = false;  // a Create sent as RECLAIM_COMPLETE of an uploaded client
  std::string Describe() const;
  bool Touches(const std::string& n) const { return n == name; }
};

class V4History {
 public:
  // Thread `index` of `threads`: its client names.  Starts after an
  // acknowledged GraceStart, which leaves the current epoch empty.
  V4History(int index, int threads);
  const std::vector<std::string>& names() const { return names_; }
  const std::set<std::string>& acked() const { return acked_; }
  const std::optional<V4Op>& in_flight() const { return in_flight_; }
  uint64_t acked_count() const { return log_.size(); }
  const std::vector<V4Op>& log() const { return log_; }

  void Send(const V4Op& op) { in_flight_ = op; }
  void Ack();

 private:
  std::vector<std::string> names_;
  std::set<std::string> acked_;  // in the current epoch
  std::optional<V4Op> in_flight_;
  std::vector<V4Op> log_;
};

enum class GraceStartOutcome { kNotSent, kInFlight, kAcked };

struct CheckResult {
  uint64_t acked = 0;  // acknowledged operations whose keys were checked
  uint64_t keys = 0;   // keys checked
  // Operations in flight at the kill that would change their keys: found
  // in the store, or not (either is allowed).
  uint64_t in_flight_landed = 0;
  uint64_t in_flight_lost = 0;
  std::vector<std::string> violations;
};

// `before` is the store this cycle started from, `after` the store after
// the kill.
CheckResult Check(const StoreSnapshot& before, const StoreSnapshot& after,
                  const std::vector<NsmHistory>& nsm, const std::vector<V4History>& v4,
                  GraceStartOutcome grace);

}  // namespace nfsrec::crash
