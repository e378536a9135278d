// Fuzz target: rpc.statd's files (statd/legacy_state.h): the state number
// and the sm/ and sm.bak/ record lines, read the way a takeover reads them.
//
// Input: parts separated by NUL bytes.  The first is <dir>/state; each
// further part is one file, its first line the file name (the peer's
// canonical name; '/' becomes '_', an empty name "peer") and the rest its
// content, alternately in sm/ and sm.bak/.
// Invariants: every record read back names a peer and has the file's name
// as its canonical name; every line given to the line parser directly either
// parses or fails, and a parsed one has a non-empty mon_name.
#include <string>
#include <string_view>

#include "statd/legacy_state.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/support/fake_file_system.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nfsrec;
  using namespace nfsrec::fuzz;
  const std::string dir = "/var/lib/nfs";
  std::vector<std::string_view> parts = SplitAtNul(AsText(data, size));
  FakeFileSystem fs;
  fs.SetFile(dir + "/state", std::string(parts[0]));
  fs.MakeDir(dir + "/sm");
  fs.MakeDir(dir + "/sm.bak");
  for (size_t i = 1; i < parts.size(); ++i) {
    std::string_view part = parts[i];
    size_t nl = part.find('\n');
    std::string name(part.substr(0, nl));
    std::string_view content = nl == std::string_view::npos ? "" : part.substr(nl + 1);
    for (char& c : name) {
      if (c == '/') c = '_';
    }
    if (name.empty() || name == "." || name == "..") name = "peer";
    fs.SetFile(dir + (i % 2 == 1 ? "/sm/" : "/sm.bak/") + name, std::string(content));

    size_t pos = 0;
    while (pos < content.size()) {
      size_t end = content.find('\n', pos);
      std::string_view line = content.substr(pos, end - pos);
      Result<statd::MonitorRecord> r = statd::ParseLegacyMonitorLine(line, name);
      if (r.ok()) NFSREC_FUZZ_CHECK(!r->key.mon_name.empty());
      if (end == std::string_view::npos) break;
      pos = end + 1;
    }
  }
  (void)statd::ReadLegacyState(fs, dir);
  statd::LegacyStatd legacy = statd::ReadLegacyStatd(fs, dir);
  for (const auto* list : {&legacy.monitors, &legacy.notify}) {
    for (const statd::MonitorRecord& r : *list) {
      NFSREC_FUZZ_CHECK(!r.key.mon_name.empty());
      NFSREC_FUZZ_CHECK(!r.canonical_name.empty());
    }
  }
  return 0;
}
