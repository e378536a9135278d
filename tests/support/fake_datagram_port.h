// FakeDatagramPort: the UDP socket of rpc::UdpRpcClient, as a simulated
// network (see the class).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/base/clock.h"
#include "common/base/liveness.h"
#include "common/rpc/rpc_message.h"
#include "common/rpc/udp_rpc_client.h"
#include <gtest/gtest.h>

namespace nfsrec {

// A simulated network of hosts behind one datagram socket.  Each host may
// run rpcbind (answering PMAP_GETPORT from a table) and programs (answering
// calls with an empty result).  Datagrams to a host that is down vanish.
// Replies arrive after `latency`, on the given Scheduler (a FakeScheduler,
// or a LoopScheduler in tests that run a real loop).
class FakeDatagramPort final : public rpc::DatagramPort {
 public:
  struct Host {
    bool up = true;
    std::map<std::pair<uint32_t, uint32_t>, uint16_t> ports;  // (prog, vers) -> port
  };
  struct Sent {
    TimePoint at;
    std::string to;  // address only
    uint16_t port;
    uint32_t prog, vers, proc;
    rpc::Bytes args;
  };

  explicit FakeDatagramPort(Scheduler& s) : sched_(s) {}

  Status SendTo(const rpc::Endpoint& to, std::span<const uint8_t> data) override {
    Result<rpc::CallHeader> call = rpc::DecodeCall(data);
    EXPECT_TRUE(call.ok());
    std::string addr = to.ToString();
    addr = addr.substr(0, addr.rfind(':'));
    if (!addr.empty() && addr.front() == '[') addr = addr.substr(1, addr.size() - 2);
    sent.push_back(Sent{sched_.Now(), addr, to.port(), call->prog, call->vers, call->proc,
                        rpc::Bytes(call->args.begin(), call->args.end())});
    auto h = hosts.find(addr);
    if (h == hosts.end() || !h->second.up) return Status::Ok();
    rpc::Bytes results;
    if (to.port() == rpc::kRpcbindPort && call->prog == rpc::kRpcbindProgram) {
      rpc::XdrReader r(call->args);
      uint32_t prog = 0, vers = 0;
      r.GetUint32(&prog);
      r.GetUint32(&vers);
      auto p = h->second.ports.find({prog, vers});
      rpc::XdrWriter w;
      w.PutUint32(p == h->second.ports.end() ? 0 : p->second);
      results = std::move(w).Take();
    } else {
      bool listening = false;
      for (const auto& [pv, port] : h->second.ports) listening = listening || port == to.port();
      if (!listening) return Status::Ok();
      delivered.push_back(sent.back());
    }
    rpc::Bytes reply = rpc::EncodeAcceptedReply(call->xid, rpc::AcceptStat::kSuccess, results);
    rpc::Endpoint from = to;
    sched_.RunAfter(latency, [this, alive = liveness_.token(), from, reply] {
      if (alive && receiver_) receiver_(from, reply);
    });
    return Status::Ok();
  }
  void SetReceiver(Receiver r) override { receiver_ = std::move(r); }

  std::vector<Sent> SentTo(const std::string& addr) const {
    std::vector<Sent> out;
    for (const auto& s : sent) {
      if (s.to == addr) out.push_back(s);
    }
    return out;
  }

  std::map<std::string, Host> hosts;
  std::vector<Sent> sent;
  std::vector<Sent> delivered;  // calls that reached a program (not rpcbind)
  Duration latency = std::chrono::milliseconds(1);

 private:
  Scheduler& sched_;
  Receiver receiver_;
  Liveness liveness_;  // last: replies still scheduled check it
};

}  // namespace nfsrec
