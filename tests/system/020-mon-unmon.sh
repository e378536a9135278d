#!/bin/bash
# SM_MON / SM_STAT / SM_UNMON / SM_UNMON_ALL round trips over UDP and TCP
# with the arguments the kernel's lockd sends (my_prog 100021, my_vers 3,
# my_proc 16, an address as mon_name), checked against the database.
. "$(dirname "$0")/lib.sh"

start_daemon
expect_eq "state published to the kernel" 3 "$(cat "$ROOT/proc/sys/fs/nfs/nsm_local_state")"

COOKIE_A=00112233445566778899aabbccddeeff
COOKIE_B=ffeeddccbbaa99887766554433221100
for proto in "" "--tcp"; do
  name=udp; [ -n "$proto" ] && name=tcp
  out=$("$NSM_CLIENT" $proto mon 127.0.0.2 $COOKIE_A)
  expect_eq "$name: SM_MON reply" "stat_succ state=3" "$out"
  out=$("$NSM_CLIENT" $proto mon 10.99.0.5 $COOKIE_B)
  expect_eq "$name: second SM_MON" "stat_succ state=3" "$out"
  rows=$(sql "SELECT mon_name, my_name, my_prog, my_vers, my_proc, hex(priv) FROM monitors ORDER BY mon_name;")
  expect_eq "$name: records on disk" \
    "10.99.0.5|server|100021|3|16|$(echo $COOKIE_B | tr a-f A-F)
127.0.0.2|server|100021|3|16|$(echo $COOKIE_A | tr a-f A-F)" "$rows"
  out=$("$NSM_CLIENT" $proto stat localhost)
  expect_eq "$name: SM_STAT" "stat_succ state=3" "$out"
  # A duplicate with the same cookie changes nothing; a new cookie replaces it.
  "$NSM_CLIENT" $proto mon 127.0.0.2 $COOKIE_A >/dev/null
  expect_eq "$name: duplicate kept one record" 2 "$(monitor_count)"
  "$NSM_CLIENT" $proto mon 127.0.0.2 $COOKIE_B >/dev/null
  expect_eq "$name: cookie updated" "$(echo $COOKIE_B | tr a-f A-F)" \
    "$(sql "SELECT hex(priv) FROM monitors WHERE mon_name = CAST('127.0.0.2' AS BLOB);")"
  out=$("$NSM_CLIENT" $proto unmon 127.0.0.2)
  expect_eq "$name: SM_UNMON reply" "state=3" "$out"
  expect_eq "$name: one record left" 1 "$(monitor_count)"
  # The NLM v4 callback (NFS-Ganesha's my_vers 4, my_proc 16) is another record.
  "$NSM_CLIENT" $proto --vers 4 mon 10.99.0.5 $COOKIE_A >/dev/null
  expect_eq "$name: v4 record is separate" 2 "$(monitor_count)"
  out=$("$NSM_CLIENT" $proto unmon-all)
  expect_eq "$name: SM_UNMON_ALL reply" "state=3" "$out"
  expect_eq "$name: unmon-all kept the v4 record" 1 "$(monitor_count)"
  "$NSM_CLIENT" $proto --vers 4 unmon-all >/dev/null
  expect_eq "$name: all gone" 0 "$(monitor_count)"
done
grep -q "MONITORING 127.0.0.2 for server" "$T/daemon.log" || fail "no MONITORING log line"
grep -q "UNMONITORING 127.0.0.2 for server" "$T/daemon.log" || fail "no UNMONITORING log line"

# Other loopback sources are local too (127/8 and ::1), as the kernel's check.
out=$("$NSM_CLIENT" --source 127.0.0.9 mon peer9 $COOKIE_A)
expect_eq "SM_MON from 127.0.0.9" "stat_succ state=3" "$out"
out=$("$NSM_CLIENT" --host ::1 --port "$(rpcinfo 127.0.0.1 | awk '$1==100024 && $3=="udp6" {print $4}' | awk -F. '{print $(NF-1)*256+$NF}')" mon peer6 $COOKIE_A)
expect_eq "SM_MON from ::1" "stat_succ state=3" "$out"
stop_daemon
finish
