// cld-testd: the NFSv4 client tracker alone on an event loop, for the
// emulator scenarios and benchmarks (the real daemon's main.cc also serves
// NSM).  Usage:
//   cld-testd --pipe PATH --db FILE [--proc-root DIR] [--no-early-end] [-d]
// It dies with its parent, so a crashed test leaves no daemon behind.
// SIGTERM/SIGINT: stop reading upcalls, answer the ones already read, exit 0.
// SIGUSR1: log a status line (also written at exit).
#include <getopt.h>
#include <signal.h>
#include <sys/prctl.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "common/base/logging.h"
#include "common/os/event_loop.h"
#include "common/os/executor.h"
#include "common/os/file_system.h"
#include "common/os/privileged_helper.h"
#include "common/store/commit_queue.h"
#include "common/store/sqlite.h"
#include "nfs4rec/tracking_daemon.h"

namespace {

int Run(int argc, char** argv) {
  using namespace nfsrec;
  nfs4rec::TrackingOptions opts;
  std::string db_path;
  std::string proc_root;
  bool debug = false;
  static const option kLong[] = {
      {"pipe", required_argument, nullptr, 'p'},      {"db", required_argument, nullptr, 'b'},
      {"proc-root", required_argument, nullptr, 'r'}, {"no-early-end", no_argument, nullptr, 'n'},
      {"debug", no_argument, nullptr, 'd'},           {nullptr, 0, nullptr, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "p:b:r:nd", kLong, nullptr)) != -1) {
    switch (c) {
      case 'p':
        opts.pipe_path = optarg;
        break;
      case 'b':
        db_path = optarg;
        break;
      case 'r':
        proc_root = optarg;
        break;
      case 'n':
        opts.end_grace_early = false;
        break;
      case 'd':
        debug = true;
        break;
      default:
        std::fprintf(stderr,
                     "usage: cld-testd --pipe PATH --db FILE [--proc-root DIR] "
                     "[--no-early-end] [-d]\n");
        return 2;
    }
  }
  if (db_path.empty()) {
    std::fprintf(stderr, "cld-testd: --db is required\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  StderrLogger log("cld-testd", debug);
  // CLD_TESTD_VIA_HELPER: the pipe and /proc through the privileged helper,
  // as in the daemon once it has dropped root (forked while single-threaded).
  std::shared_ptr<FileSystem> files = std::make_shared<RealFileSystem>(proc_root);
  std::shared_ptr<nfs4rec::PipeOpener> opener;
  std::unique_ptr<PrivilegedHelper> helper;
  if (std::getenv("CLD_TESTD_VIA_HELPER") != nullptr) {
    auto h = PrivilegedHelper::Start(HelperPolicy{proc_root, nfs4rec::CldPipePaths(opts)});
    if (!h.ok()) {
      log.Error(h.status().ToString());
      return 1;
    }
    helper = std::move(h).value();
    files = std::make_shared<HelperFileSystem>(helper->channel(), std::move(files));
    opener = std::make_shared<nfs4rec::HelperPipeOpener>(helper->channel());
  }
  auto loop = EventLoop::Create();
  if (!loop.ok()) {
    log.Error(loop.status().ToString());
    return 1;
  }
  auto db = sqlite::Db::Open(db_path);
  if (!db.ok()) {
    log.Error(StrCat("open ", db_path, ": ", db.status().ToString()));
    return 1;
  }
  auto queue = std::make_unique<CommitQueue>(std::move(db).value(), **loop);
  LoopScheduler scheduler(**loop);
  Executor executor(**loop);
  auto daemon = nfs4rec::TrackingDaemon::Create(**loop, scheduler, executor, files, log, *queue,
                                                opts, opener);
  if (!daemon.ok()) {
    log.Error(daemon.status().ToString());
    return 1;
  }
  std::optional<Status> started;
  (*daemon)->Start([&started](Status s) { started = std::move(s); });
  if (!(*loop)->RunUntil([&] { return started.has_value(); }, std::chrono::minutes(1))) {
    started = Status::TimedOut("the store did not answer");
  }
  Status st = *started;
  if (!st.ok()) {
    log.Error(st.ToString());
    return 1;
  }
  bool stopping = false;
  auto stop = [&] {
    if (stopping) return;
    stopping = true;
    (*daemon)->Drain([&] { (*loop)->Stop(); });
  };
  SignalWatcher term(**loop, SIGTERM, stop);
  SignalWatcher intr(**loop, SIGINT, stop);
  // The status line ends with the commit queue's counts (bench/cld_bench.cc reads them).
  auto report = [&] {
    const CommitQueue::Stats q = queue->stats();
    return StrCat((*daemon)->StatusReport(), "; store: units=", q.units,
                  " transactions=", q.transactions, " max_group=", q.max_group);
  };
  SignalWatcher usr1(**loop, SIGUSR1, [&] { log.Info(report()); });
  st = (*loop)->Run();
  log.Info(report());
  daemon->reset();
  return st.ok() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
