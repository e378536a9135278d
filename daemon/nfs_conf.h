// nfs.conf, read the way nfs-utils reads it, so that a site's settings for
// rpc.statd, sm-notify and nfsdcld apply to nfsrecd unchanged.
//
// Files, later ones overriding earlier ones: for a main file under /etc/
// (normally /etc/nfs.conf), first /usr/etc/<name> and the *.conf files of
// /usr/etc/<name>.d, then <name> and the *.conf files of <name>.d.  The .d
// files are taken in version order (strverscmp); names starting with "."
// are skipped.  A missing file is not an error.
//
// Syntax, per line (a backslash before the newline joins the next line):
//   blank, or starting with '#' or ';'      ignored
//   [section]  or  [section "subsection"]   text after ']' is ignored
//   tag = value                             blanks around both trimmed
//   tag = "value"  or  tag = 'value'         kept verbatim up to the quote
//   tag = value # comment                   unquoted: cut at '#' or ';'
//   include = [-]path                       another file, relative to this
//                                           one's directory; '-': optional
// Section and tag names match case-insensitively.  An empty value sets
// nothing.  A value "$name" reads the environment variable, else the tag of
// that name in [environment].  Lines that do not parse, and a last line
// without a newline, are skipped with a warning "FILE:LINE: why".
//
// Bounds, so that includes cannot multiply the work: an include of a file
// that is already being read (a cycle) is skipped, as is one nested deeper
// than 10; one load reads at most 1,000 files and 100,000 lines and ignores
// the rest.  Each of these is warned about once per load, at the first
// place it happened.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"
#include "common/os/file_system.h"

namespace nfsrec {

// The process environment, as an NfsConf::EnvLookup.
std::optional<std::string> GetEnv(const std::string& name);

class NfsConf {
 public:
  static constexpr const char* kDefaultPath = "/etc/nfs.conf";

  // Looks up an environment variable for "$name" values.
  using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

  // Loads `path` and its companions as above, through `fs`.
  static NfsConf Load(FileSystem& fs, const std::string& path, EnvLookup env = {});
  // One text as if it were the file `name`.  Includes resolve beside it and
  // are read through `fs`; with none, an include is a warning.
  static NfsConf FromText(std::string_view text, const std::string& name = "nfs.conf",
                          EnvLookup env = {}, FileSystem* fs = nullptr);

  // The value of `tag` in [section] (not in any [section "sub"]).
  std::optional<std::string> Get(std::string_view section, std::string_view tag) const;
  // Booleans as nfs-utils reads them: 1 t true y yes on / 0 f false n no
  // off, any case.  Another value is an error that names the setting.
  Result<std::optional<bool>> GetBool(std::string_view section, std::string_view tag) const;
  // A port 1..65535; another value is an error that names the setting.
  Result<std::optional<uint16_t>> GetPort(std::string_view section, std::string_view tag) const;
  // A whole number 0..max.
  Result<std::optional<int64_t>> GetCount(std::string_view section, std::string_view tag,
                                          int64_t max) const;

  // Problems met while reading, for the log; none of them stops a daemon.
  const std::vector<std::string>& warnings() const { return warnings_; }
  // Files that were read, in order.
  const std::vector<std::string>& files() const { return files_; }

 private:
  struct Entry {
    std::string section;     // lower case
    std::string subsection;  // as written; empty if none
    bool has_subsection = false;
    std::string tag;
    std::string value;
  };
  // Where a line is in the text: the section it belongs to.
  struct Cursor {
    std::string section;
    std::string subsection;
    bool in_section = false;
    bool has_subsection = false;
  };
  // Reads one file; false if it does not exist or cannot be read (a reason
  // other than "missing" is a warning).
  bool ReadFile(const std::string& path, Cursor cursor, int depth);
  void ReadDir(const std::string& dir);
  void Parse(std::string_view text, const std::string& name, Cursor cursor, int depth);
  void ParseLine(std::string_view line, const std::string& name, int lineno, Cursor& cursor,
                 int depth);
  void Include(std::string_view value, const std::string& name, int lineno, const Cursor& cursor,
               int depth);
  // True once this load has read its share of files or lines; the first
  // time, warns (`where`: "FILE:LINE: " or empty).
  bool OverBudget(const std::string& where);
  const Entry* Find(std::string_view section, std::string_view tag) const;

  // By section, subsection and tag, case-folded: a later setting replaces
  // an earlier one of the same place.
  std::map<std::string, Entry> entries_;
  std::vector<std::string> warnings_;
  std::vector<std::string> files_;
  EnvLookup env_;
  FileSystem* fs_ = nullptr;  // only while loading
  // Only while loading: the files being read (lexically normal paths),
  // outermost first; what was read so far; which bounds were warned about.
  std::vector<std::string> include_stack_;
  size_t files_read_ = 0;
  size_t lines_read_ = 0;
  bool budget_warned_ = false;
  bool depth_warned_ = false;
  std::set<std::string> cycle_warned_;
};

}  // namespace nfsrec
