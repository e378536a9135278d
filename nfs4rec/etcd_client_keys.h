// The keys and values of EtcdClientStore (the layout is documented in
// nfs4rec/etcd_client_store.h): pure functions, no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/base/result.h"
#include "nfs4rec/client_store.h"

namespace nfsrec::nfs4rec::etcd_keys {

// Lowercase hex of bytes, and back (InvalidArgument on odd length or a
// character that is not a lowercase hex digit).
std::string Hex(std::string_view bytes);
Result<std::string> Unhex(std::string_view hex);

// "meta", "rec/", "rec/<16 hex digits>/", "rec/<16 hex>/<hex id>", each
// relative to the store's prefix.
inline constexpr std::string_view kMeta = "meta";
inline constexpr std::string_view kRecords = "rec/";
std::string EpochPart(uint64_t epoch);
std::string RecordPart(uint64_t epoch, std::string_view id);
// The id of a record key that starts with `epoch_prefix` (the whole key,
// prefix included); InvalidArgument if it is not one.
Result<std::string> IdOfKey(std::string_view key, std::string_view epoch_prefix);

// {"current":C,"recovery":R}, exactly as EncodeEpochs writes it; Corruption
// for anything else or impossible epochs (current 0, recovery >= current).
std::string EncodeEpochs(const Epochs& e);
Result<Epochs> DecodeEpochs(std::string_view value);

// The record value (its id lives in the key): "<time> <-|0|1> <0|1> <hex|->".
std::string EncodeRecord(const ClientRecord& r);
// Corruption for a malformed value.
Result<ClientRecord> DecodeRecord(std::string id, std::string_view value);

}  // namespace nfsrec::nfs4rec::etcd_keys
