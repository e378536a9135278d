#!/bin/bash
# A quit signal (SIGTERM, SIGINT, SIGHUP) that arrives while the daemon is
# still starting ends it as cleanly as one after start-up: the signals are
# blocked from the first line of main() and taken by the loop once it
# runs, so the daemon finishes starting, then drains and exits with status
# 0, logs "Caught signal", leaves no status (100024) entry with rpcbind
# and empties its pid file (common/os/pidfile.h).  The points: as soon as main() blocks them;
# while another process holds the database locked (the open waits); while
# a big store (100,000 monitors) loads; right after the missing cld pipe
# was looked for (NFSv4 tracking on).  With the big store, --no-mirror-sm:
# writing rpc.statd's sm/ for 100,000 monitors is not what is tested, and
# teardown would wait up to 5 s for it.
. "$(dirname "$0")/lib.sh"

CONTROL=$STATE/nfsrecd/control
registered() { rpcinfo -p 127.0.0.1 2>/dev/null | awk '$1 == 100024' | wc -l; }

# launch ARG...: starts the daemon without waiting for it; its log is $LOG.
launch() {
  LOG=$T/daemon.$(date +%s%N).log
  "$NFSRECD" -F -d -P "$STATE" --pidfile "$T/pid" --proc-root "$ROOT" --config "$CONF" "$@" \
    >"$LOG" 2>&1 &
  DPID=$!
}

# blocks_quit_signals: the daemon's main thread blocks SIGTERM (bit 15 of
# SigBlk), i.e. main() has run its first line and the loop has not yet
# taken the signals over (it unblocks them then).  Only once the process is
# nfsrecd: the shell's child blocks signals for a moment before its exec.
# Shell builtins only: a poll that forks misses that window on a loaded
# machine.
EXE=$(readlink -f "$NFSRECD")
blocks_quit_signals() {
  local key value
  [ "/proc/$DPID/exe" -ef "$EXE" ] || return 1
  while read -r key value; do
    if [ "$key" = SigBlk: ]; then
      (((16#$value >> 14) & 1))
      return
    fi
  done <"/proc/$DPID/status" 2>/dev/null
  return 1
}

# signal_during_start_up WHAT SIG: sends SIG and notes whether start-up had
# already finished (the control socket is its last step).
signal_during_start_up() {
  if [ -S "$CONTROL" ]; then
    echo "note: $1: the daemon was ready before $2"
    READY_BEFORE=1
  else
    READY_BEFORE=0
  fi
  kill -s "$2" "$DPID"
}

# expect_clean_exit WHAT SIG: the daemon ends by itself within 30 s, exit
# status 0, the signal logged, no registration left, the pid file empty.
expect_clean_exit() {
  local what=$1 sig=$2 rc
  for _ in $(seq 1 600); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.05; done
  if kill -0 "$DPID" 2>/dev/null; then
    fail "$what: still running 30 s after SIG$sig"
    kill -KILL "$DPID"
  fi
  wait "$DPID"
  rc=$?
  DPID=
  expect_eq "$what: exit status" 0 "$rc"
  if grep -q "Caught signal SIG$sig, un-registering and exiting" "$LOG"; then
    echo "ok: $what: SIG$sig logged"
  else
    fail "$what: no 'Caught signal SIG$sig' line in: $(tail -5 "$LOG")"
  fi
  expect_eq "$what: status registrations left" 0 "$(registered)"
  if [ -s "$T/pid" ]; then
    fail "$what: pid file still holds $(cat "$T/pid")"
  else
    echo "ok: $what: pid file emptied"
  fi
}

# 1. As early as it can be caught: main() has just blocked the signals.
#    The window before the loop takes them is a few milliseconds; a poll
#    that misses it (the daemon got further first), or a shell descheduled
#    between the poll and the signal long enough for start-up to finish
#    (seen under ASan on a loaded machine), stops that daemon and tries
#    again, up to 10 times.
caught=0
for attempt in $(seq 1 10); do
  rm -f "$CONTROL"
  launch --no-nfs4
  for _ in $(seq 1 20000); do
    blocks_quit_signals && { caught=1; break; }
    [ -S "$CONTROL" ] && break
  done
  if [ "$caught" = 1 ]; then
    signal_during_start_up "first line of main" TERM
    [ "$READY_BEFORE" = 0 ] && break
    caught=0
  else
    kill -TERM "$DPID"
  fi
  echo "note: attempt $attempt missed the window; trying again"
  wait "$DPID"
  DPID=
done
expect_eq "main: SIGTERM sent while blocked, before readiness" 1 "$caught"
[ "$caught" = 1 ] && expect_clean_exit "first line of main" TERM

# 2. While the database is locked by another process (sqlite3 holds the
#    lock until $T/unlock appears; the daemon's open waits for it).
start_daemon --no-nfs4
stop_daemon
(
  echo "BEGIN EXCLUSIVE; INSERT INTO schema_versions VALUES ('lock-holder', 0);"
  echo ".print locked"
  for _ in $(seq 1 600); do [ -e "$T/unlock" ] && break; sleep 0.05; done
) | sqlite3 "$DB" >"$T/locker.out" 2>&1 &
LOCKER=$!
for _ in $(seq 1 100); do grep -q locked "$T/locker.out" 2>/dev/null && break; sleep 0.05; done
launch --no-nfs4
# The pid file is taken just before the database is opened.
for _ in $(seq 1 200); do [ -s "$T/pid" ] && break; sleep 0.01; done
sleep 0.3
signal_during_start_up "database locked" INT
expect_eq "database locked: signal before readiness" 0 "$READY_BEFORE"
expect_eq "database locked: registrations when the signal came" 0 "$(registered)"
sleep 0.2
touch "$T/unlock"
wait "$LOCKER" 2>/dev/null
expect_clean_exit "database locked" INT

# 3. While a big store loads: 100,000 monitors written with SQL.
sql "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < 100000)
  INSERT INTO monitors (mon_name, my_name, my_prog, my_vers, my_proc, priv, canonical_name,
                        peer_state, created, updated)
  SELECT CAST(printf('client-%06d.example', i) AS BLOB), CAST('server' AS BLOB), 100021, 4, 16,
         CAST(printf('%016d', i) AS BLOB), CAST(printf('client-%06d.example', i) AS BLOB),
         0, 1700000000, 1700000000 FROM n;" || fail "cannot fill the store"
expect_eq "big store: monitors" 100000 "$(monitor_count)"
launch --no-nfs4 --no-mirror-sm
# The pid file is written just before the store is opened: from then on
# the signals are blocked.  Under ASan the runtime's own start takes longer
# than a busy poll's budget, hence a poll bounded in time (30 s).
for _ in $(seq 1 3000); do [ -s "$T/pid" ] && break; sleep 0.01; done
[ -s "$T/pid" ] || fail "big store loading: no pid file 30 s after the start"
signal_during_start_up "big store loading" TERM
expect_clean_exit "big store loading" TERM
expect_eq "big store: monitors kept" 100000 "$(monitor_count)"

# 4. NFSv4 tracking on and no rpc_pipefs: right after the pipe was looked
#    for (the first step after the helper), SIGHUP.
mkdir -p "$T/pipefs"
launch --no-mirror-sm --cld-pipe "$T/pipefs/nfsd/cld"
for _ in $(seq 1 2000); do grep -q "cld: waiting for" "$LOG" && break; done
grep -q "cld: waiting for" "$LOG" || fail "cld pipe: no 'waiting for' line"
signal_during_start_up "cld pipe missing" HUP
expect_clean_exit "cld pipe missing" HUP
finish
