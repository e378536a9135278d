// ThreadResolver: the real lookup for the forms that need no network
// (numeric addresses, /etc/hosts, an .invalid name), and the cache,
// coalescing, overload and shutdown rules with a scripted lookup on a
// FakeScheduler clock.
#include "common/os/resolver.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/base/logging.h"
#include "tests/support/fake_scheduler.h"
#include "tests/support/status_matchers.h"
#include <gtest/gtest.h>

namespace nfsrec {
namespace {

using std::chrono::seconds;

constexpr auto kSettle = seconds(10);

class ResolverTest : public ::testing::Test {
 protected:
  // Resolves and runs the loop until the answer is in.
  Result<HostInfo> ResolveNow(Resolver& r, const std::string& name) {
    std::optional<Result<HostInfo>> got;
    r.Resolve(name, [&](Result<HostInfo> res) { got = std::move(res); });
    EXPECT_FALSE(got.has_value()) << "answered inline";
    if (!loop_->RunUntil([&] { return got.has_value(); }, seconds(30))) {
      return Status::TimedOut("no answer");
    }
    return *got;
  }

  std::unique_ptr<EventLoop> loop_ = EventLoop::Create().value();
  Executor executor_{*loop_};
  FakeScheduler clock_;
};

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST_F(ResolverTest, NumericAddressIsReverseResolvedOrKeptAsItIs) {
  ThreadResolver r(executor_, clock_);
  Result<HostInfo> info = ResolveNow(r, "127.0.0.1");
  ASSERT_OK(info);
  EXPECT_EQ(info->addresses, std::vector<std::string>{"127.0.0.1"});
  EXPECT_FALSE(info->canonical_name.empty());
  std::string normalized;
  EXPECT_TRUE(IsNumericAddress("::0001", &normalized));
  EXPECT_EQ(normalized, "::1");
  EXPECT_FALSE(IsNumericAddress("localhost", nullptr));
}

// IsNumericAddress decides the common spellings without getaddrinfo; its
// answer (and presentation form) must be the reference's for every input.
void ExpectSameAsGetaddrinfo(const std::string& s) {
  std::string fast = "unset";
  std::string slow = "unset";
  const bool fast_ok = IsNumericAddress(s, &fast);
  const bool slow_ok = NumericAddressByGetaddrinfo(s, &slow);
  EXPECT_EQ(fast_ok, slow_ok) << ::testing::PrintToString(s);
  if (fast_ok && slow_ok) {
    EXPECT_EQ(fast, slow) << ::testing::PrintToString(s);
  }
  EXPECT_EQ(IsNumericAddress(s, nullptr), slow_ok) << ::testing::PrintToString(s);
}

TEST(NumericAddressTest, FastPathAgreesWithGetaddrinfoOnTrickyInputs) {
  const std::vector<std::string> inputs = {
      // IPv4: dotted quads and inet_aton's other forms (shorthand, octal, hex, one number)
      "1.2.3.4", "0.0.0.0", "255.255.255.255", "256.1.1.1", "1.2.3.256", "127.1", "127.0.1",
      "1.2.3", "10", "0", "4294967295", "4294967296", "0x7f.1", "0X7F.0.0.1", "0x7f000001",
      "0xffffffff", "0x100000000", "0177.0.0.1", "010.0.0.1", "1.2.3.04", "08.1.1.1", "1.2.3.4.",
      ".1.2.3.4", "1..2.3", "0x", "0x.1", "1e2.3.4.5", "abc", "dead.beef", "ff", "+1.2.3.4",
      "1.2.3.-4", "01.02.03.04", "00000000001.2.3.4",
      // whitespace and junk around an address
      " 1.2.3.4", "1.2.3.4 ", "1.2.3.4\n", "\t1.2.3.4", "1.2.3.4 x", "1.2.3.4x",
      // IPv6, mapped and compatible forms, case, over-long and malformed ones
      "::1", "::", "::0001", "0:0:0:0:0:0:0:1", "FE80::A", "fe80::a", "2001:DB8::1",
      "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1", "::ffff:1.2.3.4", "::FFFF:7f00:1", "::1.2.3.4",
      "::ffff:127.1", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "1::2::3", ":::", "12345::1", "::1 ",
      " ::1", "[::1]", "::1/128", "1:2:3:4:5:6:1.2.3.4",
      // scope ids (only getaddrinfo knows interface names and indexes)
      "fe80::1%lo", "fe80::1%1", "fe80::1%nonexistent", "::1%lo", "2001:db8::1%lo", "1.2.3.4%lo",
      "fe80::1%", "%lo", "ff02::1%lo",
      // names, and strings that hold a NUL (getaddrinfo stops at it)
      "", "localhost", "client-000001.bench.example", "host.example.", "127.0.0.1.example",
      std::string("1.2.3.4\0junk", 12), std::string("127.1\0zz", 8),
      std::string("\0"
                  "1.2.3.4",
                  8),
      std::string("fe80::1\0%lo", 11)};
  for (const std::string& s : inputs) ExpectSameAsGetaddrinfo(s);
}

TEST(NumericAddressTest, FastPathAgreesWithGetaddrinfoOnRandomStrings) {
  // Short strings over the characters that numeric forms are made of, so
  // that many parse one way or another.
  const std::string alphabet = "0123456789abcdefxX.:%F ";
  uint64_t x = 0x9e3779b97f4a7c15ULL;  // a fixed seed: the same inputs every run
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    const size_t len = next() % 14;
    for (size_t j = 0; j < len; ++j) s.push_back(alphabet[next() % alphabet.size()]);
    ExpectSameAsGetaddrinfo(s);
  }
}

TEST_F(ResolverTest, ForwardNameGivesItsCanonicalNameAndAddresses) {
  ThreadResolver r(executor_, clock_);
  Result<HostInfo> info = ResolveNow(r, "localhost");
  ASSERT_OK(info);
  EXPECT_EQ(info->canonical_name, "localhost");
  EXPECT_TRUE(Contains(info->addresses, "127.0.0.1") || Contains(info->addresses, "::1"))
      << ::testing::PrintToString(info->addresses);
}

TEST_F(ResolverTest, UnknownNameIsNotFoundAndBadOnesAreRefused) {
  ThreadResolver r(executor_, clock_);
  Result<HostInfo> info = ResolveNow(r, "no-such-host.invalid");
  EXPECT_TRUE(info.status().IsNotFound()) << info.status().ToString();
  EXPECT_TRUE(ResolveNow(r, "").status().IsInvalidArgument());
}

// A lookup the test scripts: counts calls per name, optionally waits for a
// gate, and answers from a table (NotFound otherwise).
struct ScriptedLookup {
  std::map<std::string, HostInfo> table;
  std::map<std::string, std::atomic<int>> calls;
  std::promise<void> open;
  std::shared_future<void> gate;
  bool gated = false;

  explicit ScriptedLookup(bool with_gate) : gate(open.get_future().share()), gated(with_gate) {
    for (const char* n : {"a", "b", "c", "d", "bad"}) calls[n] = 0;
  }
  void Open() { open.set_value(); }
  // The resolver copies its Lookup onto workers: hand it a pointer.
  ThreadResolver::Lookup Fn() {
    return [this](const std::string& name) -> Result<HostInfo> {
      ++calls[name];
      if (gated) gate.wait();
      auto it = table.find(name);
      if (it == table.end()) return Status::NotFound("no " + name);
      return it->second;
    };
  }
};

TEST_F(ResolverTest, CallersOfOneNameShareOneLookup) {
  ScriptedLookup lookup(/*with_gate=*/true);
  lookup.table["a"] = HostInfo{"a.example", {"192.0.2.1"}};
  ThreadResolver r(executor_, clock_, {.lookup = lookup.Fn()});
  std::vector<std::string> answers;
  for (int i = 0; i < 2; ++i) {
    r.Resolve("a", [&](Result<HostInfo> res) { answers.push_back(res->canonical_name); });
  }
  lookup.Open();
  ASSERT_TRUE(loop_->RunUntil([&] { return answers.size() == 2; }, kSettle));
  EXPECT_EQ(answers, (std::vector<std::string>{"a.example", "a.example"}));
  EXPECT_EQ(lookup.calls["a"].load(), 1);
}

TEST_F(ResolverTest, CompletionsMayBeMoveOnly) {
  ScriptedLookup lookup(/*with_gate=*/false);
  lookup.table["a"] = HostInfo{"a.example", {"192.0.2.1"}};
  ThreadResolver r(executor_, clock_, {.lookup = lookup.Fn()});
  std::optional<std::string> answer;
  auto owned = std::make_unique<std::string>("kept");
  r.Resolve("a", [&answer, owned = std::move(owned)](Result<HostInfo> res) {
    answer = res->canonical_name + "/" + *owned;
  });
  ASSERT_TRUE(loop_->RunUntil([&] { return answer.has_value(); }, kSettle));
  EXPECT_EQ(*answer, "a.example/kept");
}

TEST_F(ResolverTest, AnswersAreCachedForTheirTtl) {
  ScriptedLookup lookup(/*with_gate=*/false);
  lookup.table["a"] = HostInfo{"a.example", {"192.0.2.1"}};
  ThreadResolver r(
      executor_, clock_,
      {.positive_ttl = seconds(300), .negative_ttl = seconds(30), .lookup = lookup.Fn()});
  ASSERT_OK(ResolveNow(r, "a"));
  EXPECT_FALSE(ResolveNow(r, "bad").ok());
  clock_.Advance(seconds(29));
  ASSERT_OK(ResolveNow(r, "a"));  // cached, yet never inline
  EXPECT_FALSE(ResolveNow(r, "bad").ok());
  EXPECT_EQ(lookup.calls["a"].load(), 1);
  EXPECT_EQ(lookup.calls["bad"].load(), 1);
  clock_.Advance(seconds(1));  // the failure expires first
  EXPECT_FALSE(ResolveNow(r, "bad").ok());
  EXPECT_EQ(lookup.calls["bad"].load(), 2);
  ASSERT_OK(ResolveNow(r, "a"));
  EXPECT_EQ(lookup.calls["a"].load(), 1);
  clock_.Advance(seconds(270));
  ASSERT_OK(ResolveNow(r, "a"));
  EXPECT_EQ(lookup.calls["a"].load(), 2);
}

TEST_F(ResolverTest, TooManyWaitingNamesIsUnavailable) {
  ScriptedLookup lookup(/*with_gate=*/true);
  for (const char* n : {"a", "b", "c", "d"}) lookup.table[n] = HostInfo{n, {}};
  ThreadResolver r(executor_, clock_, {.threads = 1, .max_pending = 2, .lookup = lookup.Fn()});
  std::map<std::string, Status> got;
  for (const char* n : {"a", "b", "c", "d"}) {
    r.Resolve(n, [&got, n](Result<HostInfo> res) { got[n] = res.status(); });
  }
  // "a" is being looked up, "b" and "c" wait: "d" is one too many.
  ASSERT_TRUE(loop_->RunUntil([&] { return got.count("d") == 1; }, kSettle));
  EXPECT_TRUE(got["d"].IsUnavailable()) << got["d"].ToString();
  EXPECT_EQ(got.size(), 1u);
  // "a" again joins its lookup rather than counting as pending.
  r.Resolve("a", [&got](Result<HostInfo> res) { got["a2"] = res.status(); });
  lookup.Open();
  ASSERT_TRUE(loop_->RunUntil([&] { return got.size() == 5; }, kSettle));
  for (const char* n : {"a", "a2", "b", "c"}) EXPECT_OK(got[n]);
  EXPECT_EQ(lookup.calls["d"].load(), 0);
  EXPECT_EQ(lookup.calls["a"].load(), 1);
}

TEST_F(ResolverTest, CacheIsBoundedInEntriesAndKeepsTheRecentlyUsed) {
  ScriptedLookup lookup(/*with_gate=*/false);
  lookup.table["peer"] = HostInfo{"peer.example", {"192.0.2.1"}};
  lookup.calls["peer"] = 0;
  for (int i = 0; i < 200; ++i) lookup.calls[StrCat("stranger", i)] = 0;
  ThreadResolver r(executor_, clock_, {.max_cache = 8, .lookup = lookup.Fn()});
  ASSERT_OK(ResolveNow(r, "peer"));
  // A flood of names that do not resolve (SM_NOTIFY from strangers).
  for (int i = 0; i < 200; ++i) {
    EXPECT_FALSE(ResolveNow(r, StrCat("stranger", i)).ok());
    EXPECT_LE(r.cached(), 8u);
    if (i % 4 == 0) ASSERT_OK(ResolveNow(r, "peer"));  // in use: stays cached
  }
  EXPECT_EQ(r.cached(), 8u);
  EXPECT_EQ(lookup.calls["peer"].load(), 1);
  // The least recently used went first.
  EXPECT_FALSE(ResolveNow(r, "stranger0").ok());
  EXPECT_EQ(lookup.calls["stranger0"].load(), 2);
  EXPECT_FALSE(ResolveNow(r, "stranger199").ok());
  EXPECT_EQ(lookup.calls["stranger199"].load(), 1);
}

TEST_F(ResolverTest, TooManyWaitingCallersIsUnavailable) {
  ScriptedLookup lookup(/*with_gate=*/true);
  lookup.table["slow"] = HostInfo{"slow", {}};
  lookup.calls["slow"] = 0;
  ThreadResolver r(executor_, clock_, {.threads = 1, .max_waiters = 3, .lookup = lookup.Fn()});
  std::vector<Status> got;
  for (int i = 0; i < 5; ++i) {
    r.Resolve("slow", [&got](Result<HostInfo> res) { got.push_back(res.status()); });
  }
  ASSERT_TRUE(loop_->RunUntil([&] { return got.size() == 2; }, kSettle));
  for (const Status& st : got) EXPECT_TRUE(st.IsUnavailable()) << st.ToString();
  lookup.Open();
  ASSERT_TRUE(loop_->RunUntil([&] { return got.size() == 5; }, kSettle));
  for (size_t i = 2; i < 5; ++i) EXPECT_OK(got[i]);
}

TEST_F(ResolverTest, DestructionDropsTheAnswerOfALookupInFlight) {
  ScriptedLookup lookup(/*with_gate=*/true);
  lookup.table["a"] = HostInfo{"a.example", {}};
  bool answered = false;
  {
    ThreadResolver r(executor_, clock_, {.lookup = lookup.Fn()});
    r.Resolve("a", [&](Result<HostInfo>) { answered = true; });
    ASSERT_TRUE(loop_->RunUntil([&] { return lookup.calls["a"].load() == 1; }, kSettle));
  }
  lookup.Open();
  loop_->RunUntil([] { return false; }, std::chrono::milliseconds(100));
  EXPECT_FALSE(answered);
}

}  // namespace
}  // namespace nfsrec
