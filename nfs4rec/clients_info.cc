#include "nfs4rec/clients_info.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <thread>
#include <utility>

#include "common/base/logging.h"
#include "common/base/unique_fd.h"
#include "nfs4rec/cld_codec.h"

namespace nfsrec::nfs4rec {

namespace {

// An info file is a few hundred bytes; anything far larger is not one.
constexpr size_t kInfoMax = 64 * 1024;
// Enough to see the first entry of a states file, which may be huge.
constexpr size_t kStatesPeek = 4096;

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

template <typename T>
std::optional<T> ParseNumber(std::string_view s) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// Reads at most `max` bytes; `truncated` tells whether there was more.
Result<std::string> ReadUpTo(const std::string& path, size_t max, bool* truncated) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return PosixError("open " + path, errno);
  std::string out;
  char buf[4096];
  *truncated = false;
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return PosixError("read " + path, errno);
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max) {
      out.append(buf, max - out.size());
      *truncated = true;
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace

const char* NfsdClientStatusName(NfsdClientStatus s) {
  switch (s) {
    case NfsdClientStatus::kConfirmed: return "confirmed";
    case NfsdClientStatus::kUnconfirmed: return "unconfirmed";
    case NfsdClientStatus::kCourtesy: return "courtesy";
    case NfsdClientStatus::kExpirable: return "expirable";
    case NfsdClientStatus::kOther: break;
  }
  return "other";
}

Result<std::string> DecodeQuotedName(std::string_view q) {
  if (q.size() < 2 || q.front() != '"') return Status::InvalidArgument("name is not quoted");
  std::string out;
  size_t i = 1;
  for (;;) {
    if (i >= q.size()) return Status::InvalidArgument("name has no closing quote");
    const char c = q[i];
    if (c == '"') break;
    if (c == '\\') {
      if (i + 3 >= q.size() || q[i + 1] != 'x') {
        return Status::InvalidArgument("name has an escape other than \\xNN");
      }
      const int hi = HexDigit(q[i + 2]);
      const int lo = HexDigit(q[i + 3]);
      if (hi < 0 || lo < 0) return Status::InvalidArgument("name has a bad \\x escape");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 4;
    } else {
      out.push_back(c);
      ++i;
    }
    if (out.size() > kCldNameMax) {
      return Status::InvalidArgument(StrCat("name longer than ", kCldNameMax, " bytes"));
    }
  }
  if (i + 1 != q.size()) return Status::InvalidArgument("text after the name's closing quote");
  if (out.empty()) return Status::InvalidArgument("empty name");
  return out;
}

Result<NfsdClientInfo> ParseClientInfo(std::string_view text) {
  NfsdClientInfo info;
  bool have_name = false;
  bool have_status = false;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = line.substr(0, colon);
    const std::string_view value = TrimSpace(line.substr(colon + 1));
    if (key == "name") {
      if (have_name) return Status::InvalidArgument("two name lines");
      Result<std::string> n = DecodeQuotedName(value);
      if (!n.ok()) return n.status();
      info.name = std::move(n).value();
      have_name = true;
    } else if (key == "status") {
      if (have_status) return Status::InvalidArgument("two status lines");
      have_status = true;
      if (value == "confirmed") {
        info.status = NfsdClientStatus::kConfirmed;
      } else if (value == "unconfirmed") {
        info.status = NfsdClientStatus::kUnconfirmed;
      } else if (value == "courtesy") {
        info.status = NfsdClientStatus::kCourtesy;
      } else if (value == "expirable") {
        info.status = NfsdClientStatus::kExpirable;
      } else {
        info.status = NfsdClientStatus::kOther;
      }
    } else if (key == "clientid") {
      info.clientid = std::string(value);
    } else if (key == "address") {
      std::string_view a = value;
      if (a.size() >= 2 && a.front() == '"' && a.back() == '"') a = a.substr(1, a.size() - 2);
      info.address = std::string(a);
    } else if (key == "minor version") {
      info.minor_version = ParseNumber<uint32_t>(value);
    } else if (key == "seconds from last renew") {
      info.seconds_from_last_renew = ParseNumber<int64_t>(value);
    }
  }
  if (!have_name) return Status::InvalidArgument("no name line");
  if (!have_status) return Status::InvalidArgument("no status line");
  return info;
}

bool StatesHoldState(std::string_view text) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = TrimSpace(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.size() >= 2 && line[0] == '-' && line[1] == ' ') return true;
  }
  return false;
}

std::string NfsdClientsDir(const std::string& proc_root) {
  std::string root = proc_root;
  while (!root.empty() && root.back() == '/') root.pop_back();
  return root + "/proc/fs/nfsd/clients";
}

Result<int64_t> ReadLeaseTime(const std::string& proc_root) {
  std::string root = proc_root;
  while (!root.empty() && root.back() == '/') root.pop_back();
  const std::string path = root + "/proc/fs/nfsd/nfsv4leasetime";
  bool truncated = false;
  Result<std::string> text = ReadUpTo(path, 64, &truncated);
  if (!text.ok()) return text.status();
  std::optional<int64_t> v = ParseNumber<int64_t>(TrimSpace(std::string_view(*text).substr(
      0, std::string_view(*text).find('\n'))));
  if (!v || *v <= 0) return Status::Corruption("unreadable lease time in " + path);
  return *v;
}

Result<LiveClientScan> ScanLiveClients(const std::string& clients_dir) {
  std::vector<std::string> ids;
  {
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(clients_dir.c_str()), ::closedir);
    if (!dir) return PosixError("opendir " + clients_dir, errno);
    errno = 0;
    while (const dirent* e = ::readdir(dir.get())) {
      std::string_view n = e->d_name;
      if (n != "." && n != "..") ids.emplace_back(n);
    }
  }
  LiveClientScan scan;
  for (const std::string& id : ids) {
    const std::string base = clients_dir + "/" + id;
    bool truncated = false;
    Result<std::string> text = ReadUpTo(base + "/info", kInfoMax, &truncated);
    if (!text.ok()) {
      // Gone since the listing (the client was destroyed): not an error.
      if (text.status().code() == Status::Code::kNotFound) continue;
      ++scan.unreadable;
      if (scan.first_error.empty()) scan.first_error = text.status().ToString();
      continue;
    }
    Result<NfsdClientInfo> info = truncated ? Result<NfsdClientInfo>(Status::InvalidArgument(
                                                  "info file too large"))
                                            : ParseClientInfo(*text);
    if (!info.ok()) {
      ++scan.unreadable;
      if (scan.first_error.empty()) {
        scan.first_error = StrCat(Printable(base), "/info: ", info.status().ToString());
      }
      continue;
    }
    Result<std::string> states = ReadUpTo(base + "/states", kStatesPeek, &truncated);
    info->holds_state = states.ok() && StatesHoldState(*states);
    scan.clients.push_back(std::move(info).value());
  }
  return scan;
}

ProcLiveClientSource::ProcLiveClientSource(EventLoop& loop, const std::string& proc_root)
    : dir_(NfsdClientsDir(proc_root)), proc_root_(proc_root), shared_(std::make_shared<Shared>()) {
  shared_->loop = &loop;
}

ProcLiveClientSource::~ProcLiveClientSource() {
  std::lock_guard<std::mutex> lock(shared_->mu);
  shared_->loop = nullptr;
}

void ProcLiveClientSource::Scan(std::function<void(Result<LiveClientScan>)> done) {
  // Detached: the thread owns copies of what it reads and reaches the loop
  // only through `shared`, under its mutex.
  std::thread([dir = dir_, root = proc_root_, shared = shared_, done = std::move(done)]() mutable {
    Result<LiveClientScan> r = ScanLiveClients(dir);
    if (r.ok()) {
      Result<int64_t> lease = ReadLeaseTime(root);
      if (lease.ok()) r->lease_seconds = *lease;
    }
    std::lock_guard<std::mutex> lock(shared->mu);
    if (shared->loop != nullptr) {
      shared->loop->Post(
          [done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
    }
  }).detach();
}

}  // namespace nfsrec::nfs4rec
