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

  // Readers that take a value as nfs-utils does (conf_get_bool,
  // conf_get_num, conf_get_list), for keys nfs-utils also reads: a value it
  // would take otherwise than as written is warned about ("FILE:LINE: ...",
  // once per key) and never stops a daemon.
  //
  // A yes/no value as GetBool; another value gives the default (nullopt).
  std::optional<bool> ReadBool(std::string_view section, std::string_view tag);
  // A number as atoi() reads it: blanks, a sign and leading digits, the rest
  // ignored (warned about), no digits read as 0.  A result outside min..max
  // is warned about and gives the default (nullopt).
  std::optional<int64_t> ReadNumber(std::string_view section, std::string_view tag, int64_t min,
                                    int64_t max);
  // ReadNumber over 0..65535, where 0 (also what "abc" reads as) is "not
  // set", as nfs-utils treats a port of 0.
  std::optional<uint16_t> ReadPort(std::string_view section, std::string_view tag);
  // A list separated by blanks or commas (the `debug` keys).
  std::vector<std::string> ReadList(std::string_view section, std::string_view tag) const;
  // Warns about every tag of [section] (not of its subsections) that is not
  // in `known`: a misspelt key would otherwise be silently ignored.
  void WarnUnknownTags(std::string_view section, const std::vector<std::string_view>& known);
  // Adds a warning for the start-up log.
  void AddWarning(std::string warning) { warnings_.push_back(std::move(warning)); }
  // Adds a warning about the setting (with its FILE:LINE).
  void WarnAbout(std::string_view section, std::string_view tag, std::string_view why);

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
    std::string where;  // "FILE:LINE" of the setting
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
  std::set<std::string> value_warned_;  // section and tag already warned about
};

// Every key of the sections nfsrecd's programs read, the keys' meaning
// being documented where they are applied (daemon/daemon_config.h,
// notify_config.h, nfsdcld_config.h, cltrack_config.h):
//   [general]     pipefs-directory
//   [statd]       port outgoing-port name state-directory-path ha-callout
//                 no-notify debug
//   [sm-notify]   debug force retry-time update-state outgoing-port
//                 outgoing-addr lift-grace
//   [lockd]       port udp-port
//   [nfsdcld]     debug storagedir
//   [nfsdcltrack] debug storagedir
//   [nfsrecd]     nfs4 end-grace-early reconcile-interval rpcbind-check-interval
//                 mirror-sm
// Warns (NfsConf::WarnUnknownTags) about other keys in those of these
// `sections` that a program reads; other daemons' sections are theirs.
void WarnUnknownKeys(NfsConf& conf, const std::vector<std::string_view>& sections);

// The `debug` keys of [statd], [sm-notify] and [nfsdcltrack]: a list of
// xlog facilities (0 general call auth parse all 1).  True if it turns
// debug logging on (any facility but 0); an unknown token is warned about.
bool ReadDebugList(NfsConf& conf, std::string_view section);

}  // namespace nfsrec
