// Options of the NSM part of the daemon (rpc.statd and sm-notify), filled
// by daemon/ from nfs.conf and the command line.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "config.h"

namespace nfsrec::statd {

// rpc.statd's state directory, chosen at configure time (--with-statedir:
// /var/lib/nfs on Debian, /var/lib/nfs/statd on Fedora and RHEL).
inline constexpr char kDefaultStateDir[] = NFSREC_DEFAULT_STATEDIR;

struct NsmOptions {
  uint16_t port = 0;           // -p: NSM listener port on every transport (0: ephemeral)
  uint16_t outgoing_port = 0;  // -o: source port of SM_NOTIFY (0: a privileged one)
  std::string state_dir = kDefaultStateDir;  // -P: rpc.statd's files live here
  std::string my_name;                       // -n: our name in SM_NOTIFY
  // Numeric source address of SM_NOTIFY (sm-notify -v, rpc.statd -n,
  // [sm-notify] outgoing-addr, resolved by daemon/notify_source.h); "" binds
  // the wildcard address.
  std::string notify_source;
  bool no_notify = false;     // -L: no boot notification from the daemon
  std::string ha_callout;     // -H
  uint16_t nlm_tcp_port = 0;  // -T, written to /proc/sys/fs/nfs
  uint16_t nlm_udp_port = 0;  // -U
  // Boot notification (sm-notify -m, and the engine's window in the daemon).
  std::chrono::minutes notify_window{15};
  bool lift_grace = true;     // write nlm_end_grace when nobody is to be notified
  bool update_state = true;   // sm-notify -n turns it off
  bool force_notify = false;  // [sm-notify] force: notify even if this boot already was
  // Keep sm/, sm.bak/ and state current as the store changes
  // (statd/sm_mirror.h): --no-mirror-sm, [nfsrecd] mirror-sm.  The daemon's;
  // the sm-notify command leaves it to the daemon it tells to reload.
  bool mirror_sm = true;
};

}  // namespace nfsrec::statd
