#include "nfs4rec/clients_info.h"

#include <chrono>
#include <memory>
#include <optional>

#include "common/base/logging.h"
#include "common/os/event_loop.h"
#include "common/os/executor.h"
#include "tests/support/fake_file_system.h"
#include "tests/support/status_matchers.h"
#include <gtest/gtest.h>

namespace nfsrec::nfs4rec {
namespace {

// As a 6.1 kernel prints it.
constexpr char kInfo61[] =
    "clientid: 0x6564a3f10000000a\n"
    "address: \"127.0.0.1:736\"\n"
    "status: confirmed\n"
    "seconds from last renew: 3\n"
    "name: \"Linux NFSv4.0 nfsvm/127.0.0.1 tcp\"\n"
    "minor version: 0\n"
    "Implementation domain: \"kernel.org\"\n"
    "Implementation name: \"Linux 6.1.0-56-amd64 #1 SMP x86_64\"\n"
    "Implementation time: [0, 0]\n"
    "callback state: UP\n"
    "callback address: 127.0.0.1:0\n";

TEST(DecodeQuotedNameTest, PlainAndEscaped) {
  EXPECT_EQ(*DecodeQuotedName("\"abc def\""), "abc def");
  EXPECT_EQ(*DecodeQuotedName("\"a\\x22b\\x5cc\""), "a\"b\\c");
  EXPECT_EQ(*DecodeQuotedName("\"\\x00\\x0a\\xff\\xFE\""), std::string("\0\n\xff\xfe", 4));
  // Older kernels print high bytes raw; they are taken as they are.
  EXPECT_EQ(*DecodeQuotedName("\"caf\xc3\xa9\""), "caf\xc3\xa9");
}

TEST(DecodeQuotedNameTest, Rejects) {
  for (const char* bad : {"", "\"", "\"\"", "abc", "\"abc", "\"a\\\"", "\"a\\n\"", "\"a\\x4\"",
                          "\"a\\xZZ\"", "\"a\\x", "\"a\"b\"", "\"a\" x"}) {
    EXPECT_FALSE(DecodeQuotedName(bad).ok()) << bad;
  }
}

TEST(DecodeQuotedNameTest, LengthLimit) {
  std::string max(1024, 'n');
  EXPECT_EQ(*DecodeQuotedName("\"" + max + "\""), max);
  EXPECT_FALSE(DecodeQuotedName("\"" + max + "n\"").ok());
  // 1024 escaped bytes are 4096 characters of text and still fine.
  std::string esc;
  for (int i = 0; i < 1024; ++i) esc += "\\x01";
  EXPECT_EQ(DecodeQuotedName("\"" + esc + "\"")->size(), 1024u);
  EXPECT_FALSE(DecodeQuotedName("\"" + esc + "\\x01\"").ok());
}

TEST(ParseClientInfoTest, Kernel61) {
  Result<NfsdClientInfo> i = ParseClientInfo(kInfo61);
  ASSERT_TRUE(i.ok()) << i.status().ToString();
  EXPECT_EQ(i->name, "Linux NFSv4.0 nfsvm/127.0.0.1 tcp");
  EXPECT_EQ(i->status, NfsdClientStatus::kConfirmed);
  EXPECT_EQ(i->clientid, "0x6564a3f10000000a");
  EXPECT_EQ(i->address, "127.0.0.1:736");
  EXPECT_EQ(i->minor_version, 0u);
  EXPECT_EQ(i->seconds_from_last_renew, 3);
  EXPECT_FALSE(i->holds_state);
}

TEST(ParseClientInfoTest, EveryStatusAndNewerFields) {
  const std::pair<const char*, NfsdClientStatus> cases[] = {
      {"confirmed", NfsdClientStatus::kConfirmed},
      {"unconfirmed", NfsdClientStatus::kUnconfirmed},
      {"courtesy", NfsdClientStatus::kCourtesy},
      {"expirable", NfsdClientStatus::kExpirable},
      {"something-new", NfsdClientStatus::kOther}};
  for (const auto& [word, want] : cases) {
    std::string text = StrCat("clientid: 0x1\naddress: \"[::1]:700\"\nstatus: ", word,
                              "\nname: \"Linux NFSv4.2 h\"\nminor version: 2\n"
                              "admin-revoked states: 0\nsome future field: x\n");
    Result<NfsdClientInfo> i = ParseClientInfo(text);
    ASSERT_TRUE(i.ok()) << word;
    EXPECT_EQ(i->status, want) << word;
    EXPECT_EQ(i->address, "[::1]:700");
    EXPECT_EQ(i->minor_version, 2u);
    EXPECT_FALSE(i->seconds_from_last_renew.has_value());
  }
}

TEST(ParseClientInfoTest, NameWithColonsQuotesAndNoTrailingNewline) {
  Result<NfsdClientInfo> i =
      ParseClientInfo("status: confirmed\nname: \"a: b \\x22q\\x22 \\x5c end\"");
  ASSERT_TRUE(i.ok());
  EXPECT_EQ(i->name, "a: b \"q\" \\ end");
}

TEST(ParseClientInfoTest, RejectsMissingBadOrDuplicate) {
  EXPECT_FALSE(ParseClientInfo("").ok());
  EXPECT_FALSE(ParseClientInfo("status: confirmed\n").ok());                  // no name
  EXPECT_FALSE(ParseClientInfo("name: \"x\"\nminor version: 0\n").ok());      // no status
  EXPECT_FALSE(ParseClientInfo("status: confirmed\nname: \"\"\n").ok());      // empty
  EXPECT_FALSE(ParseClientInfo("status: confirmed\nname: \"a\\q\"\n").ok());  // bad escape
  EXPECT_FALSE(ParseClientInfo("status: confirmed\nname: \"x\"\nname: \"y\"\n").ok());
  // Truncated in the middle of the name.
  std::string t = kInfo61;
  EXPECT_FALSE(ParseClientInfo(t.substr(0, t.find("nfsvm"))).ok());
  // Garbage.
  EXPECT_FALSE(ParseClientInfo(std::string("\x00\x01\xff:::\n\n:", 9)).ok());
  std::string name(1025, 'a');
  EXPECT_FALSE(ParseClientInfo("status: confirmed\nname: \"" + name + "\"\n").ok());
}

TEST(StatesHoldStateTest, Forms) {
  EXPECT_FALSE(StatesHoldState(""));
  EXPECT_FALSE(StatesHoldState("\n"));
  EXPECT_TRUE(StatesHoldState(
      "- 0x00000001651f2a3b0000000a00000002: { type: open, access: rw, deny: --, superblock: "
      "\"fd:01:2\", filename: \"d1\", owner: \"open id:...\" }\n"));
  EXPECT_TRUE(StatesHoldState("- 0x1: { type: lock, superblock: \"fd:01:2\" }"));
}

class ProcTree : public ::testing::Test {
 protected:
  void SetUp() override { fs_->MakeDir(kNfsdClientsDir); }
  void Write(const std::string& rel, const std::string& text) { fs_->SetFile("/" + rel, text); }
  // Shared: ProcLiveClientSource hands it to its workers.
  std::shared_ptr<FakeFileSystem> fs_ = std::make_shared<FakeFileSystem>();
};

TEST_F(ProcTree, ScanReadsInfoAndStates) {
  Write("proc/fs/nfsd/clients/10/info", kInfo61);
  Write("proc/fs/nfsd/clients/10/states", "- 0x1: { type: open }\n");
  Write("proc/fs/nfsd/clients/11/info", "status: confirmed\nname: \"no state\"\n");
  Write("proc/fs/nfsd/clients/11/states", "");
  Write("proc/fs/nfsd/clients/12/info", "status: confirmed\nname: \"bad\\q\"\n");
  Write("proc/fs/nfsd/clients/12/states", "- 0x1: { type: open }\n");
  fs_->MakeDir(StrCat(kNfsdClientsDir, "/13"));  // vanished
  Result<LiveClientScan> s = ScanLiveClients(*fs_);
  ASSERT_OK(s);
  ASSERT_EQ(s->clients.size(), 2u);
  EXPECT_EQ(s->unreadable, 1u);
  EXPECT_NE(s->first_error.find("12/info"), std::string::npos) << s->first_error;
  for (const NfsdClientInfo& c : s->clients) {
    EXPECT_EQ(c.holds_state, c.name == "Linux NFSv4.0 nfsvm/127.0.0.1 tcp") << c.name;
  }
}

TEST_F(ProcTree, OversizedInfoIsUnreadableAndHugeStatesArePeekedAt) {
  Write("proc/fs/nfsd/clients/1/info", std::string(70000, 'x'));
  Write("proc/fs/nfsd/clients/2/info", "status: confirmed\nname: \"big\"\n");
  std::string states;
  while (states.size() < 100000) states += "- 0x1: { type: open }\n";
  Write("proc/fs/nfsd/clients/2/states", states);
  Result<LiveClientScan> s = ScanLiveClients(*fs_);
  ASSERT_OK(s);
  EXPECT_EQ(s->unreadable, 1u);
  EXPECT_NE(s->first_error.find("larger than"), std::string::npos) << s->first_error;
  ASSERT_EQ(s->clients.size(), 1u);
  EXPECT_TRUE(s->clients[0].holds_state);
}

TEST_F(ProcTree, MissingDirectoryIsAnError) {
  fs_->Remove(kNfsdClientsDir);
  EXPECT_FALSE(ScanLiveClients(*fs_).ok());
}

TEST_F(ProcTree, LeaseTime) {
  EXPECT_FALSE(ReadLeaseTime(*fs_).ok());
  Write("proc/fs/nfsd/nfsv4leasetime", "45\n");
  EXPECT_EQ(*ReadLeaseTime(*fs_), 45);
  Write("proc/fs/nfsd/nfsv4leasetime", "x\n");
  EXPECT_FALSE(ReadLeaseTime(*fs_).ok());
}

// The real source: a scan on an Executor worker, answered on the loop.
TEST_F(ProcTree, ProcSourceScansOnAWorkerAndDropsAnswersAfterItIsGone) {
  Write("proc/fs/nfsd/clients/10/info", kInfo61);
  Write("proc/fs/nfsd/clients/10/states", "- 0x1: { type: open }\n");
  Write("proc/fs/nfsd/nfsv4leasetime", "45\n");
  auto loop = EventLoop::Create().value();
  Executor executor(*loop);
  std::optional<Result<LiveClientScan>> got;
  {
    ProcLiveClientSource source(executor, fs_);
    source.Scan([&](Result<LiveClientScan> r) { got = std::move(r); });
    EXPECT_FALSE(got.has_value());  // never inline
    ASSERT_TRUE(loop->RunUntil([&] { return got.has_value(); }, std::chrono::seconds(10)));
    ASSERT_OK(*got);
    ASSERT_EQ((*got)->clients.size(), 1u);
    EXPECT_EQ((*got)->lease_seconds, std::optional<int64_t>(45));
    got.reset();
    source.Scan([&](Result<LiveClientScan> r) { got = std::move(r); });
  }
  // The source is gone: its answer, whenever the worker finishes, is dropped.
  loop->RunUntil([] { return false; }, std::chrono::milliseconds(200));
  EXPECT_FALSE(got.has_value());
}

}  // namespace
}  // namespace nfsrec::nfs4rec
