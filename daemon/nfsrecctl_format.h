// How nfsrecctl shows stored values, to people and in --json
// (docs/nfsrecctl-json.md), and how it matches what an administrator types.
//
// Byte strings that may not be UTF-8 (NSM names, cookies, NFSv4 client ids)
// are shown as text when every byte is printable ASCII (0x20..0x7e) and
// otherwise as "hex:" and lower-case hex digits; a text that itself starts
// with "hex:" is shown as hex too, so what is shown can always be typed
// back (ParseClientId).  In JSON such a string is {"hex": "...", "text":
// "..."}, "text" only when the bytes are printable ASCII.  Times are unix
// seconds in JSON and RFC 3339 UTC strings in tables.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"
#include "statd/monitor.h"
#include <nlohmann/json.hpp>

namespace nfsrec {

// nfsrecctl's JSON documents keep their keys in the documented order.
using CtlJson = nlohmann::ordered_json;

// Whether every byte is printable ASCII (0x20..0x7e); false for "".
bool IsPrintableAscii(std::string_view bytes);

// {"hex": ..., "text": ...} as above.
CtlJson BytesJson(std::string_view bytes);

// The bytes for a person: the text, or "hex:..." (see above).
std::string ShowBytes(std::string_view bytes);

// What an administrator typed for a client id: "hex:" and an even number of
// hex digits (either case) gives those bytes, anything else the text as it
// is.  InvalidArgument for "hex:" followed by no digits, an odd count or a
// non-hex character.
Result<std::string> ParseClientId(const std::string& arg);

// "2026-11-30T12:34:56Z" (0 is "1970-01-01T00:00:00Z"; a time gmtime cannot
// represent stays a number).  Not status_report.h's Rfc3339Utc, which
// renders 0 as "".
std::string RecordTimeUtc(int64_t unix_seconds);

// An IPv4 or IPv6 address in presentation form ("[...]" and a "%zone"
// suffix allowed) as 16 bytes, IPv4 as v4-mapped IPv6, so that 10.0.0.1
// and ::ffff:10.0.0.1 compare equal; nullopt if `text` is not an address.
std::optional<std::array<uint8_t, 16>> ParseAddress(std::string_view text);

// Whether `record` is about `host`: its mon_name or its canonical name
// equals `host` ignoring ASCII case (as SM_UNMON matches names), or, when
// `host` is an address, one of them is the same address in any notation.
bool HostMatches(const statd::MonitorRecord& record, const std::string& host);

// Rows under a header line, each column as wide as its widest cell and two
// blanks apart; the last column is not padded (it may hold blanks).
std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);

}  // namespace nfsrec
