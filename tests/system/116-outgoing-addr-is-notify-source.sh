#!/bin/bash
# sm-notify -v ADDR, [sm-notify] outgoing-addr and rpc.statd -n NAME make
# SM_NOTIFY leave from that address and announce its name, as Pacemaker's
# nfsnotify and CTDB need for a floating address: a peer in another
# namespace (a fake rpcbind and statd in Python) records the source
# address of each packet and the mon_name of each SM_NOTIFY.  Our host has
# two addresses on the link; the floating one (.3) is not the one the
# kernel would choose.  An address without a reverse name is refused by
# the sm-notify command with exit status 1, as Debian's sm-notify refuses
# it; the daemon sends from it, announcing the address.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 is not installed"

OURS=10.236.0.1
PEER=10.236.0.2
FLOAT=10.236.0.3
NONAME=10.236.0.4
COOKIE=0123456789abcdef0123456789abcdef

# Names without DNS: this namespace's own /etc/hosts.
printf '127.0.0.1 localhost\n%s floating.example floating\n10.236.0.9 elsewhere.example\n' \
  "$FLOAT" >"$T/hosts"
mount --bind "$T/hosts" /etc/hosts || skip "cannot bind-mount over /etc/hosts"

export T PEER
"$WITH_NETNS" --name peer --no-rpcbind --veth "$OURS/24,$PEER/24" -- \
  python3 "$top_srcdir/tests/support/fake-statd-peer" "$T/peer.log" &
PEERPID=$!
for _ in $(seq 1 200); do [ -e "$T/peer.log.ready" ] && break; sleep 0.05; done
[ -e "$T/peer.log.ready" ] || { fail "peer did not come up"; finish; }
IFACE=$(ip -o -4 addr show | awk -v a="$OURS/24" '$4 == a {print $2; exit}')
ip addr add "$FLOAT/24" dev "$IFACE" || fail "cannot add the floating address"
ip addr add "$NONAME/24" dev "$IFACE" || fail "cannot add the unnamed address"

# monitor_peer: our lockd monitors the peer (SM_MON through the daemon).
monitor_peer() {
  start_daemon "$@"
  "$NSM_CLIENT" --tcp mon $PEER $COOKIE >/dev/null || fail "SM_MON"
  stop_daemon
}
# expect_from WHAT: the peer heard rpcbind and SM_NOTIFY from $FLOAT only,
# with mon_name floating.example (then the short name, as sm-notify sends).
expect_from() {
  for _ in $(seq 1 100); do grep -q "notify $FLOAT floating [0-9]*$" "$T/peer.log" 2>/dev/null && break; sleep 0.05; done
  grep -q "^rpcbind $FLOAT$" "$T/peer.log" || fail "$1: rpcbind query not from $FLOAT: $(cat "$T/peer.log")"
  grep -q "^notify $FLOAT floating.example [0-9]*$" "$T/peer.log" ||
    fail "$1: no SM_NOTIFY from $FLOAT for floating.example: $(cat "$T/peer.log")"
  grep -q "^notify $FLOAT floating [0-9]*$" "$T/peer.log" || fail "$1: no short-name SM_NOTIFY"
  if grep -v " $FLOAT" "$T/peer.log" | grep -q .; then
    fail "$1: packets from another address: $(cat "$T/peer.log")"
  else
    echo "ok: $1: every packet from $FLOAT, announcing floating.example"
  fi
  : >"$T/peer.log"
}
boot() { echo "$1-2222-3333-4444-555555555555" >"$ROOT/proc/sys/kernel/random/boot_id"; }

echo "== the sm-notify command, -v ADDR"
monitor_peer
"$NFSRECD" --sm-notify -d -f -P "$STATE" --proc-root "$ROOT" --daemon-pidfile "$T/pid" \
  --config "$CONF" -v "$FLOAT" >"$T/notify-v.log" 2>&1
expect_eq "sm-notify -v $FLOAT: exit status" 0 "$?"
expect_from "sm-notify -v $FLOAT"

echo "== the daemon's boot notification, [sm-notify] outgoing-addr"
monitor_peer
printf '[sm-notify]\noutgoing-addr = %s\n' "$FLOAT" >"$CONF"
boot 33333333
start_daemon
expect_from "[sm-notify] outgoing-addr"
stop_daemon
: >"$CONF"

echo "== the daemon's boot notification, -n NAME (a name: bound by its address)"
monitor_peer
boot 44444444
start_daemon -n floating.example
expect_from "-n floating.example"
stop_daemon

echo "== an address without a reverse name is refused, as by Debian's sm-notify"
"$NFSRECD" --sm-notify -d -f -P "$STATE" --proc-root "$ROOT" --daemon-pidfile "$T/pid" \
  --config "$CONF" -v "$NONAME" >"$T/notify-noname.log" 2>&1
expect_eq "sm-notify -v $NONAME: exit status" 1 "$?"
grep -q "is unusable" "$T/notify-noname.log" || fail "no reason given: $(cat "$T/notify-noname.log")"
if command -v sm-notify >/dev/null; then
  mkdir -p "$T/deb/sm" "$T/deb/sm.bak"
  timeout 30 sm-notify -d -f -P "$T/deb" -v "$NONAME" >"$T/deb-noname.log" 2>&1
  expect_eq "Debian's sm-notify -v $NONAME: exit status" 1 "$?"
fi
[ -s "$T/peer.log" ] && fail "a refused source still sent: $(cat "$T/peer.log")"

# The daemon binds it all the same and announces the address itself, as
# rpc.statd names an address without a reverse map (cluster mode's
# default, the instance's address, is the same case).
echo "== the daemon with -n ADDR that has no reverse name"
monitor_peer
boot 66666666
start_daemon -n "$NONAME"
for _ in $(seq 1 100); do grep -q "^notify " "$T/peer.log" 2>/dev/null && break; sleep 0.05; done
grep -q "^notify $NONAME $NONAME [0-9]*$" "$T/peer.log" ||
  fail "-n $NONAME: no SM_NOTIFY from $NONAME for $NONAME: $(cat "$T/peer.log")"
if grep -v " $NONAME" "$T/peer.log" | grep -q .; then
  fail "-n $NONAME: packets from another address: $(cat "$T/peer.log")"
elif [ "$(grep -c "^notify " "$T/peer.log")" != 1 ]; then
  fail "-n $NONAME: not one SM_NOTIFY (an address has no short name): $(cat "$T/peer.log")"
else
  echo "ok: -n $NONAME: every packet from $NONAME, announcing $NONAME"
fi
stop_daemon
: >"$T/peer.log"

# The daemon keeps serving, as rpc.statd does when its sm-notify refuses
# -v: a floating address that is elsewhere now is announced by name from
# the address the kernel chooses, with a warning.
echo "== the daemon with -n NAME whose address is not here"
monitor_peer
boot 77777777
start_daemon -n elsewhere.example
for _ in $(seq 1 100); do grep -q "notify $OURS elsewhere [0-9]*$" "$T/peer.log" 2>/dev/null && break; sleep 0.05; done
grep -q "^notify $OURS elsewhere.example [0-9]*$" "$T/peer.log" ||
  fail "-n elsewhere.example: not announced from $OURS: $(cat "$T/peer.log")"
grep -q "cannot send from 10.236.0.9" "$T"/daemon*.log || fail "-n elsewhere.example: no warning"
stop_daemon

kill "$PEERPID" 2>/dev/null
wait "$PEERPID" 2>/dev/null
finish
