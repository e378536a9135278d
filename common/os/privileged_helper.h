// The privileged helper: a small process forked from the daemon while it
// is still root and single-threaded, which stays uid 0 with no capability
// but CAP_DAC_READ_SEARCH (when it has it: nfsd's client directories are
// mode 0600, which uid 0 alone cannot enter) and does, on request, the few things the daemon cannot
// do once it has dropped to the owner of sm/:
//   * read, write and list kernel files under /proc/sys/fs/nfs/,
//     /proc/fs/lockd/ and /proc/fs/nfsd/ (--proc-root applied).  uid 0 is
//     what they check: sysctl files check the writer's euid at every
//     write(), not at open(), so a descriptor opened before the drop would
//     not do for nsm_local_state; nfsd's files are mode 0600/0400 root.
//   * open the cld pipe (only the configured paths) and pass the
//     descriptor back (SCM_RIGHTS).
// It trusts nothing it is sent: every request is checked (op, sizes, the
// path lexically, no "." or ".." or empty component, no symbolic link on
// the way below /proc) and a bad one is answered with an error; the helper
// goes on serving.  It exits when the daemon's ends of its connections
// close, and dies with the daemon (PR_SET_PDEATHSIG).
//
// Connections: one SOCK_SEQPACKET socketpair per concurrent caller, each
// served by its own thread in the helper.  A caller takes a free connection
// for one request and reply.  One connection per caller, not one shared
// queue, because a v4_end_grace write may be held by the kernel until our
// own GraceDone answer, and that answer may need a /proc/fs/nfsd scan or the
// loop thread's cld pipe re-open: behind a shared queue they would wait for
// the write that waits for them.  kHelperConnections covers the loop thread
// and every Executor worker; a caller beyond that waits for a free one.
//
// Wire format (both ends are this binary: host byte order, no versioning):
//   request  u32 op | u32 flags | u32 max_bytes | u32 path_len | path | data
//            op 1 ReadSmallFile   flags 1 truncate, 2 no_follow, 4 shared_lock
//            op 2 WriteExistingFile, data = the bytes (at most kMaxWriteBytes)
//            op 3 ListDirectory
//            op 4 OpenPipe        the descriptor rides on the reply
//            a request is at most kMaxRequestBytes; path at most 4096 bytes
//   reply    u32 code (Status::Code) | i32 errno (0: none) | u32 msg_len |
//            message | payload
//            payload: the file's bytes (op 1); entries as u8 FileType |
//            u16 name_len | name (op 3); empty otherwise.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"
#include "common/base/unique_fd.h"
#include "common/os/file_system.h"

namespace nfsrec {

inline constexpr size_t kHelperConnections = 6;  // loop thread + 4 workers + 1
inline constexpr size_t kMaxRequestBytes = 16 + 4096 + 256;
inline constexpr size_t kMaxWriteBytes = 256;
inline constexpr size_t kMaxHelperReadBytes = 64 * 1024;
inline constexpr size_t kMaxReplyBytes = 384 * 1024;

enum class HelperOp : uint32_t { kRead = 1, kWrite = 2, kList = 3, kOpenPipe = 4 };

// What the helper may touch.
struct HelperPolicy {
  std::string proc_root;                // as RealFileSystem's
  std::vector<std::string> pipe_paths;  // the only paths OpenPipe opens
};

// True for the paths the helper serves (before any other check): under
// /proc/sys/fs/nfs, /proc/fs/lockd or /proc/fs/nfsd.
bool IsHelperPath(std::string_view path);

// One request in wire format (tests forge others by hand).
std::string EncodeHelperRequest(HelperOp op, uint32_t flags, uint32_t max_bytes,
                                std::string_view path, std::string_view data = {});

// The helper's side of one request: the reply in wire format; for OpenPipe
// `fd` receives the descriptor to pass.  Never fails: errors are replies.
std::string HandleHelperRequest(std::string_view request, const HelperPolicy& policy, UniqueFd* fd);

// The daemon's side: the connections to the helper.  Thread-safe; calls
// block until the helper answers.  Every call fails with Unavailable once
// the helper is gone or Shutdown() ran.
class HelperChannel {
 public:
  struct Reply {
    Status status;
    int error = 0;  // the helper's errno, when status came from one
    std::string payload;
    UniqueFd fd;
  };

  explicit HelperChannel(std::vector<UniqueFd> connections);
  HelperChannel(const HelperChannel&) = delete;
  HelperChannel& operator=(const HelperChannel&) = delete;

  // One raw request and its reply (status is the helper's answer).
  Result<Reply> Call(std::string_view request);

  Result<std::string> ReadSmallFile(const std::string& path, const ReadFileOptions& options);
  Status WriteExistingFile(const std::string& path, std::string_view data);
  Result<std::vector<DirEntry>> ListDirectory(const std::string& path);
  Result<UniqueFd> OpenPipe(const std::string& path);

  // Wakes every caller waiting on the helper; later calls fail.
  void Shutdown();

 private:
  std::mutex mu_;
  std::condition_variable free_cv_;
  std::vector<UniqueFd> connections_;  // fixed once built
  // One reply buffer per connection, used by whoever holds it.
  std::vector<std::unique_ptr<char[]>> buffers_;
  std::vector<size_t> free_;  // indices into connections_
  bool shut_down_ = false;
};

// The helper process, owned by the daemon's composition root.
class PrivilegedHelper {
 public:
  // ORDER: while the process has a single thread (fork keeps only the
  // caller's).  Forks; the child drops to uid 0 without capabilities (when
  // root; unprivileged it has nothing to drop) and serves `policy` until
  // the connections close.  Fails if the child could not set itself up.
  static Result<std::unique_ptr<PrivilegedHelper>> Start(HelperPolicy policy,
                                                         size_t connections = kHelperConnections);
  // Closes the connections, waits up to a second for the helper to exit
  // (it may be stuck in a kernel write), then kills and reaps it if allowed
  // (a dropped daemon is not; the helper then dies with it).
  ~PrivilegedHelper();
  PrivilegedHelper(const PrivilegedHelper&) = delete;
  PrivilegedHelper& operator=(const PrivilegedHelper&) = delete;

  pid_t pid() const { return pid_; }
  const std::shared_ptr<HelperChannel>& channel() const { return channel_; }

 private:
  PrivilegedHelper(pid_t pid, std::shared_ptr<HelperChannel> channel)
      : pid_(pid), channel_(std::move(channel)) {}
  pid_t pid_;
  std::shared_ptr<HelperChannel> channel_;
};

// FileSystem for the dropped daemon: IsHelperPath paths go to the helper,
// the rest to `rest` (RealFileSystem, with the same --proc-root).
class HelperFileSystem final : public FileSystem {
 public:
  HelperFileSystem(std::shared_ptr<HelperChannel> helper, std::shared_ptr<FileSystem> rest)
      : helper_(std::move(helper)), rest_(std::move(rest)) {}

  Result<std::string> ReadSmallFile(const std::string& path,
                                    const ReadFileOptions& options) override;
  Status WriteExistingFile(const std::string& path, std::string_view data) override;
  Result<std::vector<DirEntry>> ListDirectory(const std::string& path) override;

 private:
  std::shared_ptr<HelperChannel> helper_;
  std::shared_ptr<FileSystem> rest_;
};

}  // namespace nfsrec
