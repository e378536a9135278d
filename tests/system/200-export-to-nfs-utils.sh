#!/bin/bash
# The way back to nfs-utils: nfsrecctl export --nfs-utils writes sm/,
# sm.bak/, state and nfsdcld's main.sqlite from a running nfsrecd's
# database, and Debian's own daemons take over from them:
#  (a) rpc.statd -P DIR knows the exported monitors: an SM_NOTIFY from a
#      monitored peer makes it call our lockd (the emulator) back with the
#      cookie lockd gave nfsrecd at SM_MON;
#  (b) sm-notify -P DIR notifies exactly the monitored peers (two addresses
#      of a peer namespace), with the exported state + 2, and leaves the peer
#      still owed a notification in sm.bak;
#  (c) nfsdcld (nfs-kernel-server, unpacked from its .deb) opens the exported
#      database without complaint and its own nfsdclddb lists exactly the
#      NFSv4 clients nfsrecd would let reclaim.

# Part (c) needs nfs-kernel-server's .deb, fetched here, before lib.sh moves
# the test into a network namespace that cannot reach the archive: from
# $NFS_KERNEL_SERVER_DEB, the real-kernel suite's download, apt's cache, or
# `apt-get download` into the build directory.
. "$(dirname "$0")/knfsd-deb.sh"
. "$(dirname "$0")/lib.sh"
command -v rpc.statd >/dev/null || skip "rpc.statd is not installed (Debian package nfs-common)"
command -v sm-notify >/dev/null || skip "sm-notify is not installed (Debian package nfs-common)"
NFSRECCTL=$top_builddir/nfsrecctl
CLTRACK=$top_builddir/nfsrec-cltrack

OURS=10.237.0.1
P1=10.237.0.2     # the peer namespace, first address
P2=10.237.0.3     # the peer namespace, second address
P3=10.237.0.4     # monitored, then unmonitored
GONE=10.237.0.99  # on the link, nobody answers: stays owed a notification
C1=0123456789abcdef0123456789abcdef
C2=fedcba9876543210fedcba9876543210
OUT=$T/out
mkdir -p "$OUT"

# Before: GONE monitored, then a reboot whose notification cannot reach it.
start_daemon
"$NSM_CLIENT" --tcp mon $GONE 00000000000000000000000000000009 >/dev/null || fail "SM_MON gone"
stop_daemon
echo "44444444-2222-3333-4444-555555555555" > "$ROOT/proc/sys/kernel/random/boot_id"
start_daemon
for p in "$P1 $C1" "$P2 $C2" "$P3 00000000000000000000000000000003"; do
  set -- $p
  expect_eq "SM_MON $1" "stat_succ state=5" "$("$NSM_CLIENT" --tcp mon "$1" "$2")"
done
"$NSM_CLIENT" --tcp unmon $P3 >/dev/null || fail "SM_UNMON $P3"

# NFSv4 clients, recorded through nfsdcltrack's interface on the same
# database: a, b, c; a reboot (init); a reclaims; grace ends; d is new.
CLT="$CLTRACK -f -s $STATE/nfsrecd --proc-root $ROOT"
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
for c in "Linux NFSv4.2 a" "Linux NFSv4.2 b" "Linux NFSv4.2 c"; do $CLT create "$(hex "$c")" || fail "create $c"; done
$CLT init || fail "cltrack init"
$CLT check "$(hex "Linux NFSv4.2 a")" || fail "check a"
$CLT create "$(hex "Linux NFSv4.2 a")" || fail "create a again"
$CLT gracedone "$(date +%s)" || fail "gracedone"
$CLT create "$(hex "Linux NFSv4.2 d")" || fail "create d"

# The export, while nfsrecd runs: nothing of the database is written.
before=$(sql "SELECT count(*) FROM monitors; SELECT count(*) FROM notify_list; SELECT local_state FROM nsm_state;" | tr '\n' ' ')
"$NFSRECCTL" --config "$CONF" --state-dir "$STATE" export --nfs-utils "$OUT" >"$T/export.out" 2>"$T/export.err"
expect_eq "export exit status" 0 "$?"
cat "$T/export.out" "$T/export.err"
grep -q "wrote 2 monitors for 2 hosts to $OUT/sm, 1 for 1 hosts to $OUT/sm.bak, state 5" "$T/export.out" ||
  fail "export summary (NSM)"
grep -q "wrote 2 NFSv4 clients (epoch 2) to $OUT/nfsdcld/main.sqlite" "$T/export.out" ||
  fail "export summary (NFSv4)"
expect_eq "database unchanged by the export" "$before" \
  "$(sql "SELECT count(*) FROM monitors; SELECT count(*) FROM notify_list; SELECT local_state FROM nsm_state;" | tr '\n' ' ')"
stop_daemon

# The same export from the stopped daemon's database.
mkdir -p "$T/out2"
"$NFSRECCTL" --config "$CONF" --state-dir "$STATE" export --nfs-utils "$T/out2" >/dev/null 2>&1
expect_eq "export of a stopped daemon's database" 0 "$?"
diff -r "$OUT/sm" "$T/out2/sm" && diff -r "$OUT/sm.bak" "$T/out2/sm.bak" && cmp "$OUT/state" "$T/out2/state" &&
  [ "$(sqlite3 "$OUT/nfsdcld/main.sqlite" .dump)" = "$(sqlite3 "$T/out2/nfsdcld/main.sqlite" .dump)" ] ||
  fail "exports of the running and the stopped daemon differ"

# The files, byte for byte as rpc.statd writes them.
LO=$(printf '\177\000\000\001' | od -An -tx4 | tr -d ' \n')  # 127.0.0.1's s_addr as a host int
expect_eq "sm/ lists the monitored hosts" "$P1 $P2" "$(ls "$OUT/sm" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "sm/$P1" "$LO 000186b5 00000003 00000010 $C1 $P1 server" "$(cat "$OUT/sm/$P1")"
expect_eq "sm.bak/ lists the peer still owed a notification" "$GONE" "$(ls "$OUT/sm.bak")"
expect_eq "state" 5 "$(od -An -td4 "$OUT/state" | tr -d ' ')"
expect_eq "no temp file left" "" "$(find "$OUT" -name '.*.new')"

# (a) Debian's rpc.statd on the exported directory.
"$LOCKD_EMU" --ready-file "$T/lockd.ready" >"$T/lockd.out" 2>"$T/lockd.err" &
EMU=$!
for _ in $(seq 1 100); do [ -s "$T/lockd.ready" ] && break; sleep 0.05; done
rpc.statd -F -d --no-notify -P "$OUT" >"$T/statd.log" 2>&1 &
STATDPID=$!
for _ in $(seq 1 100); do rpcinfo -T udp 127.0.0.1 100024 1 >/dev/null 2>&1 && break; sleep 0.05; done
grep -q "Local NSM state number: 5" "$T/statd.log" || fail "rpc.statd did not adopt state 5: $(cat "$T/statd.log")"
export T P1 P2 OURS NSM_CLIENT
"$WITH_NETNS" --name peer --veth "$OURS/24,$P1/24" -- \
  bash -c '"$NSM_CLIENT" --host "$OURS" notify "$P1" 7 > "$T/notify.out" 2>&1'
for _ in $(seq 1 100); do grep -q CALLBACK "$T/lockd.out" && break; sleep 0.05; done
line=$(grep CALLBACK "$T/lockd.out" | head -1)
case "$line" in
  *"from=127.0.0.1:"*"mon_name=$P1 state=7 priv=$C1"*) echo "ok: rpc.statd called lockd back with nfsrecd's cookie" ;;
  *) fail "rpc.statd's callback: [$line] $(tail -5 "$T/statd.log")" ;;
esac
kill -TERM "$STATDPID"; wait "$STATDPID"
kill "$EMU"; wait "$EMU" 2>/dev/null
for _ in $(seq 1 100); do rpcinfo -T udp 127.0.0.1 100024 1 >/dev/null 2>&1 || break; sleep 0.05; done

# (b) Debian's sm-notify on the exported directory.  The peer namespace has
# P1 and P2 and its own rpc.statd, which logs what it is told.
mkdir -p "$T/peer/sm" "$T/peer/sm.bak"
"$WITH_NETNS" --name peer2 --veth "$OURS/24,$P1/24" -- bash -c '
  ip addr add "$P2/24" dev veth0
  rpc.statd -F -d --no-notify -P "$T/peer" >"$T/peer-statd.log" 2>&1 &
  for _ in $(seq 1 100); do rpcinfo -T udp 127.0.0.1 100024 1 >/dev/null 2>&1 && break; sleep 0.05; done
  touch "$T/peer.ready"
  while [ ! -e "$T/peer.stop" ]; do sleep 0.1; done' &
PEERPID=$!
for _ in $(seq 1 200); do [ -e "$T/peer.ready" ] && break; sleep 0.05; done
sm-notify -f -d -P "$OUT" >"$T/sm-notify.log" 2>&1 &
SMN=$!
for _ in $(seq 1 200); do
  [ "$(grep -c "notified successfully" "$T/sm-notify.log")" -ge 2 ] && break; sleep 0.05
done
kill "$SMN" 2>/dev/null; wait "$SMN" 2>/dev/null   # it would retry GONE for 15 minutes
touch "$T/peer.stop"; wait "$PEERPID"
expect_eq "sm-notify notified exactly the monitored peers" "$P1 $P2" \
  "$(sed -n 's/.*Host \(.*\) notified successfully.*/\1/p' "$T/sm-notify.log" | sort -u | tr '\n' ' ' | sed 's/ $//')"
expect_eq "state bumped by sm-notify" 7 "$(od -An -td4 "$OUT/state" | tr -d ' ')"
expect_eq "SM_NOTIFYs carried state 7" 2 "$(grep -c "Received SM_NOTIFY from .*, state: 7" "$T/peer-statd.log")"
expect_eq "the unreachable peer is still owed" "$GONE" "$(ls "$OUT/sm.bak")"

# (c) nfsdcld and nfsdclddb from Debian's nfs-kernel-server.
if [ -z "${NFS_KERNEL_SERVER_DEB:-}" ] || ! dpkg -x "$NFS_KERNEL_SERVER_DEB" "$T/nfsks" 2>/dev/null ||
  [ ! -x "$T/nfsks/usr/sbin/nfsdcld" ]; then
  echo "nfs-kernel-server's .deb is not available (apt-get download failed); part (c) not run"
  [ "$FAILED" = 0 ] && skip "nfsdcld unavailable; parts (a) and (b) passed"
  finish
fi
mkdir -p "$T/pipefs/nfsd"
"$T/nfsks/usr/sbin/nfsdcld" -F -d -p "$T/pipefs" -s "$OUT/nfsdcld" >"$T/nfsdcld.log" 2>&1 &
CLD=$!
for _ in $(seq 1 100); do grep -q "current_epoch" "$T/nfsdcld.log" && break; sleep 0.05; done
sleep 0.2
kill -0 "$CLD" 2>/dev/null || fail "nfsdcld exited: $(cat "$T/nfsdcld.log")"
kill "$CLD" 2>/dev/null; wait "$CLD" 2>/dev/null
grep -q "current_epoch=2 recovery_epoch=0" "$T/nfsdcld.log" || fail "nfsdcld's epochs: $(cat "$T/nfsdcld.log")"
# The pipe is absent on purpose (no nfsd here); anything else it reports is a complaint.
grep -v cld_pipe_open "$T/nfsdcld.log" | grep -Eiq "fail|error|unable|unsupported" &&
  fail "nfsdcld complained: $(cat "$T/nfsdcld.log")"
python3 "$T/nfsks/usr/sbin/nfsdclddb" -p "$OUT/nfsdcld/main.sqlite" print >"$T/clddb.out" 2>&1 ||
  fail "nfsdclddb print: $(cat "$T/clddb.out")"
cat "$T/clddb.out"
grep -q "Schema version: 4 current epoch: 2 recovery epoch: 0" "$T/clddb.out" || fail "nfsdclddb schema line"
for c in a d; do grep -q "Linux NFSv4.2 $c" "$T/clddb.out" || fail "client $c not listed"; done
for c in b c; do grep -q "Linux NFSv4.2 $c" "$T/clddb.out" && fail "client $c listed: it may not reclaim"; done

finish
