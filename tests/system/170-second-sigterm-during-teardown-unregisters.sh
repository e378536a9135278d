#!/bin/bash
# SIGTERM, SIGHUP and SIGINT arriving while the daemon is already stopping
# must not kill it before its rpcbind entries are gone: it exits 0 and
# leaves no status (100024) registration behind.
. "$(dirname "$0")/lib.sh"

registered() { rpcinfo -p 127.0.0.1 2>/dev/null | awk '$1 == 100024' | wc -l; }

# 1. Teardown held up by a slow rpcbind (stopped for a second, as a busy
#    or swapping one would be): more signals arrive while the daemon waits
#    for its unregistration to be answered.
start_daemon
RPCBIND=$(pgrep -x rpcbind | head -n 1)
[ -n "$RPCBIND" ] || skip "no rpcbind process in the namespace"
kill -STOP "$RPCBIND"
kill -TERM "$DPID"
sleep 0.5  # the drain is over; teardown waits on rpcbind
kill -TERM "$DPID"
kill -HUP "$DPID"
kill -INT "$DPID"
sleep 0.3
kill -0 "$DPID" 2>/dev/null || fail "the daemon died of a signal during teardown"
kill -CONT "$RPCBIND"
wait "$DPID"
rc=$?
DPID=
expect_eq "exit status (slow teardown)" 0 "$rc"
expect_eq "status registrations left (slow teardown)" 0 "$(registered)"

# 2. Three signals in quick succession, rpcbind answering.
start_daemon
kill -TERM "$DPID"
kill -TERM "$DPID"
kill -HUP "$DPID"
wait "$DPID"
rc=$?
DPID=
expect_eq "exit status (quick signals)" 0 "$rc"
expect_eq "status registrations left (quick signals)" 0 "$(registered)"
finish
