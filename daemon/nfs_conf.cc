#include "daemon/nfs_conf.h"

#include <strings.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "common/base/logging.h"

namespace nfsrec {
namespace {

// Nested includes beyond this are refused.
constexpr int kMaxIncludeDepth = 10;
// What one load reads at most: includes can fan out (a file including the
// next one twice, twenty times over, names a million files).
constexpr size_t kMaxFilesPerLoad = 1000;
constexpr size_t kMaxLinesPerLoad = 100000;
// nfs.conf is a small text file; a larger one is a mistake, not a config.
// (nfsconf(8) rewrites it under an exclusive flock, hence the shared one.)
constexpr size_t kMaxFileSize = 1 << 20;

bool IsBlank(char c) { return c == ' ' || c == '\t'; }
bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::string_view TrimBlanks(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsBlank(s.back())) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool EqualNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// The key of entries_: section and tag are case-folded, a subsection is
// compared without case too.
std::string EntryKey(std::string_view section, bool has_subsection, std::string_view subsection,
                     std::string_view tag) {
  std::string key = Lower(section);
  key += '\0';
  if (has_subsection) key += '"' + Lower(subsection);
  key += '\0';
  key += Lower(tag);
  return key;
}

// The same file, spelt "a/./b" or "a/../a/b", is one entry of the include stack.
std::string NormalPath(const std::string& path) {
  return std::filesystem::path(path).lexically_normal().string();
}

}  // namespace

std::optional<std::string> GetEnv(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

NfsConf NfsConf::Load(FileSystem& fs, const std::string& path, EnvLookup env) {
  NfsConf conf;
  conf.env_ = std::move(env);
  conf.fs_ = &fs;
  if (path.rfind("/etc/", 0) == 0) {
    const std::string usr = "/usr" + path;
    conf.ReadFile(usr, Cursor{}, 0);
    conf.ReadDir(usr + ".d");
  }
  conf.ReadFile(path, Cursor{}, 0);
  conf.ReadDir(path + ".d");
  conf.fs_ = nullptr;
  return conf;
}

NfsConf NfsConf::FromText(std::string_view text, const std::string& name, EnvLookup env,
                          FileSystem* fs) {
  NfsConf conf;
  conf.env_ = std::move(env);
  conf.fs_ = fs;
  conf.include_stack_.push_back(NormalPath(name));
  conf.Parse(text, name, Cursor{}, 0);
  conf.fs_ = nullptr;
  return conf;
}

bool NfsConf::ReadFile(const std::string& path, Cursor cursor, int depth) {
  if (fs_ == nullptr) return false;
  if (OverBudget("")) return true;  // not "unreadable": the bound was warned about
  Result<std::string> text =
      fs_->ReadSmallFile(path, ReadFileOptions{.max_bytes = kMaxFileSize, .shared_lock = true});
  if (!text.ok()) {
    if (text.status().code() != Status::Code::kNotFound) {
      warnings_.push_back(text.status().ToString());
    }
    return false;
  }
  files_.push_back(path);
  ++files_read_;
  include_stack_.push_back(NormalPath(path));
  Parse(*text, path, std::move(cursor), depth);
  include_stack_.pop_back();
  return true;
}

bool NfsConf::OverBudget(const std::string& where) {
  if (files_read_ < kMaxFilesPerLoad && lines_read_ < kMaxLinesPerLoad) return false;
  if (!budget_warned_) {
    budget_warned_ = true;
    warnings_.push_back(StrCat(where, "more than ", kMaxFilesPerLoad, " files or ",
                               kMaxLinesPerLoad, " lines; the rest is ignored"));
  }
  return true;
}

void NfsConf::ReadDir(const std::string& dir) {
  Result<std::vector<DirEntry>> entries = fs_->ListDirectory(dir);
  if (!entries.ok()) {
    // NotFound covers "no such directory" and "not a directory".
    if (!entries.status().IsNotFound()) warnings_.push_back(entries.status().ToString());
    return;
  }
  std::vector<std::string> names;
  for (DirEntry& e : *entries) {
    std::string name = std::move(e.name);
    if (name.empty() || name[0] == '.') continue;
    if (e.type != FileType::kRegular && e.type != FileType::kSymlink) continue;
    constexpr std::string_view kExt = ".conf";
    const bool conf_file = name.size() > kExt.size() &&
                           name.compare(name.size() - kExt.size(), kExt.size(), kExt) == 0;
    if (!conf_file) continue;
    names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
    return ::strverscmp(a.c_str(), b.c_str()) < 0;
  });
  for (const std::string& n : names) {
    if (OverBudget("")) return;
    ReadFile(dir + "/" + n, Cursor{}, 0);
  }
}

void NfsConf::Parse(std::string_view text, const std::string& name, Cursor cursor, int depth) {
  std::string line;
  int lineno = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) {
      warnings_.push_back(StrCat(name, ":", lineno + 1, ": last line has no newline; ignored"));
      return;
    }
    std::string_view piece = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++lineno;
    if (lines_read_ >= kMaxLinesPerLoad) {
      OverBudget(StrCat(name, ":", lineno, ": "));
      return;
    }
    ++lines_read_;
    // A backslash before the newline continues the line; both become blanks.
    if (!piece.empty() && piece.back() == '\\') {
      line.append(piece.substr(0, piece.size() - 1));
      line.append("  ");
      continue;
    }
    line.append(piece);
    ParseLine(line, name, lineno, cursor, depth);
    line.clear();
  }
}

void NfsConf::ParseLine(std::string_view line, const std::string& name, int lineno, Cursor& cursor,
                        int depth) {
  auto warn = [&](std::string_view why) {
    warnings_.push_back(StrCat(name, ":", lineno, ": ", why));
  };
  while (!line.empty() && IsSpace(line.front())) line.remove_prefix(1);
  if (line.empty() || line.front() == '#' || line.front() == ';') return;

  if (line.front() == '[') {
    cursor = Cursor{};
    line.remove_prefix(1);
    size_t close = line.find(']');
    if (close == std::string_view::npos) {
      warn("no closing ']'; lines up to the next section are ignored");
      return;
    }
    std::string_view head = TrimBlanks(line.substr(0, close));
    size_t quote = head.find('"');
    if (quote == std::string_view::npos) {
      cursor.section = Lower(head);
      cursor.in_section = true;
      return;
    }
    std::string_view sub = head.substr(quote + 1);
    size_t end = sub.find('"');
    if (end == std::string_view::npos) {
      warn("no closing '\"' in the section name; lines up to the next section are ignored");
      return;
    }
    cursor.section = Lower(TrimBlanks(head.substr(0, quote)));
    cursor.subsection = std::string(sub.substr(0, end));
    cursor.has_subsection = true;
    cursor.in_section = true;
    return;
  }

  size_t eq = line.find('=');
  if (eq == std::string_view::npos) {
    warn("neither a section nor an assignment; ignored");
    return;
  }
  if (!cursor.in_section) {
    warn("assignment outside any section; ignored");
    return;
  }
  std::string_view tag = TrimBlanks(line.substr(0, eq));
  std::string_view value = line.substr(eq + 1);
  while (!value.empty() && IsBlank(value.front())) value.remove_prefix(1);
  if (!value.empty() && (value.front() == '"' || value.front() == '\'')) {
    const char q = value.front();
    value.remove_prefix(1);
    size_t end = value.find(q);
    if (end == std::string_view::npos) {
      warn("unmatched quote; ignored");
      return;
    }
    value = value.substr(0, end);
  } else {
    value = value.substr(0, std::min(value.find('#'), value.find(';')));
    while (!value.empty() && IsSpace(value.back())) value.remove_suffix(1);
  }
  if (tag.empty()) {
    warn("assignment without a tag; ignored");
    return;
  }

  if (EqualNoCase(tag, "include")) return Include(value, name, lineno, cursor, depth);
  if (value.empty()) return;
  // A later setting replaces an earlier one of the same place.
  entries_.insert_or_assign(EntryKey(cursor.section, cursor.has_subsection, cursor.subsection, tag),
                            Entry{cursor.section, cursor.subsection, cursor.has_subsection,
                                  std::string(tag), std::string(value), StrCat(name, ":", lineno)});
}

void NfsConf::Include(std::string_view value, const std::string& name, int lineno,
                      const Cursor& cursor, int depth) {
  const std::string where = StrCat(name, ":", lineno, ": ");
  bool optional = false;
  if (!value.empty() && value.front() == '-') {
    optional = true;
    value.remove_prefix(1);
  }
  std::string target(value);
  if (target.empty() || target.front() != '/') target = DirName(name) + "/" + target;
  const std::string normal = NormalPath(target);
  if (std::find(include_stack_.begin(), include_stack_.end(), normal) != include_stack_.end()) {
    if (cycle_warned_.insert(normal).second) {
      warnings_.push_back(
          StrCat(where, "include of ", target, ", which is already being read; ignored"));
    }
    return;
  }
  if (depth >= kMaxIncludeDepth) {
    if (!depth_warned_) {
      depth_warned_ = true;
      warnings_.push_back(
          StrCat(where, "includes nested deeper than ", kMaxIncludeDepth, "; ignored"));
    }
    return;
  }
  if (OverBudget(where)) return;
  if (!ReadFile(target, cursor, depth + 1) && !optional) {
    warnings_.push_back(StrCat(where, "cannot read the included file ", target));
  }
}

const NfsConf::Entry* NfsConf::Find(std::string_view section, std::string_view tag) const {
  auto it = entries_.find(EntryKey(section, false, "", tag));
  return it == entries_.end() ? nullptr : &it->second;
}

std::optional<std::string> NfsConf::Get(std::string_view section, std::string_view tag) const {
  const Entry* e = Find(section, tag);
  // "$name": the environment first, then [environment]; bounded, because
  // [environment] values may point at each other.
  for (int hops = 0; e != nullptr && hops < 8; ++hops) {
    if (e->value.empty() || e->value.front() != '$') return e->value;
    const std::string var = e->value.substr(1);
    if (env_) {
      std::optional<std::string> v = env_(var);
      if (v && !v->empty()) return v;
    }
    e = Find("environment", var);
  }
  return std::nullopt;
}

Result<std::optional<bool>> NfsConf::GetBool(std::string_view section, std::string_view tag) const {
  std::optional<std::string> v = Get(section, tag);
  if (!v) return std::optional<bool>();
  for (const char* t : {"1", "t", "true", "y", "yes", "on"}) {
    if (EqualNoCase(*v, t)) return std::optional<bool>(true);
  }
  for (const char* f : {"0", "f", "false", "n", "no", "off"}) {
    if (EqualNoCase(*v, f)) return std::optional<bool>(false);
  }
  return Status::InvalidArgument(
      StrCat("nfs.conf [", section, "] ", tag, " = ", Printable(*v), ": not a yes/no value"));
}

Result<std::optional<int64_t>> NfsConf::GetCount(std::string_view section, std::string_view tag,
                                                 int64_t max) const {
  std::optional<std::string> v = Get(section, tag);
  if (!v) return std::optional<int64_t>();
  int64_t n = 0;
  // At most 18 digits, checked before any digit is added, so n never overflows.
  bool ok = !v->empty() && v->size() <= 18;
  for (size_t i = 0; ok && i < v->size(); ++i) {
    const char c = (*v)[i];
    if (c < '0' || c > '9') {
      ok = false;
      break;
    }
    n = n * 10 + (c - '0');
  }
  if (!ok || n > max) {
    return Status::InvalidArgument(StrCat("nfs.conf [", section, "] ", tag, " = ", Printable(*v),
                                          ": not a number from 0 to ", max));
  }
  return std::optional<int64_t>(n);
}

Result<std::optional<uint16_t>> NfsConf::GetPort(std::string_view section,
                                                 std::string_view tag) const {
  Result<std::optional<int64_t>> n = GetCount(section, tag, 65535);
  if (!n.ok() || (*n && **n == 0)) {
    return Status::InvalidArgument(StrCat("nfs.conf [", section, "] ", tag, " = ",
                                          Printable(Get(section, tag).value_or("")),
                                          ": bad port number"));
  }
  if (!*n) return std::optional<uint16_t>();
  return std::optional<uint16_t>(static_cast<uint16_t>(**n));
}

void NfsConf::WarnAbout(std::string_view section, std::string_view tag, std::string_view why) {
  const std::string key = EntryKey(section, false, "", tag);
  if (!value_warned_.insert(key).second) return;
  const Entry* e = Find(section, tag);
  const std::string where = e != nullptr ? e->where + ": " : std::string();
  warnings_.push_back(StrCat(where, "[", section, "] ", tag, ": ", why));
}

std::optional<bool> NfsConf::ReadBool(std::string_view section, std::string_view tag) {
  Result<std::optional<bool>> v = GetBool(section, tag);
  if (v.ok()) return *v;
  WarnAbout(section, tag,
            StrCat(Printable(Get(section, tag).value_or("")),
                   " is not a yes/no value (1 t true y yes on, 0 f false n no off); "
                   "the default applies"));
  return std::nullopt;
}

std::optional<int64_t> NfsConf::ReadNumber(std::string_view section, std::string_view tag,
                                           int64_t min, int64_t max) {
  std::optional<std::string> v = Get(section, tag);
  if (!v) return std::nullopt;
  // atoi(): leading white space, one sign, digits; the rest is ignored.
  size_t i = 0;
  while (i < v->size() && IsSpace((*v)[i])) ++i;
  bool negative = false;
  if (i < v->size() && ((*v)[i] == '-' || (*v)[i] == '+')) negative = (*v)[i++] == '-';
  const size_t digits_at = i;
  int64_t n = 0;
  bool overflow = false;
  for (; i < v->size() && (*v)[i] >= '0' && (*v)[i] <= '9'; ++i) {
    if (n > (INT64_MAX - 9) / 10) overflow = true;
    if (!overflow) n = n * 10 + ((*v)[i] - '0');
  }
  if (negative) n = -n;
  const std::string shown = Printable(*v);
  if (overflow) {
    WarnAbout(section, tag, StrCat(shown, " is out of range; the default applies"));
    return std::nullopt;
  }
  if (i == digits_at || i != v->size()) {
    WarnAbout(section, tag, StrCat(shown, " is not a number; read as ", n, ", as nfs-utils does"));
  }
  if (n < min || n > max) {
    if (i == digits_at || i != v->size()) return std::nullopt;  // warned above
    WarnAbout(section, tag, StrCat(shown, " is outside ", min, "..", max, "; the default applies"));
    return std::nullopt;
  }
  return n;
}

std::optional<uint16_t> NfsConf::ReadPort(std::string_view section, std::string_view tag) {
  std::optional<int64_t> n = ReadNumber(section, tag, 0, 65535);
  if (!n || *n == 0) return std::nullopt;
  return static_cast<uint16_t>(*n);
}

std::vector<std::string> NfsConf::ReadList(std::string_view section, std::string_view tag) const {
  std::vector<std::string> out;
  std::optional<std::string> v = Get(section, tag);
  if (!v) return out;
  std::string item;
  for (char c : *v + " ") {
    if (IsSpace(c) || c == ',') {
      if (!item.empty()) out.push_back(std::move(item));
      item.clear();
    } else {
      item += c;
    }
  }
  return out;
}

void NfsConf::WarnUnknownTags(std::string_view section,
                              const std::vector<std::string_view>& known) {
  const std::string lower = Lower(section);
  for (const auto& [key, e] : entries_) {
    if (e.section != lower || e.has_subsection) continue;
    bool found = false;
    for (std::string_view k : known) found = found || EqualNoCase(k, e.tag);
    if (!found) {
      warnings_.push_back(
          StrCat(e.where, ": unknown key ", Printable(e.tag), " in [", section, "]; ignored"));
    }
  }
}

void WarnUnknownKeys(NfsConf& conf, const std::vector<std::string_view>& sections) {
  static const std::map<std::string_view, std::vector<std::string_view>> kKnown = {
      {"general", {"pipefs-directory"}},
      {"statd",
       {"port", "outgoing-port", "name", "state-directory-path", "ha-callout", "no-notify",
        "debug"}},
      {"sm-notify",
       {"debug", "force", "retry-time", "update-state", "outgoing-port", "outgoing-addr",
        "lift-grace"}},
      {"lockd", {"port", "udp-port"}},
      {"nfsdcld", {"debug", "storagedir"}},
      {"nfsdcltrack", {"debug", "storagedir"}},
      {"nfsrecd",
       {"nfs4", "end-grace-early", "reconcile-interval", "rpcbind-check-interval", "mirror-sm",
        "control-socket", "grace-upload-expired", "backend", "etcd-endpoints", "etcd-cacert",
        "etcd-cert", "etcd-key", "cluster", "instance", "node", "cluster-addresses",
        "cluster-lease-time", "cluster-preflight"}},
  };
  for (std::string_view section : sections) {
    auto it = kKnown.find(section);
    if (it != kKnown.end()) conf.WarnUnknownTags(section, it->second);
  }
}

bool ReadDebugList(NfsConf& conf, std::string_view section) {
  bool on = false;
  for (const std::string& token : conf.ReadList(section, "debug")) {
    bool known = false;
    for (const char* k : {"0", "general", "call", "auth", "parse", "all", "1"}) {
      known = known || EqualNoCase(token, k);
    }
    if (!known) {
      conf.WarnAbout(section, "debug",
                     StrCat("unknown facility ", Printable(token),
                            " (known: 0 general call auth parse all 1)"));
      continue;
    }
    if (token != "0") on = true;
  }
  return on;
}

}  // namespace nfsrec
