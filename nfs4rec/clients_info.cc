#include "nfs4rec/clients_info.h"

#include <charconv>
#include <utility>

#include "common/base/logging.h"
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

}  // namespace

const char* NfsdClientStatusName(NfsdClientStatus s) {
  switch (s) {
    case NfsdClientStatus::kConfirmed:
      return "confirmed";
    case NfsdClientStatus::kUnconfirmed:
      return "unconfirmed";
    case NfsdClientStatus::kCourtesy:
      return "courtesy";
    case NfsdClientStatus::kExpirable:
      return "expirable";
    case NfsdClientStatus::kOther:
      break;
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
      NFSREC_ASSIGN_OR_RETURN(info.name, DecodeQuotedName(value));
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

Result<int64_t> ReadLeaseTime(FileSystem& fs) {
  NFSREC_ASSIGN_OR_RETURN(
      const std::string text,
      fs.ReadSmallFile(kNfsdLeaseTimePath, ReadFileOptions{.max_bytes = 64, .truncate = true}));
  const std::string_view first = std::string_view(text).substr(0, text.find('\n'));
  std::optional<int64_t> v = ParseNumber<int64_t>(TrimSpace(first));
  if (!v || *v <= 0) {
    return Status::Corruption(StrCat("unreadable lease time in ", kNfsdLeaseTimePath));
  }
  return *v;
}

Result<LiveClientScan> ScanLiveClients(FileSystem& fs) {
  NFSREC_ASSIGN_OR_RETURN(const std::vector<DirEntry> entries, fs.ListDirectory(kNfsdClientsDir));
  LiveClientScan scan;
  for (const DirEntry& entry : entries) {
    const std::string base = StrCat(kNfsdClientsDir, "/", entry.name);
    Result<std::string> text =
        fs.ReadSmallFile(base + "/info", ReadFileOptions{.max_bytes = kInfoMax});
    if (!text.ok()) {
      // Gone since the listing (the client was destroyed): not an error.
      if (text.status().IsNotFound()) continue;
      ++scan.unreadable;
      if (scan.first_error.empty()) scan.first_error = text.status().ToString();
      continue;
    }
    Result<NfsdClientInfo> info = ParseClientInfo(*text);
    if (!info.ok()) {
      ++scan.unreadable;
      if (scan.first_error.empty()) {
        scan.first_error = StrCat(Printable(base), "/info: ", info.status().ToString());
      }
      continue;
    }
    Result<std::string> states = fs.ReadSmallFile(
        base + "/states", ReadFileOptions{.max_bytes = kStatesPeek, .truncate = true});
    info->holds_state = states.ok() && StatesHoldState(*states);
    scan.clients.push_back(std::move(info).value());
  }
  return scan;
}

Result<std::string> FindNfsdClient(FileSystem& fs, std::string_view name) {
  NFSREC_ASSIGN_OR_RETURN(const std::vector<DirEntry> entries, fs.ListDirectory(kNfsdClientsDir));
  for (const DirEntry& entry : entries) {
    std::string dir = StrCat(kNfsdClientsDir, "/", entry.name);
    Result<std::string> text =
        fs.ReadSmallFile(dir + "/info", ReadFileOptions{.max_bytes = kInfoMax});
    if (!text.ok()) continue;  // gone meanwhile, or unreadable: not this one
    Result<NfsdClientInfo> info = ParseClientInfo(*text);
    if (info.ok() && info->name == name) return dir;
  }
  return Status::NotFound("nfsd does not know the client");
}

Status ExpireNfsdClient(FileSystem& fs, const std::string& dir) {
  return fs.WriteExistingFile(dir + "/ctl", "expire\n");
}

ProcLiveClientSource::ProcLiveClientSource(Executor& executor, std::shared_ptr<FileSystem> fs)
    : executor_(executor), fs_(std::move(fs)) {}

void ProcLiveClientSource::Scan(Callback<void(Result<LiveClientScan>)> done) {
  executor_.Run(
      liveness_.token(),
      [fs = fs_] {
        Result<LiveClientScan> r = ScanLiveClients(*fs);
        if (r.ok()) {
          Result<int64_t> lease = ReadLeaseTime(*fs);
          if (lease.ok()) r->lease_seconds = *lease;
        }
        return r;
      },
      [done = std::move(done)](Result<LiveClientScan> r) mutable { done(std::move(r)); });
}

}  // namespace nfsrec::nfs4rec
