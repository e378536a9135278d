#!/bin/bash
# A second instance refuses to start beside a running statd, like rpc.statd,
# and leaves the first one's registrations alone.  A stale registration
# (statd killed) does not stop a new start.
. "$(dirname "$0")/lib.sh"

start_daemon
"$NFSRECD" -F -d -P "$STATE" --pidfile "$T/pid2" --proc-root "$ROOT" --no-nfs4 >"$T/second.log" 2>&1
rc=$?
expect_eq "second instance exit status" 1 "$rc"
grep -q "Statd service already running!" "$T/second.log" || fail "no 'already running' message"
rpcinfo -T udp 127.0.0.1 100024 1 >/dev/null || fail "first instance lost its registration"
crash_daemon
# The registration is now stale: rpcbind still lists it, nobody answers.
start_daemon
rpcinfo -T tcp 127.0.0.1 100024 1 >/dev/null || fail "restart after a crash did not register"
stop_daemon
finish
