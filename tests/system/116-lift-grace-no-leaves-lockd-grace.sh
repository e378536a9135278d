#!/bin/bash
# [sm-notify] lift-grace = n (CTDB's setting) applies to the daemon's own
# boot notification as to the sm-notify command: with nobody to notify,
# nothing is written to nlm_end_grace; by default "Y" is.
. "$(dirname "$0")/lib.sh"

GRACE=$ROOT/proc/fs/lockd/nlm_end_grace
boot() { echo "$1-2222-3333-4444-555555555555" >"$ROOT/proc/sys/kernel/random/boot_id"; }
# The daemon's first start on a boot runs its boot notification before it
# registers, which with an empty notify list ends lockd's grace unless
# lift-grace is off.

printf '[sm-notify]\nlift-grace = n\n' >"$CONF"
: >"$GRACE"
boot 55555555
start_daemon
grep -q "No hosts to notify" "$T"/daemon*.log || fail "no boot notification ran"
stop_daemon
expect_eq "daemon, lift-grace = n: nlm_end_grace untouched" "" "$(cat "$GRACE")"

: >"$CONF"
boot 66666666
start_daemon
for _ in $(seq 1 100); do [ -s "$GRACE" ] && break; sleep 0.05; done
stop_daemon
expect_eq "daemon, default: nlm_end_grace written" "Y" "$(cat "$GRACE")"

printf '[sm-notify]\nlift-grace = no\n' >"$CONF"
: >"$GRACE"
"$NFSRECD" --sm-notify -d -f -P "$STATE" --proc-root "$ROOT" --daemon-pidfile "$T/pid" \
  --config "$CONF" >"$T/notify.log" 2>&1
expect_eq "sm-notify command: exit status" 0 "$?"
expect_eq "sm-notify command, lift-grace = no: nlm_end_grace untouched" "" "$(cat "$GRACE")"
finish
