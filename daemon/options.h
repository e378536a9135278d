// The one command-line parser of every binary (nfsrecd, the sm-notify
// command, nfsrec-cltrack), on getopt_long, so that options behave as in
// nfs-utils: bundled flags (-Fd, -dfn), a value attached or separate
// (-p662, -p 662, -FdP/dir), long options as --port 662 or --port=662 or
// an unambiguous prefix of the name.
//
// A binary lists its options in a table of OptionSpec.  Scan turns argv
// into the options given, in command-line order, and the operands; the
// binary then applies nfs.conf and hands each Option to its own switch,
// decoding values with PortValue, CountValue and PathValue.  Every error is
// an OptionError whose kind, not its text, decides the exit status and
// whether usage text follows (each binary's ...ErrorReply).
//
// Not thread-safe: getopt_long keeps its state in process globals (optind,
// optarg, optopt, opterr).  Scan is their only user in this program; it
// resets them before each scan (optind = 0 makes glibc start afresh) and
// sets opterr = 0: getopt prints nothing, the messages are ours.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace nfsrec::options {

enum class ErrorKind {
  kUsage,       // unknown or ambiguous option, missing or unexpected value, an operand
  kBadValue,    // a value that does not parse, or options that contradict each other
  kBadPort,     // a port outside 1..65535 (rpc.statd exits 1 for it, not -1)
  kBadNfsConf,  // a setting of the wrong kind in nfs.conf
};

struct OptionError {
  ErrorKind kind = ErrorKind::kUsage;
  std::string message;  // for the user, without the program's name
};

// A value or an OptionError.  The error is named status() as Result's is,
// so that NFSREC_ASSIGN_OR_RETURN unwraps a ParseResult inside a function
// that returns a ParseResult.
template <typename T>
class [[nodiscard]] ParseResult {
 public:
  ParseResult(T value) : value_(std::move(value)) {}            // NOLINT(runtime/explicit)
  ParseResult(OptionError error) : error_(std::move(error)) {}  // NOLINT(runtime/explicit)

  bool ok() const { return value_.has_value(); }
  const OptionError& status() const { return error_; }

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  OptionError error_;
};

// Ids of options without a short form start here, above every char.
inline constexpr int kFirstLongOnlyId = 256;

struct OptionSpec {
  int id;                 // what Scan reports: the option's letter, or >= kFirstLongOnlyId
  char short_name;        // 0: none.  Several specs may share an id (-h, -?, --help)
  const char* long_name;  // nullptr: none
  bool takes_value;
};

struct Option {
  int id;
  std::string name;   // "-p" or "--port" (the full name), for messages
  std::string value;  // empty for an option that takes none
};

struct Scanned {
  std::vector<Option> options;        // in command-line order
  std::vector<std::string> operands;  // arguments that are not options, in order
};

// Scans args (args[0] is the program) against `specs`.  Errors are kUsage.
ParseResult<Scanned> Scan(std::span<const OptionSpec> specs, const std::vector<std::string>& args);

// The value of the last option `id` in `scanned`, if any.
std::optional<std::string> LastValue(const Scanned& scanned, int id);

// A port 1..65535 in decimal; otherwise kBadPort naming the option.
ParseResult<uint16_t> PortValue(const Option& option);
// A whole number 0..max in decimal; otherwise kBadValue naming the option.
ParseResult<int64_t> CountValue(const Option& option, int64_t max);
// Any text but the empty one; otherwise kBadValue naming the option.
ParseResult<std::string> PathValue(const Option& option);

// How a binary answers a parse error of one kind.
struct ErrorReply {
  int exit_status;
  bool usage;  // print the usage text after the message
};

// Writes "PROGRAM: message" to stderr and, if reply.usage, `usage` to
// `usage_stream`; returns reply.exit_status.
int ReportError(const std::string& program, const OptionError& error, ErrorReply reply,
                const std::string& usage, std::FILE* usage_stream);

}  // namespace nfsrec::options
