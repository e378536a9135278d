// SqliteMirrorSource: the sm/ mirror's reader of the NSM tables
// (statd/sm_mirror_source.h) on the daemon's SQLite database, through a
// read-only connection of its own, opened on the mirror's thread at the
// first read.  WAL lets it read beside the commit thread: it never waits
// for a commit and a commit never waits for it, and each job's read
// transaction sees one committed state.
//
// Reads by host use the canonical_name indexes of the "nsm" schema
// (version 4, statd/sqlite_nsm_store.cc); a scan walks them in order, so
// neither needs SQLite to sort or to hold more than one row.
#pragma once

#include <memory>
#include <string>

#include "common/store/sqlite.h"
#include "statd/sm_mirror_source.h"

namespace nfsrec::statd {

class SqliteMirrorSource final : public MirrorSource {
 public:
  // `db_path`: the database file (its schema made by SqliteNsmStore::Open).
  explicit SqliteMirrorSource(std::string db_path) : db_path_(std::move(db_path)) {}

  Status Begin() override;
  void End() override;
  Result<int32_t> LocalState() override;
  Status ReadHost(MirrorList list, const std::string& host, const Each& each) override;
  Status Scan(MirrorList list, const Each& each) override;

 private:
  Status Rows(sqlite::Statement& stmt, const Each& each);

  std::string db_path_;
  std::unique_ptr<sqlite::Db> db_;  // opened by the first Begin
};

}  // namespace nfsrec::statd
