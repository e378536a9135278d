// NSM monitor records: the value types shared by the service, the store port
// and the codecs.  A record is what lockd asked for in one SM_MON; its key is
// (mon_name, my_name, my_prog, my_vers, my_proc), because the kernel and
// NFS-Ganesha differ in my_vers and a host may run both.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace nfsrec::statd {

inline constexpr size_t kCookieSize = 16;
using Cookie = std::array<uint8_t, kCookieSize>;

struct MonitorKey {
  std::string mon_name;  // exactly as received (bytes)
  std::string my_name;   // as received, whitespace mapped to '_'
  int32_t my_prog = 0;
  int32_t my_vers = 0;
  int32_t my_proc = 0;
  auto operator<=>(const MonitorKey&) const = default;
};

// For hash tables keyed by MonitorKey.
struct MonitorKeyHash {
  size_t operator()(const MonitorKey& k) const {
    size_t h = std::hash<std::string>()(k.mon_name);
    for (size_t v : {std::hash<std::string>()(k.my_name), static_cast<size_t>(k.my_prog),
                     static_cast<size_t>(k.my_vers), static_cast<size_t>(k.my_proc)}) {
      h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    }
    return h;
  }
};

struct MonitorRecord {
  MonitorKey key;
  Cookie priv{};               // lockd's cookie, verbatim
  std::string canonical_name;  // resolved at SM_MON; mon_name if unresolvable
  int32_t peer_state = 0;      // last NSM state seen from this peer (0 = none yet)
  // Last peer state that lockd acknowledged a callback for.  A record whose
  // peer_state differs owes lockd a callback, also across a daemon restart.
  int32_t lockd_state = 0;
  bool operator==(const MonitorRecord&) const = default;
};

// What rpc.statd left in a state directory (statd/legacy_state.h reads it),
// taken over once, by a database that has never stored a state.
struct LegacyStatd {
  int32_t state = 0;                    // <dir>/state; 0 if absent
  std::vector<MonitorRecord> monitors;  // <dir>/sm/*: peers we monitor
  std::vector<MonitorRecord> notify;    // <dir>/sm.bak/*: peers still to be told we rebooted
  std::vector<std::string> problems;    // files and lines skipped, for the log
};

}  // namespace nfsrec::statd
