#!/bin/bash
# 1,100 idle TCP connections from 70 remote addresses (a second namespace,
# over a veth) do not starve loopback: SM_MON over TCP on 127.0.0.1, as
# lockd sends it, still answers at once.  The remote connections stay
# within their budget (512), and the same holds while they send maximal
# record fragments slowly.  Prints the daemon's VmRSS for each phase.
. "$(dirname "$0")/lib.sh"

TCP_FLOOD=$top_builddir/tests/system/tcp-flood
PORT=4013
COUNT=1100
COOKIE=00112233445566778899aabbccddeeff
command -v ss >/dev/null 2>&1 || skip "ss (iproute2) is not installed"

start_daemon -p $PORT
rss() { awk '/^VmRSS/ {print $2}' "/proc/$DPID/status"; }
# Established server-side connections of the daemon's port, from elsewhere.
remote_conns() { ss -Htn state established "( sport = :$PORT )" | grep -vc ' 127\.0\.0\.1:'; }

# Sends 20 SM_MON over TCP on loopback, each a new connection as lockd's
# reconnects are; fails if one is not answered within 2 s or all together
# take 10 s.  Echoes the total in milliseconds.
loopback_mons() {
  local tag=$1 start end i
  start=$(date +%s%N)
  for i in $(seq 1 20); do
    "$NSM_CLIENT" --tcp --timeout-ms 2000 mon "10.98.$tag.$i" $COOKIE >/dev/null ||
      fail "loopback SM_MON over TCP #$i during $2"
  done
  end=$(date +%s%N)
  local ms=$(( (end - start) / 1000000 ))
  [ "$ms" -lt 10000 ] || fail "20 loopback SM_MON took $ms ms during $2"
  echo "$ms"
}

# flood NAME [slow]: starts tcp-flood in its own namespace, waits (at most
# 60 s) until every connection was attempted and the daemon holds its
# share.
flood() {
  local name=$1 mode=${2:-}
  rm -f "$T/$name.stop" "$T/$name.stop.status"
  export TCP_FLOOD PORT COUNT T name mode
  "$WITH_NETNS" --name "$name" --no-rpcbind --veth "10.13$3.0.1/16,10.13$3.0.2/16" -- bash -c '
    for i in $(seq 1 70); do ip addr add "10.13'"$3"'.1.$i/16" dev veth0 || exit 1; done
    exec "$TCP_FLOOD" "$WITH_NETNS_PEER_ADDR" "$PORT" "$COUNT" "10.13'"$3"'.1." 70 "$T/$name.stop" $mode' &
  FLOODPID=$!
  local st open closed
  for _ in $(seq 1 600); do
    st=$(cat "$T/$name.stop.status" 2>/dev/null)
    open=${st#open=}; open=${open%% *}; closed=${st##*closed=}
    if [ -n "$st" ] && [ $((open + closed)) -ge "$COUNT" ]; then break; fi
    sleep 0.1
  done
  # Then until the daemon has accepted the backlog and evicted its excess.
  for _ in $(seq 1 100); do
    [ "$(remote_conns)" -le 512 ] && break
    sleep 0.1
  done
  sleep 1.5  # one more status line from tcp-flood
  echo "flood $name: $(cat "$T/$name.stop.status" 2>/dev/null) (server side: $(remote_conns) remote connections)"
}
unflood() {
  touch "$T/$1.stop"
  wait "$FLOODPID"
}

"$NSM_CLIENT" --tcp mon 10.97.0.1 $COOKIE >/dev/null || fail "SM_MON over TCP before the flood"
rss_idle=$(rss)
ms=$(loopback_mons 0 "no flood")
echo "ok: 20 loopback SM_MON over TCP in $ms ms without a flood"

flood idle "" 0
held=$(remote_conns)
[ "$held" -le 512 ] || fail "$held remote connections held, budget 512"
[ "$held" -ge 400 ] || fail "only $held remote connections held: the flood did not load the daemon"
rss_flood=$(rss)
ms=$(loopback_mons 1 "1,100 idle connections")
echo "ok: 20 loopback SM_MON over TCP in $ms ms under $COUNT idle remote connections"
unflood idle

flood slow slow 1
sleep 3  # 64 KiB in 4 KiB pieces every 100 ms: every fragment is nearly complete
held=$(remote_conns)
[ "$held" -le 512 ] || fail "$held remote connections held, budget 512"
rss_slow=$(rss)
ms=$(loopback_mons 2 "slow maximal fragments")
echo "ok: 20 loopback SM_MON over TCP in $ms ms under $COUNT slow-fragment connections"
unflood slow

expect_eq "every loopback SM_MON recorded" 61 "$(monitor_count)"
grep -q "remote TCP connections open; closing the idlest" "$T/daemon.log" ||
  fail "no eviction logged"
echo "RSS (VmRSS, kB): no connections $rss_idle; $COUNT idle connections $rss_flood; $COUNT slow maximal fragments $rss_slow"
stop_daemon
finish
