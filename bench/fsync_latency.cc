// fsync-latency: what one durable commit costs on a filesystem, as the
// floor under every acknowledged write.
//
//   fsync-latency [--dir DIR] [--count N] [--bytes B]
//
// Appends B bytes (default 4096, about one WAL frame) to a fresh file in
// DIR (default /var/tmp) and fdatasync()s it, N times (default 200), as a
// commit appends to SQLite's WAL and syncs it.  Every write and sync is
// checked; a failure exits 1.  Prints one line, times in ms:
//   fsyncs=N bytes=B p50_ms=L p99_ms=L max_ms=L
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

int Run(int argc, char** argv) {
  std::string dir = "/var/tmp";
  int count = 200;
  int bytes = 4096;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (v == nullptr) {
      std::fprintf(stderr, "usage: fsync-latency [--dir DIR] [--count N] [--bytes B]\n");
      return 2;
    }
    ++i;
    if (a == "--dir") {
      dir = v;
    } else if (a == "--count") {
      count = std::atoi(v);
    } else if (a == "--bytes") {
      bytes = std::atoi(v);
    } else {
      std::fprintf(stderr, "usage: fsync-latency [--dir DIR] [--count N] [--bytes B]\n");
      return 2;
    }
  }
  if (count <= 0 || count > 100000 || bytes <= 0 || bytes > (1 << 20)) {
    std::fprintf(stderr, "fsync-latency: count must be 1..100000, bytes 1..1048576\n");
    return 2;
  }
  std::string path = dir + "/fsync-latency.XXXXXX";
  int fd = mkostemp(path.data(), O_CLOEXEC);
  if (fd < 0) {
    std::fprintf(stderr, "fsync-latency: %s: %s\n", path.c_str(), std::strerror(errno));
    return 1;
  }
  unlink(path.c_str());  // the open descriptor keeps it until exit
  std::vector<char> block(static_cast<size_t>(bytes), 'x');
  std::vector<double> ms;
  ms.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    ssize_t w = pwrite(fd, block.data(), block.size(), static_cast<off_t>(i) * bytes);
    if (w != static_cast<ssize_t>(block.size()) || fdatasync(fd) != 0) {
      std::fprintf(stderr, "fsync-latency: write or sync failed: %s\n", std::strerror(errno));
      close(fd);
      return 1;
    }
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  close(fd);
  std::sort(ms.begin(), ms.end());
  auto at = [&](double p) {
    return ms[std::min(ms.size() - 1, static_cast<size_t>(p * static_cast<double>(ms.size())))];
  };
  std::printf("fsyncs=%d bytes=%d p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n", count, bytes, at(0.50),
              at(0.99), ms.back());
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
