#!/bin/bash
# An SM_UNMON whose delete cannot be committed (here another process holds
# the database's write lock past the 10 s busy timeout) is answered
# SYSTEM_ERR, which lockd reports as a failed call, never with the sm_stat of
# a success; the record stays, and the same call succeeds once the lock is
# gone.  (SM_UNMON_ALL takes the same path: statd/nsm_service_test.cc.)
. "$(dirname "$0")/lib.sh"

start_daemon
COOKIE=00112233445566778899aabbccddeeff
expect_eq "SM_MON" "stat_succ state=3" "$("$NSM_CLIENT" mon 127.0.0.2 $COOKIE)"

# hold_write_lock SECONDS: a second connection takes the write lock and
# keeps it (sqlite3 waits on its input with the transaction open).
hold_write_lock() {
  { echo "BEGIN IMMEDIATE;"; sleep "$1"; echo "COMMIT;"; } | sqlite3 "$DB" &
  HOLDER=$!
  sleep 0.5
}

hold_write_lock 12
out=$("$NSM_CLIENT" --timeout-ms 20000 unmon 127.0.0.2)
expect_eq "SM_UNMON while the delete cannot commit" "SYSTEM_ERR" "$out"
wait "$HOLDER"
expect_eq "the record is still there" 1 "$(monitor_count)"
grep -q "Failed to delete monitor 127.0.0.2 for server" "$T/daemon.log" ||
  fail "no log line for the failed SM_UNMON"

expect_eq "SM_UNMON once the lock is gone" "state=3" "$("$NSM_CLIENT" unmon 127.0.0.2)"
expect_eq "record gone" 0 "$(monitor_count)"
stop_daemon
finish
