#include "daemon/options.h"

#include <getopt.h>

#include <cstdlib>

#include "common/base/result.h"

namespace nfsrec::options {
namespace {

const OptionSpec* FindShort(std::span<const OptionSpec> specs, int ch) {
  for (const OptionSpec& s : specs) {
    if (s.short_name != 0 && s.short_name == ch) return &s;
  }
  return nullptr;
}

const OptionSpec* FindLongById(std::span<const OptionSpec> specs, int id) {
  for (const OptionSpec& s : specs) {
    if (s.id == id && s.long_name != nullptr) return &s;
  }
  return nullptr;
}

// "--name" of a long argument as typed, without "=value".
std::string LongTyped(const std::string& arg) { return arg.substr(0, arg.find('=')); }

// Why getopt_long refused `typed` (a long option): several names start
// with it, or none does.
OptionError BadLong(std::span<const OptionSpec> specs, const std::string& typed) {
  std::string name = typed.substr(2);
  int matches = 0;
  for (const OptionSpec& s : specs) {
    if (s.long_name != nullptr && std::string(s.long_name).rfind(name, 0) == 0) ++matches;
  }
  return {ErrorKind::kUsage, (matches > 1 ? "ambiguous option: " : "unknown option: ") + typed};
}

// getopt_long refused an argument (c is ':' or '?'): the error, or the
// option when it was a typed "-?" that a spec accepts.
//
// What glibc leaves to tell the cases apart: every long-option error and
// every missing value advance optind past the argument, so argv[optind-1]
// is the one at fault; a short-option error inside a bundle does not, but
// sets optopt to the letter.  For a long option given a value it does not
// take, optopt is the option's id: either >= kFirstLongOnlyId or a letter
// in `shorts`, which a mistyped letter never is.
ParseResult<Option> ScanError(std::span<const OptionSpec> specs, const std::string& shorts, int c,
                              int opt, const std::vector<char*>& argv, int ind, int argc) {
  const std::string current = (ind >= 1 && ind <= argc) ? argv[static_cast<size_t>(ind - 1)] : "";
  if (c == ':') {
    const OptionSpec* s = current.rfind("--", 0) == 0 ? FindLongById(specs, opt) : nullptr;
    std::string name =
        s != nullptr ? std::string("--") + s->long_name : std::string("-") + static_cast<char>(opt);
    return OptionError{ErrorKind::kUsage, "missing value for " + name};
  }
  if (opt == 0) return BadLong(specs, LongTyped(current));
  if (opt == '?') {
    const OptionSpec* s = FindShort(specs, '?');
    if (s == nullptr) return OptionError{ErrorKind::kUsage, "unknown option: -?"};
    return Option{s->id, "-?", ""};
  }
  const bool long_id = opt >= kFirstLongOnlyId ||
                       (opt != ':' && shorts.find(static_cast<char>(opt), 1) != std::string::npos);
  if (long_id) return OptionError{ErrorKind::kUsage, "unexpected value in " + current};
  return OptionError{ErrorKind::kUsage, std::string("unknown option: -") + static_cast<char>(opt)};
}

}  // namespace

ParseResult<Scanned> Scan(std::span<const OptionSpec> specs, const std::vector<std::string>& args) {
  Scanned out;
  if (args.size() < 2) return out;

  // Leading ':' : a missing value is reported as ':' rather than '?'.
  // '?' is never put in the string: getopt returns '?' for errors, and
  // tells a typed "-?" apart by optopt.
  std::string shorts = ":";
  std::vector<option> longs;
  std::vector<const OptionSpec*> long_specs;
  for (const OptionSpec& s : specs) {
    if (s.short_name != 0 && s.short_name != '?') {
      shorts += s.short_name;
      if (s.takes_value) shorts += ':';
    }
    if (s.long_name != nullptr) {
      longs.push_back(
          {s.long_name, s.takes_value ? required_argument : no_argument, nullptr, s.id});
      long_specs.push_back(&s);
    }
  }
  longs.push_back({nullptr, 0, nullptr, 0});

  // getopt_long permutes argv: it works on copies.
  std::vector<std::string> storage(args);
  std::vector<char*> argv;
  for (std::string& a : storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int argc = static_cast<int>(storage.size());

  optind = 0;
  opterr = 0;
  for (;;) {
    optopt = 0;
    int index = -1;
    const int c = getopt_long(argc, argv.data(), shorts.c_str(), longs.data(), &index);
    if (c == -1) break;
    if (c == ':' || c == '?') {
      NFSREC_ASSIGN_OR_RETURN(Option alias,
                              ScanError(specs, shorts, c, optopt, argv, optind, argc));
      out.options.push_back(std::move(alias));
      continue;
    }
    // getopt_long returns only what the tables hold.
    const OptionSpec* s = index >= 0 ? long_specs[static_cast<size_t>(index)] : FindShort(specs, c);
    std::string name =
        index >= 0 ? std::string("--") + s->long_name : std::string("-") + static_cast<char>(c);
    out.options.push_back({s->id, std::move(name), s->takes_value && optarg ? optarg : ""});
  }
  for (int i = optind; i < argc; ++i) out.operands.emplace_back(argv[i]);
  return out;
}

std::optional<std::string> LastValue(const Scanned& scanned, int id) {
  std::optional<std::string> v;
  for (const Option& o : scanned.options) {
    if (o.id == id) v = o.value;
  }
  return v;
}

namespace {

bool AllDigits(const std::string& v, size_t max_len) {
  return !v.empty() && v.size() <= max_len &&
         v.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

ParseResult<uint16_t> PortValue(const Option& option) {
  if (AllDigits(option.value, 5)) {
    long n = std::strtol(option.value.c_str(), nullptr, 10);
    if (n >= 1 && n <= 65535) return static_cast<uint16_t>(n);
  }
  return OptionError{ErrorKind::kBadPort,
                     "bad port number for " + option.name + ": " + option.value};
}

ParseResult<int64_t> CountValue(const Option& option, int64_t max) {
  if (AllDigits(option.value, 18)) {
    long long n = std::strtoll(option.value.c_str(), nullptr, 10);
    if (n <= max) return static_cast<int64_t>(n);
  }
  std::string range = "a whole number from 0 to " + std::to_string(max);
  return OptionError{ErrorKind::kBadValue,
                     "bad value for " + option.name + ": " + option.value + " (" + range + ")"};
}

ParseResult<std::string> PathValue(const Option& option) {
  if (option.value.empty()) {
    return OptionError{ErrorKind::kBadValue, "empty value for " + option.name};
  }
  return option.value;
}

int ReportError(const std::string& program, const OptionError& error, ErrorReply reply,
                const std::string& usage, std::FILE* usage_stream) {
  std::fprintf(stderr, "%s: %s\n", program.c_str(), error.message.c_str());
  if (reply.usage) std::fprintf(usage_stream, "%s", usage.c_str());
  return reply.exit_status;
}

}  // namespace nfsrec::options
