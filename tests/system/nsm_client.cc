// nsm-client: sends one NSM call and prints the answer, for system tests
// and by hand (after nfs-utils' tests/nsm_client, with the arguments the
// kernel's lockd really sends as defaults: my_prog 100021, my_vers 3,
// my_proc 16).
//
//   nsm-client [options] null | stat NAME | mon NAME COOKIE_HEX | unmon NAME |
//              unmon-all | notify NAME STATE | crash | raw PROC HEX
// Options: --host ADDR (127.0.0.1)  --port N (else rpcbind)  --tcp
//          --source ADDR  --reserved (privileged source port)
//          --my-name N (server)  --prog N  --vers N  --proc N
//          --rpc-vers N (NSM version to call, 1)  --timeout-ms N (3000)
// Output: one line.  Exit: 0 on SUCCESS (and stat_succ where there is a
// res_stat), 1 on stat_fail, 2 on an RPC-level error, 3 on no answer.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/base/logging.h"
#include "common/rpc/rpc_message.h"
#include "statd/nsm_codec.h"
#include "tests/support/rpc_test_client.h"

namespace nfsrec::statd {
namespace {

bool ParseHex(const std::string& hex, std::vector<uint8_t>* out) {
  if (hex.size() % 2 != 0) return false;
  for (size_t i = 0; i < hex.size(); i += 2) {
    char* end = nullptr;
    std::string byte = hex.substr(i, 2);
    long v = std::strtol(byte.c_str(), &end, 16);
    if (end != byte.c_str() + 2) return false;
    out->push_back(static_cast<uint8_t>(v));
  }
  return true;
}

int Usage() {
  std::fprintf(stderr,
               "usage: nsm-client [--host A] [--port N] [--tcp] [--source A] [--reserved]\n"
               "  [--my-name N] [--prog N] [--vers N] [--proc N] [--rpc-vers N] [--timeout-ms N]\n"
               "  null | stat NAME | mon NAME COOKIE_HEX | unmon NAME | unmon-all |\n"
               "  notify NAME STATE | crash | raw PROC HEX\n");
  return 2;
}

int Run(std::vector<std::string> args) {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  test::Proto proto = test::Proto::kUdp;
  test::CallOptions copts;
  MyId my{"server", static_cast<int32_t>(kNlmProgram), 3, kNlmProcSmNotify};
  uint32_t rpc_vers = kNsmVersion;
  int timeout_ms = 3000;
  size_t i = 1;
  for (; i < args.size() && args[i].rfind("--", 0) == 0; ++i) {
    const std::string& a = args[i];
    if (a == "--tcp") {
      proto = test::Proto::kTcp;
      continue;
    }
    if (a == "--reserved") {
      copts.reserved_port = true;
      continue;
    }
    if (i + 1 >= args.size()) return Usage();
    const std::string& v = args[++i];
    if (a == "--host")
      host = v;
    else if (a == "--port")
      port = static_cast<uint16_t>(std::atoi(v.c_str()));
    else if (a == "--source")
      copts.source_address = v;
    else if (a == "--my-name")
      my.my_name = v;
    else if (a == "--prog")
      my.my_prog = std::atoi(v.c_str());
    else if (a == "--vers")
      my.my_vers = std::atoi(v.c_str());
    else if (a == "--proc")
      my.my_proc = std::atoi(v.c_str());
    else if (a == "--rpc-vers")
      rpc_vers = static_cast<uint32_t>(std::atoi(v.c_str()));
    else if (a == "--timeout-ms")
      timeout_ms = std::atoi(v.c_str());
    else
      return Usage();
  }
  if (i >= args.size()) return Usage();
  std::string cmd = args[i++];
  auto arg = [&](size_t k) -> std::string { return i + k < args.size() ? args[i + k] : ""; };

  uint32_t proc = 0;
  Bytes body;
  bool has_res_stat = false, has_state = false;
  if (cmd == "null") {
    proc = static_cast<uint32_t>(NsmProc::kNull);
  } else if (cmd == "stat") {
    proc = static_cast<uint32_t>(NsmProc::kStat);
    body = EncodeSmName(arg(0)).value();
    has_res_stat = true;
  } else if (cmd == "mon") {
    proc = static_cast<uint32_t>(NsmProc::kMon);
    std::vector<uint8_t> cookie;
    if (!ParseHex(arg(1), &cookie) || cookie.size() != kCookieSize) return Usage();
    MonArgs m{MonitorKey{arg(0), my.my_name, my.my_prog, my.my_vers, my.my_proc}, {}};
    std::copy(cookie.begin(), cookie.end(), m.priv.begin());
    Result<Bytes> b = EncodeMon(m);
    if (!b.ok()) return Usage();
    body = b.value();
    has_res_stat = true;
  } else if (cmd == "unmon") {
    proc = static_cast<uint32_t>(NsmProc::kUnmon);
    body = EncodeMonId(MonitorKey{arg(0), my.my_name, my.my_prog, my.my_vers, my.my_proc}).value();
    has_state = true;
  } else if (cmd == "unmon-all") {
    proc = static_cast<uint32_t>(NsmProc::kUnmonAll);
    body = EncodeMyId(my).value();
    has_state = true;
  } else if (cmd == "notify") {
    proc = static_cast<uint32_t>(NsmProc::kNotify);
    body = EncodeStatChge(NotifyArgs{arg(0), std::atoi(arg(1).c_str())}).value();
  } else if (cmd == "crash") {
    proc = static_cast<uint32_t>(NsmProc::kSimuCrash);
  } else if (cmd == "raw") {
    proc = static_cast<uint32_t>(std::atoi(arg(0).c_str()));
    if (!ParseHex(arg(1), &body)) return Usage();
  } else {
    return Usage();
  }

  if (port == 0) {
    Result<uint16_t> p = test::PmapGetPort(host, kNsmProgram, kNsmVersion, proto,
                                           std::chrono::milliseconds(timeout_ms));
    if (!p.ok() || p.value() == 0) {
      std::printf("NO_PORT %s\n", p.ok() ? "not registered" : p.status().ToString().c_str());
      return 3;
    }
    port = p.value();
  }
  Result<test::Reply> r = test::Call(host, port, proto, kNsmProgram, rpc_vers, proc, body,
                                     std::chrono::milliseconds(timeout_ms), copts);
  if (!r.ok()) {
    std::printf("NO_REPLY %s\n", r.status().ToString().c_str());
    return 3;
  }
  const rpc::ReplyInfo& info = r->info;
  if (!info.accepted) {
    std::printf("DENIED\n");
    return 2;
  }
  if (info.accept_stat != rpc::AcceptStat::kSuccess) {
    std::string extra;
    if (info.accept_stat == rpc::AcceptStat::kProgMismatch) {
      extra = StrCat(" ", info.mismatch.low, "-", info.mismatch.high);
    }
    std::printf("%s%s\n", std::string(rpc::AcceptStatName(info.accept_stat)).c_str(),
                extra.c_str());
    return 2;
  }
  if (has_res_stat) {
    Result<StatRes> res = DecodeSmStatRes(r->results);
    if (!res.ok()) {
      std::printf("BAD_RESULT\n");
      return 2;
    }
    std::printf("%s state=%d\n", res->success ? "stat_succ" : "stat_fail", res->state);
    return res->success ? 0 : 1;
  }
  if (has_state) {
    Result<int32_t> st = DecodeSmStat(r->results);
    if (!st.ok()) {
      std::printf("BAD_RESULT\n");
      return 2;
    }
    std::printf("state=%d\n", st.value());
    return st.value() < 0 ? 1 : 0;
  }
  std::printf("OK\n");
  return 0;
}

}  // namespace
}  // namespace nfsrec::statd

int main(int argc, char** argv) {
  return nfsrec::statd::Run(std::vector<std::string>(argv, argv + argc));
}
