#!/bin/bash
# The systemd split of Debian's units: the daemon runs with -L (as
# rpc-statd.service does with RPC_STATD_NO_NOTIFY=1) and the sm-notify
# command (nfsrecd --sm-notify) does the boot notification on the same
# database.  The command bumps the state, notifies the peer (Debian's
# rpc.statd in another namespace), and tells the running daemon to reload,
# so the daemon's answers carry the new state and its monitor list is the
# new, empty one.
. "$(dirname "$0")/lib.sh"
command -v rpc.statd >/dev/null || skip "rpc.statd is not installed (Debian package nfs-common)"

OURS=10.234.0.1
PEER=10.234.0.2
start_peer_statd "$OURS" "$PEER"

start_daemon -L
"$NSM_CLIENT" --tcp mon $PEER 0123456789abcdef0123456789abcdef >/dev/null || fail "SM_MON"
echo "33333333-2222-3333-4444-555555555555" > "$ROOT/proc/sys/kernel/random/boot_id"
"$NFSRECD" --sm-notify -d -P "$STATE" --proc-root "$ROOT" --daemon-pidfile "$T/pid" --config "$CONF" \
  >"$T/sm-notify.log" 2>&1
expect_eq "sm-notify mode exit status" 0 "$?"
grep -q "Host $PEER notified successfully" "$T/sm-notify.log" || fail "peer not notified: $(cat "$T/sm-notify.log")"
grep -q "SM_NOTIFY from $OURS" "$T/peer-statd.log" || grep -q "$OURS" "$T/peer-statd.log" ||
  fail "peer statd did not log our notification"
for _ in $(seq 1 40); do grep -q "Reloaded:" "$T/daemon.log" && break; sleep 0.05; done
grep -qE "Reloaded: 0 monitor record\(s\), [01] peer\(s\) to notify, NSM state 5" "$T/daemon.log" ||
  fail "daemon did not reload: $(grep -i reload "$T/daemon.log")"
expect_eq "daemon answers with the new state" "stat_succ state=5" "$("$NSM_CLIENT" stat localhost)"
expect_eq "notify list empty" 0 "$(sql "SELECT count(*) FROM notify_list;")"
# A new SM_MON lands in the new list.
"$NSM_CLIENT" mon $PEER ffffffffffffffffffffffffffffffff >/dev/null
expect_eq "new monitor stored" 1 "$(monitor_count)"
# The command reads nfs.conf as sm-notify does: the state directory from
# [statd], and [sm-notify] update-state = no notifies without a new state.
printf '[statd]\nstate-directory-path = %s\n[sm-notify]\nupdate-state = no\n' "$STATE" > "$T/notify.conf"
"$NFSRECD" --sm-notify -d --proc-root "$ROOT" --daemon-pidfile "$T/pid" --config "$T/notify.conf" \
  >"$T/sm-notify2.log" 2>&1
expect_eq "sm-notify mode with nfs.conf: exit status" 0 "$?"
grep -q "Host $PEER notified successfully" "$T/sm-notify2.log" || fail "peer not notified: $(cat "$T/sm-notify2.log")"
for _ in $(seq 1 40); do [ "$(grep -c 'Reloaded:' "$T/daemon.log")" -ge 2 ] && break; sleep 0.05; done
expect_eq "daemon reloaded again" 2 "$(grep -c 'Reloaded:' "$T/daemon.log")"
expect_eq "update-state = no kept the state" "stat_succ state=5" "$("$NSM_CLIENT" stat localhost)"
printf '[sm-notify]\nretry-time = soon\n' > "$T/bad.conf"
"$NFSRECD" --sm-notify -d -P "$STATE" --proc-root "$ROOT" --config "$T/bad.conf" >"$T/bad.log" 2>&1
# A value sm-notify tolerates (atoi: 0 minutes) is a FILE:LINE warning.
expect_eq "tolerated bad nfs.conf value: exit status" 0 "$?"
grep -q 'bad.conf:2: \[sm-notify\] retry-time: soon is not a number' "$T/bad.log" ||
  fail "no FILE:LINE warning: $(cat "$T/bad.log")"
stop_daemon
stop_peer_statd
finish
