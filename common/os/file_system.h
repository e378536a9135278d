// FileSystem: the one port through which the product reads and writes the
// small files of the operating system -- /proc control and status files,
// rpc.statd's state files, nfs.conf.  (The SQLite database, pid files and
// the cld pipe are not small files and do not go through it.)
//
// Paths are absolute and name the real locations ("/proc/fs/nfsd/...",
// "/var/lib/nfs/statd/sm").  RealFileSystem maps "/proc" to a root given at
// construction (--proc-root, for tests); nothing else knows about that root.
// Tests use FakeFileSystem (tests/support/fake_file_system.h).
//
// The port is deliberately narrow (whole small files, existing-file writes,
// one directory level): it is where privilege separation will plug in.
//
// Threading: implementations are thread-safe; the blocking calls may run on
// Executor workers (common/os/executor.h) as well as on the loop thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"

namespace nfsrec {

// The directory part of a path, as dirname(1) prints it for paths without
// trailing slashes: "." for a bare name, "/" for a name in the root.
std::string DirName(const std::string& path);

struct ReadFileOptions {
  size_t max_bytes = 1 << 20;
  // A longer file: return its first max_bytes bytes instead of failing.
  bool truncate = false;
  bool no_follow = false;    // O_NOFOLLOW: a symlink in the last component fails
  bool shared_lock = false;  // flock(LOCK_SH) first, for files rewritten under LOCK_EX
};

enum class FileType { kRegular, kDirectory, kSymlink, kOther };

struct DirEntry {
  std::string name;
  FileType type = FileType::kOther;  // of the entry itself (a symlink is kSymlink)

  bool operator==(const DirEntry&) const = default;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // The file's bytes.  NotFound if it does not exist; InvalidArgument if it
  // is longer than max_bytes (unless truncate); otherwise the errno of the
  // failing call.  A FIFO in the file's place reads as empty, never blocks.
  virtual Result<std::string> ReadSmallFile(const std::string& path,
                                            const ReadFileOptions& options) = 0;

  // Writes `data` in one write() to an existing file, never creating it: a
  // missing kernel control file means the feature is absent, NotFound.  A
  // short write is an IOError.  May block as long as the kernel takes to
  // accept the write (see nfs4rec/grace.h).
  virtual Status WriteExistingFile(const std::string& path, std::string_view data) = 0;

  // The entries of one directory, "." and ".." left out, in byte order of
  // their names.  NotFound if there is no directory at `path` (absent, or
  // not a directory).
  virtual Result<std::vector<DirEntry>> ListDirectory(const std::string& path) = 0;
};

// The real files.  Stateless apart from the root: safe to share between
// threads, cheap to construct.
class RealFileSystem final : public FileSystem {
 public:
  // proc_root "" (or "/") is the real /proc; otherwise "/proc/x" is opened
  // as proc_root + "/proc/x".  Other paths are used as given.
  explicit RealFileSystem(std::string proc_root = "");

  Result<std::string> ReadSmallFile(const std::string& path,
                                    const ReadFileOptions& options) override;
  Status WriteExistingFile(const std::string& path, std::string_view data) override;
  Result<std::vector<DirEntry>> ListDirectory(const std::string& path) override;

  // Where `path` really is (the root applied).
  std::string Resolve(const std::string& path) const;

 private:
  std::string proc_root_;
};

}  // namespace nfsrec
