#!/bin/bash
# A caller in a second namespace (a non-local address, over a veth) gets
# stat_fail for SM_MON, SM_UNMON and SM_UNMON_ALL and changes nothing; it
# may still use SM_STAT and SM_NULL, which rpc.statd also leaves open.
. "$(dirname "$0")/lib.sh"

start_daemon
COOKIE=00112233445566778899aabbccddeeff
"$NSM_CLIENT" mon 10.99.0.5 $COOKIE >/dev/null || fail "local SM_MON"
before=$(sql "SELECT mon_name, hex(priv) FROM monitors;")

export NSM_CLIENT COOKIE
"$WITH_NETNS" --name remote --no-rpcbind --veth 10.231.0.1/24,10.231.0.2/24 -- bash -c '
  set -u
  rc=0
  check() { if [ "$2" != "$3" ]; then echo "FAIL: $1: expected [$2] got [$3]"; rc=1; else echo "ok: $1"; fi; }
  h=$WITH_NETNS_PEER_ADDR
  for p in "" --tcp; do
    check "remote$p SM_MON" "stat_fail state=-1" "$("$NSM_CLIENT" $p --host $h mon 10.99.0.6 $COOKIE)"
    check "remote$p SM_MON of existing" "stat_fail state=-1" "$("$NSM_CLIENT" $p --host $h mon 10.99.0.5 ffffffffffffffffffffffffffffffff)"
    check "remote$p SM_UNMON" "state=-1" "$("$NSM_CLIENT" $p --host $h unmon 10.99.0.5)"
    check "remote$p SM_UNMON_ALL" "state=-1" "$("$NSM_CLIENT" $p --host $h unmon-all)"
    check "remote$p SM_STAT" "stat_succ state=3" "$("$NSM_CLIENT" $p --host $h stat localhost)"
    check "remote$p SM_SIMU_CRASH answered" "OK" "$("$NSM_CLIENT" $p --host $h --reserved crash)"
  done
  exit $rc' || fail "remote checks"

expect_eq "monitor list unchanged" "$before" "$(sql "SELECT mon_name, hex(priv) FROM monitors;")"
expect_eq "state unchanged" 3 "$(sql "SELECT local_state FROM nsm_state;")"
grep -q "SM_MON call from non-local host 10.231.0.2" "$T/daemon.log" || fail "no SM_MON rejection log"
grep -q "SM_UNMON call from non-local host 10.231.0.2" "$T/daemon.log" || fail "no SM_UNMON rejection log"
grep -q "SM_UNMON_ALL call from non-local host 10.231.0.2" "$T/daemon.log" || fail "no SM_UNMON_ALL rejection log"
grep -q "SM_SIMU_CRASH call from non-local host 10.231.0.2" "$T/daemon.log" || fail "no SM_SIMU_CRASH rejection log"
stop_daemon
finish
