#include "statd/sm_mirror_job.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <utility>
#include <vector>

#include "common/base/logging.h"
#include "common/base/unique_fd.h"
#include "common/os/atomic_file.h"

namespace nfsrec::statd {
namespace {

constexpr mode_t kListDirMode = 0700;  // as the export makes sm/ and sm.bak/
constexpr mode_t kMarkerMode = 0600;

const char* DirOf(MirrorList list) { return list == MirrorList::kMonitors ? "sm" : "sm.bak"; }

// 64-bit FNV-1a over `bytes`, from `h`.
uint64_t Fnv(uint64_t h, std::string_view bytes) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

// A final mix (splitmix64), so that the sums of near records spread.
uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

struct Fingerprint {
  uint64_t rows = 0;
  uint64_t sum1 = 0;
  uint64_t sum2 = 0;
};

void AddRecord(Fingerprint& fp, MirrorList list, const MonitorRecord& r) {
  // Every field with its length, so that no two records serialize alike.
  std::string bytes;
  bytes += list == MirrorList::kMonitors ? 'm' : 'n';
  for (const std::string* s : {&r.canonical_name, &r.key.mon_name, &r.key.my_name}) {
    bytes += std::to_string(s->size());
    bytes += ':';
    bytes += *s;
  }
  bytes += StrCat(r.key.my_prog, ",", r.key.my_vers, ",", r.key.my_proc, ",");
  bytes.append(reinterpret_cast<const char*>(r.priv.data()), r.priv.size());
  ++fp.rows;
  fp.sum1 += Mix(Fnv(0xcbf29ce484222325ULL, bytes));
  fp.sum2 += Mix(Fnv(0x84222325cbf29ce4ULL, bytes) ^ 0x9e3779b97f4a7c15ULL);
}

Result<Fingerprint> Compute(MirrorSource& source) {
  Fingerprint fp;
  for (MirrorList list : {MirrorList::kMonitors, MirrorList::kNotify}) {
    NFSREC_RETURN_IF_ERROR(source.Scan(list, [&](const MonitorRecord& r) {
      AddRecord(fp, list, r);
      return Status::Ok();
    }));
  }
  return fp;
}

// The marker's text for `fp` and the directories as they are now; an
// error if one cannot be stat'ed (then nothing is in step).
Result<std::string> MarkerText(const Fingerprint& fp, const std::string& state_dir) {
  std::string text =
      StrCat("nfsrecd-sm-mirror 1\nlists ", fp.rows, " ", fp.sum1, " ", fp.sum2, "\n");
  for (MirrorList list : {MirrorList::kMonitors, MirrorList::kNotify}) {
    const std::string path = StrCat(state_dir, "/", DirOf(list));
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return PosixError("stat " + path, errno);
    text += StrCat(DirOf(list), " ", st.st_dev, " ", st.st_ino, " ", st.st_mtim.tv_sec, ".",
                   st.st_mtim.tv_nsec, " ", st.st_ctim.tv_sec, ".", st.st_ctim.tv_nsec, "\n");
  }
  return text;
}

std::string ReadSmall(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Whether `path` is a regular file of mode 0600 holding exactly `text`:
// then a whole rewrite leaves it alone (no new inode, no rename, sm/'s
// times unchanged), which makes a rewrite of files already in step a
// read of each.
bool SameFile(const std::string& path, const std::string& text) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (!fd) return false;
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 07777) != 0600 ||
      static_cast<size_t>(st.st_size) != text.size()) {
    return false;
  }
  std::string got(text.size() + 1, '\0');
  size_t have = 0;
  while (have < got.size()) {
    const ssize_t n = ::read(fd.get(), got.data() + have, got.size() - have);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    have += static_cast<size_t>(n);
  }
  return have == text.size() && got.compare(0, have, text) == 0;
}

// The text of a host file from its records; those rpc.statd could not read
// back are counted in `skipped` and left out.
void AddLine(std::string& text, const MonitorRecord& r, uint64_t& skipped) {
  if (!CheckLegacyExportable(r).ok()) {
    ++skipped;
    return;
  }
  text += FormatLegacyMonitorLine(r);
}

Status Write(const std::string& state_dir, MirrorList list, LegacyFiles& files,
             MirrorJobResult& out) {
  if (files.empty()) return Status::Ok();
  LegacyUpdate update;
  update.durable = false;
  (list == MirrorList::kMonitors ? update.monitors : update.notify) = std::move(files);
  files.clear();
  NFSREC_ASSIGN_OR_RETURN(LegacyUpdateCounts c, WriteLegacyUpdate(state_dir, update));
  out.counts.written += c.written;
  out.counts.removed += c.removed;
  return Status::Ok();
}

// Every file of `list` from one ordered scan, a batch at a time; files of
// hosts the scan does not yield are removed, files already exact are left.  Holds one batch and the
// directory's names, never the list.
Status RewriteList(MirrorSource& source, const std::string& state_dir, MirrorList list,
                   MirrorJobResult& out) {
  const std::string list_dir = StrCat(state_dir, "/", DirOf(list));
  NFSREC_ASSIGN_OR_RETURN(std::unique_ptr<AtomicDirectory> dir,
                          AtomicDirectory::Open(list_dir, kListDirMode));
  NFSREC_ASSIGN_OR_RETURN(std::vector<std::string> present, dir->RegularFiles());
  dir.reset();
  size_t next = 0;  // present[next..] not yet matched; both in byte order
  LegacyFiles files;
  std::string host;
  std::string text;
  bool any = false;
  auto finish_host = [&]() -> Status {
    bool exists = false;
    for (; next < present.size() && present[next] <= host; ++next) {
      if (present[next] == host) {
        exists = true;
      } else {
        files.emplace(present[next], "");  // a stray
      }
    }
    const bool same = exists && !text.empty() && SameFile(StrCat(list_dir, "/", host), text);
    if (same) ++out.unchanged;
    if ((!text.empty() || exists) && !same) files.emplace(host, std::move(text));
    text.clear();
    if (files.size() >= kMirrorFilesPerWrite) return Write(state_dir, list, files, out);
    return Status::Ok();
  };
  Status scanned = source.Scan(list, [&](const MonitorRecord& r) -> Status {
    if (!any || r.canonical_name != host) {
      if (any) {
        Status st = finish_host();
        if (!st.ok()) return st;
      }
      host = r.canonical_name;
      any = true;
    }
    AddLine(text, r, out.skipped);
    return Status::Ok();
  });
  NFSREC_RETURN_IF_ERROR(scanned);
  if (any) NFSREC_RETURN_IF_ERROR(finish_host());
  for (; next < present.size(); ++next) files.emplace(present[next], "");
  return Write(state_dir, list, files, out);
}

Status WriteHosts(MirrorSource& source, const std::string& state_dir, MirrorList list,
                  const std::set<std::string>& hosts, MirrorJobResult& out) {
  LegacyFiles files;
  for (const std::string& host : hosts) {
    std::string text;  // "" removes the file
    NFSREC_RETURN_IF_ERROR(source.ReadHost(list, host, [&](const MonitorRecord& r) {
      AddLine(text, r, out.skipped);
      return Status::Ok();
    }));
    files.emplace(host, std::move(text));
    if (files.size() >= kMirrorFilesPerWrite) {
      NFSREC_RETURN_IF_ERROR(Write(state_dir, list, files, out));
    }
  }
  return Write(state_dir, list, files, out);
}

// Ends the source's read on every path.
class ReadScope {
 public:
  explicit ReadScope(MirrorSource& source) : source_(source) {}
  ~ReadScope() { source_.End(); }
  ReadScope(const ReadScope&) = delete;
  ReadScope& operator=(const ReadScope&) = delete;

 private:
  MirrorSource& source_;
};

}  // namespace

Result<MirrorJobResult> RunMirrorJob(MirrorSource& source, const std::string& state_dir,
                                     const std::string& marker_dir, const std::string& marker_name,
                                     const MirrorJob& job) {
  MirrorJobResult out;
  const std::string marker_path = StrCat(marker_dir, "/", marker_name);
  {
    NFSREC_RETURN_IF_ERROR(source.Begin());
    ReadScope scope(source);
    bool whole = job.whole;
    if (job.check) {
      Result<std::string> now = Status::NotFound("no marker");
      if (!marker_dir.empty()) {
        NFSREC_ASSIGN_OR_RETURN(Fingerprint fp, Compute(source));
        now = MarkerText(fp, state_dir);
      }
      out.in_step = now.ok() && ReadSmall(marker_path) == *now;
      whole = whole || !out.in_step;
    }
    if (whole) {
      out.whole = true;
      NFSREC_RETURN_IF_ERROR(RewriteList(source, state_dir, MirrorList::kMonitors, out));
      NFSREC_RETURN_IF_ERROR(RewriteList(source, state_dir, MirrorList::kNotify, out));
    } else {
      NFSREC_RETURN_IF_ERROR(
          WriteHosts(source, state_dir, MirrorList::kMonitors, job.monitors, out));
      NFSREC_RETURN_IF_ERROR(WriteHosts(source, state_dir, MirrorList::kNotify, job.notify, out));
    }
  }
  if (job.state > 0 || job.durable) {
    LegacyUpdate update;
    update.state = job.state;
    update.state_optional = true;
    update.durable = job.durable;
    NFSREC_ASSIGN_OR_RETURN(LegacyUpdateCounts c, WriteLegacyUpdate(state_dir, update));
    out.counts.written += c.written;
    out.counts.state_not_writable = c.state_not_writable;
  }
  if (job.seal && !marker_dir.empty()) {
    NFSREC_RETURN_IF_ERROR(source.Begin());
    ReadScope scope(source);
    NFSREC_ASSIGN_OR_RETURN(const int32_t stored, source.LocalState());
    NFSREC_ASSIGN_OR_RETURN(std::unique_ptr<AtomicDirectory> dir,
                            AtomicDirectory::Open(marker_dir, 0700));
    if (stored != job.known_state) {
      NFSREC_RETURN_IF_ERROR(dir->Remove(marker_name));
      return out;
    }
    NFSREC_ASSIGN_OR_RETURN(Fingerprint fp, Compute(source));
    NFSREC_ASSIGN_OR_RETURN(std::string text, MarkerText(fp, state_dir));
    NFSREC_RETURN_IF_ERROR(dir->WriteFile(marker_name, text, kMarkerMode));
    NFSREC_RETURN_IF_ERROR(dir->Sync());
    out.sealed = true;
  }
  return out;
}

}  // namespace nfsrec::statd
