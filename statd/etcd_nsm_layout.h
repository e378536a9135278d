// The byte forms of EtcdNsmStore's keys and values (the layout is documented
// in statd/etcd_nsm_store.h): hex for bytes, fixed-width hex for numbers so
// that keys sort by value, and the JSON of a record.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/base/status.h"
#include "statd/monitor.h"

namespace nfsrec::statd {

// Lower-case hex of any bytes, and back (false for odd length or a digit
// outside [0-9a-f]).
std::string Hex(std::string_view bytes);
bool Unhex(std::string_view text, std::string* out);
// v as exactly `digits` hex digits (leading zeros), and back.
std::string FixedHex(uint64_t v, int digits);
bool ParseFixedHex(std::string_view text, size_t digits, uint64_t* v);
// An int32 state as 8 hex digits of (state + 2^31): byte order is number order.
std::string StateText(int32_t s);

// What a record's value holds beside the MonitorRecord.
struct RecordStamp {
  int64_t updated = 0;  // Unix seconds of the PutMonitor
  int64_t seq = 0;      // wall-clock ns of the PutMonitor, increasing within a store
};
std::string EncodeRecord(const MonitorRecord& r, const RecordStamp& stamp);
// Fills the record's value fields (not its key); Corruption for anything
// but the JSON EncodeRecord writes.
Status DecodeRecord(std::string_view value, MonitorRecord* r, RecordStamp* stamp);

// The K of the layout, and back (false for a malformed text).
std::string MonitorKeyText(const MonitorKey& key);
bool ParseMonitorKeyText(std::string_view text, MonitorKey* key);

}  // namespace nfsrec::statd
