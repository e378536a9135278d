// lockd-emu: stands in for the kernel's lockd as the target of NSM
// callbacks (statd -> lockd, NLM program 100021 procedure 16).
//
// It registers NLM versions 3 and 4 with rpcbind on udp/tcp (and udp6/tcp6
// where the host has IPv6), answers NULL, and for procedure 16 decodes the
// XDR `struct status {mon_name, state, priv[16]}` and prints one line per
// callback on stdout, flushed:
//
//   CALLBACK vers=<v> proto=<udp|tcp> from=<addr>:<port> privileged=<0|1>
//            mon_name=<Printable> state=<n> priv=<32 hex digits>
//
// (one line; wrapped here).  Like the kernel (nlm_privileged_requester) it
// accepts a callback only from a loopback address AND a source port below
// 1024; anything else gets SYSTEM_ERR and a line with the same fields that
// starts with `REJECT` instead of `CALLBACK`.  Arguments that do not decode
// get GARBAGE_ARGS and a `GARBAGE vers=.. proto=.. from=..` line.
// `privileged` is the source-port test alone.
//
// Options:
//   --port N         fixed port for every listener (default: ephemeral)
//   --ready-file F   after registration, write "<netid> <port>" lines to F
//                    (atomically, via F.tmp and rename)
//   --no-rpcbind     do not touch rpcbind
//   --no-ipv6        IPv4 listeners only
//   --debug          debug logging to stderr
//   --done-after N --done-file F
//                    when the N-th accepted callback has been printed, write
//                    its arrival time (Unix milliseconds, CLOCK_REALTIME) to F
//                    (atomically): a bench waits for that file instead of
//                    counting lines in a loop of its own, which on a small
//                    machine took CPU from the run it measured
// SIGTERM / SIGINT: unregister from rpcbind and exit 0.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/base/logging.h"
#include "common/os/event_loop.h"
#include "common/rpc/rpc_message.h"
#include "common/rpc/rpc_server.h"
#include "common/rpc/rpcbind.h"

extern "C" {
#include "sm_inter.h"
}

namespace nfsrec::test {
namespace {

constexpr uint32_t kNlmProgram = 100021;
constexpr uint32_t kNlmProcSmNotify = 16;
constexpr uint32_t kNlmVersions[] = {3, 4};

struct Flags {
  uint16_t port = 0;
  std::string ready_file;
  bool rpcbind = true;
  bool ipv6 = true;
  bool debug = false;
  uint64_t done_after = 0;
  std::string done_file;
};

void Usage() {
  std::cerr << "usage: lockd-emu [--port N] [--ready-file F] [--no-rpcbind] [--no-ipv6] "
               "[--debug] [--done-after N --done-file F]\n";
}

bool ParseFlags(int argc, char** argv, Flags* f) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--port" && i + 1 < argc) {
      char* end;
      unsigned long v = std::strtoul(argv[++i], &end, 10);
      if (*end != '\0' || v > 65535) return false;
      f->port = static_cast<uint16_t>(v);
    } else if (a == "--ready-file" && i + 1 < argc) {
      f->ready_file = argv[++i];
    } else if (a == "--no-rpcbind") {
      f->rpcbind = false;
    } else if (a == "--no-ipv6") {
      f->ipv6 = false;
    } else if (a == "--debug") {
      f->debug = true;
    } else if (a == "--done-after" && i + 1 < argc) {
      char* end;
      f->done_after = std::strtoull(argv[++i], &end, 10);
      if (*end != '\0' || f->done_after == 0) return false;
    } else if (a == "--done-file" && i + 1 < argc) {
      f->done_file = argv[++i];
    } else {
      return false;
    }
  }
  return (f->done_after == 0) == f->done_file.empty();
}

void PrintLine(const std::string& line) {
  std::string l = line + "\n";
  std::fwrite(l.data(), 1, l.size(), stdout);
  std::fflush(stdout);
}

// Writes `text` to path via path.tmp and rename, so a reader sees all or nothing.
Status WriteAtomically(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    out.flush();
    if (!out) return Status::IOError(StrCat("cannot write ", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return PosixError(StrCat("rename ", tmp), errno);
  }
  return Status::Ok();
}

// The --done-after count: accepted callbacks so far.
struct DoneCount {
  uint64_t after = 0;
  std::string file;
  uint64_t accepted = 0;
  Logger* log = nullptr;

  void Accepted() {
    if (++accepted != after) return;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    Status st = WriteAtomically(file, StrCat(ms, "\n"));
    if (!st.ok()) log->Error(st.ToString());
  }
};

void OnSmNotify(DoneCount& done, const rpc::CallContext& ctx, std::span<const uint8_t> args,
                rpc::Responder r) {
  std::string where = StrCat("vers=", ctx.vers, " proto=", ctx.IsTcp() ? "tcp" : "udp",
                             " from=", ctx.PeerAddress(), ":", ctx.PeerPort());
  auto decoded = rpc::XdrDecoded<status>::Decode(rpc::AsXdrProc(xdr_status), args);
  if (!decoded.ok()) {
    PrintLine(StrCat("GARBAGE ", where));
    r.GarbageArgs();
    return;
  }
  const status& st = **decoded;
  bool privileged_port = ctx.FromPrivilegedPort();
  std::string fields = StrCat(
      where, " privileged=", privileged_port ? 1 : 0,
      " mon_name=", Printable(std::string_view(st.mon_name.mon_name_val, st.mon_name.mon_name_len)),
      " state=", st.state, " priv=", HexBytes(st.priv, SM_PRIV_SIZE));
  if (!ctx.IsLoopback() || !privileged_port) {
    PrintLine(StrCat("REJECT ", fields));
    r.SystemErr();
    return;
  }
  PrintLine(StrCat("CALLBACK ", fields));
  r.ReplyVoid();
  if (done.after != 0) done.Accepted();
}

Status WriteReadyFile(const std::string& path, const std::vector<rpc::ListenerInfo>& listeners) {
  std::string text;
  for (const auto& l : listeners) text += StrCat(l.netid, " ", l.port, "\n");
  return WriteAtomically(path, text);
}

int Main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) {
    Usage();
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  StderrLogger log("lockd-emu", flags.debug);
  auto loop = EventLoop::Create();
  if (!loop.ok()) {
    log.Error(loop.status().ToString());
    return 1;
  }
  rpc::RpcServer::Options opt;
  opt.port = flags.port;
  opt.udp6 = opt.tcp6 = flags.ipv6;
  // A notify storm sends every callback within a few loop turns; with the
  // default buffer (about 200 datagrams) the emulator, not the daemon,
  // dropped callbacks, and each came again a second later.  The kernel's
  // lockd sizes its socket buffers for its threads' requests, well above it.
  opt.udp_receive_buffer = 4 << 20;
  LoopScheduler scheduler(**loop);
  auto server = rpc::RpcServer::Create(**loop, scheduler, log, opt);
  if (!server.ok()) {
    log.Error(server.status().ToString());
    return 1;
  }
  DoneCount done{flags.done_after, flags.done_file, 0, &log};
  for (uint32_t vers : kNlmVersions) {
    Status st = (*server)->AddProgram(
        kNlmProgram, vers,
        {{kNlmProcSmNotify,
          [&done](const rpc::CallContext& ctx, std::span<const uint8_t> args, rpc::Responder r) {
            OnSmNotify(done, ctx, args, std::move(r));
          }}});
    if (!st.ok()) {
      log.Error(st.ToString());
      return 1;
    }
  }

  std::vector<std::unique_ptr<rpc::RpcbindRegistration>> registrations;
  if (flags.rpcbind) {
    for (uint32_t vers : kNlmVersions) {
      Status st = rpc::UnsetAll(kNlmProgram, vers);
      if (!st.ok()) log.Warning(st.ToString());
      auto reg = rpc::RpcbindRegistration::Register(kNlmProgram, vers, (*server)->listeners());
      if (!reg.ok()) {
        log.Error(reg.status().ToString());
        return 1;
      }
      registrations.push_back(std::move(reg).value());
    }
  }
  if (!flags.ready_file.empty()) {
    Status st = WriteReadyFile(flags.ready_file, (*server)->listeners());
    if (!st.ok()) {
      log.Error(st.ToString());
      return 1;
    }
  }

  EventLoop& l = **loop;
  SignalWatcher term(l, SIGTERM, [&l] { l.Stop(); });
  SignalWatcher intr(l, SIGINT, [&l] { l.Stop(); });
  Status st = l.Run();
  registrations.clear();  // rpcb_unset, before the sockets close
  if (!st.ok()) {
    log.Error(st.ToString());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace nfsrec::test

int main(int argc, char** argv) { return nfsrec::test::Main(argc, argv); }
