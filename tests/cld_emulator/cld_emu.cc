// cld-emu: the FUSE kernel emulator (kernel_emulator.h) driven from a
// script, so that shell tests can put any cld daemon (ours, or Debian's
// nfsdcld) behind it.
//
//   cld-emu MOUNTPOINT [OPEN_WAIT_SECONDS]
// mounts the emulator, creates rpc_pipefs/nfsd (kept across nfsd stops, as
// nfsdcld watches it for the pipe) and prints "ready PIPE PROC_ROOT".  Then
// reads one command per line on stdin and answers one line on stdout
// (client ids and principal hashes in hex).  OPEN_WAIT_SECONDS (default 1,
// as nfsd waits) is how long nfsd start waits for a daemon to open the pipe:
// nfsdcld opens it only once inotify reports it.
//   start                nfsd start: "booted version=V uploaded=N skipped=0|1",
//                        or "error MESSAGE"
//   stop                 nfsd stop: "stopped"
//   create ID [HASH]     a client's Create upcall: "ok STATUS" or "error ERR"
//   table                "table N", then N lines "ID HASH" (HASH "-" if none):
//                        the records uploaded at the last GraceStart
//   reclaim ID [HASH]    OPEN(CLAIM_PREVIOUS): "ok", "reclaim-bad" or "no-grace"
//   complete ID [HASH]   RECLAIM_COMPLETE (Create, counted towards the early
//                        end): "ok STATUS" or "error ERR"
//   grace                "grace in=0|1 end=HOW end_grace_writes=N" (HOW as
//                        GraceEndName: none skipped all-reclaimed proc-write timer)
//   timer                the grace timer fires: "grace ..." as above
//   quit                 unmounts and exits 0
// Exits 77 if FUSE cannot be mounted here.
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>

#include "common/base/logging.h"
#include "tests/cld_emulator/kernel_emulator.h"

namespace {

using nfsrec::cldemu::EmulatorOptions;
using nfsrec::cldemu::KernelEmulator;

bool FromHex(const std::string& hex, std::string& out) {
  if (hex.size() % 2 != 0) return false;
  out.clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    unsigned v = 0;
    if (std::sscanf(hex.c_str() + i, "%2x", &v) != 1) return false;
    out.push_back(static_cast<char>(v));
  }
  return true;
}

std::string Hex(const std::string& s) { return nfsrec::HexBytes(s.data(), s.size()); }

// One word per way grace ended, for scripts.
const char* EndToken(nfsrec::cldemu::GraceEnd e) {
  using nfsrec::cldemu::GraceEnd;
  switch (e) {
    case GraceEnd::kNone:
      return "none";
    case GraceEnd::kSkipped:
      return "skipped";
    case GraceEnd::kAllReclaimed:
      return "all-reclaimed";
    case GraceEnd::kProcWrite:
      return "proc-write";
    case GraceEnd::kTimer:
      return "timer";
  }
  return "?";
}

void PrintUpcall(const nfsrec::cldemu::UpcallResult& r) {
  if (r.ok()) {
    std::cout << "ok " << r.reply.status << std::endl;
  } else {
    std::cout << "error " << r.err << std::endl;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    std::fprintf(stderr, "usage: %s MOUNTPOINT [OPEN_WAIT_SECONDS]\n", argv[0]);
    return 2;
  }
  EmulatorOptions options;
  options.mountpoint = argv[1];
  options.remove_dir_on_stop = false;
  if (argc == 3) options.open_wait = std::chrono::seconds(std::atoi(argv[2]));
  auto k = KernelEmulator::Mount(options);
  if (!k.ok()) {
    std::fprintf(stderr, "cld-emu: FUSE unavailable: %s\n", k.status().ToString().c_str());
    return 77;
  }
  std::unique_ptr<KernelEmulator> emu = std::move(k).value();
  const std::string nfsd_dir = options.mountpoint + "/rpc_pipefs/nfsd";
  if (::mkdir(nfsd_dir.c_str(), 0755) != 0 && errno != EEXIST) {
    std::fprintf(stderr, "cld-emu: mkdir %s failed\n", nfsd_dir.c_str());
    return 1;
  }
  std::cout << "ready " << emu->pipe_path() << " " << emu->proc_root() << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::string cmd, a, b;
    std::istringstream in(line);
    in >> cmd >> a >> b;
    if (cmd == "start") {
      nfsrec::cldemu::BootResult r = emu->StartNfsd();
      if (!r.status.ok()) {
        std::cout << "error " << r.status.ToString() << std::endl;
      } else {
        std::cout << "booted version=" << int(r.version) << " uploaded=" << r.uploaded
                  << " skipped=" << (r.grace_skipped ? 1 : 0) << std::endl;
      }
    } else if (cmd == "stop") {
      emu->StopNfsd();
      std::cout << "stopped" << std::endl;
    } else if (cmd == "create") {
      std::string id, hash;
      if (!FromHex(a, id) || !FromHex(b, hash)) {
        std::cout << "error bad hex" << std::endl;
        continue;
      }
      PrintUpcall(emu->Create(id, hash));
    } else if (cmd == "reclaim") {
      std::string id, hash;
      if (!FromHex(a, id) || !FromHex(b, hash)) {
        std::cout << "error bad hex" << std::endl;
        continue;
      }
      nfsrec::cldemu::ReclaimVerdict v = emu->Reclaim(id, hash);
      std::cout << (v == nfsrec::cldemu::ReclaimVerdict::kOk           ? "ok"
                    : v == nfsrec::cldemu::ReclaimVerdict::kReclaimBad ? "reclaim-bad"
                                                                       : "no-grace")
                << std::endl;
    } else if (cmd == "complete") {
      std::string id, hash;
      if (!FromHex(a, id) || !FromHex(b, hash)) {
        std::cout << "error bad hex" << std::endl;
        continue;
      }
      PrintUpcall(emu->ReclaimComplete(id, hash));
    } else if (cmd == "grace" || cmd == "timer") {
      if (cmd == "timer") emu->GraceTimerExpired();
      std::cout << "grace in=" << (emu->in_grace() ? 1 : 0) << " end=" << EndToken(emu->grace_end())
                << " end_grace_writes=" << emu->counters().end_grace_writes << std::endl;
    } else if (cmd == "table") {
      auto table = emu->reclaim_table();
      std::cout << "table " << table.size() << "\n";
      for (const auto& [id, hash] : table) {
        std::cout << Hex(id) << " " << (hash.empty() ? "-" : Hex(hash)) << "\n";
      }
      std::cout.flush();
    } else if (cmd == "quit") {
      break;
    } else {
      std::cout << "error unknown command" << std::endl;
    }
  }
  if (emu->nfsd_running()) emu->StopNfsd();
  return 0;
}
