// NsmService::RemoveMonitorsOf (nfsrecctl remove monitor) over a MemNsmStore.
#include <optional>
#include <string>
#include <vector>

#include "statd/nsm_service.h"
#include "tests/support/fake_ha_events.h"
#include "tests/support/fake_kernel_nsm.h"
#include "tests/support/fake_lockd_callbacks.h"
#include "tests/support/fake_resolver.h"
#include "tests/support/mem_nsm_store.h"
#include "tests/support/status_matchers.h"
#include <gtest/gtest.h>

namespace nfsrec::statd {
namespace {

const Caller kLockd{true, true, "127.0.0.1"};

MonArgs Mon(const std::string& mon_name, const std::string& my_name = "server", int32_t vers = 3) {
  MonArgs a{MonitorKey{mon_name, my_name, 100021, vers, 16}, {}};
  a.priv.fill(7);
  return a;
}

class NsmAdminTest : public ::testing::Test {
 protected:
  NsmAdminTest() : service_(store_, resolver_, kernel_, callbacks_, log_) {
    resolver_.Add("client2", HostInfo{"client2.example", {"10.0.0.2"}});
    resolver_.Add("CLIENT2", HostInfo{"client2.example", {"10.0.0.2"}});
    resolver_.Add("10.0.0.3", HostInfo{"10.0.0.3", {"10.0.0.3"}});
    resolver_.Add("2001:db8::1", HostInfo{"2001:db8::1", {"2001:db8::1"}});
    resolver_.Add("other", HostInfo{"other", {"10.0.0.4"}});
  }
  void SetUp() override {
    std::optional<Status> st;
    service_.Start(LegacyStatd{}, [&](Status s) { st = s; });
    store_.Flush();
    ASSERT_TRUE(st.has_value() && st->ok());
  }
  void Settle() {
    while (resolver_.Flush() + store_.Flush() > 0) {
    }
  }
  void Monitor(const MonArgs& a) {
    std::optional<StatRes> res;
    service_.Mon(kLockd, a, [&](StatRes r) { res = r; });
    Settle();
    ASSERT_TRUE(res.has_value() && res->success);
  }
  std::optional<Result<size_t>> Remove(const std::string& host,
                                       NsmService::MonitorFilter filter = {}) {
    std::optional<Result<size_t>> out;
    service_.RemoveMonitorsOf(host, filter, [&](Result<size_t> r) { out = std::move(r); });
    EXPECT_FALSE(out.has_value()) << "answered inline";
    Settle();
    return out;
  }

  MemNsmStore store_;
  FakeResolver resolver_;
  FakeKernelNsm kernel_;
  FakeLockdCallbacks callbacks_;
  CapturingLogger log_;
  NsmService service_;
};

TEST_F(NsmAdminTest, RemovesEveryRecordOfTheHostFoldedAsSmUnmonDoes) {
  Monitor(Mon("client2"));
  Monitor(Mon("CLIENT2", "server", 4));   // same host, another spelling and version
  Monitor(Mon("client2", "ganesha", 4));  // another lock manager
  Monitor(Mon("other"));
  std::optional<Result<size_t>> r;
  service_.RemoveMonitorsOf("Client2", {}, [&](Result<size_t> x) { r = std::move(x); });
  EXPECT_EQ(service_.monitor_count(), 1u);  // submitted: gone from the list at once
  EXPECT_EQ(store_.monitors().size(), 4u);  // ... but not yet durable
  EXPECT_FALSE(r.has_value()) << "answered before the deletion was durable";
  Settle();
  ASSERT_TRUE(r.has_value());
  ASSERT_OK(*r);
  EXPECT_EQ(**r, 3u);
  ASSERT_EQ(store_.monitors().size(), 1u);
  EXPECT_EQ(store_.monitors().begin()->first.mon_name, "other");
  EXPECT_TRUE(log_.Contains("UNMONITORING client2 for ganesha"));
}

TEST_F(NsmAdminTest, CanonicalNameMatchesToo) {
  Monitor(Mon("client2"));
  auto r = Remove("client2.example");
  ASSERT_TRUE(r.has_value());
  ASSERT_OK(*r);
  EXPECT_EQ(**r, 1u);
  EXPECT_TRUE(store_.monitors().empty());
}

TEST_F(NsmAdminTest, AnAddressMatchesInAnySpelling) {
  Monitor(Mon("2001:db8::1"));
  auto r = Remove("2001:0db8:0:0::0001");
  ASSERT_TRUE(r.has_value());
  ASSERT_OK(*r);
  EXPECT_EQ(**r, 1u);
}

TEST_F(NsmAdminTest, FilterLimitsToProgVersProc) {
  Monitor(Mon("client2"));
  Monitor(Mon("client2", "server", 4));
  NsmService::MonitorFilter f;
  f.my_vers = 4;
  auto r = Remove("client2", f);
  ASSERT_TRUE(r.has_value());
  ASSERT_OK(*r);
  EXPECT_EQ(**r, 1u);
  ASSERT_EQ(store_.monitors().size(), 1u);
  EXPECT_EQ(store_.monitors().begin()->first.my_vers, 3);
  f = {};
  f.my_proc = 99;
  r = Remove("client2", f);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->status().IsNotFound());
  EXPECT_EQ(store_.monitors().size(), 1u);
}

TEST_F(NsmAdminTest, UnknownHostIsNotFoundAndChangesNothing) {
  Monitor(Mon("client2"));
  const uint64_t notices = log_.lines().size();
  auto r = Remove("nobody");
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->status().IsNotFound()) << r->status().ToString();
  EXPECT_NE(r->status().message().find("nobody"), std::string::npos);
  EXPECT_EQ(store_.monitors().size(), 1u);
  EXPECT_EQ(log_.lines().size(), notices);
}

TEST_F(NsmAdminTest, FailedDeletionKeepsTheRecordsMonitored) {
  Monitor(Mon("client2"));
  store_.FailNext(Status::IOError("disk full"));
  auto r = Remove("client2");
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->status().IsIOError());
  EXPECT_EQ(service_.monitor_count(), 1u);
  EXPECT_EQ(store_.monitors().size(), 1u);
  EXPECT_FALSE(log_.Contains("UNMONITORING"));
}

TEST_F(NsmAdminTest, NotifyListIsLeftAlone) {
  store_.SeedNotify(MonitorRecord{Mon("client2").id, {}, "client2", 0, 0});
  Monitor(Mon("client2"));
  auto r = Remove("client2");
  ASSERT_TRUE(r.has_value());
  ASSERT_OK(*r);
  EXPECT_EQ(store_.notify_list().size(), 1u);
}

TEST_F(NsmAdminTest, AnswerWaitsForTheDelClientCallouts) {
  Monitor(Mon("client2"));
  FakeHaEvents ha;
  service_.SetHaEvents(&ha);
  std::optional<Result<size_t>> r;
  service_.RemoveMonitorsOf("client2", {}, [&](Result<size_t> x) { r = std::move(x); });
  Settle();
  EXPECT_TRUE(store_.monitors().empty());
  EXPECT_FALSE(r.has_value());
  ha.Flush();
  ASSERT_TRUE(r.has_value());
  ASSERT_OK(*r);
  EXPECT_EQ(**r, 1u);
}

}  // namespace
}  // namespace nfsrec::statd
