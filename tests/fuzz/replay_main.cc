// Replays fuzz inputs through a target's LLVMFuzzerTestOneInput without
// libFuzzer, so that `make check` (g++, and the ASan/UBSan pass) runs every
// corpus file on every build.
//
//   <target>_replay [FILE|DIR]...
// Each DIR contributes its regular files, in name order.  With no argument
// it replays $top_srcdir/tests/fuzz/corpus/<target> (the name is compiled in
// as NFSREC_FUZZ_TARGET).  A finding aborts, as it does under libFuzzer;
// otherwise the exit status is 0, or 1 if nothing was found to replay.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

bool ReplayFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
    return false;
  }
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  // A copy allocated at exactly the input's size (a range of forward
  // iterators), so ASan sees a read past its end.
  const std::vector<uint8_t> exact(bytes.begin(), bytes.end());
  LLVMFuzzerTestOneInput(exact.data(), exact.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<fs::path> roots;
  for (int i = 1; i < argc; ++i) roots.emplace_back(argv[i]);
  if (roots.empty()) {
    const char* top = std::getenv("top_srcdir");
    roots.push_back(fs::path(top != nullptr ? top : ".") / "tests/fuzz/corpus" /
                    NFSREC_FUZZ_TARGET);
  }
  size_t replayed = 0;
  for (const fs::path& root : roots) {
    std::error_code ec;
    std::vector<fs::path> files;
    if (fs::is_directory(root, ec)) {
      for (const fs::directory_entry& e : fs::directory_iterator(root, ec)) {
        if (e.is_regular_file()) files.push_back(e.path());
      }
      std::sort(files.begin(), files.end());
    } else {
      files.push_back(root);
    }
    for (const fs::path& f : files) {
      if (!ReplayFile(f)) return 1;
      ++replayed;
    }
  }
  std::printf("replay: %zu inputs, no finding\n", replayed);
  return replayed == 0 ? 1 : 0;
}
