#!/bin/bash
# Taking over a host from Debian's rpc.statd.  rpc.statd monitors a peer
# (its record in sm/), stops, and nfsrecd starts on the same state
# directory: the first start of its database takes over the record (cookie
# and names byte for byte) and the state number.  The boot notification
# then reaches the peer, a Debian rpc.statd in another namespace, which
# would otherwise never learn that we rebooted and would lose its locks.
. "$(dirname "$0")/lib.sh"
command -v rpc.statd >/dev/null || skip "rpc.statd is not installed (Debian package nfs-common)"

OURS=10.235.0.1
PEER=10.235.0.2
COOKIE=00112233445566778899aabbccddeeff
mkdir -p "$STATE/sm" "$STATE/sm.bak"
start_peer_statd "$OURS" "$PEER"

# Debian's rpc.statd on our side, in our state directory.
rpc.statd -F -d --no-notify -P "$STATE" >"$T/statd.log" 2>&1 &
STATDPID=$!
for _ in $(seq 1 100); do rpcinfo -T udp 127.0.0.1 100024 1 >/dev/null 2>&1 && break; sleep 0.05; done
"$NSM_CLIENT" mon $PEER $COOKIE >/dev/null || fail "SM_MON to rpc.statd"
ls "$STATE/sm" | grep -q . || fail "rpc.statd wrote no record in sm/"
kill -TERM "$STATDPID"; wait "$STATDPID"
for _ in $(seq 1 100); do rpcinfo -T udp 127.0.0.1 100024 1 >/dev/null 2>&1 || break; sleep 0.05; done

start_daemon -L
grep -q "Took over from rpc.statd: 1 monitor record(s) (sm/), 0 peer(s) to notify" "$T/daemon.log" ||
  fail "no take-over: $(grep -i "statd" "$T/daemon.log")"
expect_eq "record taken over" "$PEER|$(echo $COOKIE | tr a-f A-F)|100021" \
  "$(sql "SELECT mon_name, hex(priv), my_prog FROM monitors;")"
expect_eq "rpc.statd's state adopted" "stat_succ state=3" "$("$NSM_CLIENT" stat localhost)"
stop_daemon
# The second start has its own state: sm/ is not read again.
start_daemon -L
if grep -c "Took over from rpc.statd" "$T"/daemon*.log | awk -F: '{s+=$NF} END {exit s != 1}'; then
  echo "ok: taken over once"
else
  fail "taken over more than once"
fi
stop_daemon

echo "33333333-2222-3333-4444-555555555555" > "$ROOT/proc/sys/kernel/random/boot_id"
"$NFSRECD" --sm-notify -d -P "$STATE" --proc-root "$ROOT" --daemon-pidfile "$T/pid" --config "$CONF" \
  >"$T/sm-notify.log" 2>&1
expect_eq "sm-notify mode exit status" 0 "$?"
grep -q "Host $PEER notified successfully" "$T/sm-notify.log" || fail "peer not notified: $(cat "$T/sm-notify.log")"
expect_eq "state bumped once" 5 "$(sql "SELECT local_state FROM nsm_state;")"
stop_peer_statd
finish
