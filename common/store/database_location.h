// Where the one database lives: <dir>/nfsrecd.sqlite.  By default <dir> is
// <state-dir>/nfsrecd, a directory of its own, owned by the user the daemon
// runs as once it has dropped root: SQLite creates its -wal and -shm files
// beside the database, and the state directory itself stays root's (the
// CVE-2019-3689 lesson: /var/lib/nfs must not belong to the statd user).
// The daemon, the sm-notify command, nfsdcld's and nfsdcltrack's names all
// name the same file unless told otherwise.
#pragma once

#include <string>

namespace nfsrec {

inline constexpr char kDatabaseFileName[] = "nfsrecd.sqlite";

inline std::string DefaultDatabaseDir(const std::string& state_dir) {
  return state_dir + "/nfsrecd";
}

inline std::string DatabaseFile(const std::string& database_dir) {
  return database_dir + "/" + kDatabaseFileName;
}

}  // namespace nfsrec
