// nfsrecctl's listings on databases written by the real SQLite stores, read
// back through the read-only snapshot the command uses; and the helpers that
// show bytes, times and tables and match what an administrator types.
#include "daemon/nfsrecctl_list.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "common/store/sqlite.h"
#include "daemon/nfsrecctl_format.h"
#include "nfs4rec/sqlite_client_store.h"
#include "statd/sqlite_nsm_store.h"
#include "tests/support/status_matchers.h"
#include "tests/support/store_harness.h"
#include "tests/support/temp_dir.h"
#include <gtest/gtest.h>

namespace nfsrec {
namespace {

using nfs4rec::ClientRecord;
using nfs4rec::ClientStore;
using statd::MonitorRecord;
using statd::NsmStore;
using test_support::RunAndWait;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

CtlCommandLine Command(std::vector<std::string> args) {
  args.insert(args.begin(), "nfsrecctl");
  options::ParseResult<CtlCommandLine> cl = ParseCtlCommandLine(args);
  EXPECT_TRUE(cl.ok()) << cl.status().message;
  return cl.ok() ? *cl : CtlCommandLine();
}

// --- Showing and matching ----------------------------------------------------

TEST(NfsrecctlFormat, BytesJsonHasTextOnlyForPrintableAscii) {
  EXPECT_EQ(BytesJson("host-a").dump(), R"({"hex":"686f73742d61","text":"host-a"})");
  EXPECT_EQ(BytesJson("Linux NFSv4.2 a")["text"], "Linux NFSv4.2 a");
  EXPECT_EQ(BytesJson(std::string("a\0b", 3)).dump(), R"({"hex":"610062"})");
  EXPECT_EQ(BytesJson("caf\xc3\xa9").dump(), R"({"hex":"636166c3a9"})");
}

TEST(NfsrecctlFormat, ShowBytesGivesHexForUnprintableOrHexPrefixedNames) {
  EXPECT_EQ(ShowBytes("Linux NFSv4.2 a"), "Linux NFSv4.2 a");
  EXPECT_EQ(ShowBytes(std::string("\x01\xff", 2)), "hex:01ff");
  EXPECT_EQ(ShowBytes("line\nbreak"), "hex:6c696e650a627265616b");
  // Shown as text, "hex:41" would read back as the one byte 'A'.
  EXPECT_EQ(ShowBytes("hex:41"), "hex:6865783a3431");
}

TEST(NfsrecctlFormat, ClientIdIsTextOrHexInEitherCase) {
  EXPECT_EQ(*ParseClientId("Linux NFSv4.2 a"), "Linux NFSv4.2 a");
  EXPECT_EQ(*ParseClientId("hex:01fF"), std::string("\x01\xff", 2));
  for (const char* bad : {"hex:", "hex:0", "hex:zz", "hex:012"}) {
    Result<std::string> id = ParseClientId(bad);
    ASSERT_FALSE(id.ok()) << bad;
    EXPECT_EQ(id.status().code(), Status::Code::kInvalidArgument);
  }
  // Every id shows in a form that reads back as the same bytes.
  for (const std::string& id : {std::string("plain"), std::string("\x00\x7f", 2),
                                std::string("hex:abc"), std::string(" x ")}) {
    EXPECT_EQ(*ParseClientId(ShowBytes(id)), id);
  }
}

TEST(NfsrecctlFormat, RecordTimesAreRfc3339Utc) {
  EXPECT_EQ(RecordTimeUtc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(RecordTimeUtc(1790000000), "2026-09-21T14:13:20Z");
}

TEST(NfsrecctlFormat, AddressesCompareInAnyNotation) {
  EXPECT_EQ(ParseAddress("10.0.0.1"), ParseAddress("::ffff:10.0.0.1"));
  EXPECT_EQ(ParseAddress("fe80::1"), ParseAddress("[FE80:0:0::0001%eth0]"));
  EXPECT_NE(ParseAddress("10.0.0.1"), ParseAddress("10.0.0.2"));
  EXPECT_FALSE(ParseAddress("client.example.com"));
  EXPECT_FALSE(ParseAddress("10.0.0"));
}

MonitorRecord Monitor(const std::string& mon, const std::string& canonical, uint8_t seed) {
  MonitorRecord r;
  r.key = statd::MonitorKey{mon, "server", 100021, 3, 16};
  for (size_t i = 0; i < r.priv.size(); ++i) r.priv[i] = static_cast<uint8_t>(seed + i);
  r.canonical_name = canonical;
  return r;
}

TEST(NfsrecctlFormat, HostMatchesFoldedNamesAndAddresses) {
  const MonitorRecord by_name = Monitor("Client-A", "client-a.example.com", 0);
  EXPECT_TRUE(HostMatches(by_name, "client-a"));
  EXPECT_TRUE(HostMatches(by_name, "CLIENT-A.EXAMPLE.COM"));
  EXPECT_FALSE(HostMatches(by_name, "client"));
  const MonitorRecord by_address = Monitor("10.0.0.7", "10.0.0.7", 0);
  EXPECT_TRUE(HostMatches(by_address, "::ffff:10.0.0.7"));
  EXPECT_FALSE(HostMatches(by_address, "10.0.0.70"));
  const MonitorRecord v6 = Monitor("fd00::7", "peer.example.com", 0);
  EXPECT_TRUE(HostMatches(v6, "fd00:0::0:7"));
}

TEST(NfsrecctlFormat, TableColumnsAlignAndTheLastIsNotPadded) {
  EXPECT_EQ(FormatTable({"A", "LONGER", "ID"}, {{"wide-cell", "x", "with blank"}, {"b", "y", "z"}}),
            "A          LONGER  ID\n"
            "wide-cell  x       with blank\n"
            "b          y       z\n");
  EXPECT_EQ(FormatTable({"ONLY"}, {}), "ONLY\n");
}

// --- Listings on the real stores ----------------------------------------------

// Both stores on one database, as the daemon has them.
class BothStores : public test_support::DbHarness {
 public:
  ~BothStores() override { OnClose(); }
  statd::SqliteNsmStore& nsm() { return *nsm_; }
  nfs4rec::SqliteClientStore& clients() { return *clients_; }

 protected:
  Status OnOpen() override {
    NFSREC_ASSIGN_OR_RETURN(nsm_, statd::SqliteNsmStore::Open(queue()));
    NFSREC_ASSIGN_OR_RETURN(clients_, nfs4rec::SqliteClientStore::Open(queue()));
    return Status::Ok();
  }
  void OnClose() override {
    nsm_.reset();
    clients_.reset();
  }

 private:
  std::unique_ptr<statd::SqliteNsmStore> nsm_;
  std::unique_ptr<nfs4rec::SqliteClientStore> clients_;
};

ClientRecord Client(const std::string& id) {
  ClientRecord r;
  r.id = id;
  return r;
}

const std::string kBinaryId("\x01\x02\xfe", 3);

class ListingTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK(h_.Open()); }

  void PutMonitor(const MonitorRecord& r) {
    ASSERT_OK(
        RunAndWait(h_.loop(), [&](NsmStore::Done d) { h_.nsm().PutMonitor(r, std::move(d)); }));
  }
  void PutClient(const ClientRecord& r) {
    ASSERT_OK(RunAndWait(h_.loop(),
                         [&](ClientStore::Done d) { h_.clients().PutClient(r, std::move(d)); }));
  }
  // Monitors: one by name, one by address, one with a name that is not
  // text; a reboot moves them to the notify list, one new monitor follows.
  // Clients: a, b and kBinaryId, a reboot (grace), a reclaims, d is new.
  void Populate() {
    MonitorRecord gone = Monitor("Gone-Peer", "gone.example.com", 0x10);
    gone.peer_state = 5;
    PutMonitor(gone);
    ASSERT_OK(RunAndWait(h_.loop(), [&](NsmStore::Done d) {
      h_.nsm().PrepareReboot(true, 7, "boot-1", std::move(d));
    }));
    MonitorRecord by_address = Monitor("10.0.0.7", "client7.example.com", 0x20);
    by_address.peer_state = 9;
    by_address.lockd_state = 3;
    PutMonitor(by_address);
    PutMonitor(Monitor(std::string("odd\x01name", 8), std::string("odd\x01name", 8), 0x30));

    for (const std::string& id :
         {std::string("Linux NFSv4.2 a"), std::string("Linux NFSv4.2 b"), kBinaryId}) {
      PutClient(Client(id));
    }
    ASSERT_OK(RunAndWait<Result<nfs4rec::GraceStartResult>>(
                  h_.loop(),
                  [&](ClientStore::ResultDone<nfs4rec::GraceStartResult> d) {
                    h_.clients().StartGrace(std::move(d));
                  })
                  .status());
    ASSERT_OK(RunAndWait<Result<nfs4rec::CheckResult>>(
                  h_.loop(),
                  [&](ClientStore::ResultDone<nfs4rec::CheckResult> d) {
                    h_.clients().CheckReclaim("Linux NFSv4.2 a", std::move(d));
                  })
                  .status());
    ClientRecord d = Client("Linux NFSv4.2 d");
    d.princhash = std::string(32, '\x5a');
    PutClient(d);
  }

  CtlSnapshot Snapshot() {
    Result<CtlSnapshot> snap = ReadStoreSnapshot(h_.path());
    EXPECT_OK(snap.status());
    return snap.ok() ? *snap : CtlSnapshot();
  }

  std::string Render(const std::vector<std::string>& args) {
    Result<std::string> text = RenderListing(Command(args), Snapshot());
    EXPECT_OK(text.status());
    return text.ok() ? *text : "";
  }
  CtlJson RenderJson(std::vector<std::string> args) {
    args.push_back("--json");
    return CtlJson::parse(Render(args));
  }

  BothStores h_;
};

TEST_F(ListingTest, MonitorsListShowsEachRecordWithNamesAsTextOrHex) {
  Populate();
  const std::string table = Render({"list", "monitors"});
  EXPECT_TRUE(table.rfind("MON_NAME  ", 0) == 0) << table;
  EXPECT_TRUE(Contains(table, "10.0.0.7")) << table;
  EXPECT_TRUE(Contains(table, "client7.example.com")) << table;
  EXPECT_TRUE(Contains(table, "hex:6f6464016e616d65")) << table;
  EXPECT_FALSE(Contains(table, "Gone-Peer")) << "moved to the notify list at the reboot";

  const CtlJson j = RenderJson({"list", "monitors"});
  ASSERT_EQ(j["monitors"].size(), 2u);
  const CtlJson& m = j["monitors"][0];
  EXPECT_EQ(m["mon_name"]["text"], "10.0.0.7");
  EXPECT_EQ(m["canonical_name"]["text"], "client7.example.com");
  EXPECT_EQ(m["my_name"]["text"], "server");
  EXPECT_EQ(m["my_prog"], 100021);
  EXPECT_EQ(m["my_vers"], 3);
  EXPECT_EQ(m["my_proc"], 16);
  EXPECT_EQ(m["cookie"]["hex"], "202122232425262728292a2b2c2d2e2f");
  EXPECT_EQ(m["peer_state"], 9);
  EXPECT_EQ(m["lockd_state"], 3);
  EXPECT_EQ(m["callback_owed"], true);
  EXPECT_FALSE(j["monitors"][1]["mon_name"].contains("text"));
  EXPECT_EQ(j["monitors"][1]["mon_name"]["hex"], "6f6464016e616d65");
  EXPECT_EQ(j["monitors"][1]["callback_owed"], false);
}

TEST_F(ListingTest, NotifyListHoldsThePeersOwedANotification) {
  Populate();
  const std::string table = Render({"list", "notify"});
  EXPECT_TRUE(Contains(table, "Gone-Peer")) << table;
  EXPECT_FALSE(Contains(table, "10.0.0.7")) << table;
  const CtlJson j = RenderJson({"list", "notify"});
  ASSERT_EQ(j["notify"].size(), 1u);
  EXPECT_EQ(j["notify"][0]["canonical_name"]["text"], "gone.example.com");
  EXPECT_EQ(j["notify"][0]["peer_state"], 5);
}

TEST_F(ListingTest, ClientsOfEachEpochAndWhetherRecoveryOnesReclaimed) {
  Populate();
  const CtlJson current = RenderJson({"list", "clients"});
  EXPECT_EQ(current["epoch"], "current");
  EXPECT_EQ(current["epoch_number"], 2);
  EXPECT_EQ(current["in_grace"], true);
  std::vector<std::string> ids;
  for (const CtlJson& c : current["clients"]) ids.push_back(c["id"]["text"]);
  EXPECT_EQ(ids, (std::vector<std::string>{"Linux NFSv4.2 a", "Linux NFSv4.2 d"}));
  const CtlJson& d = current["clients"][1];
  std::string princhash_hex;
  for (int i = 0; i < 32; ++i) princhash_hex += "5a";
  EXPECT_EQ(d["princhash"]["hex"], princhash_hex);
  EXPECT_TRUE(current["clients"][0]["princhash"].is_null());
  EXPECT_TRUE(current["clients"][0]["has_session"].is_null());
  EXPECT_GT(current["clients"][0]["time"].get<int64_t>(), 1700000000);
  EXPECT_FALSE(current["clients"][0].contains("reclaimed"));
  EXPECT_EQ(current["clients"][0]["lease_expired"], false);

  const CtlJson recovery = RenderJson({"list", "clients", "--epoch", "recovery"});
  EXPECT_EQ(recovery["epoch"], "recovery");
  EXPECT_EQ(recovery["epoch_number"], 1);
  ASSERT_EQ(recovery["clients"].size(), 3u);
  size_t reclaimed = 0;
  for (const CtlJson& c : recovery["clients"]) {
    const bool is_a = c["id"].contains("text") && c["id"]["text"] == "Linux NFSv4.2 a";
    EXPECT_EQ(c["reclaimed"], is_a) << c.dump();
    reclaimed += c["reclaimed"].get<bool>();
  }
  EXPECT_EQ(reclaimed, 1u);

  const std::string table = Render({"list", "clients", "--epoch", "recovery"});
  EXPECT_TRUE(table.rfind("EPOCH  TIME", 0) == 0) << table;
  EXPECT_TRUE(Contains(table, "RECLAIMED  ID\n")) << table;
  EXPECT_TRUE(Contains(table, "yes        Linux NFSv4.2 a\n")) << table;
  EXPECT_TRUE(Contains(table, "no         Linux NFSv4.2 b\n")) << table;
  EXPECT_TRUE(Contains(table, "hex:0102fe\n")) << table;
  const CtlSnapshot snap = Snapshot();
  EXPECT_TRUE(Contains(table, RecordTimeUtc(snap.clients->recovery[0].time))) << table;
}

// A client the last reconciliation saw expired (courtesy) is marked in
// the listing, the JSON and show: the next GraceStart does not offer it.
TEST_F(ListingTest, ClientsSeenExpiredAreMarked) {
  Populate();
  ASSERT_OK(RunAndWait(h_.loop(), [&](ClientStore::Done done) {
    h_.clients().SetLeaseExpired("Linux NFSv4.2 d", true, std::move(done));
  }));
  const CtlJson current = RenderJson({"list", "clients"});
  ASSERT_EQ(current["clients"].size(), 2u);
  EXPECT_EQ(current["clients"][0]["lease_expired"], false);  // a
  EXPECT_EQ(current["clients"][1]["lease_expired"], true);   // d
  const std::string table = Render({"list", "clients"});
  EXPECT_TRUE(Contains(table, "EXPIRED  ID\n")) << table;
  EXPECT_TRUE(Contains(table, "yes      Linux NFSv4.2 d\n")) << table;
  EXPECT_TRUE(Contains(table, "no       Linux NFSv4.2 a\n")) << table;
  EXPECT_EQ(RenderJson({"grace"})["current_lease_expired"], 1);
  const std::string shown = Render({"show", "Linux NFSv4.2 d"});
  EXPECT_TRUE(Contains(shown, "lease:      expired at the last reconciliation")) << shown;
}

TEST_F(ListingTest, GraceCountsRecoveryRecordsThatHaveACurrentRecordAsReclaimed) {
  Populate();
  const CtlJson j = RenderJson({"grace"});
  EXPECT_EQ(j["in_grace"], true);
  EXPECT_EQ(j["current_epoch"], 2);
  EXPECT_EQ(j["recovery_epoch"], 1);
  EXPECT_EQ(j["current_clients"], 2);  // a reclaimed, d is new: d does not count as reclaimed
  EXPECT_EQ(j["may_reclaim"], 3);
  EXPECT_EQ(j["reclaimed"], 1);
  const std::string text = Render({"grace"});
  EXPECT_TRUE(Contains(text, "grace:            in grace\n")) << text;
  EXPECT_TRUE(Contains(text, "may reclaim:      3\nreclaimed:        1\n")) << text;
  EXPECT_TRUE(Contains(text, "not reclaimed yet:\n  hex:0102fe\n  Linux NFSv4.2 b\n")) << text;
}

TEST_F(ListingTest, OutOfGraceNoClientMayReclaimUntilTheNextRestart) {
  PutClient(Client("Linux NFSv4.2 a"));
  const CtlJson j = RenderJson({"grace"});
  EXPECT_EQ(j["in_grace"], false);
  EXPECT_EQ(j["current_epoch"], 1);
  EXPECT_EQ(j["recovery_epoch"], 0);
  EXPECT_EQ(j["current_clients"], 1);
  EXPECT_EQ(j["may_reclaim"], 0);
  EXPECT_EQ(j["clients"], CtlJson::array());
  EXPECT_TRUE(Contains(Render({"grace"}), "grace:            not in grace\n"));
  const CtlJson recovery = RenderJson({"list", "clients", "--epoch", "recovery"});
  EXPECT_EQ(recovery["epoch_number"], 0);
  EXPECT_EQ(recovery["clients"], CtlJson::array());
  EXPECT_TRUE(Contains(Render({"list", "clients", "--epoch", "recovery"}), "not in grace"));
}

TEST_F(ListingTest, ShowHostFindsMonitorAndNotifyEntriesByFoldedNameOrAddress) {
  Populate();
  const CtlJson gone = RenderJson({"show", "GONE.example.COM"});
  EXPECT_EQ(gone["monitors"], CtlJson::array());
  ASSERT_EQ(gone["notify"].size(), 1u);
  EXPECT_EQ(gone["notify"][0]["mon_name"]["text"], "Gone-Peer");
  EXPECT_EQ(gone["clients"], CtlJson::array());
  EXPECT_EQ(gone["query"]["text"], "GONE.example.COM");
  EXPECT_EQ(RenderJson({"show", "gone-peer"})["notify"].size(), 1u);

  const CtlJson mapped = RenderJson({"show", "::ffff:10.0.0.7"});
  ASSERT_EQ(mapped["monitors"].size(), 1u);
  EXPECT_EQ(mapped["monitors"][0]["canonical_name"]["text"], "client7.example.com");
  const std::string text = Render({"show", "10.0.0.7"});
  EXPECT_TRUE(text.rfind("monitor 10.0.0.7\n", 0) == 0) << text;
  EXPECT_TRUE(Contains(text, "cookie:          202122232425262728292a2b2c2d2e2f\n")) << text;
  EXPECT_TRUE(Contains(text, "(a callback to lockd is owed)")) << text;
}

TEST_F(ListingTest, ShowClientByTextOrHexIdInBothEpochs) {
  Populate();
  const CtlJson a = RenderJson({"show", "Linux NFSv4.2 a"});
  ASSERT_EQ(a["clients"].size(), 2u);
  EXPECT_EQ(a["clients"][0]["epoch"], "current");
  EXPECT_EQ(a["clients"][0]["epoch_number"], 2);
  EXPECT_EQ(a["clients"][1]["epoch"], "recovery");
  EXPECT_EQ(a["clients"][1]["epoch_number"], 1);
  EXPECT_EQ(a["monitors"], CtlJson::array());

  const CtlJson binary = RenderJson({"show", "hex:0102FE"});
  ASSERT_EQ(binary["clients"].size(), 1u);
  EXPECT_EQ(binary["clients"][0]["epoch"], "recovery");
  EXPECT_EQ(binary["clients"][0]["id"]["hex"], "0102fe");
  const std::string text = Render({"show", "hex:0102fe"});
  EXPECT_TRUE(text.rfind("client hex:0102fe\n  epoch:      1 (recovery)\n", 0) == 0) << text;
}

TEST_F(ListingTest, ShowOfAnUnknownNameIsNotFound) {
  Populate();
  for (const char* query : {"nobody", "10.0.0.70", "Linux NFSv4.2 z", "hex:0102"}) {
    Result<std::string> text = RenderListing(Command({"show", query}), Snapshot());
    ASSERT_FALSE(text.ok()) << query;
    EXPECT_TRUE(text.status().IsNotFound()) << query;
    EXPECT_TRUE(Contains(text.status().message(), "matches")) << text.status().message();
  }
  EXPECT_EQ(RenderListing(Command({"show", "hex:0"}), Snapshot()).status().code(),
            Status::Code::kInvalidArgument);
}

TEST_F(ListingTest, StateIsTheNsmNumberWithItsParity) {
  Populate();
  const CtlJson j = RenderJson({"state"});
  EXPECT_EQ(j["state"], 7);
  EXPECT_EQ(j["parity"], "odd");
  EXPECT_EQ(Render({"state"}), "state: 7 (odd: up)\n");
}

TEST_F(ListingTest, ListsOfAnEmptyStoreHaveOnlyTheirHeader) {
  ASSERT_OK(
      RunAndWait(h_.loop(), [&](NsmStore::Done d) { h_.nsm().SetLocalState(3, std::move(d)); }));
  EXPECT_EQ(RenderJson({"list", "monitors"})["monitors"], CtlJson::array());
  EXPECT_EQ(Render({"list", "notify"}),
            "MON_NAME  CANONICAL_NAME  MY_NAME  PROG  VERS  PROC  PEER_STATE  CALLBACK\n");
  EXPECT_EQ(Render({"list", "clients"}), "EPOCH  TIME  SESSION  PRINCHASH  EXPIRED  ID\n");
}

// --- The command's reads ----------------------------------------------------------

int RunCommand(const std::vector<std::string>& args, const std::string& database,
               std::string& err) {
  CtlStore store;
  store.database = database;
  std::FILE* out = std::tmpfile();
  std::FILE* errf = std::tmpfile();
  const int status = RunListing(Command(args), store, out, errf);
  std::rewind(errf);
  char buf[512] = {};
  err.assign(buf, std::fread(buf, 1, sizeof(buf) - 1, errf));
  std::fclose(out);
  std::fclose(errf);
  return status;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(NfsrecctlRead, MissingDatabaseIsAnErrorThatSaysWhere) {
  test_support::TempDir dir;
  std::string err;
  EXPECT_EQ(RunCommand({"list", "monitors"}, dir.File("nfsrecd.sqlite"), err), kCtlExitFailure);
  EXPECT_TRUE(Contains(err, "no database at " + dir.File("nfsrecd.sqlite"))) << err;
  EXPECT_TRUE(Contains(err, "--state-dir")) << err;
}

TEST(NfsrecctlRead, AnotherProgramsDatabaseIsRefusedUnchanged) {
  test_support::TempDir dir;
  const std::string path = dir.File("nfsrecd.sqlite");
  {
    Result<std::unique_ptr<sqlite::Db>> db = sqlite::Db::Open(":memory:");
    ASSERT_OK(db.status());
    ASSERT_OK(
        (*db)->Exec("CREATE TABLE parameters (key TEXT PRIMARY KEY, value TEXT);"
                    "CREATE TABLE grace (current INTEGER, recovery INTEGER);"));
    ASSERT_OK((*db)->Exec("VACUUM INTO '" + path + "'"));
  }
  const std::string before = Slurp(path);
  std::string err;
  EXPECT_EQ(RunCommand({"grace"}, path, err), kCtlExitFailure);
  EXPECT_TRUE(Contains(err, "nfsdcld")) << err;
  EXPECT_EQ(Slurp(path), before);
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
}

TEST(NfsrecctlRead, DatabaseWithoutNfsv4TrackingSaysSo) {
  BothStores h;
  ASSERT_OK(h.Open());
  h.Close();
  // Only the NSM component: drop the cld one as a database of an NSM-only
  // nfsrecd would lack it.
  {
    Result<std::unique_ptr<sqlite::Db>> db = sqlite::Db::Open(h.path());
    ASSERT_OK(db.status());
    ASSERT_OK((*db)->Exec("DELETE FROM schema_versions WHERE component = 'cld'"));
  }
  std::string err;
  EXPECT_EQ(RunCommand({"list", "clients"}, h.path(), err), kCtlExitFailure);
  EXPECT_TRUE(Contains(err, "no NFSv4 client tracking")) << err;
  EXPECT_EQ(RunCommand({"state"}, h.path(), err), kCtlExitOk) << err;
}

}  // namespace
}  // namespace nfsrec
