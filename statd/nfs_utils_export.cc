#include "statd/nfs_utils_export.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <utility>

#include "common/base/logging.h"
#include "common/base/unique_fd.h"
#include "common/os/atomic_file.h"
#include "common/store/schema.h"
#include "statd/sqlite_nsm_store.h"

namespace nfsrec::statd {
namespace {

// rpc.statd reads a line with fgets into a buffer of 1096 bytes, so a line
// (newline included) longer than 1095 bytes would be read as two.
constexpr size_t kMaxLineBytes = 1095;
constexpr size_t kMaxFileName = 255;  // NAME_MAX
// sm/ files are the statd user's business alone; statd itself creates them
// 0600.  state is 0644, as rpc.statd and sm-notify write it.
constexpr mode_t kListFileMode = 0600;
constexpr mode_t kListDirMode = 0700;
constexpr mode_t kStateFileMode = 0644;

bool IsBlank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r' || c == '\0';
}

bool HasBlank(const std::string& s) {
  for (char c : s) {
    if (IsBlank(c)) return true;
  }
  return false;
}

// More files than this in one list share one flush (syncfs) instead of
// one fsync each.
constexpr size_t kStageAbove = 8;

// Writes `files` into `dir` (an empty content removes the file) and, if
// `whole`, removes the files named neither there nor in `keep`.
Status WriteList(const std::string& dir, const LegacyFiles& files, bool whole,
                 const std::set<std::string>& keep, bool durable, LegacyUpdateCounts& counts) {
  NFSREC_ASSIGN_OR_RETURN(std::unique_ptr<AtomicDirectory> d,
                          AtomicDirectory::Open(dir, kListDirMode));
  d->set_durable(durable);
  size_t to_write = 0;
  for (const auto& [name, text] : files) to_write += text.empty() ? 0 : 1;
  const bool stage = to_write > kStageAbove;
  bool changed = false;
  for (const auto& [name, text] : files) {
    if (text.empty()) continue;
    NFSREC_RETURN_IF_ERROR(stage ? d->Stage(name, text, kListFileMode)
                                 : d->WriteFile(name, text, kListFileMode));
    ++counts.written;
    changed = true;
  }
  if (stage) NFSREC_RETURN_IF_ERROR(d->CommitStaged());
  for (const auto& [name, text] : files) {
    if (!text.empty()) continue;
    NFSREC_RETURN_IF_ERROR(d->Remove(name));
    ++counts.removed;
    changed = true;
  }
  if (whole) {
    NFSREC_ASSIGN_OR_RETURN(std::vector<std::string> present, d->RegularFiles());
    for (const std::string& name : present) {
      if (files.count(name) != 0 || keep.count(name) != 0) continue;
      NFSREC_RETURN_IF_ERROR(d->Remove(name));
      ++counts.removed;
      changed = true;
    }
  }
  return changed ? d->Sync() : Status::Ok();
}

// Overwrites the existing DIR/state in place (see WriteLegacyUpdate).
Status OverwriteState(const std::string& dir, const char (&bytes)[sizeof(int32_t)], bool durable) {
  const std::string path = dir + "/state";
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd) return PosixError("open " + path, errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return PosixError("stat " + path, errno);
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(path + " is not a regular file");
  if (::pwrite(fd.get(), bytes, sizeof(bytes), 0) != static_cast<ssize_t>(sizeof(bytes))) {
    return PosixError("write " + path, errno);
  }
  if (::ftruncate(fd.get(), sizeof(bytes)) != 0) return PosixError("truncate " + path, errno);
  if (durable && ::fsync(fd.get()) != 0) return PosixError("fsync " + path, errno);
  return Status::Ok();
}

Status WriteState(const std::string& dir, int32_t state, bool durable) {
  char bytes[sizeof(state)];
  std::memcpy(bytes, &state, sizeof(state));  // host byte order, as rpc.statd's int
  Result<std::unique_ptr<AtomicDirectory>> base = AtomicDirectory::Open(dir, kListDirMode);
  if (base.ok()) (*base)->set_durable(durable);
  Status st = base.ok() ? (*base)->WriteFile("state", std::string_view(bytes, sizeof(bytes)),
                                             kStateFileMode)
                        : base.status();
  if (st.ok()) return (*base)->Sync();
  if (!st.IsPermissionDenied()) return st;
  Status in_place = OverwriteState(dir, bytes, durable);
  return in_place.ok() ? in_place : st.WithContext(in_place.message());
}

}  // namespace

Result<NsmSnapshot> ReadNsmOffline(sqlite::Db& db) {
  NFSREC_ASSIGN_OR_RETURN(const int version, SchemaVersion(db, SqliteNsmStore::kComponent));
  const int known = static_cast<int>(SqliteNsmStore::Migrations().size());
  if (version == 0) return Status::NotFound("the database holds no NSM state");
  if (version != known) {
    return Status::Unsupported(
        StrCat("NSM schema is at version ", version, ", this program reads version ", known,
               ": use the nfsrecctl of the nfsrecd that wrote the database"));
  }
  return SqliteNsmStore::ReadOffline(db);
}

std::string FormatLegacyMonitorLine(const MonitorRecord& record) {
  // rpc.statd stores lockd's address, always 127.0.0.1, as the raw s_addr.
  const uint32_t loopback = htonl(INADDR_LOOPBACK);
  char head[40];
  std::snprintf(head, sizeof(head), "%08x %08x %08x %08x ", loopback,
                static_cast<uint32_t>(record.key.my_prog),
                static_cast<uint32_t>(record.key.my_vers),
                static_cast<uint32_t>(record.key.my_proc));
  std::string line(head);
  line += HexBytes(record.priv.data(), record.priv.size());
  line += ' ';
  line += record.key.mon_name;
  line += ' ';
  line += record.key.my_name;
  line += '\n';
  return line;
}

Status CheckLegacyExportable(const MonitorRecord& record) {
  const std::string who = StrCat("mon_name ", Printable(record.key.mon_name), " my_name ",
                                 Printable(record.key.my_name));
  auto refuse = [&](std::string_view why) {
    return Status::InvalidArgument(StrCat(who, ": ", why));
  };
  if (record.key.mon_name.empty() || HasBlank(record.key.mon_name)) {
    return refuse("mon_name is empty or holds a blank");
  }
  if (record.key.my_name.empty() || HasBlank(record.key.my_name)) {
    return refuse("my_name is empty or holds a blank");
  }
  const std::string& file = record.canonical_name;
  if (file.empty() || file[0] == '.' || file.size() > kMaxFileName || HasBlank(file) ||
      file.find('/') != std::string::npos) {
    return refuse(StrCat("canonical name ", Printable(file), " cannot be a file name"));
  }
  // 68 bytes of numbers and cookie, a blank, the names, a blank, newline.
  if (68 + record.key.mon_name.size() + record.key.my_name.size() + 3 > kMaxLineBytes) {
    return refuse("names too long for rpc.statd's line buffer");
  }
  return Status::Ok();
}

size_t AddLegacyLines(const std::vector<MonitorRecord>& records, const char* list,
                      LegacyFiles& files, std::vector<std::string>& skipped) {
  size_t lines = 0;
  for (const MonitorRecord& r : records) {
    Status ok = CheckLegacyExportable(r);
    if (!ok.ok()) {
      skipped.push_back(StrCat(list, ": ", ok.message()));
      continue;
    }
    files[r.canonical_name] += FormatLegacyMonitorLine(r);
    ++lines;
  }
  return lines;
}

Result<LegacyUpdateCounts> WriteLegacyUpdate(const std::string& dir, const LegacyUpdate& update) {
  LegacyUpdateCounts counts;
  NFSREC_RETURN_IF_ERROR(WriteList(dir + "/sm", update.monitors, update.whole, update.keep_monitors,
                                   update.durable, counts));
  NFSREC_RETURN_IF_ERROR(WriteList(dir + "/sm.bak", update.notify, update.whole, update.keep_notify,
                                   update.durable, counts));
  if (update.state > 0) {
    Status st = WriteState(dir, update.state, update.durable);
    if (st.IsPermissionDenied() && update.state_optional) {
      counts.state_not_writable = true;
    } else {
      NFSREC_RETURN_IF_ERROR(st);
      ++counts.written;
    }
  }
  if (update.durable) {
    // Also whatever earlier updates wrote without a flush (the mirror's).
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd || ::syncfs(fd.get()) != 0) return PosixError("syncfs " + dir, errno);
  }
  return counts;
}

Result<LegacyExportCounts> ExportLegacyStatd(const NsmSnapshot& snapshot, const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return PosixError("state directory " + dir, errno);
  if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument(dir + " is not a directory");
  LegacyExportCounts counts;
  LegacyUpdate update;
  update.whole = true;
  counts.monitors = AddLegacyLines(snapshot.monitors, "sm", update.monitors, counts.skipped);
  counts.notify = AddLegacyLines(snapshot.notify, "sm.bak", update.notify, counts.skipped);
  counts.monitor_hosts = update.monitors.size();
  counts.notify_hosts = update.notify.size();
  // 0: none stored, the state file is left alone.
  update.state = snapshot.local_state > 0 ? snapshot.local_state : 0;
  NFSREC_ASSIGN_OR_RETURN(LegacyUpdateCounts written, WriteLegacyUpdate(dir, update));
  counts.removed = written.removed;
  counts.state = update.state;
  return counts;
}

}  // namespace nfsrec::statd
