#include "daemon/notify_source.h"

#include <errno.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "common/base/logging.h"
#include "common/base/unique_fd.h"

namespace nfsrec {
namespace {

struct AddrinfoFree {
  void operator()(addrinfo* ai) const { ::freeaddrinfo(ai); }
};
using AddrinfoPtr = std::unique_ptr<addrinfo, AddrinfoFree>;

Result<AddrinfoPtr> Lookup(const std::string& host, int flags) {
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = flags;
  addrinfo* res = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc == EAI_NONAME) return Status::NotFound(::gai_strerror(rc));
  if (rc != 0) return Status::InvalidArgument(::gai_strerror(rc));
  return AddrinfoPtr(res);
}

Result<std::string> NameInfo(const addrinfo& ai, int flags) {
  char host[NI_MAXHOST];
  const int rc = ::getnameinfo(ai.ai_addr, ai.ai_addrlen, host, sizeof(host), nullptr, 0, flags);
  if (rc != 0) return Status::NotFound(::gai_strerror(rc));
  return std::string(host);
}

}  // namespace

Result<std::string> LookUpReverseName(const std::string& numeric_address) {
  NFSREC_ASSIGN_OR_RETURN(AddrinfoPtr ai, Lookup(numeric_address, AI_NUMERICHOST));
  return NameInfo(*ai, NI_NAMEREQD);
}

Result<NotifySource> ResolveNotifySource(const std::string& addr_or_name, UnnamedAddress unnamed,
                                         const ReverseNameLookup& reverse_name) {
  auto unusable = [&](const Status& why) {
    return Status::InvalidArgument(
        StrCat("my_name '", Printable(addr_or_name), "' is unusable: ", why.message()));
  };
  Result<AddrinfoPtr> numeric = Lookup(addr_or_name, AI_NUMERICHOST);
  if (numeric.ok()) {
    NotifySource out;
    Result<std::string> address = NameInfo(**numeric, NI_NUMERICHOST);
    if (!address.ok()) return unusable(address.status());
    out.bind_address = *address;
    Result<std::string> name = reverse_name(out.bind_address);
    if (name.ok() && !name->empty()) {
      out.name = *name;
    } else if (unnamed == UnnamedAddress::kAnnounceAddress) {
      out.name = out.bind_address;
    } else {
      return unusable(name.ok() ? Status::NotFound("empty reverse name") : name.status());
    }
    return out;
  }
  if (!numeric.status().IsNotFound()) return unusable(numeric.status());
  Result<AddrinfoPtr> forward = Lookup(addr_or_name, 0);
  if (!forward.ok()) return unusable(forward.status());
  Result<std::string> address = NameInfo(**forward, NI_NUMERICHOST);
  if (!address.ok()) return unusable(address.status());
  return NotifySource{*address, addr_or_name};
}

Status ApplyNotifySource(statd::NsmOptions& nsm) {
  if (nsm.my_name.empty()) return Status::Ok();
  NFSREC_ASSIGN_OR_RETURN(NotifySource source, ResolveNotifySource(nsm.my_name));
  nsm.notify_source = std::move(source.bind_address);
  nsm.my_name = std::move(source.name);
  return Status::Ok();
}

std::string ApplyNotifySourceOrFallBack(statd::NsmOptions& nsm,
                                        const ReverseNameLookup& reverse_name) {
  if (nsm.my_name.empty()) return "";
  Result<NotifySource> source =
      ResolveNotifySource(nsm.my_name, UnnamedAddress::kAnnounceAddress, reverse_name);
  if (!source.ok()) {
    return StrCat(source.status().message(), "; SM_NOTIFY announces it as given, from any address");
  }
  // Can this host send from it?  Binding port 0 tells without a packet.
  Result<AddrinfoPtr> ai = Lookup(source->bind_address, AI_NUMERICHOST);
  if (!ai.ok()) return StrCat("source address ", source->bind_address, ": ", ai.status().message());
  UniqueFd fd(::socket((*ai)->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd || ::bind(fd.get(), (*ai)->ai_addr, (*ai)->ai_addrlen) != 0) {
    const std::string why = std::strerror(errno);
    nsm.my_name = source->name;
    return StrCat("cannot send from ", source->bind_address, " (", why, "); SM_NOTIFY announces ",
                  Printable(nsm.my_name), " from any address");
  }
  nsm.notify_source = std::move(source->bind_address);
  nsm.my_name = std::move(source->name);
  return "";
}

}  // namespace nfsrec
