#include "daemon/nfsrecctl_config.h"

#include <algorithm>
#include <climits>
#include <initializer_list>

#include "cluster/keys.h"
#include "common/base/logging.h"
#include "common/base/result.h"

namespace nfsrec {
namespace {

using options::ErrorKind;
using options::OptionError;

enum : int {
  kConfig = options::kFirstLongOnlyId,
  kStateDir,
  kNfsUtils,
  kJson,
  kEpoch,
  kFromNfsdcld,
  kFromNfsdcltrack,
  kFromV4recovery,
  kProg,
  kVers,
  kProc,
  kEtcdEndpoints,
  kCluster,
};

constexpr options::OptionSpec kOptions[] = {
    {'h', 'h', "help", false},
    {'V', 'V', "version", false},
    {'V', 'v', nullptr, false},
    {kConfig, 0, "config", true},
    {kStateDir, 0, "state-dir", true},
    {kNfsUtils, 0, "nfs-utils", true},
    {kJson, 0, "json", false},
    {kEpoch, 0, "epoch", true},
    {kFromNfsdcld, 0, "from-nfsdcld", true},
    {kFromNfsdcltrack, 0, "from-nfsdcltrack", true},
    {kFromV4recovery, 0, "from-v4recovery", true},
    {kProg, 0, "prog", true},
    {kVers, 0, "vers", true},
    {kProc, 0, "proc", true},
    {kEtcdEndpoints, 0, "etcd-endpoints", true},
    {kCluster, 0, "cluster", true},
};

// cluster lift INSTANCE...: more is a mistake, not a cluster.
constexpr size_t kMaxLiftOperands = 256;

// Options every command accepts.
constexpr int kGlobalOptions[] = {'h', 'V', kConfig, kStateDir};

struct CtlCommand {
  const char* name;
  const char* synopsis;
  std::initializer_list<int> options;  // beyond kGlobalOptions
  size_t max_operands;
};

const CtlCommand kCtlCommands[] = {
    {"list",
     "list monitors|notify|clients [--epoch current|recovery] [--json]",
     {kJson, kEpoch},
     1},
    {"show", "show HOST|CLIENT [--json]", {kJson}, 1},
    {"grace", "grace [--json]", {kJson}, 0},
    {"state", "state [--json]", {kJson}, 0},
    {"export", "export --nfs-utils DIR", {kNfsUtils}, 0},
    {"import",
     "import [--from-nfsdcld DIR] [--from-nfsdcltrack DIR] [--from-v4recovery DIR]",
     {kFromNfsdcld, kFromNfsdcltrack, kFromV4recovery},
     0},
    {"status", "status [--json]", {kJson}, 0},
    {"metrics", "metrics", {}, 0},
    {"remove",
     "remove monitor HOST [--prog N] [--vers N] [--proc N] [--json]",
     {kProg, kVers, kProc, kJson},
     2},
    {"expire", "expire client CLIENT [--json]", {kJson}, 2},
    {"cluster",
     "cluster status|instances|grace|lift [INSTANCE...]|remove-node NODE [--json]\n"
     "          [--etcd-endpoints URL,...] [--cluster NAME]",
     {kJson, kEtcdEndpoints, kCluster},
     1 + kMaxLiftOperands},
};

const CtlCommand* FindCommand(const std::string& name) {
  for (const CtlCommand& c : kCtlCommands) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

bool Accepts(const CtlCommand& c, int id) {
  return std::find(std::begin(kGlobalOptions), std::end(kGlobalOptions), id) !=
             std::end(kGlobalOptions) ||
         std::find(c.options.begin(), c.options.end(), id) != c.options.end();
}

// What each command needs beyond the table.
options::ParseResult<bool> CheckCommand(const CtlCommandLine& cl) {
  if (cl.command == "export" && cl.nfs_utils_dir.empty()) {
    return OptionError{ErrorKind::kUsage, "export needs --nfs-utils DIR"};
  }
  if (cl.command == "list") {
    if (cl.operands.empty()) {
      return OptionError{ErrorKind::kUsage, "list needs what to list: monitors, notify or clients"};
    }
    const std::string& what = cl.operands[0];
    if (what != "monitors" && what != "notify" && what != "clients") {
      return OptionError{ErrorKind::kUsage,
                         StrCat("cannot list '", Printable(what),
                                "': the lists are monitors, notify and clients")};
    }
    if (cl.epoch_given && what != "clients") {
      return OptionError{ErrorKind::kUsage, "--epoch applies to list clients only"};
    }
  }
  if (cl.command == "remove" || cl.command == "expire") {
    const char* what = cl.command == "remove" ? "monitor" : "client";
    const char* operand = cl.command == "remove" ? "HOST" : "CLIENT";
    if (cl.operands.empty() || cl.operands[0] != what) {
      return OptionError{ErrorKind::kUsage, StrCat(cl.command, " takes ", what, " ", operand)};
    }
    if (cl.operands.size() < 2 || cl.operands[1].empty()) {
      return OptionError{ErrorKind::kUsage, StrCat(cl.command, " ", what, " needs ", operand)};
    }
  }
  if (cl.command == "cluster") {
    const std::string what = cl.operands.empty() ? "" : cl.operands[0];
    if (what != "status" && what != "instances" && what != "grace" && what != "lift" &&
        what != "remove-node") {
      return OptionError{ErrorKind::kUsage,
                         what.empty() ? std::string("cluster needs status, instances, grace, lift "
                                                    "or remove-node")
                                      : StrCat("unknown cluster command '", Printable(what), "'")};
    }
    const size_t names = cl.operands.size() - 1;
    if (what == "remove-node" && names != 1) {
      return OptionError{ErrorKind::kUsage, "cluster remove-node needs exactly one NODE"};
    }
    if (what != "remove-node" && what != "lift" && names != 0) {
      return OptionError{
          ErrorKind::kUsage,
          StrCat("unexpected argument '", Printable(cl.operands[1]), "' after cluster ", what)};
    }
    for (size_t i = 1; i < cl.operands.size(); ++i) {
      Status valid =
          cluster::ValidateName(what == "remove-node" ? "node" : "instance", cl.operands[i]);
      if (!valid.ok()) return OptionError{ErrorKind::kBadValue, valid.message()};
    }
  }
  if (cl.command == "show" && cl.operands.empty()) {
    return OptionError{ErrorKind::kUsage, "show needs a host name, an address or a client id"};
  }
  return true;
}

// "a,b c" -> {"a", "b", "c"}: commas or blanks, as nfs.conf lists.
std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  std::string item;
  for (char c : text + ",") {
    if (c == ',' || c == ' ' || c == '\t') {
      if (!item.empty()) out.push_back(std::move(item));
      item.clear();
    } else {
      item += c;
    }
  }
  return out;
}

}  // namespace

options::ParseResult<CtlCommandLine> ParseCtlCommandLine(const std::vector<std::string>& args) {
  NFSREC_ASSIGN_OR_RETURN(options::Scanned scanned, options::Scan(kOptions, args));
  CtlCommandLine cl;
  for (const options::Option& o : scanned.options) {
    switch (o.id) {
      case 'h':
        cl.action = CtlCommandLine::Action::kHelp;
        return cl;
      case 'V':
        cl.action = CtlCommandLine::Action::kVersion;
        return cl;
      case kConfig: {
        NFSREC_ASSIGN_OR_RETURN(cl.config_file, options::PathValue(o));
        break;
      }
      case kStateDir: {
        NFSREC_ASSIGN_OR_RETURN(cl.state_dir, options::PathValue(o));
        break;
      }
      case kNfsUtils: {
        NFSREC_ASSIGN_OR_RETURN(cl.nfs_utils_dir, options::PathValue(o));
        break;
      }
      case kJson:
        cl.json = true;
        break;
      case kEpoch:
        if (o.value == "current") {
          cl.epoch = CtlEpoch::kCurrent;
        } else if (o.value == "recovery") {
          cl.epoch = CtlEpoch::kRecovery;
        } else {
          return OptionError{ErrorKind::kBadValue, StrCat("--epoch is current or recovery, not '",
                                                          Printable(o.value), "'")};
        }
        cl.epoch_given = true;
        break;
      case kFromNfsdcld:
      case kFromNfsdcltrack:
      case kFromV4recovery: {
        NFSREC_ASSIGN_OR_RETURN(std::string dir, options::PathValue(o));
        (o.id == kFromNfsdcld       ? cl.import_from.nfsdcld_dir
         : o.id == kFromNfsdcltrack ? cl.import_from.nfsdcltrack_dir
                                    : cl.import_from.v4recovery_dir) = dir;
        break;
      }
      case kProg:
      case kVers:
      case kProc: {
        NFSREC_ASSIGN_OR_RETURN(int64_t n, options::CountValue(o, INT32_MAX));
        (o.id == kProg ? cl.prog : o.id == kVers ? cl.vers : cl.proc) = static_cast<int32_t>(n);
        break;
      }
      case kEtcdEndpoints:
        cl.etcd_endpoints = SplitList(o.value);
        if (cl.etcd_endpoints.empty()) {
          return OptionError{ErrorKind::kBadValue, "--etcd-endpoints needs at least one URL"};
        }
        break;
      case kCluster: {
        Status valid = cluster::ValidateName("cluster", o.value);
        if (!valid.ok()) return OptionError{ErrorKind::kBadValue, valid.message()};
        cl.cluster = o.value;
        break;
      }
    }
  }
  if (scanned.operands.empty()) return OptionError{ErrorKind::kUsage, "no command given"};
  cl.command = scanned.operands[0];
  cl.operands.assign(scanned.operands.begin() + 1, scanned.operands.end());
  const CtlCommand* command = FindCommand(cl.command);
  if (command == nullptr) {
    return OptionError{ErrorKind::kUsage, StrCat("unknown command '", Printable(cl.command), "'")};
  }
  for (const options::Option& o : scanned.options) {
    if (!Accepts(*command, o.id)) {
      return OptionError{ErrorKind::kUsage, StrCat(o.name, " does not apply to ", command->name)};
    }
  }
  if (cl.operands.size() > command->max_operands) {
    return OptionError{ErrorKind::kUsage, StrCat("unexpected argument '",
                                                 Printable(cl.operands[command->max_operands]),
                                                 "' after ", command->name)};
  }
  NFSREC_ASSIGN_OR_RETURN(bool checked, CheckCommand(cl));
  (void)checked;
  return cl;
}

options::ParseResult<CtlStore> ResolveCtlStore(const CtlCommandLine& cl,
                                               const NfsConfLoader& load_conf) {
  // The daemon's own parser on the daemon's own command line, so that every
  // nfs.conf setting that places the state or the database applies here too.
  std::vector<std::string> daemon_args = {"nfsrecd", "--config", cl.config_file};
  if (!cl.state_dir.empty()) {
    daemon_args.push_back("-P");
    daemon_args.push_back(cl.state_dir);
  }
  NFSREC_ASSIGN_OR_RETURN(CommandLine daemon, ParseCommandLine(daemon_args, "", load_conf));
  CtlStore store;
  store.state_dir = daemon.config.nsm.state_dir;
  store.database = daemon.config.DbPath();
  store.control_socket = daemon.config.ControlSocketPath();
  DaemonConfig as_nfsdcld = daemon.config;
  as_nfsdcld.role = DaemonRole::kNfsdcld;
  store.nfsdcld_control_socket = as_nfsdcld.ControlSocketPath();
  store.pidfile = daemon.config.process.pidfile;
  store.conf_warnings = daemon.conf.warnings();
  return store;
}

options::ParseResult<CtlCluster> ResolveCtlCluster(const CtlCommandLine& cl,
                                                   const NfsConfLoader& load_conf,
                                                   std::string_view host_name) {
  NfsConf conf = load_conf ? load_conf(cl.config_file) : NfsConf::FromText("");
  // The daemon's own reader, so that a value the daemon would refuse is
  // refused here too, with the same message.
  Result<ClusterOptions> read = ReadClusterConf(conf, host_name);
  if (!read.ok()) {
    return OptionError{ErrorKind::kBadValue, StrCat(cl.config_file, ": ", read.status().message())};
  }
  CtlCluster c;
  c.endpoints = cl.etcd_endpoints.empty() ? read->endpoints : cl.etcd_endpoints;
  c.cluster = cl.cluster.empty() ? read->cluster : cl.cluster;
  c.ca_file = read->tls.ca_file;
  c.cert_file = read->tls.cert_file;
  c.key_file = read->tls.key_file;
  if (c.endpoints.empty()) {
    return OptionError{ErrorKind::kUsage,
                       StrCat("no etcd endpoint: give --etcd-endpoints or set etcd-endpoints in "
                              "[nfsrecd] of ",
                              cl.config_file)};
  }
  Status valid = cluster::ValidateName("cluster", c.cluster);
  if (!valid.ok()) {
    return OptionError{ErrorKind::kBadValue, StrCat(cl.config_file, ": ", valid.message())};
  }
  return c;
}

options::ErrorReply CtlErrorReply(options::ErrorKind kind) {
  const bool usage = kind == ErrorKind::kUsage || kind == ErrorKind::kBadValue;
  return {usage ? kCtlExitUsage : kCtlExitFailure, kind == ErrorKind::kUsage};
}

std::string CtlUsage(const std::string& program) {
  std::string text = StrCat("Usage: ", program, " [--config FILE] [--state-dir DIR] COMMAND\n",
                            "       ", program, " --help | --version\n", "Commands:\n");
  for (const CtlCommand& c : kCtlCommands) text += StrCat("  ", c.synopsis, "\n");
  return text;
}

}  // namespace nfsrec
