// Replacing whole files in one directory so that a crash leaves each file
// either as it was or as written, never half written: the content goes to
// "<dir>/.<name>.new" (the temp-file name rpc.statd uses, skipped by its
// loaders), is fsynced, and is renamed over <name>; Sync() then fsyncs the
// directory so that the renames and removals survive a crash too.
//
// Files are made owned like the directory they are in (so a file in a
// directory of the statd user belongs to that user, one in a root-owned
// directory to root).  Every call works relative to the directory opened
// once, and temp files are created O_EXCL|O_NOFOLLOW, so a symbolic link
// planted in a directory that another user can write is never followed.
//
// Not thread-safe; blocking (fsync): never call on the event loop.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"
#include "common/base/unique_fd.h"

namespace nfsrec {

class AtomicDirectory {
 public:
  // Opens `path`, creating it with `mode` if it does not exist (one level).
  // `created`, if given, tells whether it did.
  static Result<std::unique_ptr<AtomicDirectory>> Open(const std::string& path, mode_t mode,
                                                       bool* created = nullptr);

  // "." + name + ".new": where WriteFile builds `name`, and where a caller
  // that builds a file by other means (SQLite) puts it before Commit().
  static std::string TempName(const std::string& name) { return "." + name + ".new"; }

  // Writes `data` to TempName(name) (any old temp is removed first), with
  // `mode`, owned like the directory, fsynced, then renamed over `name`.
  Status WriteFile(const std::string& name, std::string_view data, mode_t mode);
  // Makes the existing regular file TempName(name) owned like the directory
  // and durable, then renames it over `name`.
  Status Commit(const std::string& name);
  // For many files at once: Stage writes TempName(name) as WriteFile does
  // but without its fsync; CommitStaged then makes every staged file
  // durable with one syncfs(2) of the directory's file system (one flush
  // instead of one per file: thousands of host files) and renames each
  // into place, in the order staged.
  Status Stage(const std::string& name, std::string_view data, mode_t mode);
  Status CommitStaged();
  // Removes `name` (a missing one is fine).
  Status Remove(const std::string& name);
  // Names of the regular files that do not start with '.', in byte order.
  Result<std::vector<std::string>> RegularFiles() const;
  // fsync of the directory itself: renames and removals become durable.
  Status Sync();

  const std::string& path() const { return path_; }

  // Off: no fsync and no syncfs (renames stay atomic, but a crash may lose
  // the latest files).  For copies that are rebuilt from elsewhere after a
  // crash (statd/sm_mirror.h), where a flush would only compete with the
  // database's own.
  void set_durable(bool durable) { durable_ = durable; }

 private:
  AtomicDirectory(std::string path, UniqueFd fd, uid_t uid, gid_t gid)
      : path_(std::move(path)), fd_(std::move(fd)), uid_(uid), gid_(gid) {}
  // fchown to the directory's owner if the file has another one.
  Status OwnLikeDirectory(int fd, const std::string& name);

  // Creates TempName(name) with `data`, owned like the directory.
  Status WriteTemp(const std::string& name, std::string_view data, mode_t mode);

  std::string path_;
  UniqueFd fd_;
  std::vector<std::string> staged_;
  uid_t uid_;
  gid_t gid_;
  bool durable_ = true;
};

}  // namespace nfsrec
