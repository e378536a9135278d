#!/bin/bash
# Hostile or broken input gets a clear answer, changes nothing, and never
# takes the daemon down.
. "$(dirname "$0")/lib.sh"

start_daemon
COOKIE=00112233445566778899aabbccddeeff
for p in "" --tcp; do
  expect_eq "truncated SM_MON args$p" GARBAGE_ARGS "$("$NSM_CLIENT" $p raw 2 0000000a3130)"
  expect_eq "garbage SM_NOTIFY args$p" GARBAGE_ARGS "$("$NSM_CLIENT" $p raw 6 ffffffff)"
  expect_eq "unknown procedure$p" PROC_UNAVAIL "$("$NSM_CLIENT" $p raw 42 "")"
  expect_eq "wrong version$p" "PROG_MISMATCH 1-1" "$("$NSM_CLIENT" $p --rpc-vers 2 null)"
  long=$(head -c 1025 /dev/zero | tr '\0' a)
  expect_eq "1025-byte mon_name$p" GARBAGE_ARGS \
    "$("$NSM_CLIENT" $p raw 2 "$(printf '%08x' 1025)$(printf '%s' "$long" | od -An -v -tx1 | tr -d ' \n')000000$(printf '%08x' 1)61000000000186b5000000030000001000112233445566778899aabbccddeeff")"
  max=$(head -c 1024 /dev/zero | tr '\0' b)
  expect_eq "1024-byte mon_name is fine$p" "stat_succ state=3" "$("$NSM_CLIENT" $p mon "$max" $COOKIE)"
  "$NSM_CLIENT" $p unmon "$max" >/dev/null
  for bad in "" "a/b" "/etc/passwd" ".hidden" "%n%s%x/"; do
    expect_eq "mon_name [$bad]$p" "stat_fail state=-1" "$("$NSM_CLIENT" $p mon "$bad" $COOKIE)"
  done
  expect_eq "my_prog not NLM$p" "stat_fail state=-1" "$("$NSM_CLIENT" $p --prog 100003 mon h $COOKIE)"
  expect_eq "my_proc not 16/24$p" "stat_fail state=-1" "$("$NSM_CLIENT" $p --proc 1 mon h $COOKIE)"
done
expect_eq "nothing stored" 0 "$(monitor_count)"
grep -qF '%n%s%x/' "$T/daemon.log" || fail "format characters were not logged literally"
grep -q "POSSIBLE SPOOF/ATTACK ATTEMPT" "$T/daemon.log" || fail "no spoof warning"
grep -q "Attempt to register callback to 100003/16" "$T/daemon.log" || fail "no callback warning"
# Still healthy after all that.
expect_eq "daemon alive" "stat_succ state=3" "$("$NSM_CLIENT" mon 10.1.1.1 $COOKIE)"
stop_daemon || fail "daemon exit status"
finish
