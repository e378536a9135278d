#include "common/rpc/rpcbind_protocol.h"

#include "common/base/logging.h"
#include "common/rpc/rpc_message.h"

namespace nfsrec::rpc {

namespace {
// RFC 5665 bounds a universal address by its netid's address form; 256
// covers IPv6 with the port suffix many times over.
constexpr size_t kMaxUaddrBytes = 256;
}  // namespace

std::vector<uint8_t> EncodePmapGetport(uint32_t prog, uint32_t vers, uint32_t protocol) {
  XdrWriter w;
  w.PutUint32(prog);
  w.PutUint32(vers);
  w.PutUint32(protocol);
  w.PutUint32(0);
  return std::move(w).Take();
}

Result<uint16_t> DecodePmapGetportReply(std::span<const uint8_t> results) {
  XdrReader r(results);
  uint32_t port = 0;
  if (!r.GetUint32(&port) || port > 65535) return Status::InvalidArgument("bad PMAP_GETPORT reply");
  return static_cast<uint16_t>(port);
}

std::vector<uint8_t> EncodeRpcbGetaddr(uint32_t prog, uint32_t vers, const std::string& netid) {
  XdrWriter w;
  w.PutUint32(prog);
  w.PutUint32(vers);
  w.PutString(netid);
  w.PutString("");  // r_addr
  w.PutString("");  // r_owner
  return std::move(w).Take();
}

Result<std::string> DecodeRpcbGetaddrUaddr(std::span<const uint8_t> results) {
  XdrReader r(results);
  std::string uaddr;
  if (!r.GetString(kMaxUaddrBytes, &uaddr)) {
    return Status::InvalidArgument("bad RPCB_GETADDR reply");
  }
  return uaddr;
}

Result<uint16_t> DecodeRpcbGetaddrReply(std::span<const uint8_t> results) {
  NFSREC_ASSIGN_OR_RETURN(std::string uaddr, DecodeRpcbGetaddrUaddr(results));
  if (uaddr.empty()) return uint16_t{0};
  return PortFromUniversalAddress(uaddr);
}

std::string UniversalAddress(std::string_view numeric_address, uint16_t port) {
  return StrCat(numeric_address, ".", port >> 8, ".", port & 0xff);
}

Result<uint16_t> PortFromUniversalAddress(const std::string& uaddr) {
  auto last = uaddr.rfind('.');
  if (last == std::string::npos || last == 0) return Status::InvalidArgument("bad uaddr " + uaddr);
  auto prev = uaddr.rfind('.', last - 1);
  if (prev == std::string::npos) return Status::InvalidArgument("bad uaddr " + uaddr);
  std::string hi = uaddr.substr(prev + 1, last - prev - 1);
  std::string lo = uaddr.substr(last + 1);
  auto num = [](const std::string& s, int* out) {
    if (s.empty() || s.size() > 3 || s.find_first_not_of("0123456789") != std::string::npos) {
      return false;
    }
    *out = std::stoi(s);
    return *out <= 255;
  };
  int h = 0, l = 0;
  if (!num(hi, &h) || !num(lo, &l)) return Status::InvalidArgument("bad uaddr " + uaddr);
  return static_cast<uint16_t>(h * 256 + l);
}

}  // namespace nfsrec::rpc
