#!/bin/bash
# With NFSv4 tracking on and no nfsd (no rpc_pipefs nfsd/cld), the daemon
# sleeps: its CPU time stays near zero while the pipe's directory is
# missing, while a pipe (a FIFO standing in for cld) is open, and after the
# pipe and its directory went away again.  SIGTERM still ends it at once.
. "$(dirname "$0")/lib.sh"

PIPEFS=$T/rpc_pipefs
mkdir -p "$PIPEFS"
TICKS=$(getconf CLK_TCK)
# Bound for one 3-second window: 10 ticks (100 ms at 100 Hz), where a busy
# loop uses about 300.
MAX_TICKS=10

# utime + stime of the daemon, in clock ticks (fields 14 and 15; the
# command name in field 2 has no blanks here).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$DPID/stat"; }

# idle_window WHAT: the CPU the daemon used in 3 s, checked and printed.
idle_window() {
  local before after used
  before=$(cpu_ticks)
  sleep 3
  after=$(cpu_ticks)
  used=$((after - before))
  echo "idle CPU $1: $used ticks in 3 s ($((used * 1000 / TICKS)) ms)"
  [ "$used" -le "$MAX_TICKS" ] || fail "CPU $1: $used ticks in 3 s (at most $MAX_TICKS)"
}

"$NFSRECD" -F -d -P "$STATE" --pidfile "$T/pid" --proc-root "$ROOT" --config "$CONF" \
  --cld-pipe "$PIPEFS/nfsd/cld" >"$T/daemon.log" 2>&1 &
DPID=$!
for _ in $(seq 1 100); do
  rpcinfo -T udp 127.0.0.1 100024 1 >/dev/null 2>&1 && break
  kill -0 "$DPID" 2>/dev/null || break
  sleep 0.05
done
rpcinfo -T udp 127.0.0.1 100024 1 >/dev/null 2>&1 || { fail "daemon did not come up"; finish; }
grep -q "cld: waiting for $PIPEFS/nfsd/cld" "$T/daemon.log" || fail "no 'waiting for' line"

# The fast re-checks (every 100 ms) run for the first 10 s; both rates are
# measured.
idle_window "without nfsd/ (first seconds)"
sleep 8
idle_window "without nfsd/"

mkdir "$PIPEFS/nfsd"
idle_window "with nfsd/ but no cld"

mkfifo "$PIPEFS/nfsd/cld"
for _ in $(seq 1 100); do grep -q "cld: opened $PIPEFS/nfsd/cld" "$T/daemon.log" && break; sleep 0.05; done
grep -q "cld: opened $PIPEFS/nfsd/cld" "$T/daemon.log" || fail "the FIFO was not opened"
idle_window "with the cld pipe open"

rm "$PIPEFS/nfsd/cld"
rmdir "$PIPEFS/nfsd"
for _ in $(seq 1 100); do grep -q "the pipe was removed" "$T/daemon.log" && break; sleep 0.05; done
grep -q "the pipe was removed" "$T/daemon.log" || fail "the removal was not noticed"
idle_window "after the pipe and nfsd/ went away"

# While waiting for the pipe, SIGTERM ends the daemon within 2 s, cleanly.
kill -TERM "$DPID"
for _ in $(seq 1 40); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$DPID" 2>/dev/null; then
  fail "still running 2 s after SIGTERM"
  kill -KILL "$DPID"
fi
wait "$DPID"
rc=$?
DPID=
expect_eq "exit status after SIGTERM" 0 "$rc"
rpcinfo -T udp 127.0.0.1 100024 1 >/dev/null 2>&1 && fail "registration left behind"
finish
