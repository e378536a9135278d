// Command-line pieces the etcd benches share (bench/etcd_bench.cc,
// bench/nsm_store_bench.cc, bench/v4_etcd_bench.cc).
#pragma once

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

namespace nfsrec::bench {

// "a,b,c" -> {"a", "b", "c"}.
inline std::vector<std::string> SplitCommas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(item);
  return out;
}

// Where a bench puts its files unless --dir says otherwise: $TMPDIR, else /tmp.
inline std::string DefaultDir() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
}

}  // namespace nfsrec::bench
