// Fuzz target: nfs.conf (daemon/nfs_conf.h): the line syntax, continuation
// lines, sections, quoting, "$name" values, includes and the .d directories,
// then the typed getters the daemon's configuration uses.
//
// Input: up to five files separated by NUL bytes, in this order:
//   /etc/nfs.conf, /etc/nfs.conf.d/10-site.conf, /etc/include.conf,
//   /usr/etc/nfs.conf, /etc/sub/nested.conf
// They live in a FakeFileSystem, so an include of any path (absolute,
// "../..", "/proc/...") reads only these files: nothing on the real disk is
// ever opened, whatever the input says.
#include <optional>
#include <string>
#include <string_view>

#include "daemon/nfs_conf.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/support/fake_file_system.h"

namespace nfsrec::fuzz {
namespace {

constexpr const char* kFiles[] = {"/etc/nfs.conf", "/etc/nfs.conf.d/10-site.conf",
                                  "/etc/include.conf", "/usr/etc/nfs.conf", "/etc/sub/nested.conf"};

std::optional<std::string> Env(const std::string& name) {
  if (name == "HOSTNAME") return std::string("server1");
  if (name == "EMPTY") return std::string();
  return std::nullopt;
}

// What the daemon asks (daemon_config, notify_config, cltrack_config).
void Query(const NfsConf& conf) {
  for (std::string_view section : {"statd", "sm-notify", "nfsdcld", "nfsdcltrack", "general"}) {
    for (std::string_view tag : {"port", "outgoing-port", "name", "state-directory-path",
                                 "ha-callout", "debug", "storagedir", "retry-time"}) {
      (void)conf.Get(section, tag);
      (void)conf.GetBool(section, tag);
      (void)conf.GetPort(section, tag);
      (void)conf.GetCount(section, tag, 1 << 20);
    }
  }
}

}  // namespace
}  // namespace nfsrec::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nfsrec;
  using namespace nfsrec::fuzz;
  std::vector<std::string_view> parts = SplitAtNul(AsText(data, size));
  FakeFileSystem fs;
  for (size_t i = 0; i < parts.size() && i < std::size(kFiles); ++i) {
    fs.SetFile(kFiles[i], std::string(parts[i]));
  }
  NfsConf loaded = NfsConf::Load(fs, NfsConf::kDefaultPath, Env);
  NFSREC_FUZZ_CHECK(loaded.files().size() <= 100000);
  Query(loaded);
  NfsConf text = NfsConf::FromText(parts[0], "nfs.conf", Env);
  Query(text);
  return 0;
}
