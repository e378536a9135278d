#include <memory>
#include <string>
#include <vector>

#include "common/base/callback.h"
#include "common/base/liveness.h"
#include "common/base/result.h"
#include "tests/support/status_matchers.h"
#include <gtest/gtest.h>

namespace nfsrec {
namespace {

Result<int> Parse(const std::string& s) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) {
    return Status::InvalidArgument("not a number: " + s);
  }
  return std::stoi(s);
}

Result<int> Sum(const std::string& a, const std::string& b) {
  NFSREC_ASSIGN_OR_RETURN(int x, Parse(a));
  int y = 0;
  NFSREC_ASSIGN_OR_RETURN(y, Parse(b));
  return x + y;
}

TEST(AssignOrReturnTest, UnwrapsOrPropagates) {
  Result<int> ok = Sum("2", "40");
  ASSERT_OK(ok);
  EXPECT_EQ(*ok, 42);
  Result<int> bad = Sum("2", "x");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "not a number: x");
}

Result<std::unique_ptr<int>> MakeBox(bool ok) {
  if (!ok) return Status::NotFound("no box");
  return std::make_unique<int>(7);
}

Status UseBox(bool ok, int* out) {
  NFSREC_ASSIGN_OR_RETURN(std::unique_ptr<int> box, MakeBox(ok));
  *out = *box;
  return Status::Ok();
}

TEST(AssignOrReturnTest, MovesMoveOnlyValues) {
  int v = 0;
  ASSERT_OK(UseBox(true, &v));
  EXPECT_EQ(v, 7);
  EXPECT_EQ(UseBox(false, &v).code(), Status::Code::kNotFound);
}

TEST(CallbackTest, HoldsMoveOnlyCaptures) {
  auto box = std::make_unique<int>(5);
  Callback<int(int)> cb = [box = std::move(box)](int add) { return *box + add; };
  ASSERT_TRUE(cb);
  Callback<int(int)> moved = std::move(cb);
  EXPECT_FALSE(cb);  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_EQ(moved(2), 7);
  Callback<void()> empty;
  EXPECT_FALSE(empty);
  Callback<void()> null = nullptr;
  EXPECT_FALSE(null);
}

TEST(CallbackTest, NestsAndForwardsArguments) {
  std::vector<std::string> seen;
  Callback<void(std::string)> inner = [&seen](std::string s) { seen.push_back(std::move(s)); };
  Callback<void()> outer = [inner = std::move(inner)]() mutable { inner("called"); };
  outer();
  outer();
  EXPECT_EQ(seen, (std::vector<std::string>{"called", "called"}));
}

TEST(LivenessTest, TokenAndGuardFollowTheOwner) {
  int calls = 0;
  Liveness::Token token;
  EXPECT_FALSE(token);
  Callback<void(int)> guarded;
  {
    Liveness owner;
    token = owner.token();
    EXPECT_TRUE(token);
    guarded = owner.Guard([&calls](int n) { calls += n; });
    guarded(2);
    EXPECT_EQ(calls, 2);
  }
  EXPECT_FALSE(token);
  guarded(5);
  EXPECT_EQ(calls, 2);
}

TEST(StatusTest, FailedPreconditionHasItsCodeAndName) {
  Status s = Status::FailedPrecondition("lost instance i1 to node n2");
  EXPECT_TRUE(s.IsFailedPrecondition());
  EXPECT_EQ(s.code(), Status::Code::kFailedPrecondition);
  EXPECT_FALSE(s.IsUnavailable());
  EXPECT_EQ(s.ToString(), "Failed precondition: lost instance i1 to node n2");
}

}  // namespace
}  // namespace nfsrec
