// The etcd gateway's JSON (etcd_codec.h), and the client's behaviour with
// no etcd at all: refused and silent endpoints.  No etcd needed.
#include "common/store/etcd_codec.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <optional>

#include "common/base/unique_fd.h"
#include "common/os/event_loop.h"
#include "common/store/etcd_client.h"
#include "tests/support/status_matchers.h"
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace nfsrec::etcd {
namespace {

using namespace std::chrono_literals;

TEST(EtcdCodec, Base64RoundTripsEveryByteValue) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t len : {0u, 1u, 2u, 3u, 4u, 255u, 256u}) {
    std::string in = all.substr(0, len);
    auto out = codec::Base64Decode(codec::Base64Encode(in));
    ASSERT_OK(out);
    EXPECT_EQ(*out, in) << len;
  }
  EXPECT_EQ(codec::Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(codec::Base64Encode("a1"), "YTE=");
  EXPECT_FALSE(codec::Base64Decode("Zm9v!").ok());
}

TEST(EtcdCodec, PrefixEndIsTheFirstKeyAfterThePrefix) {
  EXPECT_EQ(PrefixEnd("a"), "b");
  EXPECT_EQ(PrefixEnd("/x/"), "/x0");
  EXPECT_EQ(PrefixEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixEnd(""), std::string(1, '\0'));
}

// Answers as etcd 3.4.23's gateway wrote them.
TEST(EtcdCodec, DecodesRangeAnswerWithStringInt64s) {
  auto r = codec::DecodeRange(
      R"({"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709",)"
      R"("revision":"2","raft_term":"2"},"kvs":[{"key":"Zm9v","create_revision":"2",)"
      R"("mod_revision":"2","version":"1","value":"YmFy"}],"count":"1"})");
  ASSERT_OK(r);
  EXPECT_EQ(r->header.revision, 2);
  EXPECT_EQ(r->header.cluster_id, 15118495548433857066u);
  ASSERT_EQ(r->kvs.size(), 1u);
  EXPECT_EQ(r->kvs[0].key, "foo");
  EXPECT_EQ(r->kvs[0].value, "bar");
  EXPECT_EQ(r->kvs[0].version, 1);
  EXPECT_EQ(r->count, 1);
  EXPECT_FALSE(r->more);
}

TEST(EtcdCodec, DecodesTxnAnswerWithPerOpResponses) {
  auto r = codec::DecodeTxn(
      R"({"header":{"revision":"5"},"succeeded":true,"responses":[)"
      R"({"response_range":{"header":{"revision":"5"},"kvs":[{"key":"YQ==","value":"eA==",)"
      R"("mod_revision":"4"}],"count":"1"}},{"response_put":{"header":{"revision":"5"}}},)"
      R"({"response_delete_range":{"header":{"revision":"5"},"deleted":"2"}}]})");
  ASSERT_OK(r);
  EXPECT_TRUE(r->succeeded);
  ASSERT_EQ(r->responses.size(), 3u);
  EXPECT_EQ(std::get<RangeResponse>(r->responses[0]).kvs.at(0).value, "x");
  EXPECT_EQ(std::get<RangeResponse>(r->responses[0]).kvs.at(0).mod_revision, 4);
  EXPECT_TRUE(std::holds_alternative<PutResponse>(r->responses[1]));
  EXPECT_EQ(std::get<DeleteResponse>(r->responses[2]).deleted, 2);
}

TEST(EtcdCodec, TxnFailureWithoutFieldsIsNotSucceeded) {
  auto r = codec::DecodeTxn(R"({"header":{"revision":"7"}})");
  ASSERT_OK(r);
  EXPECT_FALSE(r->succeeded);
  EXPECT_EQ(r->header.revision, 7);
  EXPECT_TRUE(r->responses.empty());
}

TEST(EtcdCodec, EncodesTxnComparesByTargetName) {
  TxnRequest t;
  t.compares.push_back(Compare::ModRevision("k", Compare::Op::kEqual, 9));
  t.compares.push_back(Compare::Value("k", Compare::Op::kNotEqual, "v"));
  t.success.emplace_back(PutRequest{"k", "w", 0, false});
  t.failure.emplace_back(RangeRequest::Key("k"));
  auto j = nlohmann::json::parse(codec::EncodeTxn(t));
  EXPECT_EQ(j["compare"][0]["target"], "MOD");
  EXPECT_EQ(j["compare"][0]["mod_revision"], "9");
  EXPECT_EQ(j["compare"][0]["key"], "aw==");
  EXPECT_EQ(j["compare"][1]["result"], "NOT_EQUAL");
  EXPECT_EQ(j["compare"][1]["value"], "dg==");
  EXPECT_EQ(j["success"][0]["request_put"]["value"], "dw==");
  EXPECT_EQ(j["failure"][0]["request_range"]["key"], "aw==");
}

TEST(EtcdCodec, WatchLinesGiveEventsDeletesAndCompaction) {
  auto put = codec::DecodeWatchMessage(
      R"({"result":{"header":{"revision":"3"},"events":[{"kv":{"key":"YTE=",)"
      R"("create_revision":"3","mod_revision":"3","version":"1","value":"MQ=="}}]}})");
  ASSERT_OK(put);
  ASSERT_EQ(put->events.size(), 1u);
  EXPECT_EQ(put->events[0].type, Event::Type::kPut);  // PUT is etcd's zero value: no "type"
  EXPECT_EQ(put->events[0].kv.value, "1");
  auto del = codec::DecodeWatchMessage(
      R"({"result":{"header":{"revision":"4"},"events":[{"type":"DELETE","kv":{"key":"YTE=",)"
      R"("mod_revision":"4"}}]}})");
  ASSERT_OK(del);
  EXPECT_EQ(del->events.at(0).type, Event::Type::kDelete);
  EXPECT_EQ(del->events.at(0).kv.mod_revision, 4);
  auto compacted = codec::DecodeWatchMessage(
      R"({"result":{"header":{"raft_term":"2"},"canceled":true,"compact_revision":"3"}})");
  ASSERT_OK(compacted);
  EXPECT_TRUE(compacted->canceled);
  EXPECT_EQ(compacted->compact_revision, 3);
  auto error = codec::DecodeWatchMessage(
      R"({"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader"}})");
  EXPECT_TRUE(error.status().IsUnavailable()) << error.status().ToString();
}

TEST(EtcdCodec, ErrorsMapByGrpcCode) {
  EXPECT_TRUE(codec::DecodeError(404, R"({"error":"x","message":"lease not found","code":5})")
                  .IsNotFound());
  EXPECT_TRUE(codec::DecodeError(503, R"({"message":"etcdserver: request timed out","code":14})")
                  .IsUnavailable());
  EXPECT_TRUE(codec::DecodeError(400, R"({"message":"compacted","code":11})").IsInvalidArgument());
  EXPECT_TRUE(codec::DecodeError(503, "not json").IsUnavailable());
  EXPECT_TRUE(codec::DecodeError(500, "").IsIOError());
}

TEST(EtcdCodec, MalformedAnswersAreCorruption) {
  EXPECT_TRUE(codec::DecodeRange("[1]").status().IsCorruption());
  EXPECT_TRUE(codec::DecodeRange(R"({"kvs":[{"key":"%%%"}]})").status().IsCorruption());
  EXPECT_TRUE(codec::DecodeRange(R"({"count":"twelve"})").status().IsCorruption());
  EXPECT_TRUE(codec::DecodeKeepAlive("{").status().IsCorruption());
}

TEST(EtcdCodec, KeepAliveWithoutTtlMeansTheLeaseIsGone) {
  auto gone = codec::DecodeKeepAlive(R"({"result":{"header":{"revision":"2"},"ID":"12345"}})");
  ASSERT_OK(gone);
  EXPECT_LE(gone->ttl, 0);
  auto kept = codec::DecodeKeepAlive(R"({"result":{"header":{},"ID":"7","TTL":"5"}})");
  ASSERT_OK(kept);
  EXPECT_EQ(kept->ttl, 5);
}

TEST(EtcdCodec, LineSplitterJoinsLinesAcrossReads) {
  codec::LineSplitter s;
  std::string line;
  s.Append("{\"a\":");
  EXPECT_FALSE(s.Next(&line));
  s.Append("1}\n{\"b\"");
  ASSERT_TRUE(s.Next(&line));
  EXPECT_EQ(line, "{\"a\":1}");
  EXPECT_FALSE(s.Next(&line));
  s.Append(":2}\n");
  ASSERT_TRUE(s.Next(&line));
  EXPECT_EQ(line, "{\"b\":2}");
  EXPECT_FALSE(s.Next(&line));
}

// A loopback port with nothing listening (bound, never listened on, so it
// stays ours and refuses connections).
struct ClosedPort {
  UniqueFd fd;
  int port = 0;
  explicit ClosedPort(bool listen_but_never_answer = false) {
    fd = UniqueFd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd.get(), reinterpret_cast<sockaddr*>(&a), len) != 0) return;
    getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    if (listen_but_never_answer) (void)listen(fd.get(), 16);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
};

class EtcdOffline : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = EventLoop::Create();
    ASSERT_OK(loop);
    loop_ = std::move(loop).value();
    sched_ = std::make_unique<LoopScheduler>(*loop_);
  }
  std::unique_ptr<Client> MakeClient(std::vector<std::string> endpoints) {
    ClientOptions o;
    o.endpoints = std::move(endpoints);
    o.connect_timeout = 500ms;
    o.request_timeout = 1s;
    o.read_retry_time = 300ms;
    auto c = Client::Create(*loop_, *sched_, log_, std::move(o));
    EXPECT_OK(c);
    return c.ok() ? std::move(c).value() : nullptr;
  }
  CapturingLogger log_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<LoopScheduler> sched_;
};

TEST_F(EtcdOffline, RejectsEndpointsThatAreNotHttpUrls) {
  ClientOptions o;
  EXPECT_TRUE(Client::Create(*loop_, *sched_, log_, o).status().IsInvalidArgument());
  o.endpoints = {"127.0.0.1:2379"};
  EXPECT_TRUE(Client::Create(*loop_, *sched_, log_, o).status().IsInvalidArgument());
}

TEST_F(EtcdOffline, RefusingEndpointsFailQuicklyUnavailableWithOneLogLine) {
  ClosedPort a, b;
  auto client = MakeClient({a.url(), b.url()});
  ASSERT_NE(client, nullptr);
  constexpr int kCalls = 20;
  int done = 0, unavailable = 0;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kCalls; ++i) {
    client->Put(PutRequest{"k", "v", 0, false}, [&](Result<PutResponse> r) {
      ++done;
      unavailable += r.status().IsUnavailable();
    });
    client->Range(RangeRequest::Key("k"), [&](Result<RangeResponse> r) {
      ++done;
      unavailable += r.status().IsUnavailable();
    });
  }
  ASSERT_TRUE(loop_->RunUntil([&] { return done == 2 * kCalls; }, 10s));
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(unavailable, 2 * kCalls);
  // Writes fail at once; reads after their 300 ms of retries.
  EXPECT_LT(took, 3s);
  EXPECT_FALSE(client->available());
  int lines = 0;
  for (const auto& [level, text] : log_.lines())
    lines += text.find("no endpoint answers") != std::string::npos;
  EXPECT_EQ(lines, 1);
}

TEST_F(EtcdOffline, CompletionNeverRunsInsideTheCall) {
  ClosedPort a;
  auto client = MakeClient({a.url()});
  ASSERT_NE(client, nullptr);
  bool called = false;
  client->Put(PutRequest{"k", "v", 0, false}, [&](Result<PutResponse>) { called = true; });
  EXPECT_FALSE(called);
  ASSERT_TRUE(loop_->RunUntil([&] { return called; }, 5s));
}

TEST_F(EtcdOffline, SilentEndpointTimesOutAsUnavailableAndSaysTheWriteMayHaveCommitted) {
  ClosedPort silent(/*listen_but_never_answer=*/true);
  auto client = MakeClient({silent.url()});
  ASSERT_NE(client, nullptr);
  std::optional<Status> st;
  auto start = std::chrono::steady_clock::now();
  client->Put(PutRequest{"k", "v", 0, false}, [&](Result<PutResponse> r) { st = r.status(); });
  ASSERT_TRUE(loop_->RunUntil([&] { return st.has_value(); }, 5s));
  EXPECT_TRUE(st->IsUnavailable()) << st->ToString();
  EXPECT_NE(st->message().find("may or may not have been committed"), std::string::npos);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 900ms);
}

TEST_F(EtcdOffline, DestroyedClientNeverCallsBack) {
  ClosedPort silent(/*listen_but_never_answer=*/true);
  auto client = MakeClient({silent.url()});
  ASSERT_NE(client, nullptr);
  bool called = false;
  client->Range(RangeRequest::Key("k"), [&](Result<RangeResponse>) { called = true; });
  auto watch = client->StartWatch(
      WatchRequest{"k", "", 0, false}, [&](const std::vector<Event>&) { called = true; },
      [&](const WatchError&) { called = true; });
  loop_->RunUntil([] { return false; }, 100ms);
  client.reset();
  watch.reset();  // after its client: does nothing
  loop_->RunUntil([] { return false; }, 1500ms);
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace nfsrec::etcd
