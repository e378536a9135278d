// monitor-index-bench: memory and lookup cost of the NSM service's monitor
// list (statd/monitor_index.h) at a given size, beside the linear scan that
// SM_NOTIFY matching did before the index.
//
//   monitor-index-bench [--records N] [--queries Q] [--scan-queries S]
//
// N records as nsm-bench's SM_MON leaves them (mon_name and canonical name
// 88.b.c.d, my_name "server", kernel lockd's prog/vers/proc).  Prints one
// line: the bytes per record by part (footprint()) and the process's VmRSS
// growth, then the cost of one SM_NOTIFY match (the names and addresses a
// notify from 127.0.0.1 for one peer brings) through the index and, for S
// queries, by scanning every record as before.  Every query must find
// exactly its peer, or the exit status is 1.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "common/base/logging.h"
#include "common/os/resolver.h"
#include "statd/monitor_index.h"
#include "statd/nsm_service.h"

namespace nfsrec::statd {
namespace {

std::string Name(int i) {
  return StrCat("88.", (i >> 16) & 255, ".", (i >> 8) & 255, ".", i & 255);
}

long RssKb() {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      long kb = 0;
      in >> kb;
      return kb;
    }
  }
  return 0;
}

double Since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
}

// SM_NOTIFY matching as NsmService did it before the index: every record,
// names folded, both names parsed as addresses.
size_t Scan(const std::vector<MonitorRecord>& records, const std::vector<std::string>& names,
            const std::vector<std::string>& addresses) {
  size_t n = 0;
  for (const MonitorRecord& r : records) {
    bool match = false;
    for (const auto& s : names) {
      match = match || EqualsIgnoreCase(r.key.mon_name, s) || EqualsIgnoreCase(r.canonical_name, s);
    }
    for (const std::string* s : {&r.key.mon_name, &r.canonical_name}) {
      std::string norm;
      if (match || !IsNumericAddress(*s, &norm)) continue;
      for (const auto& a : addresses) match = match || a == norm;
    }
    n += match ? 1 : 0;
  }
  return n;
}

int Run(int argc, char** argv) {
  int records = 100000, queries = 100000, scan_queries = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const int v = std::atoi(argv[i + 1]);
    if (a == "--records") {
      records = v;
    } else if (a == "--queries") {
      queries = v;
    } else if (a == "--scan-queries") {
      scan_queries = v;
    } else {
      std::fprintf(stderr,
                   "usage: monitor-index-bench [--records N] [--queries Q] "
                   "[--scan-queries S]\n");
      return 2;
    }
  }
  if (records <= 0 || records > (1 << 24) || queries < 0 || scan_queries < 0) return 2;
  const long rss0 = RssKb();
  MonitorIndex index;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < records; ++i) {
    MonitorRecord r;
    r.key = MonitorKey{Name(i), "server", 100021, 3, 16};
    r.canonical_name = r.key.mon_name;
    index.Put({r});
  }
  const double load_us = Since(t0);
  const long rss1 = RssKb();
  const MonitorIndex::Footprint f = index.footprint();

  int errors = 0;
  t0 = std::chrono::steady_clock::now();
  for (int q = 0; q < queries; ++q) {
    const std::string peer = Name(q % records);
    const std::vector<MonitorIndex::Slot> hit =
        index.MatchHost({peer, "127.0.0.1", peer, "localhost"}, {"127.0.0.1", peer});
    if (hit.size() != 1 || index.mon_name(hit[0]) != peer) ++errors;
  }
  const double match_us = queries > 0 ? Since(t0) / queries : 0;

  std::vector<MonitorRecord> flat;
  double scan_us = 0;
  if (scan_queries > 0) {
    for (MonitorIndex::Slot s : index.All()) flat.push_back(index.Record(s));
    t0 = std::chrono::steady_clock::now();
    for (int q = 0; q < scan_queries; ++q) {
      const std::string peer = Name(q * 7919 % records);
      if (Scan(flat, {peer, "127.0.0.1", peer, "localhost"}, {"127.0.0.1", peer}) != 1) ++errors;
    }
    scan_us = Since(t0) / scan_queries;
  }
  const double n = records;
  std::printf(
      "records=%d load_ms=%.1f bytes_per_record=%.1f (records %.1f, names %.1f, indexes %.1f) "
      "rss_growth_kb=%ld notify_match_us=%.2f scan_match_us=%.1f errors=%d\n",
      records, load_us / 1000, (f.records + f.names + f.indexes) / n, f.records / n, f.names / n,
      f.indexes / n, rss1 - rss0, match_us, scan_us, errors);
  return errors == 0 ? 0 : 1;
}

}  // namespace
}  // namespace nfsrec::statd

int main(int argc, char** argv) { return nfsrec::statd::Run(argc, argv); }
