#include "tests/cld_emulator/kernel_emulator.h"

#define FUSE_USE_VERSION 34
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "common/base/logging.h"
#include "common/base/unique_fd.h"

namespace nfsrec::cldemu {

using nfs4rec::CldCommand;
using nfs4rec::kCldEInProgress;

const char* GraceEndName(GraceEnd e) {
  switch (e) {
    case GraceEnd::kNone:
      return "none";
    case GraceEnd::kSkipped:
      return "skipped (nothing to reclaim)";
    case GraceEnd::kAllReclaimed:
      return "all clients done reclaiming";
    case GraceEnd::kProcWrite:
      return "v4_end_grace write";
    case GraceEnd::kTimer:
      return "grace timer";
  }
  return "?";
}

struct KernelEmulator::Upcall {
  uint32_t xid = 0;
  uint64_t instance = 0;
  uint8_t command = 0;
  std::vector<uint8_t> bytes;
  bool queued = false;
  bool completed = false;
  int err = 0;
  CldMessage reply;
};

struct KernelEmulator::Node {
  enum Kind { kDir, kPipe, kGrace };
  uint64_t ino = 0;
  uint64_t parent = 0;
  std::string name;
  Kind kind = kDir;
  std::map<std::string, uint64_t> children;
};

struct KernelEmulator::OpenFile {
  uint64_t ino = 0;
  bool readable = false;
  bool writable = false;
  std::shared_ptr<Upcall> partial;  // rpc_pipefs keeps a half-read message per file
  size_t copied = 0;
};

namespace {

constexpr Duration kInternalUpcallWait = std::chrono::seconds(60);
constexpr double kFuseTimeout = 0.0;  // no attribute or entry caching

struct stat AttrFor(uint64_t ino, int kind) {
  struct stat st;
  std::memset(&st, 0, sizeof(st));
  st.st_ino = ino;
  switch (kind) {
    case 0:
      st.st_mode = S_IFDIR | 0755;
      st.st_nlink = 2;
      break;
    case 1:
      st.st_mode = S_IFREG | 0600;
      st.st_nlink = 1;
      break;
    default:
      st.st_mode = S_IFREG | 0644;
      st.st_nlink = 1;
      break;
  }
  return st;
}

}  // namespace

// FUSE low-level callbacks; each takes the emulator's lock and never blocks.
struct FuseOps {
  static KernelEmulator* Self(fuse_req_t req) {
    return static_cast<KernelEmulator*>(fuse_req_userdata(req));
  }
  using Node = KernelEmulator::Node;

  static void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
    KernelEmulator* k = Self(req);
    std::lock_guard<std::mutex> lock(k->mu_);
    auto p = k->nodes_.find(parent);
    if (p == k->nodes_.end()) return (void)fuse_reply_err(req, ENOENT);
    auto c = p->second->children.find(name);
    if (c == p->second->children.end()) return (void)fuse_reply_err(req, ENOENT);
    k->ReplyEntryLocked(req, c->second);
  }

  static void Getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
    KernelEmulator* k = Self(req);
    std::lock_guard<std::mutex> lock(k->mu_);
    auto n = k->nodes_.find(ino);
    if (n == k->nodes_.end()) return (void)fuse_reply_err(req, ENOENT);
    struct stat st = AttrFor(ino, n->second->kind);
    fuse_reply_attr(req, &st, kFuseTimeout);
  }

  static uint64_t AddNode(KernelEmulator* k, uint64_t parent, const std::string& name,
                          Node::Kind kind) {
    auto node = std::make_unique<Node>();
    node->ino = k->next_ino_++;
    node->parent = parent;
    node->name = name;
    node->kind = kind;
    uint64_t ino = node->ino;
    k->nodes_[parent]->children[name] = ino;
    k->nodes_[ino] = std::move(node);
    return ino;
  }

  static void Mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t) {
    KernelEmulator* k = Self(req);
    std::lock_guard<std::mutex> lock(k->mu_);
    auto p = k->nodes_.find(parent);
    if (p == k->nodes_.end() || p->second->kind != Node::kDir) {
      return (void)fuse_reply_err(req, ENOENT);
    }
    if (p->second->children.count(name)) return (void)fuse_reply_err(req, EEXIST);
    k->ReplyEntryLocked(req, AddNode(k, parent, name, Node::kDir));
  }

  // Only the emulator itself creates files: the pipe, at "nfsd start".
  static void Mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t, dev_t) {
    KernelEmulator* k = Self(req);
    std::lock_guard<std::mutex> lock(k->mu_);
    auto p = k->nodes_.find(parent);
    if (p == k->nodes_.end() || p->second->kind != Node::kDir) {
      return (void)fuse_reply_err(req, ENOENT);
    }
    if (p->second->children.count(name)) return (void)fuse_reply_err(req, EEXIST);
    uint64_t ino = AddNode(k, parent, name, Node::kPipe);
    k->pipe_ino_ = ino;
    k->ReplyEntryLocked(req, ino);
  }

  static void Unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
    KernelEmulator* k = Self(req);
    std::lock_guard<std::mutex> lock(k->mu_);
    auto p = k->nodes_.find(parent);
    if (p == k->nodes_.end()) return (void)fuse_reply_err(req, ENOENT);
    auto c = p->second->children.find(name);
    if (c == p->second->children.end()) return (void)fuse_reply_err(req, ENOENT);
    uint64_t ino = c->second;
    if (k->nodes_[ino]->kind == Node::kDir) return (void)fuse_reply_err(req, EISDIR);
    p->second->children.erase(c);
    if (ino == k->pipe_ino_) {
      // rpc_close_pipes: queued and half-read upcalls fail with -EPIPE, and
      // the open files see EPIPE from now on.
      k->pipe_ino_ = 0;
      while (!k->queue_.empty()) {
        auto up = k->queue_.front();
        k->CompleteLocked(up, -EPIPE);
      }
      for (auto& [fh, of] : k->files_) {
        if (of->partial) {
          k->CompleteLocked(of->partial, -EPIPE);
          of->partial.reset();
        }
      }
      k->WakeReadersLocked();
    }
    fuse_reply_err(req, 0);
  }

  static void Rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
    KernelEmulator* k = Self(req);
    std::lock_guard<std::mutex> lock(k->mu_);
    auto p = k->nodes_.find(parent);
    if (p == k->nodes_.end()) return (void)fuse_reply_err(req, ENOENT);
    auto c = p->second->children.find(name);
    if (c == p->second->children.end()) return (void)fuse_reply_err(req, ENOENT);
    Node& n = *k->nodes_[c->second];
    if (n.kind != Node::kDir) return (void)fuse_reply_err(req, ENOTDIR);
    if (!n.children.empty()) return (void)fuse_reply_err(req, ENOTEMPTY);
    p->second->children.erase(c);
    fuse_reply_err(req, 0);
  }

  static void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    KernelEmulator* k = Self(req);
    std::lock_guard<std::mutex> lock(k->mu_);
    auto n = k->nodes_.find(ino);
    if (n == k->nodes_.end()) return (void)fuse_reply_err(req, ENOENT);
    if (n->second->kind == Node::kDir) return (void)fuse_reply_err(req, EISDIR);
    fi->direct_io = 1;
    fi->nonseekable = 1;
    fi->keep_cache = 0;
    if (n->second->kind == Node::kGrace) {
      fi->fh = 0;
      return (void)fuse_reply_open(req, fi);
    }
    if (ino != k->pipe_ino_) return (void)fuse_reply_err(req, ENXIO);
    auto of = std::make_unique<KernelEmulator::OpenFile>();
    of->ino = ino;
    int acc = fi->flags & O_ACCMODE;
    of->readable = acc == O_RDONLY || acc == O_RDWR;
    of->writable = acc == O_WRONLY || acc == O_RDWR;
    if (of->readable) ++k->nreaders_;
    if (of->writable) ++k->nwriters_;
    fi->fh = k->next_fh_++;
    k->files_[fi->fh] = std::move(of);
    k->cv_.notify_all();
    fuse_reply_open(req, fi);
  }

  static void Release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
    KernelEmulator* k = Self(req);
    std::lock_guard<std::mutex> lock(k->mu_);
    auto it = k->files_.find(fi->fh);
    if (it != k->files_.end()) {
      std::unique_ptr<KernelEmulator::OpenFile> of = std::move(it->second);
      k->files_.erase(it);
      if (of->readable) --k->nreaders_;
      if (of->writable) --k->nwriters_;
      if (of->ino == k->pipe_ino_) {
        // rpc_pipe_release: a half-read message fails with -EAGAIN, and on
        // the last close so do the queued ones; cld_pipe_upcall re-sends
        // every -EAGAIN upcall, so they all end up queued again.
        if (of->partial && !of->partial->completed) {
          ++k->counters_.requeued;
          k->QueueLocked(of->partial);
        }
        if (k->nreaders_ == 0 && k->nwriters_ == 0) {
          k->counters_.requeued += k->queue_.size();
          if (!k->queue_.empty()) k->no_reader_since_ = std::chrono::steady_clock::now();
        }
      }
    }
    fuse_reply_err(req, 0);
  }

  static void Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t, fuse_file_info* fi) {
    KernelEmulator* k = Self(req);
    std::lock_guard<std::mutex> lock(k->mu_);
    if (ino == k->grace_ino_) {
      const char* s = k->grace_ended_ ? "Y\n" : "N\n";
      return (void)fuse_reply_buf(req, s, std::min<size_t>(size, 2));
    }
    auto it = k->files_.find(fi->fh);
    if (it == k->files_.end()) return (void)fuse_reply_err(req, EBADF);
    if (k->ServeReadLocked(req, *it->second, size)) return;
    if (fi->flags & O_NONBLOCK) return (void)fuse_reply_err(req, EAGAIN);
    // rpc_pipe_read never waits: with nothing queued it returns 0, which
    // ends the read loop of nfsdcld releases that ask for more than one
    // message holds (2.6.2 reads the v2 size of a v1 GetVersion).
    fuse_reply_buf(req, nullptr, 0);
  }

  static void Write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t,
                    fuse_file_info* fi) {
    KernelEmulator* k = Self(req);
    std::unique_lock<std::mutex> lock(k->mu_);
    if (ino == k->grace_ino_) {
      ++k->counters_.end_grace_writes;
      if (size == 0 || !(buf[0] == 'Y' || buf[0] == 'y' || buf[0] == '1')) {
        return (void)fuse_reply_err(req, EINVAL);
      }
      if (!k->running_) return (void)fuse_reply_err(req, EBUSY);
      lock.unlock();
      k->EndGraceWrite(req);
      return;
    }
    auto it = k->files_.find(fi->fh);
    if (it == k->files_.end()) return (void)fuse_reply_err(req, EBADF);
    if (it->second->ino != k->pipe_ino_) return (void)fuse_reply_err(req, EPIPE);
    int res = k->DowncallLocked(reinterpret_cast<const uint8_t*>(buf), size);
    if (res < 0) return (void)fuse_reply_err(req, -res);
    fuse_reply_write(req, size);
  }

  static void Poll(fuse_req_t req, fuse_ino_t, fuse_file_info* fi, fuse_pollhandle* ph) {
    KernelEmulator* k = Self(req);
    std::lock_guard<std::mutex> lock(k->mu_);
    unsigned mask = POLLOUT | POLLWRNORM;
    auto it = k->files_.find(fi->fh);
    if (it == k->files_.end() || it->second->ino != k->pipe_ino_) {
      mask |= POLLERR | POLLHUP;
    } else if (it->second->partial || !k->queue_.empty()) {
      mask |= POLLIN | POLLRDNORM;
    }
    if (ph != nullptr) k->polls_.push_back(ph);
    fuse_reply_poll(req, mask);
  }

  static void Readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
    KernelEmulator* k = Self(req);
    std::lock_guard<std::mutex> lock(k->mu_);
    auto n = k->nodes_.find(ino);
    if (n == k->nodes_.end() || n->second->kind != Node::kDir) {
      return (void)fuse_reply_err(req, ENOTDIR);
    }
    std::vector<std::pair<std::string, uint64_t>> entries{{".", ino}, {"..", n->second->parent}};
    for (const auto& [name, child] : n->second->children) entries.emplace_back(name, child);
    std::vector<char> buf(size);
    size_t used = 0;
    for (size_t i = static_cast<size_t>(off); i < entries.size(); ++i) {
      struct stat st;
      std::memset(&st, 0, sizeof(st));
      st.st_ino = entries[i].second;
      size_t need = fuse_add_direntry(req, buf.data() + used, size - used, entries[i].first.c_str(),
                                      &st, static_cast<off_t>(i + 1));
      if (need > size - used) break;
      used += need;
    }
    fuse_reply_buf(req, buf.data(), used);
  }
};

KernelEmulator::KernelEmulator(const EmulatorOptions& options) : options_(options) {
  auto root = std::make_unique<Node>();
  root->ino = FUSE_ROOT_ID;
  root->parent = FUSE_ROOT_ID;
  root->kind = Node::kDir;
  nodes_[FUSE_ROOT_ID] = std::move(root);
  uint64_t pipefs = FuseOps::AddNode(this, FUSE_ROOT_ID, "rpc_pipefs", Node::kDir);
  (void)pipefs;
  uint64_t proc = FuseOps::AddNode(this, FUSE_ROOT_ID, "proc", Node::kDir);
  uint64_t fs = FuseOps::AddNode(this, proc, "fs", Node::kDir);
  uint64_t nfsd = FuseOps::AddNode(this, fs, "nfsd", Node::kDir);
  grace_ino_ = FuseOps::AddNode(this, nfsd, "v4_end_grace", Node::kGrace);
}

Result<std::unique_ptr<KernelEmulator>> KernelEmulator::Mount(const EmulatorOptions& options) {
  {
    UniqueFd fuse(::open("/dev/fuse", O_RDWR | O_CLOEXEC));
    if (!fuse) return Status::Unavailable(StrCat("cannot open /dev/fuse: ", std::strerror(errno)));
  }
  std::unique_ptr<KernelEmulator> k(new KernelEmulator(options));
  NFSREC_RETURN_IF_ERROR(k->DoMount());
  return k;
}

Status KernelEmulator::DoMount() {
  static const fuse_lowlevel_ops kOps = [] {
    fuse_lowlevel_ops ops;
    std::memset(&ops, 0, sizeof(ops));
    ops.lookup = &FuseOps::Lookup;
    ops.getattr = &FuseOps::Getattr;
    ops.mkdir = &FuseOps::Mkdir;
    ops.mknod = &FuseOps::Mknod;
    ops.unlink = &FuseOps::Unlink;
    ops.rmdir = &FuseOps::Rmdir;
    ops.open = &FuseOps::Open;
    ops.release = &FuseOps::Release;
    ops.read = &FuseOps::Read;
    ops.write = &FuseOps::Write;
    ops.poll = &FuseOps::Poll;
    ops.readdir = &FuseOps::Readdir;
    return ops;
  }();
  char arg0[] = "cld-emulator";
  char* argv[] = {arg0, nullptr};
  fuse_args args = FUSE_ARGS_INIT(1, argv);
  session_ = fuse_session_new(&args, &kOps, sizeof(kOps), this);
  fuse_opt_free_args(&args);  // libfuse may have copied and extended them
  if (session_ == nullptr) return Status::Unavailable("fuse_session_new failed");
  if (fuse_session_mount(session_, options_.mountpoint.c_str()) != 0) {
    fuse_session_destroy(session_);
    session_ = nullptr;
    return Status::Unavailable(
        StrCat("cannot mount FUSE at ", options_.mountpoint, " (needs root or fusermount3)"));
  }
  session_thread_ = std::thread([this] { fuse_session_loop(session_); });
  return Status::Ok();
}

KernelEmulator::~KernelEmulator() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    running_ = false;
    std::vector<std::shared_ptr<Upcall>> all;
    for (auto& [xid, up] : in_flight_) all.push_back(up);
    for (auto& up : all) CompleteLocked(up, -EPIPE);
  }
  if (session_ != nullptr) {
    fuse_session_exit(session_);
    // Unmounting ends the connection, which wakes the session thread.
    fuse_session_unmount(session_);
    session_thread_.join();
  }
  // No FUSE request can start a writer any more.
  for (auto& t : writers_) t.join();
  if (session_ != nullptr) {
    for (fuse_pollhandle* ph : polls_) fuse_pollhandle_destroy(ph);
    polls_.clear();
    fuse_session_destroy(session_);
  }
}

std::string KernelEmulator::pipe_path() const {
  return options_.mountpoint + "/rpc_pipefs/nfsd/cld";
}
std::string KernelEmulator::proc_root() const { return options_.mountpoint; }

void KernelEmulator::ReplyEntryLocked(fuse_req* req, uint64_t ino) {
  fuse_entry_param e;
  std::memset(&e, 0, sizeof(e));
  e.ino = ino;
  e.generation = 1;
  e.attr = AttrFor(ino, nodes_[ino]->kind);
  e.attr_timeout = kFuseTimeout;
  e.entry_timeout = kFuseTimeout;
  fuse_reply_entry(req, &e);
}

size_t KernelEmulator::MsgLenLocked() const {
  return version_ >= nfs4rec::kCldVersion2 ? nfs4rec::kCldMsgV2Size : nfs4rec::kCldMsgV1Size;
}

bool KernelEmulator::ServeReadLocked(fuse_req* req, OpenFile& of, size_t size) {
  if (of.ino != pipe_ino_) {
    fuse_reply_err(req, EPIPE);
    return true;
  }
  if (!of.partial) {
    if (queue_.empty()) return false;
    of.partial = queue_.front();
    queue_.pop_front();
    of.partial->queued = false;
    of.copied = 0;
    ++counters_.reads;
  }
  const std::vector<uint8_t>& b = of.partial->bytes;
  size_t n = std::min(size, b.size() - of.copied);
  fuse_reply_buf(req, reinterpret_cast<const char*>(b.data() + of.copied), n);
  of.copied += n;
  if (of.copied == b.size()) of.partial.reset();
  return true;
}

void KernelEmulator::WakeReadersLocked() {
  for (fuse_pollhandle* ph : polls_) {
    fuse_lowlevel_notify_poll(ph);
    fuse_pollhandle_destroy(ph);
  }
  polls_.clear();
}

std::shared_ptr<KernelEmulator::Upcall> KernelEmulator::AllocLocked(CldMessage msg) {
  while (in_flight_.count(next_xid_)) ++next_xid_;
  msg.xid = next_xid_++;
  msg.version = version_;
  auto up = std::make_shared<Upcall>();
  up->xid = msg.xid;
  up->instance = instance_;
  up->command = msg.command;
  up->bytes = nfs4rec::EncodeCldUpcall(msg).value();
  in_flight_[up->xid] = up;
  ++counters_.upcalls;
  return up;
}

std::shared_ptr<KernelEmulator::Upcall> KernelEmulator::AllocRawLocked(std::vector<uint8_t> bytes) {
  while (in_flight_.count(next_xid_)) ++next_xid_;
  auto up = std::make_shared<Upcall>();
  up->xid = next_xid_++;
  up->instance = instance_;
  if (bytes.size() >= 8) {
    std::memcpy(bytes.data() + 4, &up->xid, 4);
    up->command = bytes[1];
  }
  up->bytes = std::move(bytes);
  in_flight_[up->xid] = up;
  ++counters_.upcalls;
  return up;
}

void KernelEmulator::QueueLocked(const std::shared_ptr<Upcall>& up) {
  if (pipe_ino_ == 0) {
    CompleteLocked(up, -EPIPE);
    return;
  }
  if (queue_.empty() && nreaders_ == 0) no_reader_since_ = std::chrono::steady_clock::now();
  queue_.push_back(up);
  up->queued = true;
  WakeReadersLocked();
}

void KernelEmulator::CompleteLocked(const std::shared_ptr<Upcall>& up, int err) {
  if (up->completed) return;
  up->completed = true;
  up->err = err;
  in_flight_.erase(up->xid);
  if (up->queued) {
    queue_.erase(std::remove(queue_.begin(), queue_.end(), up), queue_.end());
    up->queued = false;
  }
  cv_.notify_all();
}

UpcallResult KernelEmulator::WaitLocked(std::unique_lock<std::mutex>& lock,
                                        const std::shared_ptr<Upcall>& up, Duration timeout) {
  const TimePoint deadline = std::chrono::steady_clock::now() + timeout;
  while (!up->completed) {
    TimePoint now = std::chrono::steady_clock::now();
    if (now >= deadline) return UpcallResult{-ETIME, {}};
    // rpc_timeout_upcall_queue: upcalls nobody opened the pipe for.
    if (up->queued && nreaders_ == 0 && now - no_reader_since_ >= options_.queue_timeout) {
      ++counters_.timeouts;
      CompleteLocked(up, -ETIMEDOUT);
      break;
    }
    cv_.wait_for(lock, std::chrono::milliseconds(20));
  }
  UpcallResult r;
  r.err = up->err;
  r.reply = up->reply;
  return r;
}

UpcallResult KernelEmulator::RunUpcall(CldMessage msg, Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!running_ || pipe_ino_ == 0) return UpcallResult{-EPIPE, {}};
  auto up = AllocLocked(std::move(msg));
  QueueLocked(up);
  return WaitLocked(lock, up, timeout);
}

uint32_t KernelEmulator::Post(const CldMessage& msg) {
  std::lock_guard<std::mutex> lock(mu_);
  auto up = AllocLocked(msg);
  QueueLocked(up);
  return up->xid;
}

UpcallResult KernelEmulator::WaitFor(uint32_t xid, Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  auto it = in_flight_.find(xid);
  if (it == in_flight_.end()) return UpcallResult{-ENOENT, {}};
  auto up = it->second;
  return WaitLocked(lock, up, timeout);
}

UpcallResult KernelEmulator::RawUpcall(std::vector<uint8_t> bytes, Duration wait) {
  std::unique_lock<std::mutex> lock(mu_);
  if (pipe_ino_ == 0) return UpcallResult{-EPIPE, {}};
  auto up = AllocRawLocked(std::move(bytes));
  QueueLocked(up);
  UpcallResult r = WaitLocked(lock, up, wait);
  if (!up->completed) CompleteLocked(up, -ETIME);  // stop waiting: this is a test
  return r;
}

int KernelEmulator::DowncallLocked(const uint8_t* buf, size_t size) {
  if (size != MsgLenLocked()) {
    ++counters_.einval_size;
    return -EINVAL;
  }
  uint32_t xid;
  int16_t status;
  std::memcpy(&xid, buf + 4, 4);
  std::memcpy(&status, buf + 2, 2);
  auto it = in_flight_.find(xid);
  if (it == in_flight_.end()) {
    ++counters_.einval_xid;
    return -EINVAL;
  }
  std::shared_ptr<Upcall> up = it->second;
  Result<CldMessage> m = nfs4rec::DecodeCldDowncall(std::span<const uint8_t>(buf, size), version_);
  if (status == kCldEInProgress) {
    // __cld_pipe_inprogress_downcall
    if (buf[1] != static_cast<uint8_t>(CldCommand::kGraceStart)) return -EFAULT;
    if (!m.ok() || m->name.empty()) {
      ++counters_.einval_record;
      return -EINVAL;
    }
    std::string name = m->name;
    if (name.size() > 5 && name.compare(0, 5, "hash:") == 0) name = name.substr(5);
    reclaim_[name] = m->princhash;
    ++counters_.inprogress;
    return static_cast<int>(size);
  }
  if (m.ok()) up->reply = *m;
  ++answers_[(instance_ << 32) | xid];
  answer_order_.push_back(xid);
  ++counters_.downcalls;
  CompleteLocked(up, 0);
  return static_cast<int>(size);
}

BootResult KernelEmulator::StartNfsd() {
  BootResult out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (running_) {
      out.status = Status::InvalidArgument("nfsd already running");
      return out;
    }
    ++instance_;
    running_ = true;
    version_ = nfs4rec::kCldVersion1;
    next_xid_ = 0;
    answer_order_.clear();
    reclaim_.clear();
    reclaim_completed_.clear();
    grace_ended_ = false;
    grace_end_ = GraceEnd::kNone;
    boot_time_ = static_cast<int64_t>(::time(nullptr));
  }
  std::string dir = options_.mountpoint + "/rpc_pipefs/nfsd";
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    out.status = PosixError("mkdir " + dir, errno);
    return out;
  }
  if (::mknod(pipe_path().c_str(), S_IFREG | 0600, 0) != 0 && errno != EEXIST) {
    out.status = PosixError("mknod " + pipe_path(), errno);
    return out;
  }
  if (options_.kernel_version == 0) return out;  // v0: no wait, no GetVersion, no GraceStart
  // nfsd4_cld_tracking_init: ten polls, 100 ms apart, for an opener.
  bool opened = false;
  for (int i = 0; i < 10 && !opened; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      opened = nreaders_ > 0 || nwriters_ > 0;
    }
    if (!opened) std::this_thread::sleep_for(options_.open_wait / 10);
  }
  if (!opened) {
    out.status = Status::TimedOut("nobody opened the cld pipe within the wait (-ETIMEDOUT)");
    return out;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    grace_starting_ = true;
  }
  CldMessage gv;
  gv.command = static_cast<uint8_t>(CldCommand::kGetVersion);
  UpcallResult r = RunUpcall(gv, kInternalUpcallWait);
  if (r.ok() && r.reply.status == 0) {
    std::lock_guard<std::mutex> lock(mu_);
    version_ = std::clamp<uint8_t>(r.reply.max_version, 1, options_.kernel_version);
  }
  out.version = version();
  CldMessage gs;
  gs.command = static_cast<uint8_t>(CldCommand::kGraceStart);
  r = RunUpcall(gs, kInternalUpcallWait);
  {
    std::lock_guard<std::mutex> lock(mu_);
    grace_starting_ = false;
  }
  if (!r.ok() || r.reply.status != 0) {
    out.status = Status::IOError(
        StrCat("GraceStart upcall failed: err ", r.err, " status ", r.reply.status));
    return out;
  }
  bool skip;
  {
    std::lock_guard<std::mutex> lock(mu_);
    out.uploaded = reclaim_.size();
    skip = options_.track_reclaim_completes && reclaim_.empty();
  }
  if (skip) {
    out.grace_skipped = true;
    EndGrace(GraceEnd::kSkipped);
  }
  return out;
}

void KernelEmulator::StopNfsd() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    running_ = false;
    grace_ended_ = true;
  }
  ::unlink(pipe_path().c_str());
  if (options_.remove_dir_on_stop) ::rmdir((options_.mountpoint + "/rpc_pipefs/nfsd").c_str());
  std::lock_guard<std::mutex> lock(mu_);
  // nfsd's threads are gone before the tracker shuts down; nobody waits any
  // more for upcalls the daemon read but did not answer.
  std::vector<std::shared_ptr<Upcall>> all;
  for (auto& [xid, up] : in_flight_) all.push_back(up);
  for (auto& up : all) CompleteLocked(up, -EPIPE);
}

bool KernelEmulator::nfsd_running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_;
}

UpcallResult KernelEmulator::Create(const std::string& name, const std::string& princhash) {
  CldMessage m;
  m.command = static_cast<uint8_t>(CldCommand::kCreate);
  m.name = name;
  m.princhash = princhash;
  return RunUpcall(m, kInternalUpcallWait);
}

UpcallResult KernelEmulator::Remove(const std::string& name) {
  CldMessage m;
  m.command = static_cast<uint8_t>(CldCommand::kRemove);
  m.name = name;
  return RunUpcall(m, kInternalUpcallWait);
}

ReclaimVerdict KernelEmulator::Reclaim(const std::string& name, const std::string& princhash) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!running_ || grace_ended_) return ReclaimVerdict::kNoGrace;
    if (options_.kernel_version != 0) {
      auto it = reclaim_.find(name);
      if (it == reclaim_.end()) return ReclaimVerdict::kReclaimBad;
      if (version_ >= 2 && !it->second.empty() && it->second != princhash) {
        return ReclaimVerdict::kReclaimBad;
      }
      return ReclaimVerdict::kOk;
    }
  }
  CldMessage m;
  m.command = static_cast<uint8_t>(CldCommand::kCheck);
  m.name = name;
  UpcallResult r = RunUpcall(m, kInternalUpcallWait);
  return r.ok() && r.reply.status == 0 ? ReclaimVerdict::kOk : ReclaimVerdict::kReclaimBad;
}

UpcallResult KernelEmulator::ReclaimComplete(const std::string& name,
                                             const std::string& princhash) {
  UpcallResult r = Create(name, princhash);
  bool last = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (options_.track_reclaim_completes && running_ && !grace_ended_ && reclaim_.count(name) &&
        reclaim_completed_.insert(name).second) {
      last = reclaim_completed_.size() == reclaim_.size();
    }
  }
  if (last) EndGrace(GraceEnd::kAllReclaimed);
  return r;
}

void KernelEmulator::GraceTimerExpired() { EndGrace(GraceEnd::kTimer); }

void KernelEmulator::EndGrace(GraceEnd why, uint64_t only_instance) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (grace_ended_ || grace_starting_ || !running_) return;
    if (only_instance != 0 && only_instance != instance_) return;
    grace_ended_ = true;
    grace_end_ = why;
  }
  CldMessage m;
  m.command = static_cast<uint8_t>(CldCommand::kGraceDone);
  if (options_.kernel_version == 0) m.gracetime = boot_time_;
  RunUpcall(m, kInternalUpcallWait);
}

void KernelEmulator::EndGraceWrite(fuse_req* req) {
  // The write returns only after the GraceDone round trip, like
  // write_v4_end_grace -> nfsd4_end_grace on 6.1-era kernels.  It runs
  // on its own thread so the FUSE session keeps serving the daemon.
  // The kernel acts on the write within the syscall, so on the nfsd that
  // runs at that moment; our thread may run later, after an nfsd restart,
  // and must then do nothing (a stale GraceDone would race the new
  // instance's GetVersion).
  std::lock_guard<std::mutex> lock(mu_);
  writers_.emplace_back([this, req, instance = instance_] {
    EndGrace(GraceEnd::kProcWrite, instance);
    fuse_reply_write(req, 1);
  });
}

GraceEnd KernelEmulator::grace_end() const {
  std::lock_guard<std::mutex> lock(mu_);
  return grace_end_;
}

bool KernelEmulator::in_grace() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_ && !grace_ended_;
}

std::map<std::string, std::string> KernelEmulator::reclaim_table() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reclaim_;
}

EmulatorCounters KernelEmulator::counters() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counters_;
}

int KernelEmulator::openers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return nreaders_ + nwriters_;
}

uint8_t KernelEmulator::version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return version_;
}

std::map<uint64_t, int> KernelEmulator::answers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return answers_;
}

std::vector<uint32_t> KernelEmulator::answer_order() const {
  std::lock_guard<std::mutex> lock(mu_);
  return answer_order_;
}

bool KernelEmulator::WaitForOpener(Duration timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return nreaders_ + nwriters_ > 0; });
}

}  // namespace nfsrec::cldemu
