#!/bin/bash
# After a reboot, nfsrecd's boot notification reaches Debian's rpc.statd on
# a peer host (its own namespace and rpcbind), which calls back the peer's
# lock manager (a lockd emulator) with our new state.  A peer that cannot be
# reached (no route) does not delay the reachable one and keeps its notify
# record for the next boot; the answered peer's record is deleted.
. "$(dirname "$0")/lib.sh"
command -v rpc.statd >/dev/null || skip "rpc.statd is not installed (Debian package nfs-common)"

OURS=10.233.0.1
PEER=10.233.0.2
GONE=10.233.0.99   # on the link, but nobody answers
PEER_COOKIE=aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb

# Before the "reboot": our lockd monitored both peers.
start_daemon
"$NSM_CLIENT" --tcp mon $PEER 0123456789abcdef0123456789abcdef >/dev/null || fail "SM_MON peer"
"$NSM_CLIENT" --tcp mon $GONE 00000000000000000000000000000001 >/dev/null || fail "SM_MON gone"
stop_daemon

# The peer host: rpcbind (from with-netns), Debian's rpc.statd, and a lockd
# emulator that monitors us through that statd, as the peer's kernel would.
mkdir -p "$T/peer/sm" "$T/peer/sm.bak"
export T OURS PEER PEER_COOKIE LOCKD_EMU NSM_CLIENT
"$WITH_NETNS" --name peer --veth "$OURS/24,$PEER/24" -- bash -c '
  rpc.statd -F -d --no-notify -P "$T/peer" >"$T/peer-statd.log" 2>&1 &
  "$LOCKD_EMU" --ready-file "$T/peer-lockd.ready" >"$T/peer-lockd.out" 2>&1 &
  for _ in $(seq 1 100); do
    rpcinfo -T udp 127.0.0.1 100024 1 >/dev/null 2>&1 && [ -s "$T/peer-lockd.ready" ] && break
    sleep 0.05
  done
  "$NSM_CLIENT" mon "$OURS" "$PEER_COOKIE" >"$T/peer-mon.out" 2>&1
  touch "$T/peer.ready"
  while [ ! -e "$T/peer.stop" ]; do sleep 0.1; done' &
PEERPID=$!
for _ in $(seq 1 200); do [ -e "$T/peer.ready" ] && break; sleep 0.05; done
[ -e "$T/peer.ready" ] || fail "peer did not come up"
grep -q stat_succ "$T/peer-mon.out" || fail "peer statd refused the SM_MON: $(cat "$T/peer-mon.out")"

# Reboot: a new boot id.
echo "22222222-2222-3333-4444-555555555555" > "$ROOT/proc/sys/kernel/random/boot_id"
start=$(date +%s%N)
start_daemon
for _ in $(seq 1 100); do grep -q CALLBACK "$T/peer-lockd.out" && break; sleep 0.05; done
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "peer lockd called back ${elapsed_ms} ms after our start"
line=$(grep CALLBACK "$T/peer-lockd.out" | head -1)
case "$line" in
  *"mon_name=$OURS state=5 priv=$PEER_COOKIE"*) echo "ok: peer's lockd heard of our reboot" ;;
  *) fail "peer callback: [$line] $(tail -5 "$T/peer-statd.log")" ;;
esac
[ "$elapsed_ms" -lt 5000 ] || fail "the unreachable peer delayed the reachable one (${elapsed_ms} ms)"
for _ in $(seq 1 40); do
  [ "$(sql "SELECT count(*) FROM notify_list;")" = 1 ] && break; sleep 0.05
done
expect_eq "only the unreachable peer stays on the notify list" "$GONE" \
  "$(sql "SELECT CAST(mon_name AS TEXT) FROM notify_list;")"
expect_eq "state" 5 "$(sql "SELECT local_state FROM nsm_state;")"
grep -q "Host $PEER notified successfully" "$T"/daemon*.log || fail "no success log line"
stop_daemon
touch "$T/peer.stop"
wait "$PEERPID"
finish
