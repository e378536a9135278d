// Where SM_NOTIFY comes from, as sm-notify -v ADDR|NAME decides it (also
// [sm-notify] outgoing-addr, rpc.statd -n, which rpc.statd hands to
// sm-notify as -v, and in cluster mode the instance's first
// cluster-addresses entry).  Peers match SM_NOTIFY by its mon_name or its
// sender address, so a floating address (Pacemaker nfsnotify, CTDB, a
// cluster instance) must be both the packets' source and, by its reverse
// name, the announced name.
//
//   an address (IPv4 or IPv6)  bind to it; announce its reverse name; one
//                              without a reverse name is refused by the
//                              sm-notify command (as sm-notify refuses it)
//                              and announced as the address text by the
//                              daemon (as rpc.statd names an address that
//                              has no reverse map)
//   a name                     bind to its first address; announce it as
//                              given
//
// Resolution blocks (getaddrinfo, getnameinfo): call it at start-up,
// before the loop runs, as sm-notify does.
#pragma once

#include <functional>
#include <string>

#include "common/base/result.h"
#include "statd/nsm_options.h"

namespace nfsrec {

struct NotifySource {
  std::string bind_address;  // numeric
  std::string name;          // SM_NOTIFY's mon_name
};

// What an address literal without a reverse name becomes.
enum class UnnamedAddress {
  kRefuse,           // the sm-notify command: an error
  kAnnounceAddress,  // the daemon: the address text is the announced name
};

// The reverse name of a numeric address (getnameinfo with NI_NAMEREQD);
// an error when it has none or the lookup fails.  A parameter below so
// that tests need no DNS.
using ReverseNameLookup = std::function<Result<std::string>(const std::string& numeric_address)>;
Result<std::string> LookUpReverseName(const std::string& numeric_address);

// InvalidArgument naming `addr_or_name` and the resolver's reason.
Result<NotifySource> ResolveNotifySource(const std::string& addr_or_name,
                                         UnnamedAddress unnamed = UnnamedAddress::kRefuse,
                                         const ReverseNameLookup& reverse_name = LookUpReverseName);

// Resolves nsm.my_name, if set, into nsm.notify_source and nsm.my_name
// (the sm-notify command: an error ends it with status 1).
Status ApplyNotifySource(statd::NsmOptions& nsm);

// The daemon's version: rpc.statd keeps serving when the sm-notify it runs
// refuses -v, so here a name that does not resolve, or an address that is
// not (yet) on this host (a floating address elsewhere), is announced from
// the default address; the reason is returned for the log (empty when all
// went well).  An address without a reverse name is bound and announced
// as itself (UnnamedAddress::kAnnounceAddress).
std::string ApplyNotifySourceOrFallBack(statd::NsmOptions& nsm,
                                        const ReverseNameLookup& reverse_name = LookUpReverseName);

}  // namespace nfsrec
