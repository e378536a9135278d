#!/bin/bash
# Debian's sm-notify, run in a peer namespace with a record naming our
# address, notifies nfsrecd; nfsrecd calls back the lockd emulator in our
# namespace with the exact cookie lockd gave at SM_MON, from a privileged
# port on loopback (the only thing the kernel's lockd accepts).  A repeated
# notification with the same state is not called back twice; a daemon
# restart re-sends a callback that lockd never acknowledged.
. "$(dirname "$0")/lib.sh"
command -v sm-notify >/dev/null || skip "sm-notify is not installed (Debian package nfs-common)"

OURS=10.232.0.1
PEER=10.232.0.2
COOKIE=0123456789abcdeffedcba9876543210
# The peer's "peer_state|lockd_state" as readers see them (nfsrecctl reads
# the monitors rows with the store's state journal applied).
states() {
  "$top_builddir/nfsrecctl" --config "$CONF" --state-dir "$STATE" show "$PEER" |
    awk '/peer state:/ {p = $3} /lockd state:/ {l = $3} END {print p "|" l}'
}

"$LOCKD_EMU" --ready-file "$T/lockd.ready" >"$T/lockd.out" 2>"$T/lockd.err" &
EMU=$!
for _ in $(seq 1 100); do [ -s "$T/lockd.ready" ] && break; sleep 0.05; done
[ -s "$T/lockd.ready" ] || { fail "lockd emulator did not start"; finish; }
start_daemon
# What the kernel's lockd does when a lock from the peer arrives.
expect_eq "SM_MON for the peer" "stat_succ state=3" "$("$NSM_CLIENT" --tcp mon $PEER $COOKIE)"

# The peer host: its own namespace, rpcbind and state directory with a
# monitor record for us, in the format of nfs-utils' support/nsm/file.c.
mkdir -p "$T/peer/sm" "$T/peer/sm.bak"
printf '0100007f 000186b5 00000003 00000010 %s %s %s\n' \
  00000000000000000000000000000000 "$OURS" "$PEER" > "$T/peer/sm/$OURS"
export T PEER
"$WITH_NETNS" --name peer --veth "$OURS/24,$PEER/24" -- \
  bash -c 'sm-notify -d -P "$T/peer" > "$T/sm-notify.log" 2>&1; echo $? > "$T/sm-notify.rc"'

expect_eq "sm-notify exit status" 0 "$(cat "$T/sm-notify.rc")"
grep -q "notified successfully" "$T/sm-notify.log" || fail "sm-notify did not succeed: $(cat "$T/sm-notify.log")"
for _ in $(seq 1 100); do grep -q CALLBACK "$T/lockd.out" && break; sleep 0.05; done
line=$(grep CALLBACK "$T/lockd.out" | head -1)
echo "lockd saw: $line"
case "$line" in
  *"vers=3 "*"from=127.0.0.1:"*"privileged=1 mon_name=$PEER state=3 priv=$COOKIE"*) echo "ok: callback" ;;
  *) fail "unexpected callback: [$line]" ;;
esac
grep -q REJECT "$T/lockd.out" && fail "a callback was rejected: $(grep REJECT "$T/lockd.out")"
for _ in $(seq 1 40); do [ "$(states)" = "3|3" ] && break; sleep 0.05; done
expect_eq "peer state recorded" "3|3" "$(states)"

# The same notification again (a retransmission): no second callback.
"$NSM_CLIENT" --host 127.0.0.1 notify $PEER 3 >/dev/null
sleep 0.3
expect_eq "replay suppressed" 1 "$(grep -c CALLBACK "$T/lockd.out")"

# lockd gone: the callback for a new state stays owed across a restart and
# is delivered when lockd is back.
kill "$EMU"; wait "$EMU" 2>/dev/null
"$NSM_CLIENT" notify $PEER 5 >/dev/null
sleep 0.3
expect_eq "owed callback recorded" "5|3" "$(states)"
stop_daemon
rm -f "$T/lockd.ready"
"$LOCKD_EMU" --ready-file "$T/lockd.ready" >"$T/lockd2.out" 2>&1 &
EMU=$!
for _ in $(seq 1 100); do [ -s "$T/lockd.ready" ] && break; sleep 0.05; done
start_daemon
for _ in $(seq 1 100); do grep -q CALLBACK "$T/lockd2.out" && break; sleep 0.05; done
grep -q "mon_name=$PEER state=5 priv=$COOKIE" "$T/lockd2.out" || fail "owed callback not re-sent after restart"
for _ in $(seq 1 40); do [ "$(states)" = "5|5" ] && break; sleep 0.05; done
expect_eq "delivery recorded" "5|5" "$(states)"
stop_daemon
kill "$EMU"; wait "$EMU" 2>/dev/null
finish
