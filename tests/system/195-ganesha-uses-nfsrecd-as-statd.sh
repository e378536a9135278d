#!/bin/bash
# NFS-Ganesha (Debian's nfs-ganesha 4.3, FSAL VFS, NFSv3 with NLM on a fixed
# port, NSM_Use_Caller_Name) uses nfsrecd as its statd, started the way
# Ganesha pods start the system statd: `rpc.statd --port 662`, here a
# symlink named rpc.statd to the build's nfsrecd (with lib.sh's test
# paths).  Two user-space NLM clients (tests/system/nlm-client), A over TCP
# and B over UDP, each in a namespace of its own, lock one file:
#  1. Ganesha's first NSM call is SM_UNMON_ALL; A's granted NLM4_LOCK leaves
#     a durable monitor for "clienta" with Ganesha's callback (NLM 100021,
#     version 4, NLMPROC4_SM_NOTIFY 16), its node name and an all-zero
#     cookie, and Ganesha holds a TCP connection to port 662.
#  2. B's conflicting NLM4_TEST and NLM4_LOCK are denied.
#  3. A "reboots" and sends SM_NOTIFY(clienta, new state) to nfsrecd, which
#     calls Ganesha back from loopback; Ganesha drops A's lock (B's lock is
#     granted) and unmonitors A.
#  4. Every NSM call Ganesha made came over TCP, and nothing waited for
#     Ganesha's 3 s RPC time-out: the whole test takes a few seconds.
#  5. Restarted, Ganesha's SM_UNMON_ALL (its node name, NLM version 4)
#     removes the monitor B's lock left.
. "$(dirname "$0")/lib.sh"
GPID=
GANESHA=$(command -v ganesha.nfsd || echo /usr/bin/ganesha.nfsd)
[ -x "$GANESHA" ] || skip "ganesha.nfsd is not installed (Debian packages nfs-ganesha nfs-ganesha-vfs; scripts/deps)"
FSAL_DIR=/usr/lib/x86_64-linux-gnu/ganesha
[ -e "$FSAL_DIR/libfsalvfs.so" ] || skip "Ganesha's FSAL VFS is not installed (Debian package nfs-ganesha-vfs)"
NLM_CLIENT=$top_builddir/tests/system/nlm-client

SERVER_A=10.233.1.1
CLIENT_A=10.233.1.2
SERVER_B=10.233.2.1
CLIENT_B=10.233.2.2
NLM_PORT=32803
ZERO_COOKIE=00000000000000000000000000000000
EXPORT=$T/export
started=$(date +%s%N)

# Ganesha's own shutdown drains its threads for several seconds; nothing
# here depends on it, so it gets one second.
stop_ganesha() {
  [ -n "$GPID" ] || return 0
  kill -TERM "$GPID" 2>/dev/null
  for _ in $(seq 1 20); do kill -0 "$GPID" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$GPID" 2>/dev/null
  wait "$GPID" 2>/dev/null
  GPID=
}
trap 'stop_ganesha; touch "$T/clients.stop"; umount "$EXPORT" 2>/dev/null; cleanup' EXIT

# Names resolve as on a real network (nfsrecd looks up every monitored
# name); the bind mount lives only in this test's mount namespace.
{ cat /etc/hosts; echo "$CLIENT_A clienta"; echo "$CLIENT_B clientb"; } > "$T/hosts"
mount --bind "$T/hosts" /etc/hosts || fail "cannot bind-mount a private /etc/hosts"

# The export: a tmpfs of its own, so FSAL VFS gets file handles whatever
# file system /tmp is on.
mkdir -p "$EXPORT" "$T/ganesha-recovery"
mount -t tmpfs -o size=4m,mode=0777 nfsrec-ganesha-export "$EXPORT" || skip "cannot mount a tmpfs for the export"

# As a Ganesha pod starts its statd: the program name rpc.statd, --port 662.
mkdir -p "$T/bin"
ln -s "$NFSRECD" "$T/bin/rpc.statd"
NFSRECD=$T/bin/rpc.statd
start_daemon --port 662
expect_eq "statd program on TCP port 662" 662 \
  "$(rpcinfo -p 127.0.0.1 | awk '$1 == 100024 && $3 == "tcp" {print $4; exit}')"

cat > "$T/ganesha.conf" <<EOF
NFS_CORE_PARAM {
  Protocols = 3;
  Enable_NLM = true;
  NLM_Port = $NLM_PORT;
  NSM_Use_Caller_Name = true;
  Enable_RQUOTA = false;
  Plugins_Dir = "$FSAL_DIR";
}
NFSV4 {
  Graceless = true;
  RecoveryBackend = fs;
  RecoveryRoot = "$T/ganesha-recovery";
}
EXPORT {
  Export_Id = 1;
  Path = "$EXPORT";
  Pseudo = /export;
  Protocols = 3;
  Transports = TCP, UDP;
  Access_Type = RW;
  Squash = No_Root_Squash;
  SecType = sys;
  FSAL { Name = VFS; }
}
LOG {
  Default_Log_Level = EVENT;
  Components { NLM = FULL_DEBUG; }
}
EOF
# start_ganesha LOG: runs Ganesha until it reports its services up.
start_ganesha() {
  "$GANESHA" -F -f "$T/ganesha.conf" -L "$1" -p "$T/ganesha.pid" >>"$T/ganesha.out" 2>&1 &
  GPID=$!
  for _ in $(seq 1 200); do
    grep -q "NFS SERVER INITIALIZED" "$1" 2>/dev/null && return 0
    kill -0 "$GPID" 2>/dev/null || break
    sleep 0.05
  done
  fail "Ganesha did not start"
  tail -30 "$1" "$T/ganesha.out" 2>/dev/null
  stop_ganesha
  finish
}
start_ganesha "$T/ganesha.log"
expect_eq "Ganesha's NLM version 4 on its fixed port" $NLM_PORT \
  "$(rpcinfo -p 127.0.0.1 | awk '$1 == 100021 && $2 == 4 && $3 == "tcp" {print $4; exit}')"

# Ganesha unmonitors everything once its services run, before any SM_MON.
for _ in $(seq 1 100); do grep -q "SM_UNMON_ALL call from" "$T/daemon.log" && break; sleep 0.05; done
expect_eq "Ganesha's first NSM call" "SM_UNMON_ALL" \
  "$(grep -oE "SM_[A-Z_]+ call from 127.0.0.1:[0-9]+ accepted" "$T/daemon.log" | head -1 | cut -d' ' -f1)"

# Two client hosts, each a namespace with a veth to ours, alive until
# $T/clients.stop appears.
export T
start_client() {
  "$WITH_NETNS" --name "$1" --no-rpcbind --veth "$2/24,$3/24" -- \
    bash -c 'while [ ! -e "$T/clients.stop" ]; do sleep 0.1; done' &
  CLIENT_PIDS="${CLIENT_PIDS:-} $!"
  "$WITH_NETNS" --wait "$1" || fail "client namespace $1 did not come up"
}
start_client clienta $SERVER_A $CLIENT_A
start_client clientb $SERVER_B $CLIENT_B
# nlm NAMESPACE SERVER_ADDR ARGS...: the NLM client in a client namespace;
# A calls over TCP, B over UDP.
nlm() {
  local ns=$1 server=$2 proto=
  shift 2
  [ "$ns" = clientb ] && proto=--udp
  "$WITH_NETNS" --join "$ns" -- "$NLM_CLIENT" $proto --host "$server" --caller "$ns" --timeout-ms 2000 "$@"
}

# 1. Client A's lock, its monitor and Ganesha's NSM arguments.
t0=$(date +%s%N)
expect_eq "clienta NLM4_LOCK" granted "$(nlm clienta $SERVER_A --svid 100 --state 1 "$EXPORT" shared lock)"
lock_ms=$((($(date +%s%N) - t0) / 1000000))
# Ganesha names itself by uname's nodename.
expect_eq "clienta monitored with Ganesha's callback and an all-zero cookie" \
  "clienta|$(uname -n)|100021|4|16|$ZERO_COOKIE" \
  "$(sql "SELECT CAST(mon_name AS TEXT), CAST(my_name AS TEXT), my_prog, my_vers, my_proc, hex(priv) FROM monitors;")"
# Ganesha keeps its TCP connection to statd while it monitors a host.
ss -Htnp state established '( dport = :662 )' | grep -q '"ganesha.nfsd"' ||
  fail "Ganesha holds no TCP connection to statd's port 662: $(ss -Htnp '( dport = :662 )')"

# 2. Client B is refused while A holds the lock.
expect_eq "clientb NLM4_TEST" "denied holder svid=100 exclusive=1" \
  "$(nlm clientb $SERVER_B --svid 200 --state 1 "$EXPORT" shared test)"
expect_eq "clientb NLM4_LOCK" denied "$(nlm clientb $SERVER_B --svid 200 --state 1 "$EXPORT" shared lock)"

# 3. A reboots: its notification reaches nfsrecd from A's address, nfsrecd
#    calls Ganesha back, Ganesha releases A's lock.
t0=$(date +%s%N)
"$WITH_NETNS" --join clienta -- "$NSM_CLIENT" --host $SERVER_A notify clienta 3 >/dev/null ||
  fail "SM_NOTIFY from clienta not answered"
granted=
for _ in $(seq 1 50); do
  if [ "$(nlm clientb $SERVER_B --svid 200 --state 1 "$EXPORT" shared lock)" = granted ]; then
    granted=1
    break
  fi
  sleep 0.1
done
release_ms=$((($(date +%s%N) - t0) / 1000000))
[ -n "$granted" ] || fail "clientb's lock was not granted after clienta's SM_NOTIFY"
expect_eq "clientb's lock now conflicts for clienta" "denied holder svid=200 exclusive=1" \
  "$(nlm clienta $SERVER_A --svid 101 --state 3 "$EXPORT" shared test)"
grep -q "nlm4_sm_notify for clienta state 3" "$T/ganesha.log" ||
  fail "Ganesha logged no SM_NOTIFY callback for clienta"
grep -q "Received SM_NOTIFY from $CLIENT_A for clienta, state 3" "$T/daemon.log" ||
  fail "nfsrecd logged no SM_NOTIFY from clienta"
# Releasing A's last lock, Ganesha forgets the host and unmonitors it.
for _ in $(seq 1 50); do [ "$(monitor_count)" = 1 ] && break; sleep 0.05; done
expect_eq "monitors after clienta's reboot" clientb \
  "$(sql "SELECT CAST(mon_name AS TEXT) FROM monitors;")"
grep -q "Callback to 100021/4 (for clienta, state 3) succeeded" "$T/daemon.log" ||
  fail "nfsrecd did not call Ganesha back for clienta"

# 4. No time-outs on the way.
echo "lock with SM_MON took ${lock_ms} ms; notify to B's grant took ${release_ms} ms"
[ "$lock_ms" -lt 2000 ] || fail "clienta's lock took ${lock_ms} ms (a time-out on the way?)"
[ "$release_ms" -lt 2500 ] || fail "the release took ${release_ms} ms (a time-out on the way?)"

# 5. Ganesha restarts and, with its SM_UNMON_ALL, drops clientb's monitor.
stop_ganesha
expect_eq "clientb still monitored while Ganesha is down" clientb \
  "$(sql "SELECT CAST(mon_name AS TEXT) FROM monitors;")"
start_ganesha "$T/ganesha-restarted.log"
for _ in $(seq 1 100); do [ "$(monitor_count)" = 0 ] && break; sleep 0.05; done
expect_eq "monitors after Ganesha's restart" 0 "$(monitor_count)"

stop_ganesha
stop_daemon
# 4. Every NSM call Ganesha made (SM_UNMON_ALL, SM_MON, SM_UNMON) came on a
#    connection that our TCP transport saw closed (by Ganesha or at our exit).
calls=$(grep -cE "SM_(MON|UNMON|UNMON_ALL) call from 127.0.0.1:[0-9]+ accepted" "$T/daemon.log")
[ "$calls" -ge 4 ] || fail "expected Ganesha's SM_UNMON_ALLs, SM_MONs and SM_UNMONs, saw $calls call(s)"
for port in $(sed -nE 's/.*SM_(MON|UNMON|UNMON_ALL) call from 127\.0\.0\.1:([0-9]+) accepted.*/\2/p' \
  "$T/daemon.log" | sort -u); do
  grep -q "rpc: closed tcp 127.0.0.1 port $port:" "$T/daemon.log" ||
    fail "the NSM call(s) from port $port did not come over TCP"
done
grep -qiE "timed out|time-out|timeout" "$T"/ganesha*.log && fail "Ganesha logged a time-out"
touch "$T/clients.stop"
# shellcheck disable=SC2086
wait $CLIENT_PIDS
umount "$EXPORT"
total_ms=$((($(date +%s%N) - started) / 1000000))
echo "whole test: ${total_ms} ms"
[ "$total_ms" -lt 20000 ] || fail "the test took ${total_ms} ms"
finish
