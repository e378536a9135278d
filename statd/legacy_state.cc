#include "statd/legacy_state.h"

#include <cstring>
#include <optional>
#include <vector>

#include "common/base/logging.h"
#include "statd/nsm_codec.h"

namespace nfsrec::statd {
namespace {

// rpc.statd reads lines with a 1096-byte buffer; a file of many records is
// still small.  Anything larger is not one of its files.
constexpr size_t kMaxLegacyFile = 4 << 20;
constexpr size_t kPrivOffset = 36;      // after four "%08x " fields
constexpr size_t kMaxProblemLines = 3;  // per file

// Exactly s.size() hex digits (1 to 8).
std::optional<uint32_t> Hex(std::string_view s) {
  if (s.empty() || s.size() > 8) return std::nullopt;
  uint32_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else {
      return std::nullopt;
    }
    v = v << 4 | static_cast<uint32_t>(d);
  }
  return v;
}

// Every record of every regular file in `dir`, in name order.
void ReadList(FileSystem& fs, const std::string& dir, std::vector<MonitorRecord>& out,
              std::vector<std::string>& problems) {
  Result<std::vector<DirEntry>> entries = fs.ListDirectory(dir);
  if (!entries.ok()) {
    if (!entries.status().IsNotFound()) problems.push_back(entries.status().ToString());
    return;
  }
  // ListDirectory gives the names in byte order.
  for (const DirEntry& entry : *entries) {
    if (entry.name[0] == '.' || entry.type != FileType::kRegular) continue;
    const std::string& name = entry.name;
    const std::string path = dir + "/" + name;
    Result<std::string> text =
        fs.ReadSmallFile(path, ReadFileOptions{.max_bytes = kMaxLegacyFile, .no_follow = true});
    if (!text.ok()) {
      problems.push_back(text.status().ToString());
      continue;
    }
    size_t good = 0;
    size_t bad = 0;
    size_t lineno = 0;
    std::string_view rest = *text;
    while (!rest.empty()) {
      size_t nl = rest.find('\n');
      std::string_view line = rest.substr(0, nl);
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
      ++lineno;
      if (line.empty()) continue;
      Result<MonitorRecord> rec = ParseLegacyMonitorLine(line, name);
      if (!rec.ok()) {
        // A few lines say what is wrong; a file of garbage must not flood the log.
        if (++bad <= kMaxProblemLines) {
          problems.push_back(StrCat(path, ":", lineno, ": ", rec.status().message()));
        }
        continue;
      }
      out.push_back(std::move(rec).value());
      ++good;
    }
    if (bad > kMaxProblemLines) {
      problems.push_back(StrCat(path, ": ", bad - kMaxProblemLines, " more damaged lines"));
    }
    if (good == 0) problems.push_back(StrCat(path, ": no monitor record"));
  }
}

// Regular files not starting with '.' in dir (what ReadList would read).
size_t CountListFiles(FileSystem& fs, const std::string& dir) {
  Result<std::vector<DirEntry>> entries = fs.ListDirectory(dir);
  if (!entries.ok()) return 0;
  size_t n = 0;
  for (const DirEntry& entry : *entries) {
    if (!entry.name.empty() && entry.name[0] != '.' && entry.type == FileType::kRegular) ++n;
  }
  return n;
}

// What rpc.statd left in dir, as "dir/sm (2 files), dir/state (state 7)",
// or "" if nothing worth importing.
std::string DescribeLegacyFiles(FileSystem& fs, const std::string& dir) {
  std::vector<std::string> found;
  if (size_t n = CountListFiles(fs, dir + "/sm"); n > 0) {
    found.push_back(StrCat(dir, "/sm (", n, " monitored host(s))"));
  }
  if (size_t n = CountListFiles(fs, dir + "/sm.bak"); n > 0) {
    found.push_back(StrCat(dir, "/sm.bak (", n, " host(s) to notify)"));
  }
  if (int32_t state = ReadLegacyState(fs, dir); state > 0) {
    found.push_back(StrCat(dir, "/state (state ", state, ")"));
  }
  std::string text;
  for (const std::string& f : found) text += (text.empty() ? "" : ", ") + f;
  return text;
}

}  // namespace

std::string MisplacedLegacyFiles(FileSystem& fs, const std::string& state_dir) {
  std::string dir = state_dir;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  // Fedora's place under a Debian state directory, and Debian's place
  // above a Fedora one.
  std::vector<std::string> others = {dir + "/statd"};
  const size_t slash = dir.rfind('/');
  if (slash != std::string::npos && dir.substr(slash + 1) == "statd") {
    others.push_back(slash == 0 ? "/" : dir.substr(0, slash));
  }
  for (const std::string& other : others) {
    std::string found = DescribeLegacyFiles(fs, other == "/" ? "" : other);
    if (found.empty()) continue;
    return StrCat(found, " not imported: they are rpc.statd's files outside the state directory ",
                  dir,
                  ", which is the only place read. To import them instead, set "
                  "state-directory-path = ",
                  other,
                  " in the [statd] section of nfs.conf (or start "
                  "with -P ",
                  other, ")");
  }
  return "";
}

int32_t ReadLegacyState(FileSystem& fs, const std::string& state_dir) {
  // A FIFO in its place reads as empty (FileSystem never blocks on one).
  Result<std::string> bytes = fs.ReadSmallFile(
      state_dir + "/state",
      ReadFileOptions{.max_bytes = sizeof(int32_t), .truncate = true, .no_follow = true});
  int32_t state = 0;
  if (!bytes.ok() || bytes->size() != sizeof(state)) return 0;
  std::memcpy(&state, bytes->data(), sizeof(state));
  return state > 0 ? state : 0;
}

Result<MonitorRecord> ParseLegacyMonitorLine(std::string_view line, const std::string& canonical) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(
        StrCat("not an rpc.statd monitor record (", why, "): ", Printable(line.substr(0, 120))));
  };
  if (line.size() < kPrivOffset + 2 * kCookieSize + 2) return bad("too short");
  uint32_t fields[4];
  for (size_t i = 0; i < 4; ++i) {
    std::optional<uint32_t> v = Hex(line.substr(i * 9, 8));
    if (!v || line[i * 9 + 8] != ' ') return bad("address, program, version or procedure");
    fields[i] = *v;
  }
  MonitorRecord rec;
  for (size_t i = 0; i < kCookieSize; ++i) {
    std::optional<uint32_t> v = Hex(line.substr(kPrivOffset + 2 * i, 2));
    if (!v) return bad("priv");
    rec.priv[i] = static_cast<uint8_t>(*v);
  }
  std::string_view names = line.substr(kPrivOffset + 2 * kCookieSize);
  if (names.front() != ' ') return bad("priv");
  names.remove_prefix(1);
  size_t sp = names.find(' ');
  if (sp == 0 || sp == std::string_view::npos) return bad("names");
  std::string_view mon_name = names.substr(0, sp);
  std::string_view my_name = names.substr(sp);
  while (!my_name.empty() && my_name.front() == ' ') my_name.remove_prefix(1);
  if (my_name.empty()) return bad("my_name");
  if (mon_name.size() > kMaxNameLen || my_name.size() > kMaxNameLen) return bad("name too long");
  rec.key.mon_name = std::string(mon_name);
  rec.key.my_name = std::string(my_name);
  rec.key.my_prog = static_cast<int32_t>(fields[1]);
  rec.key.my_vers = static_cast<int32_t>(fields[2]);
  rec.key.my_proc = static_cast<int32_t>(fields[3]);
  rec.canonical_name = canonical;
  return rec;
}

LegacyStatd ReadLegacyStatd(FileSystem& fs, const std::string& state_dir) {
  LegacyStatd legacy;
  legacy.state = ReadLegacyState(fs, state_dir);
  ReadList(fs, state_dir + "/sm", legacy.monitors, legacy.problems);
  ReadList(fs, state_dir + "/sm.bak", legacy.notify, legacy.problems);
  if (std::string elsewhere = MisplacedLegacyFiles(fs, state_dir); !elsewhere.empty()) {
    legacy.problems.push_back(std::move(elsewhere));
  }
  return legacy;
}

}  // namespace nfsrec::statd
