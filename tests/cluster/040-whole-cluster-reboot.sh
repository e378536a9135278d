#!/bin/bash
# A site-wide power loss (docs/cluster.md, "Whole-cluster reboot"): three
# nodes, each the home of one instance (iK on node K) with its NFSv4 clients
# and two NSM peers of its own (each peer in a namespace of its own), and
# every etcd member die at once (SIGKILL; nothing is shut down cleanly).
#  1. The site comes back: etcd first, then the nodes in another order (i3,
#     i2, i1), a second apart, each nfsd as soon as its daemon serves.
#     Each nfsd is offered exactly its instance's clients; each instance's
#     NSM state goes up and its own peers are told, from its address, with
#     that state.  The cluster grace i3 started is the one i2 and i1 join
#     (one recovery epoch).  Then the clients reclaim, i3's first and i1's
#     last: i3 and i2 stay in grace while i1 still needs it, and all three
#     end grace by v4_end_grace within a second of i1's last reclaim (the
#     figure is printed).
#  2. A second power loss, the daemons started while etcd is still down:
#     each waits (the etcd client and the instance lock say so once each),
#     and serves once etcd is back; an nfsd started meanwhile has its
#     GraceStart answered then, with the records.
#     One client per instance never comes back: the cluster stays in grace
#     until the nfsds' own grace timers, and that client's record is gone
#     afterwards (the next GraceStart does not offer it).
#  3. A third power loss, during that grace, and only node 3 comes back at
#     first: all of i3's clients reclaim, yet i3 does not end grace while
#     i1 and i2, members of the cluster, have not started (P/hold,
#     cluster/cluster_grace.h), not even once their dead leases have
#     ended.  Then i2 and i1 start, their clients reclaim, and all three
#     end grace by v4_end_grace.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 is not installed"
COOKIE=0123456789abcdef0123456789abcdef
addr() { echo "10.240.0.10$1"; }         # instance iK's service address
peer() { echo "10.240.$((20 + $1)).2"; } # peer P (1..6); iK monitors 2K-1 and 2K
peers_of() { echo "$((2 * $1 - 1)) $((2 * $1))"; }

{
  echo "127.0.0.1 localhost"
  for k in 1 2 3; do echo "$(addr "$k") nfs-i$k.example nfs-i$k"; done
} >"$T/hosts"
mount --bind "$T/hosts" /etc/hosts || skip "cannot bind-mount over /etc/hosts"

etcd_up 3
# The hub routes between the nodes and the peers.
sysctl -qw net.ipv4.ip_forward=1 || skip "cannot enable forwarding in the test namespace"
for p in 1 2 3 4 5 6; do
  "$WITH_NETNS" --name "p$p" --no-rpcbind --veth "10.240.$((20 + p)).1/24,$(peer "$p")/24" -- \
    sh -c "ip route add 10.240.0.0/16 via 10.240.$((20 + p)).1 &&
           exec python3 '$top_srcdir/tests/support/fake-statd-peer' '$T/peer$p.log'" \
    2>>"$T/peers.log" &
  disown $!
done
for p in 1 2 3 4 5 6; do
  for _ in $(seq 1 200); do [ -e "$T/peer$p.log.ready" ] && break; sleep 0.05; done
  [ -e "$T/peer$p.log.ready" ] || { fail "peer $p did not come up"; finish; }
done

# boot_node K: node K's namespace, with instance iK's address and an nfsd
# emulator.  Only 10.240/16 is routed (through the hub): the resolver's
# server is out of reach at once instead of after its time-out.
boot_node() {
  local k=$1
  node_up "$k"
  in_node "$k" ip route add 10.240.0.0/16 via "10.240.$k.1"
  in_node "$k" ip addr add "$(addr "$k")/32" dev veth0 || fail "cannot add $(addr "$k") on node $k"
  ip route replace "$(addr "$k")/32" via "10.240.$k.2"
  emu_up "$k"
}
grace_of() { emu "$1" grace | sed 's/^grace \(in=[01] end=[a-z-]*\).*/\1/'; }
nsm_state() {
  ctl "$1" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["nsm"]["state"])'
}
# cluster K EXPR: EXPR (Python, over the cluster status `s`) read through node K.
cluster() {
  ctl "$1" cluster status --json | python3 -c "import json,sys; s=json.load(sys.stdin); print($2)"
}
out_of_grace() {  # K...: all of them out of grace?
  local k
  for k in "$@"; do case $(grace_of "$k") in *in=0*) ;; *) return 1 ;; esac; done
}
power_loss() {
  local k m
  for k in 1 2 3; do node_kill "$k"; done
  for m in 1 2 3; do "$ETCD_CLUSTER" kill "$T/etcd" "$m" || fail "killing etcd member $m"; done
}
etcd_back() {
  local m
  for m in 1 2 3; do "$ETCD_CLUSTER" restart "$T/etcd" "$m" || fail "restarting etcd member $m"; done
  "$ETCD_CLUSTER" wait-healthy "$T/etcd" || { fail "etcd did not come back"; finish; }
}
# last_reclaim_ends_grace WHAT ID: i1's last client ID reclaims and
# completes; every instance then ends grace by v4_end_grace within 1.5 s
# (the figure is printed, WHAT names it).
last_reclaim_ends_grace() {
  local k t_last t_out ms
  expect_eq "i1's last client reclaims" "ok" "$(emu 1 reclaim "$2")"
  t_last=$(date +%s%N)
  expect_eq "i1's last client completes" "ok 0" "$(emu 1 complete "$2")"
  for _ in $(seq 1 200); do out_of_grace 1 2 3 && break; sleep 0.01; done
  t_out=$(date +%s%N)
  for k in 1 2 3; do expect_eq "i$k ends grace by v4_end_grace" "in=0 end=proc-write" "$(grace_of "$k")"; done
  ms=$(((t_out - t_last) / 1000000))
  echo "figure: $1last RECLAIM_COMPLETE -> every instance out of grace: $ms ms"
  [ "$ms" -lt 1500 ] || fail "the cluster grace took $ms ms to end after the last reclaim"
}
reclaim_all() {  # K IDS...: each reclaims, then RECLAIM_COMPLETE
  local k=$1 id
  shift
  for id in "$@"; do
    expect_eq "i$k's client reclaims" "ok" "$(emu "$k" reclaim "$id")"
    expect_eq "i$k's client completes" "ok 0" "$(emu "$k" complete "$id")"
  done
}

# ---- Before: three instances with clients and monitors.
declare -A CLIENTS OLD_STATE STATE
CLIENTS[1]="$(hex "Linux NFSv4.2 c1-a") $(hex "Linux NFSv4.2 c1-b") $(hex "Linux NFSv4.1 c1-c")"
CLIENTS[2]="$(hex "Linux NFSv4.2 c2-a") $(hex "Linux NFSv4.2 c2-b")"
CLIENTS[3]="$(hex "Linux NFSv4.2 c3-a") $(hex "Linux NFSv4.2 c3-b")"
for k in 1 2 3; do
  boot_node "$k"
  daemon_up "$k" "i$k" "cluster-addresses=$(addr "$k")"
  expect_eq "i$k's first nfsd start" "booted version=2 uploaded=1 skipped=0" "$(emu "$k" start)"
  for id in ${CLIENTS[$k]}; do expect_eq "Create on i$k" "ok 0" "$(emu "$k" create "$id")"; done
  for p in $(peers_of "$k"); do
    in_node "$k" "$NSM_CLIENT" --tcp mon "$(peer "$p")" "$COOKIE" >/dev/null ||
      fail "SM_MON of peer $p on i$k"
  done
  OLD_STATE[$k]=$(nsm_state "$k")
done
for _ in $(seq 1 100); do out_of_grace 1 2 3 && break; sleep 0.05; done
for p in 1 2 3 4 5 6; do : >"$T/peer$p.log"; done

# ---- 1. The power loss; etcd comes back, then i3, i2, i1, a second apart.
power_loss
etcd_back
for k in 3 2 1; do
  [ "$k" = 3 ] || sleep 1
  boot_node "$k"
  daemon_up "$k" "i$k" "cluster-addresses=$(addr "$k")"
  n=$(echo ${CLIENTS[$k]} | wc -w)
  expect_eq "i$k's nfsd after the power loss" "booted version=2 uploaded=$((n + 1)) skipped=0" \
    "$(emu "$k" start)"
  expect_eq "exactly i$k's clients are offered" "$(printf '%s\n' ${CLIENTS[$k]} | sort)" \
    "$(emu_table "$k")"
  if [ "$k" = 3 ]; then
    epoch=$(cluster 3 's["grace"]["recovery"]')
    [ "${epoch:-0}" -gt 0 ] || fail "i3's nfsd start did not start a cluster grace: $epoch"
  else
    expect_eq "i$k joins the cluster grace i3 started" "$epoch" "$(cluster "$k" 's["grace"]["recovery"]')"
  fi
done
expect_eq "every instance needs and enforces the one cluster grace" \
  "$epoch i1=True/True i2=True/True i3=True/True" \
  "$(cluster 1 '" ".join([str(s["grace"]["recovery"])] + ["%s=%s/%s" % (i["name"], i["flags"]["need"], i["flags"]["enforcing"]) for i in s["instances"]])')"

# NSM: a new state per instance, told to its own peers from its address.
for k in 1 2 3; do
  STATE[$k]=$(nsm_state "$k")
  [ "${STATE[$k]}" -gt "${OLD_STATE[$k]}" ] && [ $((STATE[$k] % 2)) = 1 ] ||
    fail "i$k's NSM state ${STATE[$k]} after the reboot, ${OLD_STATE[$k]} before"
done
for k in 1 2 3; do
  for p in $(peers_of "$k"); do
    for _ in $(seq 1 200); do grep -q "^notify " "$T/peer$p.log" && break; sleep 0.05; done
    # The name and, as sm-notify does, its first label (notify_engine.h).
    expect_eq "peer $p is told of i$k's reboot, from i$k's address" \
      "$(printf 'notify %s nfs-i%s %s\n' "$(addr "$k")" "$k" "${STATE[$k]}" "$(addr "$k")" "$k.example" "${STATE[$k]}")" \
      "$(grep "^notify " "$T/peer$p.log" | sort -u)"
  done
done

# The clients reclaim: i3's first, i1's last.
reclaim_all 3 ${CLIENTS[3]}
reclaim_all 2 ${CLIENTS[2]}
set -- ${CLIENTS[1]}
reclaim_all 1 "$1" "$2"
sleep 0.5
expect_eq "i3, done first, stays in grace while i1 needs it" "in=1 end=none" "$(grace_of 3)"
expect_eq "i2, done, stays in grace while i1 needs it" "in=1 end=none" "$(grace_of 2)"
expect_eq "i1 waits for its last client" "in=1 end=none" "$(grace_of 1)"
expect_eq "only i1 still needs the grace" "i1" \
  "$(cluster 3 '" ".join(i["name"] for i in s["instances"] if i["flags"]["need"])')"
last_reclaim_ends_grace "" "$3"
expect_eq "the cluster grace is over" 0 "$(cluster 2 's["grace"]["recovery"]')"

# ---- 2. Another power loss; the daemons start before etcd is back.
declare -A GONE
for k in 1 2 3; do
  GONE[$k]=$(hex "Linux NFSv4.2 gone-$k")
  expect_eq "Create of a client of i$k that will not come back" "ok 0" \
    "$(emu "$k" create "${GONE[$k]}")"
done
power_loss
for k in 1 2 3; do
  boot_node "$k"
  daemon_start "$k" "i$k" "cluster-addresses=$(addr "$k")"
done
# i1's nfsd starts meanwhile: its GraceStart waits in the pipe (answered
# below, once the records can be read).
echo start >&"${EMU_IN[1]}"
sleep 3.5  # three retries at least
for k in 1 2 3; do
  kill -0 "${NODE_DAEMON[$k]}" 2>/dev/null || fail "i$k's daemon exited while etcd was down"
  [ -S "$T/n$k/control" ] && fail "i$k's daemon serves without etcd"
  expect_eq "i$k's daemon says once that etcd does not answer" 1 \
    "$(grep -c "etcd: no endpoint answers" "${DAEMON_LOG[$k]}")"
  expect_eq "i$k's daemon says once that it waits for etcd to take its instance" 1 \
    "$(grep -c "instance i$k: .*; trying again until etcd answers" "${DAEMON_LOG[$k]}")"
done
etcd_back
for k in 1 2 3; do daemon_wait "$k"; done
for k in 1 2 3; do
  n=$(echo ${CLIENTS[$k]} | wc -w)
  if [ "$k" = 1 ]; then
    r=
    read -r -t 60 r <&"${EMU_OUT[1]}"
  else
    r=$(emu "$k" start)
  fi
  expect_eq "i$k's nfsd after the second power loss" \
    "booted version=2 uploaded=$((n + 2)) skipped=0" "$r"
  reclaim_all "$k" ${CLIENTS[$k]}
done
sleep 0.5
for k in 1 2 3; do
  expect_eq "i$k stays in grace while a client may come back" "in=1 end=none" "$(grace_of "$k")"
done
# nfsd's grace timer runs out on each (90 s by default; at once here).
for k in 1 2 3; do emu "$k" timer >/dev/null; done
for _ in $(seq 1 200); do [ "$(cluster 1 's["grace"]["recovery"]')" = 0 ] && break; sleep 0.05; done
expect_eq "the cluster grace ended with the nfsds' timers" 0 "$(cluster 1 's["grace"]["recovery"]')"
for k in 1 2 3; do
  emu "$k" stop >/dev/null
  n=$(echo ${CLIENTS[$k]} | wc -w)
  expect_eq "i$k's next nfsd start" "booted version=2 uploaded=$((n + 1)) skipped=0" \
    "$(emu "$k" start)"
  expect_eq "the client that did not come back is no longer offered by i$k" \
    "$(printf '%s\n' ${CLIENTS[$k]} | sort)" "$(emu_table "$k")"
done

# ---- 3. A power loss during that grace; node 3 is back long before 1 and 2.
power_loss
etcd_back
boot_node 3
daemon_up 3 i3 "cluster-addresses=$(addr 3)"
n=$(echo ${CLIENTS[3]} | wc -w)
expect_eq "i3's nfsd, alone after the third power loss" \
  "booted version=2 uploaded=$((n + 1)) skipped=0" "$(emu 3 start)"
reclaim_all 3 ${CLIENTS[3]}
expect_eq "the cluster grace awaits i1 and i2" "['i1', 'i2']" "$(cluster 3 's["awaiting"]')"
# i1's and i2's leases (2 s) end meanwhile: their flags go, the wait stays.
sleep 4
expect_eq "i3, all its clients back, stays in grace while i1 and i2 have not started" \
  "in=1 end=none" "$(grace_of 3)"
grep -q "waiting for i1 and i2 to start" "${DAEMON_LOG[3]}" ||
  fail "i3 does not say that it waits for i1 and i2 to start"
for k in 2 1; do
  boot_node "$k"
  daemon_up "$k" "i$k" "cluster-addresses=$(addr "$k")"
  n=$(echo ${CLIENTS[$k]} | wc -w)
  expect_eq "i$k's nfsd after the third power loss" \
    "booted version=2 uploaded=$((n + 1)) skipped=0" "$(emu "$k" start)"
done
# i1's join awaits i2 and i3 again; being up, they take themselves off.
for _ in $(seq 1 100); do [ "$(cluster 1 's["awaiting"]')" = "[]" ] && break; sleep 0.05; done
expect_eq "nobody is awaited once i1 and i2 run" "[]" "$(cluster 1 's["awaiting"]')"
reclaim_all 2 ${CLIENTS[2]}
set -- ${CLIENTS[1]}
reclaim_all 1 "$1" "$2"
last_reclaim_ends_grace "after the third power loss, " "$3"
finish
