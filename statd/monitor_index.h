// MonitorIndex: the NSM service's in-memory monitor list (and notify list),
// compact and indexed so that every per-request lookup costs O(1) in the
// number of records (expected; hash tables with linear probing).
//
// Layout (why it is small):
//  - Names are interned: each distinct byte string (mon_name, my_name,
//    canonical_name) is stored once, reference counted, with its ASCII
//    case-folded hash and, if it is a numeric address, a link to the
//    interned presentation form of that address (IsNumericAddress runs once
//    per distinct string, when it is first interned, never per call).
//  - A record is a fixed 60-byte slot: the cookie inline, three name ids, a
//    client-group id standing for (my_name, my_prog, my_vers, my_proc), the
//    two states, the service's bookkeeping and four intrusive links.  Slots
//    live in pages of 1024 (no reallocation spikes) and are reused.
//  - Indexes hold 32-bit ids only: names by folded hash and by address, and
//    client groups by (folded my_name, prog, vers, proc).  Each name keeps a
//    list of the records that use it as mon_name or as canonical_name (a
//    host's records: a handful), each group a doubly linked list of its
//    records (possibly all of them; SM_UNMON_ALL empties it in O(its size)).
//
// Matching (the semantics NsmService had with its linear scans):
//  - a name matches a record when it equals the record's mon_name or
//    canonical_name ASCII case-insensitively (EqualsIgnoreCase);
//  - an address (in the presentation form IsNumericAddress gives) matches a
//    record whose mon_name or canonical_name is a numeric address with that
//    presentation form ("127.1" and "127.0.0.1" are one address; an IPv4
//    address and its v4-mapped IPv6 form are not).
// Queries returning several records return them in MonitorKey order, the
// order the service's std::map gave.
//
// Not thread-safe.  The service uses it on the loop thread; a load builds a
// new one on the store's thread (NsmLoadSink) and hands it over.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "statd/monitor.h"

namespace nfsrec::statd {

class MonitorIndex {
 public:
  using Slot = uint32_t;
  static constexpr Slot kNone = UINT32_MAX;

  // A record with the service's bookkeeping (NsmService::Entry).
  struct Entry {
    MonitorRecord record;
    // Nonzero while a change to the record is being made durable.
    uint32_t generation = 0;
    // Its add-client callout ran in this process.
    bool ha_reported = false;
  };

  MonitorIndex();
  ~MonitorIndex();
  MonitorIndex(MonitorIndex&&) noexcept;
  MonitorIndex& operator=(MonitorIndex&&) noexcept;
  MonitorIndex(const MonitorIndex&) = delete;
  MonitorIndex& operator=(const MonitorIndex&) = delete;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Records whose mon_name or canonical_name is not a numeric address: the
  // only ones a host name that is not an address's own spelling can match.
  size_t named() const { return named_; }
  void Clear();

  // Inserts `entry`, or replaces the record with the same key; its slot.
  Slot Put(const Entry& entry);
  // Inserts `record` (no change in flight, no callout run) unless a record
  // with its key is there: then kNone, and the first one stays.
  Slot Insert(const MonitorRecord& record);
  // Room for about `records` records with names of their own, so that a
  // load does not rehash as it grows.
  void Reserve(size_t records);
  void Erase(Slot slot);

  // The record with exactly this key, or kNone.
  Slot Find(const MonitorKey& key) const;
  // Find, else the first record (in key order) whose my_prog, my_vers and
  // my_proc equal the key's, whose my_name equals it case-insensitively and
  // whose mon_name or canonical_name equals key.mon_name case-insensitively.
  Slot FindLoose(const MonitorKey& key) const;
  // Records matched (see Matching above) by any of `names` or `addresses`:
  // who an SM_NOTIFY is about.
  std::vector<Slot> MatchHost(const std::vector<std::string>& names,
                              const std::vector<std::string>& addresses) const;
  // Records whose mon_name or canonical_name equals `host`
  // case-insensitively, or (if `address` is not empty) whose mon_name is a
  // numeric address of that presentation form.
  std::vector<Slot> MatchAdministered(const std::string& host, const std::string& address) const;
  // Records of one lock manager: my_name case-insensitively, the rest exact.
  std::vector<Slot> FindClient(const std::string& my_name, int32_t my_prog, int32_t my_vers,
                               int32_t my_proc) const;
  // Every record, in key order.
  std::vector<Slot> All() const;
  // Every record, in no particular order (no sort: O(size)).
  std::vector<Slot> Unordered() const;
  // `slots` in key order, each once.
  std::vector<Slot> SortedByKey(std::vector<Slot> slots) const;

  Entry Get(Slot slot) const;
  MonitorRecord Record(Slot slot) const;
  MonitorKey Key(Slot slot) const;
  std::string_view mon_name(Slot slot) const;
  std::string_view canonical_name(Slot slot) const;
  const Cookie& priv(Slot slot) const;
  int32_t peer_state(Slot slot) const;
  int32_t lockd_state(Slot slot) const;
  void set_peer_state(Slot slot, int32_t state);
  void set_lockd_state(Slot slot, int32_t state);
  uint32_t generation(Slot slot) const;
  void set_generation(Slot slot, uint32_t generation);
  bool ha_reported(Slot slot) const;
  void set_ha_reported(Slot slot);

  // Bytes held, for the memory figures (docs/PERFORMANCE.md).
  struct Footprint {
    size_t records = 0;  // record slots (allocated pages)
    size_t names = 0;    // interned names, their text on the heap included
    size_t indexes = 0;  // hash tables and client groups
  };
  Footprint footprint() const;
  size_t distinct_names() const;

 private:
  // Put and Insert, once `slot` is known: Find(entry's key), or kNone.  A
  // new record takes `mon` as its mon_name's atom (a reference already
  // taken for it), or interns the name if `mon` is kNone.
  Slot Store(Slot slot, const MonitorRecord& rec, uint32_t generation, bool ha_reported,
             uint32_t mon);

  struct Impl;
  std::unique_ptr<Impl> impl_;
  size_t size_ = 0;
  size_t named_ = 0;
};

}  // namespace nfsrec::statd
