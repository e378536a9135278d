#!/bin/bash
# With sm/ owned by Debian's statd user, nfsrecd drops root as rpc.statd
# does: the daemon runs as statd with only CAP_NET_BIND_SERVICE, its helper
# stays uid 0 with no capability, the kernel files (here the fake ones under
# --proc-root) and the cld pipe are reached through the helper, ha-callouts
# and the database are statd's, and SIGTERM leaves no rpcbind entry and no
# helper.  The SM_NOTIFY socket and the NSM UDP listeners' sockets, made
# before the drop, keep their 4 MiB receive buffers (CAP_NET_ADMIN is in
# the unit's bounding set for it); a
# start without CAP_NET_ADMIN gets what net.core.rmem_max allows and says
# so.  Debian's rpc.statd runs with the same sm/ ownership for the
# side-by-side lines in the log.
. "$(dirname "$0")/lib.sh"

getent passwd statd >/dev/null || skip "no statd user (Debian package nfs-common creates it)"
STATD_UID=$(id -u statd)
STATD_GID=$(id -g statd)
COOKIE=0123456789abcdeffedcba9876543210

# The dropped daemon must reach its files below $T (mktemp made it 0700).
chmod 755 "$T" "$STATE"
mkdir -p "$STATE/sm" "$STATE/sm.bak"
chown statd: "$STATE/sm" "$STATE/sm.bak"
chmod 700 "$STATE/sm" "$STATE/sm.bak"
mkfifo "$ROOT/cld"
cat > "$T/ha.sh" <<SCRIPT
#!/bin/sh
echo "\$1 \$(id -u) \$(grep '^CapEff' /proc/self/status | cut -f2)" >> "$T/ha.out"
SCRIPT
chmod 755 "$T/ha.sh"
touch "$T/ha.out"
chmod 666 "$T/ha.out"

# 0. The sm-notify command on a fresh state directory of its own (as at
#    first boot): the database it makes as root is statd's, and it drops
#    after the state is published.
mkdir -p "$T/nstate/sm" "$T/nstate/sm.bak"
chown statd: "$T/nstate/sm" "$T/nstate/sm.bak"
"$NFSRECD" --sm-notify -d -P "$T/nstate" --proc-root "$ROOT" --daemon-pidfile "$T/pid" --config "$CONF" \
  >"$T/sm-notify.log" 2>&1
expect_eq "sm-notify command exit status" 0 "$?"
grep -q "Effective UID, GID: $STATD_UID, $STATD_GID" "$T/sm-notify.log" ||
  fail "the sm-notify command did not drop: $(cat "$T/sm-notify.log")"
expect_eq "database made by the sm-notify command" statd "$(stat -c %U "$T/nstate/nfsrecd/nfsrecd.sqlite")"

# status_field PID FIELD: the value of one /proc/PID/status line.
status_field() { awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"; }

"$LOCKD_EMU" --ready-file "$T/lockd.ready" >"$T/lockd.out" 2>"$T/lockd.err" &
EMU=$!
for _ in $(seq 1 100); do [ -s "$T/lockd.ready" ] && break; sleep 0.05; done
[ -s "$T/lockd.ready" ] || fail "lockd emulator did not start"

# The daemon starts with no capability in its bounding set but those it
# needs before the drop (the unit's CapabilityBoundingSet).
BOUNDED=
UNIT_CAPS=+setuid,+setgid,+setpcap,+chown,+net_bind_service,+dac_read_search,+net_admin
command -v setpriv >/dev/null && BOUNDED="setpriv --bounding-set -all,$UNIT_CAPS --"
start_bounded() {
  $BOUNDED "$NFSRECD" -F -d -P "$STATE" --pidfile "$T/pid" --proc-root "$ROOT" --cld-pipe "$ROOT/cld" \
    --config "$CONF" -H "$T/ha.sh" >"$1" 2>&1 &
  DPID=$!
  for _ in $(seq 1 100); do
    rpcinfo -T udp 127.0.0.1 100024 1 >/dev/null 2>&1 && return 0
    kill -0 "$DPID" 2>/dev/null || break
    sleep 0.05
  done
  fail "daemon did not come up"
  finish
}
start_bounded "$T/daemon.log"
HPID=$(pgrep -P "$DPID" -x nfsrecd-priv)
[ -n "$HPID" ] || fail "no privileged helper child"

# 1. The daemon: statd's uid and gid, CAP_NET_BIND_SERVICE only.
expect_eq "daemon Uid" "$STATD_UID $STATD_UID $STATD_UID $STATD_UID" "$(status_field $DPID Uid)"
expect_eq "daemon Gid" "$STATD_GID $STATD_GID $STATD_GID $STATD_GID" "$(status_field $DPID Gid)"
expect_eq "daemon Groups" "" "$(status_field $DPID Groups)"
expect_eq "daemon CapEff" 0000000000000400 "$(status_field $DPID CapEff)"
expect_eq "daemon CapPrm" 0000000000000400 "$(status_field $DPID CapPrm)"
expect_eq "daemon CapInh" 0000000000000000 "$(status_field $DPID CapInh)"
expect_eq "daemon CapAmb" 0000000000000000 "$(status_field $DPID CapAmb)"
expect_eq "daemon CapBnd" 0000000000000000 "$(status_field $DPID CapBnd)"
for task in /proc/$DPID/task/*; do
  t=${task##*/}
  [ "$(awk '$1 == "Uid:" { print $2 }' "$task/status")" = "$STATD_UID" ] || fail "thread $t is not statd"
  [ "$(awk '$1 == "CapEff:" { print $2 }' "$task/status")" = 0000000000000400 ] ||
    fail "thread $t has other capabilities"
done
grep -q "Effective UID, GID: $STATD_UID, $STATD_GID" "$T/daemon.log" || fail "no 'Effective UID, GID' log line"

# udp_rcvbufs PID [PORT]: the receive buffers of PID's UDP sockets (bound
# to local PORT only, when given), one per line as "port rb", where rb is
# what ss -m reports: twice the size granted.
udp_rcvbufs() {
  ss -uanmp | awk -v pid="pid=$1," -v port="${2:-}" '
    index($0, pid) { n = split($4, a, ":"); p = a[n]; want = (port == "" || p == port) }
    want && match($0, /rb[0-9]+/) { print p, substr($0, RSTART + 2, RLENGTH - 2) + 0; want = 0 }'
}
# notify_rcvbuf PID: the biggest of them (the SM_NOTIFY and lockd callback
# sockets').
notify_rcvbuf() { udp_rcvbufs "$1" | awk '$2 > max { max = $2 } END { print max + 0 }'; }
# nsm_listener_rcvbufs PID: the NSM UDP listeners' (udp, and udp6 where the
# host has IPv6; each on its own port, as rpcbind has them for 100024:
# universal addresses end in ".high.low"), "port rb" each.
nsm_listener_rcvbufs() {
  local port ports
  ports=$(rpcinfo 127.0.0.1 | awk '$1 == 100024 && ($3 == "udp" || $3 == "udp6") {
    n = split($4, a, "."); print a[n - 1] * 256 + a[n] }' | sort -un)
  [ -n "$ports" ] || fail "rpcbind has no udp entry for 100024"
  for port in $ports; do udp_rcvbufs "$1" "$port"; done
}
# all_rb RB: "yes" when every "port rb" line on stdin (at least one) has RB.
all_rb() { awk -v rb="$1" '{ n++ } $2 != rb { bad = 1 } END { print (n > 0 && !bad) ? "yes" : "no" }'; }
RMEM_MAX=$(cat /proc/sys/net/core/rmem_max)
WANT_RCVBUF=$((4 << 20))
CAPPED_RCVBUF=$((RMEM_MAX < WANT_RCVBUF ? RMEM_MAX : WANT_RCVBUF))

# 1b. The SM_NOTIFY socket and the NSM UDP listeners (udp and udp6, bound
#     after the drop to sockets made before it) of the dropped daemon have
#     the full 4 MiB.
expect_eq "SM_NOTIFY socket receive buffer (ss rb)" $((2 * WANT_RCVBUF)) "$(notify_rcvbuf $DPID)"
listeners=$(nsm_listener_rcvbufs $DPID)
echo "NSM UDP listeners' ss rb (port rb): $(echo $listeners)"
expect_eq "every NSM UDP listener with the full receive buffer" yes "$(all_rb $((2 * WANT_RCVBUF)) <<<"$listeners")"
grep -q "SM_NOTIFY socket: receive buffer $WANT_RCVBUF bytes$" "$T/daemon.log" ||
  fail "no full receive buffer log line: $(grep 'SM_NOTIFY socket' "$T/daemon.log")"

# 2. The helper: uid 0 and CAP_DAC_READ_SEARCH (nfsd's 0600 client
#    directories), nothing else.
if [ -n "$HPID" ]; then
  expect_eq "helper Uid" "0 0 0 0" "$(status_field $HPID Uid)"
  expect_eq "helper CapEff" 0000000000000004 "$(status_field $HPID CapEff)"
  expect_eq "helper CapPrm" 0000000000000004 "$(status_field $HPID CapPrm)"
  expect_eq "helper CapBnd" 0000000000000000 "$(status_field $HPID CapBnd)"
fi

# 3. NSM still works: SM_MON (with its add-client callout, run as statd)
#    and SM_SIMU_CRASH, whose new state reaches nsm_local_state.
expect_eq "SM_MON" "stat_succ" "$("$NSM_CLIENT" --tcp mon 10.9.0.1 $COOKIE | cut -d' ' -f1)"
before=$(cat "$ROOT/proc/sys/fs/nfs/nsm_local_state")
expect_eq "SM_SIMU_CRASH" OK "$("$NSM_CLIENT" --reserved crash)"
# SM_SIMU_CRASH is answered before the new state is durable.
for _ in $(seq 1 100); do
  after=$("$NSM_CLIENT" stat localhost | sed -n 's/.*state=//p')
  [ "$after" != "$before" ] && [ "$(cat "$ROOT/proc/sys/fs/nfs/nsm_local_state")" = "$after" ] && break
  sleep 0.05
done
expect_eq "nsm_local_state after SM_SIMU_CRASH" "$after" "$(cat "$ROOT/proc/sys/fs/nfs/nsm_local_state")"
[ "$before" != "$after" ] || fail "the state did not change ($before)"
expect_eq "ha-callout uid and CapEff" "add-client $STATD_UID 0000000000000000" \
  "$(grep '^add-client' "$T/ha.out" | head -1)"

# A peer's SM_NOTIFY: the callback to lockd still comes from a reserved
# port (CAP_NET_BIND_SERVICE), the only kind the kernel's lockd accepts.
"$NSM_CLIENT" --tcp mon 10.9.0.2 $COOKIE >/dev/null
"$NSM_CLIENT" notify 10.9.0.2 7 >/dev/null
for _ in $(seq 1 100); do grep -q CALLBACK "$T/lockd.out" && break; sleep 0.05; done
case "$(grep CALLBACK "$T/lockd.out" | head -1)" in
  *"privileged=1 mon_name=10.9.0.2 state=7 priv=$COOKIE"*) echo "ok: lockd callback from a reserved port" ;;
  *) fail "unexpected lockd callback: [$(cat "$T/lockd.out")]" ;;
esac

# 4. The cld pipe, opened through the helper.
grep -q "cld: opened $ROOT/cld" "$T/daemon.log" || fail "the cld pipe was not opened"
[ -n "$(find -L /proc/$DPID/fd -samefile "$ROOT/cld" 2>/dev/null)" ] || fail "the daemon does not hold the cld pipe"

# 5. The database is statd's.
expect_eq "database directory owner and mode" "statd 700" "$(stat -c '%U %a' "$STATE/nfsrecd")"
for f in "$DB" "$DB-wal" "$DB-shm"; do
  [ -e "$f" ] && expect_eq "owner of ${f##*/}" statd "$(stat -c %U "$f")"
done
expect_eq "pid file owner" statd "$(stat -c %U "$T/pid")"
NFSRECD_LINE=$(printf 'Uid %s  CapEff %s  CapPrm %s  CapBnd %s' "$(status_field $DPID Uid)" \
  "$(status_field $DPID CapEff)" "$(status_field $DPID CapPrm)" "$(status_field $DPID CapBnd)")

# 6. SIGTERM: no rpcbind entry, no helper left.
stop_daemon
rpcinfo -p 127.0.0.1 2>/dev/null | grep -qw 100024 && fail "rpcbind still has 100024 after SIGTERM"
[ -n "$HPID" ] && kill -0 "$HPID" 2>/dev/null && fail "the helper outlived the daemon"
expect_eq "pid file after exit" 0 "$(stat -c %s "$T/pid")"

kill "$EMU" 2>/dev/null
wait "$EMU" 2>/dev/null

# A second start: the database directory is statd's now, and closed to a
# root without CAP_DAC_OVERRIDE.  Without CAP_NET_ADMIN in the bounding set
# the SM_NOTIFY socket gets what net.core.rmem_max allows, and the log says
# so.
[ -n "$BOUNDED" ] && BOUNDED="setpriv --bounding-set -all,${UNIT_CAPS%,+net_admin} --"
start_bounded "$T/daemon.2.log"
expect_eq "second start: SM_STAT" "stat_succ" "$("$NSM_CLIENT" stat localhost | cut -d' ' -f1)"
if [ -n "$BOUNDED" ]; then
  expect_eq "SM_NOTIFY socket receive buffer without CAP_NET_ADMIN (ss rb)" $((2 * CAPPED_RCVBUF)) \
    "$(notify_rcvbuf $DPID)"
  expect_eq "every NSM UDP listener's receive buffer without CAP_NET_ADMIN (ss rb)" yes \
    "$(nsm_listener_rcvbufs $DPID | all_rb $((2 * CAPPED_RCVBUF)))"
  if [ "$CAPPED_RCVBUF" -lt "$WANT_RCVBUF" ]; then
    grep -q "SM_NOTIFY socket: receive buffer $CAPPED_RCVBUF bytes of the $WANT_RCVBUF asked for" \
      "$T/daemon.2.log" || fail "no capped receive buffer log line: $(grep 'SM_NOTIFY socket' "$T/daemon.2.log")"
  else
    echo "note: net.core.rmem_max is $RMEM_MAX here, so a start without CAP_NET_ADMIN gets the full buffer too"
  fi
fi
stop_daemon

# 7. Debian's rpc.statd, same sm/ ownership, for comparison.
if command -v rpc.statd >/dev/null; then
  mkdir -p "$T/debian/sm" "$T/debian/sm.bak"
  chown statd: "$T/debian/sm" "$T/debian/sm.bak"
  rpc.statd -F -d --no-notify -P "$T/debian" >"$T/statd.log" 2>&1 &
  SPID=$!
  for _ in $(seq 1 100); do rpcinfo -T udp 127.0.0.1 100024 1 >/dev/null 2>&1 && break; sleep 0.05; done
  STATD_LINE=$(printf 'Uid %s  CapEff %s  CapPrm %s  CapBnd %s' "$(status_field $SPID Uid)" \
    "$(status_field $SPID CapEff)" "$(status_field $SPID CapPrm)" "$(status_field $SPID CapBnd)")
  kill -TERM "$SPID"
  wait "$SPID"
  echo "nfsrecd:    $NFSRECD_LINE"
  echo "rpc.statd:  $STATD_LINE"
else
  echo "nfsrecd:    $NFSRECD_LINE"
  echo "rpc.statd:  (not installed)"
fi
finish
