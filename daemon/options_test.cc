#include "daemon/options.h"

#include <gtest/gtest.h>

namespace nfsrec::options {
namespace {

constexpr int kLongFlag = kFirstLongOnlyId;
constexpr int kLongValue = kFirstLongOnlyId + 1;

constexpr OptionSpec kSpecs[] = {
    {'a', 'a', "alpha", false},        {'b', 'b', nullptr, false},
    {'p', 'p', "port", true},          {'h', 'h', "help", false},
    {'h', '?', nullptr, false},        {'v', 'V', "version", false},
    {kLongFlag, 0, "no-thing", false}, {kLongValue, 0, "no-other", true},
};

ParseResult<Scanned> ScanOf(std::vector<std::string> args) {
  args.insert(args.begin(), "prog");
  return Scan(kSpecs, args);
}

// "id=value" for each option, for compact expectations.
std::vector<std::string> Ids(const Scanned& s) {
  std::vector<std::string> out;
  for (const Option& o : s.options) {
    out.push_back((o.id < 256 ? std::string(1, static_cast<char>(o.id)) : std::to_string(o.id)) +
                  "=" + o.value);
  }
  return out;
}

std::string ErrorOf(std::vector<std::string> args) {
  ParseResult<Scanned> r = ScanOf(std::move(args));
  if (r.ok()) return "ok";
  EXPECT_EQ(r.status().kind, ErrorKind::kUsage);
  return r.status().message;
}

TEST(OptionsTest, BundledFlagsAndAttachedValues) {
  ParseResult<Scanned> r = ScanOf({"-ab", "-p662", "-abp", "7", "-bp8"});
  ASSERT_TRUE(r.ok()) << r.status().message;
  EXPECT_EQ(Ids(*r),
            (std::vector<std::string>{"a=", "b=", "p=662", "a=", "b=", "p=7", "b=", "p=8"}));
  EXPECT_TRUE(r->operands.empty());
}

TEST(OptionsTest, LongFormsAndNames) {
  ParseResult<Scanned> r = ScanOf({"--port", "1", "--port=2", "--alpha", "--po=3", "--no-o", "x"});
  ASSERT_TRUE(r.ok()) << r.status().message;
  EXPECT_EQ(Ids(*r), (std::vector<std::string>{"p=1", "p=2", "a=", "p=3",
                                               std::to_string(kLongValue) + "=x"}));
  EXPECT_EQ(r->options[0].name, "--port");
  EXPECT_EQ(r->options[3].name, "--port");  // the full name, though abbreviated
  ParseResult<Scanned> s = ScanOf({"-p", "1"});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->options[0].name, "-p");
}

TEST(OptionsTest, AliasesShareAnId) {
  ParseResult<Scanned> r = ScanOf({"-?", "-h", "--help", "-V", "--version", "-a?"});
  ASSERT_TRUE(r.ok()) << r.status().message;
  EXPECT_EQ(Ids(*r), (std::vector<std::string>{"h=", "h=", "h=", "v=", "v=", "a=", "h="}));
  EXPECT_EQ(r->options[0].name, "-?");
}

TEST(OptionsTest, OperandsAndDoubleDash) {
  ParseResult<Scanned> r = ScanOf({"one", "-a", "two", "--", "-b"});
  ASSERT_TRUE(r.ok()) << r.status().message;
  EXPECT_EQ(Ids(*r), (std::vector<std::string>{"a="}));
  EXPECT_EQ(r->operands, (std::vector<std::string>{"one", "two", "-b"}));
}

TEST(OptionsTest, UsageErrors) {
  EXPECT_EQ(ErrorOf({"-x"}), "unknown option: -x");
  EXPECT_EQ(ErrorOf({"-axb"}), "unknown option: -x");
  EXPECT_EQ(ErrorOf({"--alpha", "-xa"}), "unknown option: -x");  // not blamed on --alpha
  EXPECT_EQ(ErrorOf({"-:"}), "unknown option: -:");
  EXPECT_EQ(ErrorOf({"--bogus"}), "unknown option: --bogus");
  EXPECT_EQ(ErrorOf({"--bogus=1"}), "unknown option: --bogus");
  EXPECT_EQ(ErrorOf({"--no"}), "ambiguous option: --no");
  EXPECT_EQ(ErrorOf({"-p"}), "missing value for -p");
  EXPECT_EQ(ErrorOf({"-abp"}), "missing value for -p");
  EXPECT_EQ(ErrorOf({"--port"}), "missing value for --port");
  EXPECT_EQ(ErrorOf({"--no-other"}), "missing value for --no-other");
  EXPECT_EQ(ErrorOf({"--alpha=1"}), "unexpected value in --alpha=1");
  EXPECT_EQ(ErrorOf({"--no-thing=1"}), "unexpected value in --no-thing=1");
}

TEST(OptionsTest, ScansAgainAfterAnError) {
  // getopt's globals are reset for each scan: a half-read bundle or a
  // permuted argv from the previous one does not leak into the next.
  EXPECT_FALSE(ScanOf({"x", "-ax"}).ok());
  ParseResult<Scanned> r = ScanOf({"-ab"});
  ASSERT_TRUE(r.ok()) << r.status().message;
  EXPECT_EQ(Ids(*r), (std::vector<std::string>{"a=", "b="}));
  EXPECT_TRUE(ScanOf({}).ok());
  EXPECT_TRUE(Scan(kSpecs, {}).ok());
}

TEST(OptionsTest, LastValue) {
  ParseResult<Scanned> r = ScanOf({"-p1", "-a", "--port=2"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(LastValue(*r, 'p'), "2");
  EXPECT_EQ(LastValue(*r, 'b'), std::nullopt);
}

TEST(OptionsTest, ValueDecoders) {
  EXPECT_EQ(*PortValue({'p', "-p", "662"}), 662);
  EXPECT_EQ(*PortValue({'p', "-p", "65535"}), 65535);
  for (const char* bad : {"0", "65536", "", "12abc", "-1", "123456", "0x10"}) {
    ParseResult<uint16_t> p = PortValue({'p', "--port", bad});
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_EQ(p.status().kind, ErrorKind::kBadPort);
    EXPECT_EQ(p.status().message, std::string("bad port number for --port: ") + bad);
  }
  EXPECT_EQ(*CountValue({'m', "-m", "0"}, 10), 0);
  EXPECT_EQ(*CountValue({'m', "-m", "10"}, 10), 10);
  for (const char* bad : {"11", "", "x", "-1", "99999999999999999999"}) {
    ParseResult<int64_t> c = CountValue({'m', "-m", bad}, 10);
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_EQ(c.status().kind, ErrorKind::kBadValue);
  }
  EXPECT_EQ(*PathValue({'P', "-P", "/x"}), "/x");
  ParseResult<std::string> empty = PathValue({'P', "-P", ""});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().kind, ErrorKind::kBadValue);
}

}  // namespace
}  // namespace nfsrec::options
