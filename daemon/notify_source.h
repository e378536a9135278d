// Where SM_NOTIFY comes from, as sm-notify -v ADDR|NAME decides it (also
// [sm-notify] outgoing-addr, and rpc.statd -n, which rpc.statd hands to
// sm-notify as -v).  Peers match SM_NOTIFY by its mon_name or its sender
// address, so a floating address (Pacemaker nfsnotify, CTDB) must be both
// the packets' source and, by its reverse name, the announced name.
//
//   an address (IPv4 or IPv6)  bind to it; announce its reverse name (a
//                              missing reverse name is an error: sm-notify
//                              never announces an address)
//   a name                     bind to its first address; announce it as
//                              given
//
// Resolution blocks (getaddrinfo, getnameinfo): call it at start-up,
// before the loop runs, as sm-notify does.
#pragma once

#include <string>

#include "common/base/result.h"
#include "statd/nsm_options.h"

namespace nfsrec {

struct NotifySource {
  std::string bind_address;  // numeric
  std::string name;          // SM_NOTIFY's mon_name
};

// InvalidArgument naming `addr_or_name` and the resolver's reason.
Result<NotifySource> ResolveNotifySource(const std::string& addr_or_name);

// Resolves nsm.my_name, if set, into nsm.notify_source and nsm.my_name
// (the sm-notify command: an error ends it with status 1).
Status ApplyNotifySource(statd::NsmOptions& nsm);

// The daemon's version: rpc.statd keeps serving when the sm-notify it runs
// refuses -v, so here a name that does not resolve, or an address that is
// not (yet) on this host (a floating address elsewhere), is announced as
// given from the default address; the reason is returned for the log
// (empty when all went well).
std::string ApplyNotifySourceOrFallBack(statd::NsmOptions& nsm);

}  // namespace nfsrec
