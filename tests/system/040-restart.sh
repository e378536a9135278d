#!/bin/bash
# A restart keeps every monitor, and so does a crash (SIGKILL) right after
# the SM_MON reply: the reply left only after the record was durable.  A
# restart within the same boot neither bumps the state nor re-notifies.
. "$(dirname "$0")/lib.sh"

start_daemon
for i in $(seq 1 20); do
  "$NSM_CLIENT" mon "10.99.1.$i" "$(printf '%032x' "$i")" >/dev/null || fail "SM_MON $i"
done
stop_daemon
start_daemon
expect_eq "monitors after restart" 20 "$(monitor_count)"
grep -q "Loaded 20 monitor record(s)" "$T"/daemon.*.log || fail "restart did not load 20 records"
expect_eq "state after restart" "stat_succ state=3" "$("$NSM_CLIENT" stat localhost)"

# Crash right after acknowledgements.
for i in $(seq 21 40); do
  "$NSM_CLIENT" --tcp mon "10.99.1.$i" "$(printf '%032x' "$i")" >/dev/null || fail "SM_MON $i"
done
crash_daemon
expect_eq "every acknowledged monitor survived SIGKILL" 40 "$(monitor_count)"
start_daemon
expect_eq "still 40 after restart" 40 "$(monitor_count)"
# The daemon's in-memory list matches: UNMON of one of them is found.
"$NSM_CLIENT" unmon 10.99.1.33 >/dev/null
expect_eq "unmon after restart" 39 "$(monitor_count)"
expect_eq "state unchanged within a boot" 3 "$(sql "SELECT local_state FROM nsm_state;")"

# A reboot (new boot id): monitors move to the notify list and the state is
# bumped by 2 before any notification goes out (peers here are unreachable).
stop_daemon
echo "99999999-2222-3333-4444-555555555555" > "$ROOT/proc/sys/kernel/random/boot_id"
start_daemon
expect_eq "state bumped on a new boot" 5 "$(sql "SELECT local_state FROM nsm_state;")"
expect_eq "state published" 5 "$(cat "$ROOT/proc/sys/fs/nfs/nsm_local_state")"
expect_eq "monitor list emptied" 0 "$(monitor_count)"
expect_eq "notify list filled" 39 "$(sql "SELECT count(*) FROM notify_list;")"
# Crash during notification, restart in the same boot: no second bump.
crash_daemon
start_daemon
expect_eq "no second bump after a crash" 5 "$(sql "SELECT local_state FROM nsm_state;")"
expect_eq "notify list kept" 39 "$(sql "SELECT count(*) FROM notify_list;")"
stop_daemon
finish
