// Writes the seed inputs of every fuzz target, built with the codecs' own
// encoders, into <dir>/<target>/seed-<what>; see tests/fuzz/README.md.
//
//   make tests/fuzz/make-seeds && tests/fuzz/make-seeds ../tests/fuzz/corpus
//
// The input layouts are the ones documented at the top of each
// tests/fuzz/<target>_fuzz.cc.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/rpc/rpc_message.h"
#include "nfs4rec/cld_codec.h"
#include "statd/nsm_codec.h"

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;
using namespace nfsrec;

class Seeds {
 public:
  explicit Seeds(fs::path root) : root_(std::move(root)) {}
  void Write(const std::string& target, const std::string& what, const Bytes& bytes) const {
    fs::create_directories(root_ / target);
    std::ofstream out(root_ / target / ("seed-" + what), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
  }
  void WriteText(const std::string& target, const std::string& what, std::string_view text) const {
    Write(target, what, Bytes(text.begin(), text.end()));
  }

 private:
  fs::path root_;
};

rpc::OpaqueAuth AuthSys(uint32_t ngids) {
  rpc::XdrWriter w;
  w.PutUint32(12345);
  w.PutString("client.example");
  w.PutUint32(0);
  w.PutUint32(0);
  w.PutUint32(ngids);
  for (uint32_t i = 0; i < ngids; ++i) w.PutUint32(i);
  return rpc::OpaqueAuth{rpc::kAuthSys, std::move(w).Take()};
}

void RpcMessageSeeds(const Seeds& out) {
  const Bytes args = {0, 0, 0, 3, 'a', 'b', 'c', 0};
  out.Write("rpc_message", "call-null", rpc::EncodeCall(1, 100024, 1, 0, {}));
  out.Write("rpc_message", "call-echo", rpc::EncodeCall(2, 100024, 1, 1, args));
  out.Write("rpc_message", "call-authsys", rpc::EncodeCall(3, 100024, 3, 1, args, AuthSys(2)));
  out.Write("rpc_message", "call-authsys-16gids",
            rpc::EncodeCall(4, 100024, 1, 2, {}, AuthSys(16)));
  out.Write("rpc_message", "call-gss", rpc::EncodeCall(5, 100024, 1, 1, {}, {6, {1, 2, 3, 4}}));
  out.Write("rpc_message", "call-prog-mismatch", rpc::EncodeCall(6, 100024, 2, 1, {}));
  out.Write("rpc_message", "call-prog-unavail", rpc::EncodeCall(7, 100003, 3, 0, {}));
  Bytes v3 = rpc::EncodeCall(8, 100024, 1, 1, {});
  v3[11] = 3;  // rpcvers
  out.Write("rpc_message", "call-rpcvers3", v3);
  out.Write("rpc_message", "reply-success",
            rpc::EncodeAcceptedReply(9, rpc::AcceptStat::kSuccess, args));
  out.Write("rpc_message", "reply-prog-mismatch",
            rpc::EncodeAcceptedReply(10, rpc::AcceptStat::kProgMismatch, rpc::VersionRange{1, 3}));
  out.Write("rpc_message", "reply-rpc-mismatch",
            rpc::EncodeRejectedReply(11, rpc::RejectStat::kRpcMismatch));
  out.Write("rpc_message", "reply-auth-error",
            rpc::EncodeRejectedReply(12, rpc::RejectStat::kAuthError, {}, rpc::AuthStat::kTooWeak));
}

// One nsm_program record: flags, 16-bit length, an NSM call.
void AddNsmCall(Bytes* out, uint8_t flags, uint32_t xid, statd::NsmProc proc, const Bytes& args) {
  Bytes call = rpc::EncodeCall(xid, statd::kNsmProgram, statd::kNsmVersion,
                               static_cast<uint32_t>(proc), args);
  out->push_back(flags);
  out->push_back(static_cast<uint8_t>(call.size() >> 8));
  out->push_back(static_cast<uint8_t>(call.size()));
  out->insert(out->end(), call.begin(), call.end());
}

void NsmProgramSeeds(const Seeds& out) {
  using statd::NsmProc;
  statd::Cookie cookie{};
  cookie.fill(7);
  auto mon = [&](const std::string& name) {
    return statd::EncodeMon(
               statd::MonArgs{statd::MonitorKey{name, "server", 100021, 3, 16}, cookie})
        .value();
  };
  const Bytes mon_id =
      statd::EncodeMonId(statd::MonitorKey{"client2", "server", 100021, 3, 16}).value();
  const Bytes my_id = statd::EncodeMyId(statd::MyId{"server", 100021, 3, 16}).value();
  const Bytes notify = statd::EncodeStatChge(statd::NotifyArgs{"client2", 5}).value();

  Bytes b;
  AddNsmCall(&b, 0, 1, NsmProc::kNull, {});
  out.Write("nsm_program", "null", b);
  b.clear();
  AddNsmCall(&b, 2, 2, NsmProc::kStat, statd::EncodeSmName("client2").value());
  out.Write("nsm_program", "stat-remote", b);
  b.clear();
  AddNsmCall(&b, 0, 3, NsmProc::kMon, mon("client2"));
  AddNsmCall(&b, 2, 4, NsmProc::kNotify, notify);
  AddNsmCall(&b, 0x08, 5, NsmProc::kUnmon, mon_id);
  out.Write("nsm_program", "mon-notify-unmon", b);
  b.clear();
  AddNsmCall(&b, 1, 6, NsmProc::kMon, mon("localhost"));
  AddNsmCall(&b, 3, 7, NsmProc::kMon, mon("10.0.0.2"));
  AddNsmCall(&b, 0x04, 8, NsmProc::kUnmonAll, my_id);
  out.Write("nsm_program", "mon-unmon-all-failing", b);
  b.clear();
  AddNsmCall(&b, 2, 9, NsmProc::kMon, mon("client2"));
  AddNsmCall(&b, 0, 10, NsmProc::kMon, mon("../etc"));
  AddNsmCall(&b, 0, 11, NsmProc::kSimuCrash, {});
  AddNsmCall(&b, 2, 12, NsmProc::kSimuCrash, {});
  out.Write("nsm_program", "refused", b);
  b.clear();
  AddNsmCall(&b, 0, 13, NsmProc::kMon, mon("client2"));
  AddNsmCall(&b, 2, 14, NsmProc::kNotify, notify);
  AddNsmCall(&b, 0x10, 15, NsmProc::kNotify, statd::EncodeStatChge({"10.0.0.2", 7}).value());
  AddNsmCall(&b, 0, 16, static_cast<NsmProc>(7), {});
  out.Write("nsm_program", "notify-callback-given-up", b);
}

Bytes Upcall(uint8_t version, nfs4rec::CldCommand cmd, uint32_t xid, std::string name = "",
             std::string princhash = "", int64_t gracetime = 0) {
  nfs4rec::CldMessage m;
  m.version = version;
  m.command = static_cast<uint8_t>(cmd);
  m.xid = xid;
  m.name = std::move(name);
  m.princhash = std::move(princhash);
  m.gracetime = gracetime;
  return nfs4rec::EncodeCldUpcall(m).value();
}

// options byte, then control byte + upcall per record.
void CldSeed(const Seeds& out, const std::string& what, uint8_t options,
             const std::vector<std::pair<uint8_t, Bytes>>& ups) {
  Bytes b{options};
  for (const auto& [control, up] : ups) {
    b.push_back(control);
    b.insert(b.end(), up.begin(), up.end());
  }
  out.Write("cld_tracking", what, b);
}

void CldTrackingSeeds(const Seeds& out) {
  using nfs4rec::CldCommand;
  const std::string hash(32, 'p');
  CldSeed(out, "v2-grace-cycle", 0x01,
          {{0, Upcall(2, CldCommand::kGetVersion, 1)},
           {0, Upcall(2, CldCommand::kGraceStart, 2)},
           {0, Upcall(2, CldCommand::kCreate, 3, "client-a", hash)},
           {0, Upcall(2, CldCommand::kCreate, 4, "client-b")},
           {0, Upcall(2, CldCommand::kRemove, 5, "client-a")}});
  CldSeed(out, "v1-check-gracedone", 0x06,
          {{0, Upcall(1, CldCommand::kCheck, 1, "client-a")},
           {0, Upcall(1, CldCommand::kCheck, 2, "nobody")},
           {0, Upcall(1, CldCommand::kGraceDone, 3, "", "", 1700000000)},
           {0, Upcall(1, CldCommand::kGraceStart, 4)}});
  CldSeed(out, "store-failures", 0x00,
          {{1, Upcall(2, CldCommand::kGraceStart, 1)},
           {1, Upcall(2, CldCommand::kCreate, 2, "client-a", hash)},
           {1, Upcall(1, CldCommand::kRemove, 3, "client-b")},
           {3, Upcall(2, CldCommand::kGraceDone, 4)}});
  Bytes unknown = Upcall(2, CldCommand::kGetVersion, 9);
  unknown[1] = 42;  // cm_cmd
  Bytes bad_version = Upcall(1, CldCommand::kCreate, 10, "x");
  bad_version[0] = 3;
  CldSeed(out, "unknown-command-bad-version", 0x01, {{0, unknown}, {0, bad_version}});
}

void NfsConfSeeds(const Seeds& out) {
  out.WriteText("nfs_conf", "statd",
                "# nfs.conf\n[general]\npipefs-directory = /run/rpc_pipefs\n"
                "[statd]\nport = 662\noutgoing-port = 2020 # comment\nname = \"server one\"\n"
                "ha-callout = '/usr/sbin/ha callout'\n; other comment\n"
                "[sm-notify]\nretry-time = 900\n[nfsdcld]\nstoragedir = $STATEDIR\n"
                "debug = yes\n[environment]\nSTATEDIR = /var/lib/nfs/nfsdcld\n");
  std::string multi = "[statd]\ninclude = include.conf\nport = \\\n 663\n[nfsdcltrack]\n";
  multi += "storagedir=/x\n";
  multi.push_back('\0');
  multi += "[statd]\nname = $HOSTNAME\nport = 700\n";
  multi.push_back('\0');
  multi += "[sm-notify]\ninclude = -sub/nested.conf\ninclude = -missing.conf\n";
  multi.push_back('\0');
  multi += "[statd]\nport = 1\n[general]\n";
  multi.push_back('\0');
  multi += "[statd \"sub\"]\nport = 9\n[Statd]\nDEBUG = off\nbroken line\n[unterminated\n";
  out.WriteText("nfs_conf", "includes-and-dirs", multi);
  out.WriteText("nfs_conf", "no-final-newline", "[statd]\nport = 65536\nname=");
}

void LegacyStateSeeds(const Seeds& out) {
  int32_t state = 17;
  std::string text(reinterpret_cast<const char*>(&state), sizeof state);
  text.push_back('\0');
  text +=
      "client.example.com\n"
      "0100007f 000186b5 00000004 00000010 00112233445566778899aabbccddeeff 192.168.1.10 "
      "server.example.com\n"
      "7f000001 000186b5 00000003 00000010 ffffffffffffffffffffffffffffffff a   b_c\n";
  text.push_back('\0');
  text +=
      "peer2\n"
      "0100007f 000186b5 00000004 00000010 00000000000000000000000000000000 peer2 server\n";
  text.push_back('\0');
  text += ".tmpfile\ngarbage\n";
  out.WriteText("legacy_state", "takeover", text);
  out.WriteText("legacy_state", "empty-state", std::string_view("\0peer\nshort line\n", 17));
}

void ClientsInfoSeeds(const Seeds& out) {
  std::string text = "90\n";
  text.push_back('\0');
  text +=
      "clientid: 0x6564a3f10000000a\naddress: \"127.0.0.1:736\"\nstatus: confirmed\n"
      "seconds from last renew: 3\nname: \"Linux NFSv4.0 nfsvm/127.0.0.1 tcp\"\n"
      "minor version: 0\nImplementation domain: \"kernel.org\"\n"
      "Implementation time: [0, 0]\ncallback state: UP\ncallback address: 127.0.0.1:0\n";
  text.push_back('\0');
  text += "- 0x00000001: { type: open, access: rw, deny: --, superblock: \"fd:00:1\" }\n";
  text.push_back('\0');
  text +=
      "clientid: 0x2\naddress: \"[::1]:800\"\nstatus: courtesy\n"
      "name: \"a\\x22b\\x5cc\\x00\\xff\"\nminor version: 2\n";
  text.push_back('\0');
  out.WriteText("clients_info", "two-clients", text);
  out.WriteText("clients_info", "quoted-name", "\"abc\\x0adef\"");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  const Seeds seeds{fs::path(argv[1])};
  RpcMessageSeeds(seeds);
  NsmProgramSeeds(seeds);
  CldTrackingSeeds(seeds);
  NfsConfSeeds(seeds);
  LegacyStateSeeds(seeds);
  ClientsInfoSeeds(seeds);
  return 0;
}
