// The rpcbind / portmapper protocol (RFC 1833): the one definition of its
// program, versions, procedures and port, and codecs for the look-ups this
// project makes.  Pure functions over bytes; no sockets.
//
//   PMAPPROC_GETPORT (v2, proc 3)  args: struct mapping {prog, vers, prot,
//                                  port (ignored)}; result: uint port,
//                                  0 if not registered.
//   RPCBPROC_GETADDR (v3/v4, proc 3) args: struct rpcb {prog, vers,
//                                  string netid, string addr, string owner};
//                                  result: string universal address, ""
//                                  if not registered.
//   RPCBPROC_SET / UNSET (v3/v4, procs 1/2) are made by libtirpc's rpcb_set
//   and rpcb_unset (common/rpc/rpcbind.h).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"

namespace nfsrec::rpc {

inline constexpr uint32_t kRpcbindProgram = 100000;
inline constexpr uint16_t kRpcbindPort = 111;
inline constexpr uint32_t kPmapVersion = 2;   // portmapper
inline constexpr uint32_t kRpcbVersion3 = 3;  // rpcbind
inline constexpr uint32_t kRpcbVersion4 = 4;
inline constexpr uint32_t kPmapProcGetport = 3;
inline constexpr uint32_t kRpcbProcGetaddr = 3;
// Protocol numbers of struct mapping's prot field (IPPROTO_*).
inline constexpr uint32_t kPmapProtoTcp = 6;
inline constexpr uint32_t kPmapProtoUdp = 17;

std::vector<uint8_t> EncodePmapGetport(uint32_t prog, uint32_t vers, uint32_t protocol);
// The port; 0 means not registered.
Result<uint16_t> DecodePmapGetportReply(std::span<const uint8_t> results);
std::vector<uint8_t> EncodeRpcbGetaddr(uint32_t prog, uint32_t vers, const std::string& netid);
// The universal address as sent ("" = not registered).
Result<std::string> DecodeRpcbGetaddrUaddr(std::span<const uint8_t> results);
// The port of RPCB_GETADDR's result; "" gives port 0.
Result<uint16_t> DecodeRpcbGetaddrReply(std::span<const uint8_t> results);

// "h1.h2.h3.h4.p1.p2" / "<ipv6>.p1.p2" (RFC 5665 universal address).
std::string UniversalAddress(std::string_view numeric_address, uint16_t port);
// The port of a universal address.
Result<uint16_t> PortFromUniversalAddress(const std::string& uaddr);

}  // namespace nfsrec::rpc
