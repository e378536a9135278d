// rpcbind-driver: exercises common/rpc/rpcbind.h and the test client against a
// real rpcbind, for tests/support/rpcbind_test.sh (run inside with-netns).
//
//   serve PROG VERS READY_FILE
//       RpcServer on udp/tcp/udp6/tcp6 (wildcard, ephemeral ports) that
//       answers NULL, registered with RpcbindRegistration; writes
//       "<netid> <port>" lines to READY_FILE, then runs until SIGTERM and
//       unregisters.
//   unset-all PROG VERS            UnsetAll
//   probe PROG VERS TIMEOUT_MS     prints "running" or "not-running"
//   getport ADDR PROG VERS udp|tcp prints the PMAP GETPORT answer
//   getaddr ADDR PROG VERS NETID   prints the RPCB GETADDR answer ("" -> "-")
//   notify ADDR PORT udp|tcp VERS privileged|unprivileged MON_NAME STATE PRIV_HEX
//       sends an NLM SM_NOTIFY callback (procedure 16, XDR struct status)
//       from a port below 1024 or not, and prints the outcome: "SUCCESS",
//       another accept_stat name, or "DENIED".  PORT 0: ask rpcbind.
// Exit status: 0 on success, 1 on failure (message on stderr), 2 on usage.
#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "common/base/logging.h"
#include "common/os/event_loop.h"
#include "common/rpc/rpc_message.h"
#include "common/rpc/rpc_server.h"
#include "common/rpc/rpcbind.h"
#include "tests/support/rpc_test_client.h"

extern "C" {
#include "sm_inter.h"
}

namespace nfsrec::test {
namespace {

constexpr auto kTimeout = std::chrono::seconds(5);
// NLM (the kernel's lockd) and its SM_NOTIFY callback procedure.
constexpr uint32_t kNlmProgram = 100021;
constexpr uint32_t kNlmProcSmNotify = 16;

bool ParseU32(const char* s, uint32_t* out) {
  char* end;
  errno = 0;
  unsigned long v = std::strtoul(s, &end, 0);
  if (errno != 0 || *end != '\0' || v > 0xffffffffUL) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

bool ParseProto(const std::string& s, Proto* p) {
  if (s == "udp") {
    *p = Proto::kUdp;
  } else if (s == "tcp") {
    *p = Proto::kTcp;
  } else {
    return false;
  }
  return true;
}

int Fail(const Status& st) {
  std::cerr << "rpcbind-driver: " << st.ToString() << "\n";
  return 1;
}

int Serve(uint32_t prog, uint32_t vers, const std::string& ready_file) {
  ::signal(SIGPIPE, SIG_IGN);
  StderrLogger log("rpcbind-driver", false);
  auto loop = EventLoop::Create();
  if (!loop.ok()) return Fail(loop.status());
  LoopScheduler scheduler(**loop);
  auto server = rpc::RpcServer::Create(**loop, scheduler, log, rpc::RpcServer::Options{});
  if (!server.ok()) return Fail(server.status());
  Status st = (*server)->AddProgram(prog, vers, {});
  if (!st.ok()) return Fail(st);
  auto reg = rpc::RpcbindRegistration::Register(prog, vers, (*server)->listeners());
  if (!reg.ok()) return Fail(reg.status());
  {
    std::string tmp = ready_file + ".tmp";
    std::ofstream out(tmp, std::ios::trunc);
    for (const auto& l : (*server)->listeners()) out << l.netid << " " << l.port << "\n";
    out.close();
    if (!out || std::rename(tmp.c_str(), ready_file.c_str()) != 0) {
      return Fail(Status::IOError("cannot write the ready file"));
    }
  }
  EventLoop& l = **loop;
  SignalWatcher term(l, SIGTERM, [&l] { l.Stop(); });
  st = l.Run();
  reg->reset();
  return st.ok() ? 0 : Fail(st);
}

int Notify(const std::string& addr, uint32_t port, Proto proto, uint32_t vers, bool privileged,
           const std::string& mon_name, uint32_t state, const std::string& priv_hex) {
  if (priv_hex.size() != 2 * SM_PRIV_SIZE ||
      priv_hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
    return Fail(Status::InvalidArgument("PRIV_HEX must be 32 hex digits"));
  }
  if (port == 0) {
    auto p = PmapGetPort(addr, kNlmProgram, vers, proto, kTimeout);
    if (!p.ok()) return Fail(p.status());
    if (*p == 0) return Fail(Status::NotFound("NLM is not registered with rpcbind"));
    port = *p;
  }
  status st{};
  std::string name = mon_name;
  st.mon_name.mon_name_len = static_cast<u_int>(name.size());
  st.mon_name.mon_name_val = name.data();
  st.state = static_cast<int>(state);
  for (int i = 0; i < SM_PRIV_SIZE; ++i) {
    st.priv[i] = static_cast<char>(std::stoul(priv_hex.substr(2 * i, 2), nullptr, 16));
  }
  auto args = rpc::XdrEncode(rpc::AsXdrProc(xdr_status), &st);
  if (!args.ok()) return Fail(args.status());
  CallOptions opt;
  opt.reserved_port = privileged;
  auto r = Call(addr, static_cast<uint16_t>(port), proto, kNlmProgram, vers, kNlmProcSmNotify,
                *args, kTimeout, opt);
  if (!r.ok()) return Fail(r.status());
  if (!privileged && r->local_port < 1024) {
    return Fail(Status::Unavailable("kernel picked a reserved source port; retry"));
  }
  if (!r->info.accepted) {
    std::cout << "DENIED\n";
  } else {
    std::cout << rpc::AcceptStatName(r->info.accept_stat) << "\n";
  }
  return 0;
}

int Main(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  uint32_t prog = 0, vers = 0, n = 0;
  Proto proto;
  if (a.size() == 4 && a[0] == "serve" && ParseU32(a[1].c_str(), &prog) &&
      ParseU32(a[2].c_str(), &vers)) {
    return Serve(prog, vers, a[3]);
  }
  if (a.size() == 3 && a[0] == "unset-all" && ParseU32(a[1].c_str(), &prog) &&
      ParseU32(a[2].c_str(), &vers)) {
    Status st = rpc::UnsetAll(prog, vers);
    return st.ok() ? 0 : Fail(st);
  }
  if (a.size() == 4 && a[0] == "probe" && ParseU32(a[1].c_str(), &prog) &&
      ParseU32(a[2].c_str(), &vers) && ParseU32(a[3].c_str(), &n)) {
    auto r = rpc::ProbeRunning(prog, vers, std::chrono::milliseconds(n));
    if (!r.ok()) return Fail(r.status());
    std::cout << (*r ? "running" : "not-running") << "\n";
    return 0;
  }
  if (a.size() == 5 && a[0] == "getport" && ParseU32(a[2].c_str(), &prog) &&
      ParseU32(a[3].c_str(), &vers) && ParseProto(a[4], &proto)) {
    auto r = PmapGetPort(a[1], prog, vers, proto, kTimeout);
    if (!r.ok()) return Fail(r.status());
    std::cout << *r << "\n";
    return 0;
  }
  if (a.size() == 5 && a[0] == "getaddr" && ParseU32(a[2].c_str(), &prog) &&
      ParseU32(a[3].c_str(), &vers)) {
    auto r = RpcbGetAddr(a[1], prog, vers, a[4], kTimeout);
    if (!r.ok()) return Fail(r.status());
    std::cout << (r->empty() ? "-" : *r) << "\n";
    return 0;
  }
  uint32_t port = 0, state = 0;
  if (a.size() == 9 && a[0] == "notify" && ParseU32(a[2].c_str(), &port) && port <= 65535 &&
      ParseProto(a[3], &proto) && ParseU32(a[4].c_str(), &vers) &&
      (a[5] == "privileged" || a[5] == "unprivileged") && ParseU32(a[7].c_str(), &state)) {
    return Notify(a[1], port, proto, vers, a[5] == "privileged", a[6], state, a[8]);
  }
  std::cerr << "usage: see the comment at the top of tests/support/rpcbind_driver.cc\n";
  return 2;
}

}  // namespace
}  // namespace nfsrec::test

int main(int argc, char** argv) { return nfsrec::test::Main(argc, argv); }
