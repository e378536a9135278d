#include "statd/monitor_index.h"

#include <algorithm>
#include <utility>

#include "common/os/resolver.h"
#include "statd/slot_tables.h"

namespace nfsrec::statd {

namespace {

using slot_tables::IdTable;
using slot_tables::Pages;
constexpr uint32_t kNone = MonitorIndex::kNone;

unsigned char Lower(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u >= 'A' && u <= 'Z' ? static_cast<unsigned char>(u - 'A' + 'a') : u;
}

uint32_t Mix(uint32_t h) {  // a 32-bit finalizer: every input bit reaches the low bits
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

// FNV-1a over the ASCII-folded bytes: equal for names EqualsIgnoreCase matches.
uint32_t FoldHash(std::string_view s) {
  uint32_t h = 2166136261u;
  for (char c : s) {
    h ^= Lower(c);
    h *= 16777619u;
  }
  return Mix(h);
}

bool FoldEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

uint32_t GroupHash(uint32_t name_hash, int32_t prog, int32_t vers, int32_t proc) {
  uint32_t h = name_hash;
  for (int32_t v : {prog, vers, proc}) h = Mix(h ^ (static_cast<uint32_t>(v) + 0x9e3779b9u));
  return h;
}

}  // namespace

struct MonitorIndex::Impl {
  // An interned name.  `hosts` heads the list of records that use it as
  // mon_name or canonical_name; a list link is (slot << 1 | via_canonical).
  struct Atom {
    std::string text;
    uint32_t refs = 0;      // 0: free
    uint32_t hash = 0;      // FoldHash(text)
    uint32_t addr = kNone;  // a numeric address: the atom of its presentation form
    uint32_t hosts = kNone;
  };
  struct Rec {
    Cookie priv{};
    uint32_t mon = kNone;
    uint32_t canon = kNone;
    uint32_t group = kNone;
    int32_t peer_state = 0;
    int32_t lockd_state = 0;
    uint32_t next_mon = kNone;    // in atoms[mon].hosts
    uint32_t next_canon = kNone;  // in atoms[canon].hosts, if canon != mon
    uint32_t group_prev = kNone;
    uint32_t group_next = kNone;
    uint32_t generation = 0;
    bool used = false;
    bool ha_reported = false;
  };
  // One lock manager: (my_name, my_prog, my_vers, my_proc), exact.
  struct Group {
    uint32_t my_name = kNone;
    int32_t prog = 0;
    int32_t vers = 0;
    int32_t proc = 0;
    uint32_t hash = 0;  // GroupHash of the folded my_name and the numbers
    uint32_t head = kNone;
    uint32_t count = 0;  // 0: free
  };

  Pages<Atom> atoms;
  std::vector<uint32_t> free_atoms;
  IdTable names;  // every atom, by FoldHash
  IdTable addrs;  // numeric atoms, by the hash of their presentation form
  Pages<Rec> recs;
  std::vector<uint32_t> free_recs;
  std::vector<Group> groups;
  std::vector<uint32_t> free_groups;
  IdTable group_table;

  auto NameHashOf() const {
    return [this](uint32_t id) { return atoms[id].hash; };
  }
  auto AddrHashOf() const {
    return [this](uint32_t id) { return atoms[atoms[id].addr].hash; };
  }
  auto GroupHashOf() const {
    return [this](uint32_t id) { return groups[id].hash; };
  }

  uint32_t FindAtom(std::string_view s) const { return FindAtom(s, FoldHash(s)); }
  uint32_t FindAtom(std::string_view s, uint32_t h) const {
    uint32_t found = kNone;
    names.Probe(h, [&](uint32_t id) {
      if (atoms[id].hash != h || atoms[id].text != s) return false;
      found = id;
      return true;
    });
    return found;
  }

  // fn(atom) for every atom equal to s case-insensitively.
  template <typename Fn>
  void ForEachFolded(std::string_view s, Fn fn) const {
    const uint32_t h = FoldHash(s);
    names.Probe(h, [&](uint32_t id) {
      if (atoms[id].hash == h && FoldEqual(atoms[id].text, s)) fn(id);
      return false;
    });
  }

  // fn(atom) for every numeric atom whose presentation form is `address`.
  template <typename Fn>
  void ForEachAddress(std::string_view address, Fn fn) const {
    const uint32_t h = FoldHash(address);
    addrs.Probe(h, [&](uint32_t id) {
      const Atom& a = atoms[atoms[id].addr];
      if (a.hash == h && a.text == address) fn(id);
      return false;
    });
  }

  uint32_t Intern(std::string_view s) {
    const uint32_t h = FoldHash(s);
    uint32_t id = FindAtom(s, h);
    if (id != kNone) {
      ++atoms[id].refs;
      return id;
    }
    return AddAtom(s, h);
  }

  // A new atom for `s`, which is not interned; `h` is FoldHash(s).
  uint32_t AddAtom(std::string_view s, uint32_t h) {
    uint32_t id;
    if (free_atoms.empty()) {
      id = atoms.Add();
    } else {
      id = free_atoms.back();
      free_atoms.pop_back();
    }
    Atom& a = atoms[id];
    a.text.assign(s);
    a.refs = 1;
    a.hash = h;
    a.addr = kNone;
    a.hosts = kNone;
    names.Insert(id, a.hash, NameHashOf());
    // The one place a name is parsed as an address.
    std::string norm;
    if (IsNumericAddress(a.text, &norm)) {
      a.addr = norm == a.text ? id : Intern(norm);
      addrs.Insert(id, atoms[a.addr].hash, AddrHashOf());
    }
    return id;
  }

  void Release(uint32_t id) {
    Atom& a = atoms[id];
    if (--a.refs > 0) return;
    if (a.addr != kNone) {
      addrs.Erase(id, atoms[a.addr].hash, AddrHashOf());
      if (a.addr != id) Release(a.addr);
    }
    names.Erase(id, a.hash, NameHashOf());
    std::string().swap(a.text);
    a.addr = kNone;
    free_atoms.push_back(id);
  }

  // 1 if the record's mon_name or canonical_name is not a numeric address.
  size_t Named(uint32_t slot) const {
    const Rec& r = recs[slot];
    return atoms[r.mon].addr == kNone || atoms[r.canon].addr == kNone ? 1 : 0;
  }

  uint32_t& NextHost(uint32_t link) {
    Rec& r = recs[link >> 1];
    return (link & 1) != 0 ? r.next_canon : r.next_mon;
  }
  uint32_t NextHost(uint32_t link) const {
    const Rec& r = recs[link >> 1];
    return (link & 1) != 0 ? r.next_canon : r.next_mon;
  }
  void LinkHost(uint32_t atom, uint32_t link) {
    NextHost(link) = atoms[atom].hosts;
    atoms[atom].hosts = link;
  }
  // A host's records are few: the walk to the predecessor is short.
  void UnlinkHost(uint32_t atom, uint32_t link) {
    uint32_t* p = &atoms[atom].hosts;
    while (*p != link) p = &NextHost(*p);
    *p = NextHost(link);
  }
  // fn(slot, via_canonical) for the records that use `atom` as a host name.
  template <typename Fn>
  void ForEachHost(uint32_t atom, Fn fn) const {
    for (uint32_t l = atoms[atom].hosts; l != kNone; l = NextHost(l)) fn(l >> 1, (l & 1) != 0);
  }

  uint32_t FindGroup(uint32_t my_name, int32_t prog, int32_t vers, int32_t proc) const {
    const uint32_t h = GroupHash(atoms[my_name].hash, prog, vers, proc);
    uint32_t found = kNone;
    group_table.Probe(h, [&](uint32_t g) {
      const Group& gr = groups[g];
      if (gr.my_name != my_name || gr.prog != prog || gr.vers != vers || gr.proc != proc) {
        return false;
      }
      found = g;
      return true;
    });
    return found;
  }

  // The group of a new record (taking a reference on my_name for a new one).
  uint32_t JoinGroup(std::string_view my_name, int32_t prog, int32_t vers, int32_t proc) {
    uint32_t my = FindAtom(my_name);
    uint32_t g = my == kNone ? kNone : FindGroup(my, prog, vers, proc);
    if (g != kNone) return g;
    my = Intern(my_name);
    if (free_groups.empty()) {
      g = static_cast<uint32_t>(groups.size());
      groups.emplace_back();
    } else {
      g = free_groups.back();
      free_groups.pop_back();
    }
    groups[g] = Group{my, prog, vers, proc, GroupHash(atoms[my].hash, prog, vers, proc), kNone, 0};
    group_table.Insert(g, groups[g].hash, GroupHashOf());
    return g;
  }

  void LeaveGroup(uint32_t slot) {
    Rec& r = recs[slot];
    Group& g = groups[r.group];
    if (r.group_prev != kNone) {
      recs[r.group_prev].group_next = r.group_next;
    } else {
      g.head = r.group_next;
    }
    if (r.group_next != kNone) recs[r.group_next].group_prev = r.group_prev;
    if (--g.count > 0) return;
    group_table.Erase(r.group, g.hash, GroupHashOf());
    Release(g.my_name);
    g.my_name = kNone;
    free_groups.push_back(r.group);
  }

  std::string_view MyName(const Rec& r) const { return atoms[groups[r.group].my_name].text; }

  bool KeyLess(uint32_t a, uint32_t b) const {
    const Rec& x = recs[a];
    const Rec& y = recs[b];
    if (x.mon != y.mon) {
      const int c = std::string_view(atoms[x.mon].text).compare(atoms[y.mon].text);
      if (c != 0) return c < 0;
    }
    if (x.group == y.group) return false;
    const Group& gx = groups[x.group];
    const Group& gy = groups[y.group];
    if (gx.my_name != gy.my_name) {
      const int c = std::string_view(atoms[gx.my_name].text).compare(atoms[gy.my_name].text);
      if (c != 0) return c < 0;
    }
    if (gx.prog != gy.prog) return gx.prog < gy.prog;
    if (gx.vers != gy.vers) return gx.vers < gy.vers;
    return gx.proc < gy.proc;
  }

  std::vector<uint32_t> Sorted(std::vector<uint32_t> slots) const {
    std::sort(slots.begin(), slots.end(), [this](uint32_t a, uint32_t b) { return KeyLess(a, b); });
    slots.erase(std::unique(slots.begin(), slots.end()), slots.end());
    return slots;
  }

  void SetCanonical(uint32_t slot, std::string_view canonical) {
    Rec& r = recs[slot];
    if (r.canon != kNone && atoms[r.canon].text == canonical) return;
    if (r.canon != kNone) {
      if (r.canon != r.mon) UnlinkHost(r.canon, slot << 1 | 1);
      Release(r.canon);
    }
    if (atoms[r.mon].text == canonical) {  // the usual case: no second lookup
      r.canon = r.mon;
      ++atoms[r.mon].refs;
      return;
    }
    r.canon = Intern(canonical);
    if (r.canon != r.mon) LinkHost(r.canon, slot << 1 | 1);
  }
};

MonitorIndex::MonitorIndex() : impl_(std::make_unique<Impl>()) {}
MonitorIndex::~MonitorIndex() = default;
MonitorIndex::MonitorIndex(MonitorIndex&& other) noexcept
    : impl_(std::exchange(other.impl_, std::make_unique<Impl>())),
      size_(std::exchange(other.size_, 0)),
      named_(std::exchange(other.named_, 0)) {}
MonitorIndex& MonitorIndex::operator=(MonitorIndex&& other) noexcept {
  if (this != &other) {
    impl_ = std::exchange(other.impl_, std::make_unique<Impl>());
    size_ = std::exchange(other.size_, 0);
    named_ = std::exchange(other.named_, 0);
  }
  return *this;
}

void MonitorIndex::Clear() {
  impl_ = std::make_unique<Impl>();
  size_ = 0;
  named_ = 0;
}

MonitorIndex::Slot MonitorIndex::Put(const Entry& entry) {
  return Store(Find(entry.record.key), entry.record, entry.generation, entry.ha_reported, kNone);
}

MonitorIndex::Slot MonitorIndex::Insert(const MonitorRecord& record) {
  Impl& m = *impl_;
  const std::string& mon_name = record.key.mon_name;
  const uint32_t h = FoldHash(mon_name);
  uint32_t mon = m.FindAtom(mon_name, h);
  // A mon_name not interned yet has no record (at a load, one record per
  // host is the usual case: one lookup, then the new atom).
  if (mon != kNone) {
    if (Find(record.key) != kNone) return kNone;
    ++m.atoms[mon].refs;
  } else {
    mon = m.AddAtom(mon_name, h);
  }
  return Store(kNone, record, 0, false, mon);
}

void MonitorIndex::Reserve(size_t records) {
  Impl& m = *impl_;
  m.names.Reserve(records, m.NameHashOf());
}

MonitorIndex::Slot MonitorIndex::Store(Slot slot, const MonitorRecord& rec, uint32_t generation,
                                       bool ha_reported, uint32_t mon) {
  Impl& m = *impl_;
  if (slot != kNone) named_ -= m.Named(slot);
  if (slot == kNone) {
    if (m.free_recs.empty()) {
      slot = m.recs.Add();
    } else {
      slot = m.free_recs.back();
      m.free_recs.pop_back();
    }
    Impl::Rec& r = m.recs[slot];
    r = Impl::Rec{};
    r.used = true;
    r.mon = mon != kNone ? mon : m.Intern(rec.key.mon_name);
    m.LinkHost(r.mon, slot << 1);
    r.group = m.JoinGroup(rec.key.my_name, rec.key.my_prog, rec.key.my_vers, rec.key.my_proc);
    Impl::Group& g = m.groups[r.group];
    r.group_next = g.head;
    if (g.head != kNone) m.recs[g.head].group_prev = slot;
    g.head = slot;
    ++g.count;
    ++size_;
  }
  Impl::Rec& r = m.recs[slot];
  m.SetCanonical(slot, rec.canonical_name);
  named_ += m.Named(slot);
  r.priv = rec.priv;
  r.peer_state = rec.peer_state;
  r.lockd_state = rec.lockd_state;
  r.generation = generation;
  r.ha_reported = ha_reported;
  return slot;
}

void MonitorIndex::Erase(Slot slot) {
  Impl& m = *impl_;
  Impl::Rec& r = m.recs[slot];
  if (!r.used) return;
  named_ -= m.Named(slot);
  m.UnlinkHost(r.mon, slot << 1);
  if (r.canon != r.mon) m.UnlinkHost(r.canon, slot << 1 | 1);
  m.LeaveGroup(slot);
  m.Release(r.mon);
  m.Release(r.canon);
  r = Impl::Rec{};
  m.free_recs.push_back(slot);
  --size_;
}

MonitorIndex::Slot MonitorIndex::Find(const MonitorKey& key) const {
  const Impl& m = *impl_;
  const uint32_t mon = m.FindAtom(key.mon_name);
  if (mon == kNone) return kNone;
  const uint32_t my = m.FindAtom(key.my_name);
  if (my == kNone) return kNone;
  const uint32_t group = m.FindGroup(my, key.my_prog, key.my_vers, key.my_proc);
  if (group == kNone) return kNone;
  Slot found = kNone;
  m.ForEachHost(mon, [&](uint32_t slot, bool via_canonical) {
    if (!via_canonical && m.recs[slot].group == group) found = slot;
  });
  return found;
}

MonitorIndex::Slot MonitorIndex::FindLoose(const MonitorKey& key) const {
  Slot exact = Find(key);
  if (exact != kNone) return exact;
  const Impl& m = *impl_;
  Slot best = kNone;
  m.ForEachFolded(key.mon_name, [&](uint32_t atom) {
    m.ForEachHost(atom, [&](uint32_t slot, bool) {
      const Impl::Group& g = m.groups[m.recs[slot].group];
      if (g.prog != key.my_prog || g.vers != key.my_vers || g.proc != key.my_proc ||
          !FoldEqual(m.atoms[g.my_name].text, key.my_name)) {
        return;
      }
      if (best == kNone || m.KeyLess(slot, best)) best = slot;
    });
  });
  return best;
}

std::vector<MonitorIndex::Slot> MonitorIndex::MatchHost(
    const std::vector<std::string>& names, const std::vector<std::string>& addresses) const {
  const Impl& m = *impl_;
  std::vector<Slot> out;
  auto add = [&](uint32_t slot, bool) { out.push_back(slot); };
  for (const std::string& n : names) {
    m.ForEachFolded(n, [&](uint32_t atom) { m.ForEachHost(atom, add); });
  }
  for (const std::string& a : addresses) {
    m.ForEachAddress(a, [&](uint32_t atom) { m.ForEachHost(atom, add); });
  }
  return m.Sorted(std::move(out));
}

std::vector<MonitorIndex::Slot> MonitorIndex::MatchAdministered(const std::string& host,
                                                                const std::string& address) const {
  const Impl& m = *impl_;
  std::vector<Slot> out;
  m.ForEachFolded(host, [&](uint32_t atom) {
    m.ForEachHost(atom, [&](uint32_t slot, bool) { out.push_back(slot); });
  });
  if (!address.empty()) {
    m.ForEachAddress(address, [&](uint32_t atom) {
      m.ForEachHost(atom, [&](uint32_t slot, bool via_canonical) {
        if (!via_canonical) out.push_back(slot);
      });
    });
  }
  return m.Sorted(std::move(out));
}

std::vector<MonitorIndex::Slot> MonitorIndex::FindClient(const std::string& my_name,
                                                         int32_t my_prog, int32_t my_vers,
                                                         int32_t my_proc) const {
  const Impl& m = *impl_;
  std::vector<Slot> out;
  const uint32_t h = GroupHash(FoldHash(my_name), my_prog, my_vers, my_proc);
  m.group_table.Probe(h, [&](uint32_t g) {
    const Impl::Group& gr = m.groups[g];
    if (gr.hash == h && gr.prog == my_prog && gr.vers == my_vers && gr.proc == my_proc &&
        FoldEqual(m.atoms[gr.my_name].text, my_name)) {
      for (uint32_t s = gr.head; s != kNone; s = m.recs[s].group_next) out.push_back(s);
    }
    return false;
  });
  return m.Sorted(std::move(out));
}

std::vector<MonitorIndex::Slot> MonitorIndex::All() const { return SortedByKey(Unordered()); }

std::vector<MonitorIndex::Slot> MonitorIndex::Unordered() const {
  const Impl& m = *impl_;
  std::vector<Slot> out;
  out.reserve(size_);
  for (uint32_t s = 0; s < m.recs.count(); ++s) {
    if (m.recs[s].used) out.push_back(s);
  }
  return out;
}

std::vector<MonitorIndex::Slot> MonitorIndex::SortedByKey(std::vector<Slot> slots) const {
  return impl_->Sorted(std::move(slots));
}

MonitorKey MonitorIndex::Key(Slot slot) const {
  const Impl& m = *impl_;
  const Impl::Rec& r = m.recs[slot];
  const Impl::Group& g = m.groups[r.group];
  return MonitorKey{m.atoms[r.mon].text, m.atoms[g.my_name].text, g.prog, g.vers, g.proc};
}

MonitorRecord MonitorIndex::Record(Slot slot) const {
  const Impl::Rec& r = impl_->recs[slot];
  MonitorRecord rec;
  rec.key = Key(slot);
  rec.priv = r.priv;
  rec.canonical_name = impl_->atoms[r.canon].text;
  rec.peer_state = r.peer_state;
  rec.lockd_state = r.lockd_state;
  return rec;
}

MonitorIndex::Entry MonitorIndex::Get(Slot slot) const {
  const Impl::Rec& r = impl_->recs[slot];
  return Entry{Record(slot), r.generation, r.ha_reported};
}

std::string_view MonitorIndex::mon_name(Slot slot) const {
  return impl_->atoms[impl_->recs[slot].mon].text;
}
std::string_view MonitorIndex::canonical_name(Slot slot) const {
  return impl_->atoms[impl_->recs[slot].canon].text;
}
const Cookie& MonitorIndex::priv(Slot slot) const { return impl_->recs[slot].priv; }
int32_t MonitorIndex::peer_state(Slot slot) const { return impl_->recs[slot].peer_state; }
int32_t MonitorIndex::lockd_state(Slot slot) const { return impl_->recs[slot].lockd_state; }
void MonitorIndex::set_peer_state(Slot slot, int32_t state) {
  impl_->recs[slot].peer_state = state;
}
void MonitorIndex::set_lockd_state(Slot slot, int32_t state) {
  impl_->recs[slot].lockd_state = state;
}
uint32_t MonitorIndex::generation(Slot slot) const { return impl_->recs[slot].generation; }
void MonitorIndex::set_generation(Slot slot, uint32_t generation) {
  impl_->recs[slot].generation = generation;
}
bool MonitorIndex::ha_reported(Slot slot) const { return impl_->recs[slot].ha_reported; }
void MonitorIndex::set_ha_reported(Slot slot) { impl_->recs[slot].ha_reported = true; }

MonitorIndex::Footprint MonitorIndex::footprint() const {
  const Impl& m = *impl_;
  Footprint f;
  f.records = m.recs.bytes() + m.free_recs.capacity() * sizeof(uint32_t);
  f.names = m.atoms.bytes() + m.free_atoms.capacity() * sizeof(uint32_t);
  for (uint32_t i = 0; i < m.atoms.count(); ++i) {
    const std::string& t = m.atoms[i].text;
    if (t.capacity() > std::string().capacity()) f.names += t.capacity() + 1;
  }
  f.indexes = m.names.bytes() + m.addrs.bytes() + m.group_table.bytes() +
              m.groups.capacity() * sizeof(Impl::Group) +
              m.free_groups.capacity() * sizeof(uint32_t);
  return f;
}

size_t MonitorIndex::distinct_names() const {
  const Impl& m = *impl_;
  return m.atoms.count() - m.free_atoms.size();
}

}  // namespace nfsrec::statd
