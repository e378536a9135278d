#include "statd/nsm_program.h"

#include <utility>

namespace nfsrec::statd {

Caller CallerOf(const rpc::CallContext& ctx) {
  return Caller{ctx.IsLoopback(), ctx.FromPrivilegedPort(), ctx.PeerAddress(), ctx.PeerPort(),
                ctx.received};
}

namespace {

void Garbage(Logger& log, const rpc::CallContext& ctx, const char* proc, const Status& st,
             rpc::Responder& r, NsmProgramStats* stats) {
  if (stats != nullptr) ++stats->by_proc[static_cast<NsmProc>(ctx.proc)].garbage;
  log.Debug(StrCat(proc, " from ", ctx.PeerAddress(), ": ", st.ToString()));
  r.GarbageArgs();
}

// Counts a call as awaiting its reply for as long as it lives; moved into
// the reply callback, so a call whose reply is dropped stops counting too.
class AwaitingReply {
 public:
  explicit AwaitingReply(std::shared_ptr<NsmProgramStats> stats) : stats_(std::move(stats)) {
    if (stats_) ++stats_->awaiting_reply;
  }
  ~AwaitingReply() {
    if (stats_) --stats_->awaiting_reply;
  }
  AwaitingReply(AwaitingReply&&) noexcept = default;
  AwaitingReply& operator=(AwaitingReply&&) = delete;
  AwaitingReply(const AwaitingReply&) = delete;
  AwaitingReply& operator=(const AwaitingReply&) = delete;

 private:
  std::shared_ptr<NsmProgramStats> stats_;
};

// sm_stat has no failure value: a change that did not become durable is
// answered SYSTEM_ERR, which lockd treats as a failed call.
void ReplyState(Result<int32_t> state, rpc::Responder& r) {
  if (!state.ok()) return r.SystemErr();
  r.Reply(EncodeSmStat(*state));
}

}  // namespace

std::map<uint32_t, rpc::Handler> NsmHandlers(NsmService& service, Logger& log,
                                             std::function<void()> on_simu_crash,
                                             std::shared_ptr<NsmProgramStats> stats) {
  std::map<uint32_t, rpc::Handler> h;
  NsmProgramStats* counts = stats.get();
  // The handlers are twins on purpose: each decodes its own argument type
  // and encodes its own result, which is all they do.
  h[static_cast<uint32_t>(NsmProc::kNull)] = [](const rpc::CallContext&, ByteSpan,
                                                rpc::Responder r) { r.ReplyVoid(); };

  h[static_cast<uint32_t>(NsmProc::kStat)] = [&service, &log, counts, stats](
                                                 const rpc::CallContext& ctx, ByteSpan args,
                                                 rpc::Responder r) {
    Result<std::string> name = DecodeSmName(args);
    if (!name.ok()) return Garbage(log, ctx, "SM_STAT", name.status(), r, counts);
    service.Stat(CallerOf(ctx), name.value(),
                 [r = std::move(r), a = AwaitingReply(stats)](StatRes res) mutable {
                   r.Reply(EncodeSmStatRes(res));
                 });
  };

  h[static_cast<uint32_t>(NsmProc::kMon)] = [&service, &log, counts, stats](
                                                const rpc::CallContext& ctx, ByteSpan args,
                                                rpc::Responder r) {
    Result<MonArgs> mon = DecodeMon(args);
    if (!mon.ok()) return Garbage(log, ctx, "SM_MON", mon.status(), r, counts);
    service.Mon(CallerOf(ctx), std::move(mon.value()),
                [r = std::move(r), a = AwaitingReply(stats)](StatRes res) mutable {
                  r.Reply(EncodeSmStatRes(res));
                });
  };

  h[static_cast<uint32_t>(NsmProc::kUnmon)] = [&service, &log, counts, stats](
                                                  const rpc::CallContext& ctx, ByteSpan args,
                                                  rpc::Responder r) {
    Result<MonitorKey> id = DecodeMonId(args);
    if (!id.ok()) return Garbage(log, ctx, "SM_UNMON", id.status(), r, counts);
    service.Unmon(CallerOf(ctx), std::move(id.value()),
                  [r = std::move(r), a = AwaitingReply(stats)](auto state) mutable {
                    ReplyState(std::move(state), r);
                  });
  };

  h[static_cast<uint32_t>(NsmProc::kUnmonAll)] = [&service, &log, counts, stats](
                                                     const rpc::CallContext& ctx, ByteSpan args,
                                                     rpc::Responder r) {
    Result<MyId> id = DecodeMyId(args);
    if (!id.ok()) return Garbage(log, ctx, "SM_UNMON_ALL", id.status(), r, counts);
    service.UnmonAll(CallerOf(ctx), std::move(id.value()),
                     [r = std::move(r), a = AwaitingReply(stats)](auto state) mutable {
                       ReplyState(std::move(state), r);
                     });
  };

  h[static_cast<uint32_t>(NsmProc::kSimuCrash)] =
      [&service, on_simu_crash = std::move(on_simu_crash)](const rpc::CallContext& ctx, ByteSpan,
                                                           rpc::Responder r) {
        bool allowed = service.SimuCrashAllowed(CallerOf(ctx));
        r.ReplyVoid();
        if (allowed && on_simu_crash) on_simu_crash();
      };

  h[static_cast<uint32_t>(NsmProc::kNotify)] = [&service, &log, counts, stats](
                                                   const rpc::CallContext& ctx, ByteSpan args,
                                                   rpc::Responder r) {
    Result<NotifyArgs> n = DecodeStatChge(args);
    if (!n.ok()) return Garbage(log, ctx, "SM_NOTIFY", n.status(), r, counts);
    service.Notify(CallerOf(ctx), std::move(n.value()),
                   [r = std::move(r), a = AwaitingReply(stats)]() mutable { r.ReplyVoid(); });
  };
  if (stats == nullptr) return h;
  // Every call is counted before its handler runs.
  for (auto& [proc, handler] : h) {
    handler = [counts, proc = static_cast<NsmProc>(proc), stats, inner = std::move(handler)](
                  const rpc::CallContext& ctx, ByteSpan args, rpc::Responder r) {
      ++counts->by_proc[proc].calls;
      inner(ctx, args, std::move(r));
    };
  }
  return h;
}

}  // namespace nfsrec::statd
