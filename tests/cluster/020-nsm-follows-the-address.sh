#!/bin/bash
# NSM in cluster mode follows the instance's address.  i1 serves
# 10.240.0.100 (named nfs-i1.example in /etc/hosts) from node 1 and i2
# serves 10.240.0.101 (no name anywhere) from node 2; each one's lockd
# monitors its own peer (SM_MON).  The peers are fake rpcbinds and statds
# in Python, each in its own namespace, recording each packet's source.
# Node 1 dies, the address moves to node 3 and i1 is started there: the
# monitor list and the state number come from etcd, and i1's peer is told
# of the reboot from 10.240.0.100 only, announcing the address's name, with
# a state number above the one i1 had; i2's peer hears nothing
# (notification is per instance).  Then node 2 dies and i2 moves to node 4:
# its peer is told from 10.240.0.101, announcing the address itself (it has
# no reverse name, so it is its own mon_name, as rpc.statd names such an
# address), and i1's peer hears nothing.
#
# No namespace has a default route: a lookup that misses /etc/hosts fails
# at once (the nameserver is unreachable) instead of waiting for the
# resolver's time-out.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 is not installed"
ADDR=10.240.0.100
ADDR2=10.240.0.101
PEER=10.240.9.2
PEER2=10.240.10.2
COOKIE=0123456789abcdef0123456789abcdef

printf '127.0.0.1 localhost\n%s nfs-i1.example nfs-i1\n' "$ADDR" >"$T/hosts"
mount --bind "$T/hosts" /etc/hosts || skip "cannot bind-mount over /etc/hosts"

etcd_up 3
# The hub routes between the nodes, the peers and the floating addresses.
sysctl -qw net.ipv4.ip_forward=1 || skip "cannot enable forwarding in the test namespace"
# peer_up NAME HUB_ADDR ADDR LOG: a peer in namespace NAME.
peer_up() {
  "$WITH_NETNS" --name "$1" --no-rpcbind --veth "$2/24,$3/24" -- \
    sh -c "ip route add 10.240.0.0/16 via $2 &&
           exec python3 '$top_srcdir/tests/support/fake-statd-peer' '$4'" &
  disown $!
  for _ in $(seq 1 200); do [ -e "$4.ready" ] && break; sleep 0.05; done
  [ -e "$4.ready" ] || { fail "peer $1 did not come up"; finish; }
}
peer_up peer 10.240.9.1 "$PEER" "$T/peer.log"
peer_up peer2 10.240.10.1 "$PEER2" "$T/peer2.log"
route_nodes() { in_node "$1" ip route add 10.240.0.0/16 via "10.240.$1.1"; }
# move_address ADDR K: ADDR now lives on node K.
move_address() {
  in_node "$2" ip addr add "$1/32" dev veth0 || fail "cannot add $1 on node $2"
  ip route replace "$1/32" via "10.240.$2.2"
}
nsm_state() {
  ctl "$1" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["nsm"]["state"])'
}
# boot_done K: node K's boot notification has run and finished (10 s at most).
boot_done() {
  local i
  for i in $(seq 1 200); do
    ctl "$1" status --json | python3 -c '
import json, sys
b = json.load(sys.stdin)["nsm"]["notify"]["boot"]
sys.exit(0 if b["runs"] >= 1 and not b["running"] else 1)' && return 0
    sleep 0.05
  done
  fail "node $1: boot notification did not finish"
}
# expect_notified LOG ADDR NAME BEFORE: the peer that writes LOG was told of
# a new odd state above BEFORE, from ADDR only, announcing NAME.
expect_notified() {
  local log=$1 addr=$2 want=$3 before=$4 notify src name state
  for _ in $(seq 1 200); do grep -q "^notify " "$log" 2>/dev/null && break; sleep 0.05; done
  notify=$(grep "^notify " "$log" | head -1)
  read -r _ src name state <<<"$notify"
  expect_eq "SM_NOTIFY's source" "$addr" "${src:-none}"
  expect_eq "SM_NOTIFY's mon_name" "$want" "${name:-none}"
  [ "${state:-0}" -gt "$before" ] && [ $((state % 2)) = 1 ] ||
    fail "state ${state:-none} after failover, $before before: not a new odd state"
  if grep -v " $addr" "$log" | grep -q .; then
    fail "packets from another address than $addr: $(cat "$log")"
  fi
  STATE_SENT=$state
}
# expect_silent LOG WHY: the peer that writes LOG heard nothing.
expect_silent() {
  if [ -s "$1" ]; then
    fail "$2: $(cat "$1")"
  else
    echo "ok: nothing for $(basename "$1" .log): $2"
  fi
}

node_up 1
node_up 2
route_nodes 1
route_nodes 2
move_address "$ADDR" 1
move_address "$ADDR2" 2
emu_up 1
emu_up 2
daemon_up 1 i1 cluster-addresses=$ADDR
daemon_up 2 i2 cluster-addresses=$ADDR2
in_node 1 "$NSM_CLIENT" --tcp mon "$PEER" "$COOKIE" >/dev/null || fail "SM_MON on i1"
in_node 2 "$NSM_CLIENT" --tcp mon "$PEER2" "$COOKIE" >/dev/null || fail "SM_MON on i2"
state1=$(nsm_state 1)
state2=$(nsm_state 2)
: >"$T/peer.log"
: >"$T/peer2.log"

echo "== i1 moves to node 3: its address has a reverse name"
node_kill 1
node_up 3
route_nodes 3
move_address "$ADDR" 3
emu_up 3
daemon_up 3 i1 cluster-addresses=$ADDR
expect_notified "$T/peer.log" "$ADDR" nfs-i1.example "$state1"
boot_done 3
expect_silent "$T/peer2.log" "i2's peer was notified for i1's failover"
in_node 3 "$NFSRECCTL" --config "$T/n3/nfs.conf" status --json >"$T/s3.json" ||
  fail "status on node 3"
python3 - "$T/s3.json" "$STATE_SENT" <<'PY' || fail "i1's status on node 3: $(cat "$T/s3.json")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["nsm"]["state"] == int(sys.argv[2]), s["nsm"]
assert s["cluster"]["instance"] == "i1" and s["cluster"]["held"], s["cluster"]
PY

echo "== i2 moves to node 4: its address has no reverse name"
: >"$T/peer.log"
node_kill 2
node_up 4
route_nodes 4
move_address "$ADDR2" 4
emu_up 4
daemon_up 4 i2 cluster-addresses=$ADDR2
expect_notified "$T/peer2.log" "$ADDR2" "$ADDR2" "$state2"
boot_done 4
expect_silent "$T/peer.log" "i1's peer was notified for i2's failover"
if grep -q "unusable\|from any address" "${DAEMON_LOG[4]}"; then
  fail "i2 did not take $ADDR2 as its source: $(grep "unusable\|from any address" "${DAEMON_LOG[4]}")"
fi
finish
