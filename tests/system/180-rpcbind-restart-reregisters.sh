#!/bin/bash
# rpcbind restarted under the running daemon forgets our entries; the daemon
# checks its registration every rpcbind-check-interval seconds and makes it
# again: `rpcinfo -p` lists 100024 once more and SM_MON found through rpcbind
# works, without restarting the daemon.
. "$(dirname "$0")/lib.sh"

command -v pgrep >/dev/null 2>&1 || skip "pgrep is not installed"
printf '[nfsrecd]\nrpcbind-check-interval = 1\n' > "$CONF"
start_daemon
out=$("$NSM_CLIENT" mon 127.0.0.2 00112233445566778899aabbccddeeff)
expect_eq "SM_MON before the restart" "stat_succ state=3" "$out"

# Only this test's processes live in this PID namespace: the one rpcbind
# is the one with-netns started.  SIGKILL, so it saves no warm-start file,
# and the new one starts cold (no -w): an empty table.
old=$(pgrep -x rpcbind)
[ -n "$old" ] || fail "no rpcbind in the namespace"
kill -KILL $old
# Gone (or a zombie: its lock file is released) before the new one starts.
for _ in $(seq 1 100); do
  [ -e /proc/$old ] && ! grep -q '^State:.*Z' /proc/$old/status 2>/dev/null || break
  sleep 0.05
done
rpcbind -f &
NEWRPCBIND=$!
for _ in $(seq 1 100); do rpcinfo -p 127.0.0.1 >/dev/null 2>&1 && break; sleep 0.05; done
rpcinfo -p 127.0.0.1 >/dev/null 2>&1 || fail "restarted rpcbind does not answer"

back=no
for _ in $(seq 1 100); do
  if rpcinfo -p 127.0.0.1 | awk '$1 == 100024' | grep -q .; then back=yes; break; fi
  sleep 0.1
done
expect_eq "100024 registered again within 10 s" yes "$back"
expect_eq "on every transport" "tcp tcp6 udp udp6" \
  "$(rpcinfo 127.0.0.1 | awk '$1 == 100024 {print $3}' | sort | xargs)"
out=$("$NSM_CLIENT" mon 127.0.0.3 00112233445566778899aabbccddeeff)
expect_eq "SM_MON through the new rpcbind" "stat_succ state=3" "$out"
expect_eq "both records" 2 "$(monitor_count)"
grep -q "registered it again" "$T/daemon.log" || fail "no log line for the re-registration"
expect_eq "one re-registration logged" 1 "$(grep -c "registered it again" "$T/daemon.log")"

stop_daemon
expect_eq "entries removed at exit" "" "$(rpcinfo -p 127.0.0.1 | awk '$1 == 100024')"
kill "$NEWRPCBIND" 2>/dev/null
wait "$NEWRPCBIND" 2>/dev/null
finish
