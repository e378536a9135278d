#!/bin/bash
# The database file renamed over while the daemon runs (an admin restoring
# a copy, a config tool's rename): the daemon must not go on acknowledging
# writes into the orphaned file, which no restart would read.  SM_MON fails
# (stat_fail) and an error names the file and the remedy; after a restart
# every acknowledged monitor is there.
. "$(dirname "$0")/lib.sh"

start_daemon
for i in 1 2 3; do
  out=$("$NSM_CLIENT" mon "10.99.2.$i" "$(printf '%032x' "$i")")
  expect_eq "SM_MON $i before the replacement" "stat_succ state=3" "$out"
done
# A consistent copy (the WAL included) put in place of the file.
sqlite3 "$DB" ".backup '$T/copy.sqlite'"
mv "$T/copy.sqlite" "$DB"

# From here on the file at $DB is not the daemon's: every write fails.
# (Reading $DB with sqlite3 now could mix the old file's -wal in; the
# checks of the file wait until the daemon has stopped.)
for i in 4 5; do
  out=$("$NSM_CLIENT" mon "10.99.2.$i" "$(printf '%032x' "$i")")
  rc=$?
  expect_eq "SM_MON $i after the replacement: exit status" 1 "$rc"
  case $out in stat_fail*) echo "ok: SM_MON $i refused ($out)" ;; *) fail "SM_MON $i: [$out]" ;; esac
done
"$NSM_CLIENT" --tcp mon 10.99.2.6 "$(printf '%032x' 6)" >/dev/null && fail "SM_MON over TCP acknowledged"
grep -q "database $DB was replaced by another file while open.*restore the file or restart nfsrecd" \
  "$T/daemon.log" || fail "no error naming the file and the remedy"
expect_eq "store error lines (rate-limited)" 1 "$(grep -c "writes fail until then" "$T/daemon.log")"

stop_daemon
start_daemon
expect_eq "monitors after restart" 3 "$(monitor_count)"
expect_eq "every acknowledged monitor is there" "10.99.2.1 10.99.2.2 10.99.2.3" \
  "$(sql "SELECT CAST(mon_name AS TEXT) FROM monitors ORDER BY mon_name;" | tr '\n' ' ' | sed 's/ $//')"
out=$("$NSM_CLIENT" mon 10.99.2.7 "$(printf '%032x' 7)")
expect_eq "SM_MON after the restart" "stat_succ state=3" "$out"
stop_daemon
finish
