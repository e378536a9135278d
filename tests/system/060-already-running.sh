#!/bin/bash
# A second instance refuses to start beside a running statd, like rpc.statd,
# and leaves the first one's registrations alone.  A stale registration
# (statd killed) does not stop a new start.  After rpc.statd's own words the
# refusal names the process that holds NSM and what to do: stop that unit,
# or (for Debian's rpc.statd) switch with nfsrecd-switch.
. "$(dirname "$0")/lib.sh"

start_daemon
"$NFSRECD" -F -d -P "$STATE" --pidfile "$T/pid2" --proc-root "$ROOT" --no-nfs4 >"$T/second.log" 2>&1
rc=$?
expect_eq "second instance exit status" 1 "$rc"
grep -q "Statd service already running!" "$T/second.log" || fail "no 'already running' message"
grep -q "held by pid $DPID (nfsrecd.*Stop it first (systemctl stop nfsrecd.service)" "$T/second.log" ||
  fail "the refusal does not name the first instance and its unit: $(cat "$T/second.log")"
rpcinfo -T udp 127.0.0.1 100024 1 >/dev/null || fail "first instance lost its registration"
crash_daemon
# The registration is now stale: rpcbind still lists it, nobody answers.
start_daemon
rpcinfo -T tcp 127.0.0.1 100024 1 >/dev/null || fail "restart after a crash did not register"
stop_daemon

# Beside Debian's rpc.statd: its process, its unit, and the switch command.
if command -v rpc.statd >/dev/null; then
  mkdir -p "$T/statd/sm" "$T/statd/sm.bak"
  rpc.statd -F --no-notify -P "$T/statd" >"$T/statd.log" 2>&1 &
  STATDPID=$!
  for _ in $(seq 1 100); do rpcinfo -T udp 127.0.0.1 100024 1 >/dev/null 2>&1 && break; sleep 0.05; done
  "$NFSRECD" -F -d -P "$STATE" --pidfile "$T/pid3" --proc-root "$ROOT" --no-nfs4 >"$T/third.log" 2>&1
  expect_eq "beside rpc.statd: exit status" 1 "$?"
  for want in "Statd service already running!" "held by pid $STATDPID (rpc.statd" \
    "Stop it first (systemctl stop rpc-statd.service), or switch this host to nfsrecd with: nfsrecd-switch nfsrecd"; do
    grep -qF "$want" "$T/third.log" || fail "beside rpc.statd: no [$want] in $(cat "$T/third.log")"
  done
  kill -TERM "$STATDPID"
  wait "$STATDPID"
else
  echo "rpc.statd is not installed (nfs-common): its row is not checked"
fi
finish
