#!/bin/bash
# Notification timings of nfsrecd beside Debian's rpc.statd and sm-notify,
# in one run, on the same peer set, in private network namespaces.
#
#   bench/run-notify-bench.sh [BUILD_DIR] [PEERS]
#
# Environment: PHASES (default "callbacks boot"; also "rss" and "monlat"), SERVERS (the callbacks
# phase's servers, default "nfsrecd rpc.statd"), SENDERS (SM_NOTIFYs in
# flight at once in the callbacks phase, default 8; at most 128 over TCP, the
# daemon's loopback connection budget, 1024 over UDP), NOTIFY_PROTO (the
# SM_NOTIFYs' transport: tcp, the default, or udp as sm-notify sends them,
# retransmitted after 1 s), SHUFFLE (a seed: the
# SM_NOTIFYs go in a shuffled order, not in the order of the SM_MONs), NFSRECD (the nfsrecd binary,
# default BUILD_DIR/nfsrecd: another build's, for before/after figures),
# CALLBACK_LIMIT_S (180), BOOT_LIMIT_S (900), PERF_DATA (record a profile of
# the daemon during the storm into PERF_DATA.<server>; PERF_ARGS adds options;
# PERF_SAMPLING replaces "-F 999", e.g. "-c 1" to count every event of
# PERF_ARGS="-e syscalls:sys_enter_fdatasync ..."),
# DEAD (the boot phase's unreachable peers among PEERS, default PEERS/10),
# DEAD_FIRST=1 (list them before the reachable ones), BOOT_SERVERS (default
# "nfsrecd sm-notify"; PERF_DATA profiles nfsrecd's boot run into PERF_DATA.boot),
# PEER (the boot phase's peer host: "responder", the default, is
# bench/notify-peer, which answers for every peer address in one event loop
# and records each SM_NOTIFY; "statd" is rpcbind and Debian's rpc.statd,
# each single-threaded).
#
# 1. callbacks: the server monitors PEERS hosts (SM_MON, kernel arguments,
#    64 at a time); its VmRSS is printed; then PEERS SM_NOTIFYs arrive (one
#    per peer, SENDERS at a time); the time runs from the first SM_NOTIFY until the
#    lockd emulator has received a callback for every peer.  Then every
#    callback is checked: one distinct mon_name per peer, from a privileged
#    port, with state 7 and that peer's own cookie.  Also printed:
#    rcvbuf_drops, the UDP datagrams this namespace dropped for a full
#    receive buffer during the storm (the server's, lockd-emu's, the UDP
#    senders'), each one a retransmission a second later.
# 2. boot: the server's notify list holds PEERS peers, DEAD of them on
#    addresses nobody answers; the time runs from the start of the notifier
#    until every reachable peer has answered (its record deleted).  The peers
#    are one namespace with PEERS-DEAD addresses on its veth, answered by
#    PEER.  With the responder, its record is then checked: every reachable
#    peer got exactly one SM_NOTIFY with the notifier's name and new state,
#    and no other address got one.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
peers=${2:-1000}
export PATH="$PATH:/usr/sbin:/sbin"
make -C "$build" -s bench/nsm-bench bench/notify-peer nfsrecd tests/support/lockd-emu >/dev/null
nfsrecd=${NFSRECD:-$build/nfsrecd}
phases=${PHASES:-callbacks boot}
servers=${SERVERS:-nfsrecd rpc.statd}
senders=${SENDERS:-8}
case ${NOTIFY_PROTO:-tcp} in
  tcp) notify_udp= ;;
  udp) notify_udp=--udp ;;
  *) echo "NOTIFY_PROTO must be tcp or udp" >&2; exit 2 ;;
esac
# nsm-bench's names: PREFIX.c.d up to 65536 peers, PREFIX.b.c.d beyond.
if [ "$peers" -le 65536 ]; then prefix=10.88; else prefix=88; fi

if [ -z "${WITH_NETNS_NAME:-}" ]; then
  exec "$top/tests/support/with-netns" -- "$0" "$build" "$peers"
fi

work=$(mktemp -d /var/tmp/notify-bench.XXXXXX)
cleanup() { touch "$work/peer.stop"; sleep 0.3; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
bench=$build/bench/nsm-bench
emu=$build/tests/support/lockd-emu
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# UDP datagrams the current network namespace dropped for a full receive
# buffer (RcvbufErrors), so far.
udp_rcvbuf_errors() { awk '/^Udp: [0-9]/ { print $6 }' /proc/net/snmp; }
wait_registered() {
  for _ in $(seq 1 $(( ${REGISTER_LIMIT_S:-10} * 20 ))); do
    rpcinfo -T udp 127.0.0.1 100024 1 >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "server did not register" >&2; return 1
}
fresh_state() {
  rm -rf "$work/state" "$work/root"
  mkdir -p "$work/state/sm" "$work/state/sm.bak" "$work/root/proc/sys/kernel/random"
  echo "boot-$1" > "$work/root/proc/sys/kernel/random/boot_id"
}

# ---- 1. SM_NOTIFY -> lockd callbacks ----
# Checks lockd.out: one callback per peer with its own cookie (nsm-bench's:
# byte b of peer i's is (i * 7 + b) mod 256), state 7, privileged source.
verify_callbacks() {  # FILE
  awk -v peers="$peers" -v prefix="$prefix" '
    /^CALLBACK / && / state=7 / {
      name = ""; priv = ""; privileged = ""
      for (f = 1; f <= NF; f++) {
        split($f, kv, "=")
        if (kv[1] == "mon_name") name = kv[2]
        else if (kv[1] == "priv") priv = kv[2]
        else if (kv[1] == "privileged") privileged = kv[2]
      }
      if (name in seen) { dup++; next }
      seen[name] = 1
      n = split(name, o, ".")
      i = (n == 4 && prefix !~ /\./) ? o[2] * 65536 + o[3] * 256 + o[4] : o[3] * 256 + o[4]
      want = ""
      for (b = 0; b < 16; b++) want = want sprintf("%02x", (i * 7 + b) % 256)
      if (priv == want && privileged == "1" && i < peers) good++; else bad++
    }
    END { printf "verified=%d wrong=%d duplicates=%d\n", good, bad, dup }' "$1"
}
count_called_back() {  # FILE: distinct peers with a state-7 callback
  awk '/^CALLBACK / && / state=7 / && match($0, / mon_name=[^ ]*/) {
         k = substr($0, RSTART, RLENGTH); if (!(k in s)) { s[k] = 1; c++ } }
       END { print c + 0 }' "$1"
}
callbacks() {  # NAME START_CMD
  local name=$1 start=$2
  fresh_state a
  rm -f "$work/lockd.ready" "$work/lockd.done"
  "$emu" --ready-file "$work/lockd.ready" --done-after "$peers" --done-file "$work/lockd.done" \
    >"$work/lockd.out" 2>/dev/null &
  local epid=$!
  for _ in $(seq 1 100); do [ -s "$work/lockd.ready" ] && break; sleep 0.05; done
  eval "exec $start" >"$work/$name.log" 2>&1 &
  local pid=$!
  wait_registered
  "$bench" --calls "$peers" --concurrency 64 --prefix "$prefix" >"$work/mon-$name.out"
  # nfsrecd mirrors the records into sm/ files off the loop, a little
  # later: let that finish, so that it does not compete with the storm.
  local waited=0
  while [ "$(find "$work/state/sm" -maxdepth 1 -type f | wc -l)" -lt "$peers" ] &&
    [ "$waited" -lt 1200 ]; do
    sleep 0.5; waited=$((waited + 1))
  done
  local rss
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
  local t0 t1 n perf_pid=
  if [ -n "${PERF_DATA:-}" ]; then  # a profile of the storm (perf record)
    perf record ${PERF_SAMPLING:--F 999} ${PERF_ARGS:-} -p "$pid" -o "$PERF_DATA.$name" >/dev/null 2>&1 &
    perf_pid=$!
    sleep 1
  fi
  # UDP datagrams dropped in this namespace for a full receive buffer
  # during the storm (the server's listener, lockd-emu, the UDP senders).
  local drops0
  drops0=$(udp_rcvbuf_errors)
  t0=$(now_ms)
  "$bench" --notify 7 --calls "$peers" --concurrency "$senders" --prefix "$prefix" \
    ${SHUFFLE:+--shuffle "$SHUFFLE"} $notify_udp >"$work/notify-$name.out" 2>&1 &
  local bpid=$!
  # Bounded: a server that has not delivered every callback after
  # CALLBACK_LIMIT_S seconds is reported with what it delivered by then.
  # lockd-emu writes the arrival time of its N-th accepted callback to
  # lockd.done; this loop only tests for that file (a shell builtin, one
  # sleep a round): polling the output with wc and date every 20 ms took
  # a fifth of this 2-core machine during the storm it measured.  Distinct
  # peers are counted once it is there (a duplicate could make it early:
  # then the time is taken when the distinct count gets there).
  # The senders exiting with an error (a refused argument, calls that
  # failed) ends the wait: some peers were never notified.
  local rounds=0 limit=$(( ${CALLBACK_LIMIT_S:-180} * 10 )) early=0 senders_rc=
  t1=
  while [ "$rounds" -lt "$limit" ]; do
    n=0
    if [ -z "$senders_rc" ] && ! kill -0 "$bpid" 2>/dev/null; then
      senders_rc=0; wait "$bpid" || senders_rc=$?
      if [ "$senders_rc" != 0 ] && [ ! -s "$work/lockd.done" ]; then
        echo "senders failed (exit $senders_rc): $(cat "$work/notify-$name.out")" >&2
        break
      fi
    fi
    if [ -s "$work/lockd.done" ]; then
      n=$(count_called_back "$work/lockd.out")
      if [ "$n" -ge "$peers" ]; then
        if [ "$early" = 0 ]; then t1=$(cat "$work/lockd.done"); else t1=$(now_ms); fi
        break
      fi
      early=1
    fi
    sleep 0.1; rounds=$((rounds + 1))
  done
  [ -n "$t1" ] || t1=$(now_ms)
  [ "$n" -ge "$peers" ] || n=$(count_called_back "$work/lockd.out")
  if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
  # The senders have had every answer by now (a callback follows its
  # SM_NOTIFY's commit), unless the server fell behind the limit.
  if [ -z "$senders_rc" ]; then
    for _ in $(seq 1 50); do kill -0 "$bpid" 2>/dev/null || break; sleep 0.1; done
    kill "$bpid" 2>/dev/null || true
    wait "$bpid" 2>/dev/null || true
  fi
  sleep 0.2
  echo "sm_mon server=$name $(cat "$work/mon-$name.out")"
  echo "sm_notify server=$name $(cat "$work/notify-$name.out")"
  echo "bench=callbacks server=$name peers=$peers senders=$senders proto=${NOTIFY_PROTO:-tcp} order=${SHUFFLE:+shuffled-}${SHUFFLE:-sequential} callbacks=$n ms=$((t1 - t0)) rss_kb=$rss" \
    "rcvbuf_drops=$(( $(udp_rcvbuf_errors) - drops0 ))" \
    "$(verify_callbacks "$work/lockd.out")"
  kill "$pid" "$epid"; wait "$pid" "$epid" 2>/dev/null || true
}
if [[ " $phases " == *" callbacks "* ]]; then
  for s in $servers; do
    case $s in
      nfsrecd) callbacks nfsrecd "'$nfsrecd' -F -P '$work/state' --pidfile '$work/pid' --proc-root '$work/root' --no-nfs4 -L" ;;
      rpc.statd) callbacks rpc.statd "rpc.statd -F --no-notify -P '$work/state'" ;;
    esac
  done
fi

# ---- rss: a daemon holding PEERS monitors ----
# The store is filled directly (the records nsm-bench's SM_MON leaves), the
# daemon started on it; VmRSS and VmHWM once it answers and has settled,
# with and without the sm/ mirror.
rss_phase() {
  fresh_state rss
  "$nfsrecd" -F -P "$work/state" --pidfile "$work/pid" --proc-root "$work/root" --no-nfs4 -L >/dev/null 2>&1 &
  local pid=$!; wait_registered; kill "$pid"; wait "$pid" || true
  awk -v n="$peers" -v prefix="$prefix" 'BEGIN {
    print "BEGIN;"
    for (i = 0; i < n; i++) {
      if (prefix ~ /\./) a = sprintf("%s.%d.%d", prefix, int(i / 256) % 256, i % 256)
      else a = sprintf("%s.%d.%d.%d", prefix, int(i / 65536) % 256, int(i / 256) % 256, i % 256)
      printf "INSERT INTO monitors (mon_name, my_name, my_prog, my_vers, my_proc, priv, canonical_name, peer_state, created, updated, lockd_state) VALUES (CAST(\x27%s\x27 AS BLOB), CAST(\x27server\x27 AS BLOB), 100021, 3, 16, randomblob(16), CAST(\x27%s\x27 AS BLOB), 0, 0, 0, 0);\n", a, a
    }
    print "COMMIT;" }' | sqlite3 "$work/state/nfsrecd/nfsrecd.sqlite"
  for mirror in "" --no-mirror-sm; do
    local t0 t1
    t0=$(now_ms)
    # -L: no boot notification (the records stay monitors, none is notified).
    "$nfsrecd" -F -P "$work/state" --pidfile "$work/pid" --proc-root "$work/root" --no-nfs4 -L $mirror >/dev/null 2>&1 &
    pid=$!; wait_registered; t1=$(now_ms)
    sleep "${RSS_SETTLE_S:-5}"
    echo "bench=rss server=nfsrecd monitors=$peers mirror=${mirror:-yes} answering_ms=$((t1 - t0))" \
      "$(awk '/^VmRSS|^VmHWM/ {printf "%s_kb=%s ", tolower(substr($1, 3, 3)), $2}' "/proc/$pid/status")"
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
}
[[ " $phases " == *" rss "* ]] && rss_phase

# ---- monlat: SM_MON latency with PEERS monitors already held ----
# PEERS monitors by SM_MON (64 at a time), then MONLAT_CALLS more (default
# 1000) one at a time, timed: their latency must not grow with PEERS.
monlat_phase() {
  fresh_state monlat
  "$nfsrecd" -F -P "$work/state" --pidfile "$work/pid" --proc-root "$work/root" --no-nfs4 -L >/dev/null 2>&1 &
  local pid=$!; wait_registered
  "$bench" --calls "$peers" --concurrency 64 --prefix "$prefix" >/dev/null
  echo "bench=monlat server=nfsrecd monitors=$peers" \
    "$("$bench" --calls "${MONLAT_CALLS:-1000}" --concurrency 1 --prefix 11.1)"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
[[ " $phases " == *" monlat "* ]] && monlat_phase
[[ " $phases " == *" boot "* ]] || exit 0

# ---- 2. Boot notification ----
dead=${DEAD:-$(( peers / 10 ))}
reachable=$(( peers - dead ))
# The peers' addresses (10.241/16) are routed through the peer namespace's
# veth address, not on the link: one neighbour entry instead of one per
# peer, since the kernel's ARP table (gc_thresh3, 1024 by default, shared by
# every namespace) would otherwise overflow and drop packets beyond ~1000
# peers.  Unreachable ones are routed there too and dropped (no forwarding).
addr() { echo "10.241.$(( 1 + $1 / 250 )).$(( 1 + $1 % 250 ))"; }
mkdir -p "$work/peer/sm" "$work/peer/sm.bak"
peer=${PEER:-responder}
responder=$build/bench/notify-peer
export work reachable peer responder
peer_netns_args=(--name peers --veth 10.240.0.1/16,10.240.0.2/16)
[ "$peer" = responder ] && peer_netns_args+=(--no-rpcbind)
# With the responder, a file peer.cut (holding a notifier's name) makes it
# restart with a fresh record, the old one kept as peer.NAME.out, so that
# each notifier is checked on its own SM_NOTIFYs.
"$top/tests/support/with-netns" "${peer_netns_args[@]}" -- bash -c '
  for i in $(seq 0 $((reachable - 1))); do
    echo "address add 10.241.$(( 1 + i / 250 )).$(( 1 + i % 250 ))/32 dev veth0"
  done | ip -batch -
  start_responder() {
    rm -f "$work/responder.ready" "$work/peer.done"
    "$responder" --ready-file "$work/responder.ready" --done-after "$reachable" \
      --done-file "$work/peer.done" >"$work/peer.out" 2>"$work/peer.err" &
    rpid=$!
    for _ in $(seq 1 100); do [ -s "$work/responder.ready" ] && break; sleep 0.05; done
  }
  if [ "$peer" = responder ]; then
    start_responder
  else
    rpc.statd -F --no-notify -P "$work/peer" >"$work/peer-statd.log" 2>&1 &
  fi
  touch "$work/peer.ready"
  while [ ! -e "$work/peer.stop" ]; do
    if [ -e "$work/peer.cut" ] && [ "$peer" = responder ]; then
      kill "$rpid"; wait "$rpid" || true
      mv "$work/peer.out" "$work/peer.$(cat "$work/peer.cut").out"
      start_responder
      rm -f "$work/peer.cut"
    fi
    sleep 0.05
  done
  if [ "$peer" = responder ]; then kill "$rpid"; wait "$rpid" || true; fi' &
for _ in $(seq 1 400); do [ -e "$work/peer.ready" ] && break; sleep 0.05; done
ip route add 10.241.0.0/16 via 10.240.0.2
sleep 1

list() {  # one address per line: reachable first, then the unreachable (DEAD_FIRST: reversed)
  if [ -n "${DEAD_FIRST:-}" ]; then list_dead; fi
  for i in $(seq 0 $((reachable - 1))); do addr "$i"; done
  if [ -z "${DEAD_FIRST:-}" ]; then list_dead; fi
}
list_dead() { for i in $(seq 0 $((dead - 1))); do echo "10.241.$((200 + i / 250)).$((1 + i % 250))"; done; }
# The responder's record of NAME's run, checked: every reachable peer (the
# addresses 10.241.1-199.x) got exactly one SM_NOTIFY, with mon_name MON
# and state STATE; printed as peer_notified= (peers with a right one),
# peer_wrong= (other name or state, or an address that is not a reachable
# peer), peer_duplicates= (more than one to a peer: a retransmission), and,
# from T0 (the notifier's start, ms), first_call_ms= (the first call to any
# peer) and last_notify_ms= (the last reachable peer's first SM_NOTIFY).
verify_peer() {  # NAME MON STATE T0
  [ "$peer" = responder ] || { echo "peer=statd"; return; }
  echo "$1" > "$work/peer.cut"
  for _ in $(seq 1 100); do [ -e "$work/peer.cut" ] || break; sleep 0.05; done
  awk -v mon="$2" -v state="$3" -v reachable="$reachable" -v t0="$4" '
    /^TOTAL / { split($5, f, "="); first = f[2] }
    /^NOTIFY / {
      split($2, p, "="); split($4, m, "="); split($5, s, "=")
      n = split(p[2], o, ".")
      if (n != 4 || o[1] != 10 || o[2] != 241 || o[3] >= 200 || m[2] != mon || s[2] != state) {
        bad++; next
      }
      if (p[2] in seen) { dup++; next }
      seen[p[2]] = 1; good++
      split($6, a, "="); if (a[2] > last) last = a[2]
    }
    END { printf "peer=responder peer_notified=%d peer_wrong=%d peer_duplicates=%d first_call_ms=%d last_notify_ms=%d%s\n",
          good, bad, dup, first - t0, last - t0, good == reachable && bad == 0 ? "" : " CHECK_FAILED" }' "$work/peer.$1.out"
}

# Waits until every reachable peer has been notified, at most BOOT_LIMIT_S
# from T0, and sets t1 (ms) and n (records still listed).  With the
# responder: until it writes peer.done (the arrival of the SM_NOTIFY that
# reached the last reachable peer), a shell test a round, so that nothing
# competes with the notifier for the CPU while it runs; then LISTED_CMD
# (the notifier's records left) is run until the answered ones are gone
# (the deletion follows the reply), its time printed as listed_ms.
# With PEER=statd, which writes no such file, LISTED_CMD every 50 ms.
wait_notified() {  # T0 LISTED_CMD
  local t0=$1 listed=$2 limit_ms=$(( ${BOOT_LIMIT_S:-900} * 1000 ))
  t1=
  if [ "$peer" = responder ]; then
    while [ $(( $(now_ms) - t0 )) -lt "$limit_ms" ]; do
      [ -s "$work/peer.done" ] && { t1=$(cat "$work/peer.done"); break; }
      sleep 0.05
    done
  fi
  while :; do
    n=$(eval "$listed")
    [ "$n" -le $((peers - reachable)) ] && break
    [ $(( $(now_ms) - t0 )) -ge "$limit_ms" ] && break
    if [ -n "$t1" ] && [ $(( $(now_ms) - t1 )) -ge 10000 ]; then break; fi
    sleep 0.05
  done
  listed_ms=$(( $(now_ms) - t0 ))
  [ -n "$t1" ] || t1=$(now_ms)
}
# BOOT_USER (e.g. statd): sm/ is that user's, so nfsrecd drops to it as in
# production (tests/system/190-privileges-dropped.sh).
boot_user_owns_state() {
  [ -n "${BOOT_USER:-}" ] || return 0
  chmod 755 "$work" "$work/state"
  chown "$BOOT_USER": "$work/state/sm" "$work/state/sm.bak"
  [ -d "$work/state/nfsrecd" ] && chown -R "$BOOT_USER": "$work/state/nfsrecd"
  return 0
}
# The daemon's uid and its SM_NOTIFY socket's receive buffer (the biggest of
# its UDP sockets' as ss -m reports them, halved: the kernel reports twice
# what it grants).
daemon_figures() {  # PID
  local rb
  rb=$(ss -uanmp 2>/dev/null | awk -v pid="pid=$1," '
    index($0, pid) { want = 1 }
    want && match($0, /rb[0-9]+/) { v = substr($0, RSTART + 2, RLENGTH - 2) + 0; if (v > max) max = v; want = 0 }
    END { print max / 2 }')
  echo "uid=$(awk '$1 == "Uid:" { print $2 }' "/proc/$1/status") notify_rcvbuf=$rb rmem_max=$(cat /proc/sys/net/core/rmem_max)"
}

# nfsrecd: the records are put into its monitor list, then it "reboots".
fresh_state before
boot_user_owns_state
"$nfsrecd" -F -P "$work/state" --pidfile "$work/pid" --proc-root "$work/root" --no-nfs4 -L >/dev/null 2>&1 &
pid=$!; wait_registered; kill "$pid"; wait "$pid" || true
{
  echo "BEGIN;"
  list | while read -r a; do
    echo "INSERT INTO monitors (mon_name, my_name, my_prog, my_vers, my_proc, priv, canonical_name, peer_state, created, updated, lockd_state) VALUES (CAST('$a' AS BLOB), CAST('server' AS BLOB), 100021, 3, 16, zeroblob(16), CAST('$a' AS BLOB), 0, 0, 0, 0);"
  done
  echo "COMMIT;"
} | sqlite3 "$work/state/nfsrecd/nfsrecd.sqlite"
boot_user_owns_state
echo "boot-after" > "$work/root/proc/sys/kernel/random/boot_id"
# The notifier's socket is the only busy one here.
drops0=$(udp_rcvbuf_errors)
load=$(cut -d' ' -f1 /proc/loadavg)
t0=$(now_ms)
"$nfsrecd" -F -P "$work/state" --pidfile "$work/pid" --proc-root "$work/root" --no-nfs4 >"$work/nfsrecd-boot.log" 2>&1 &
pid=$!
perf_pid=
if [ -n "${PERF_DATA:-}" ]; then
  perf record -F 999 ${PERF_ARGS:-} -p "$pid" -o "$PERF_DATA.boot" >/dev/null 2>&1 &
  perf_pid=$!
fi
wait_notified "$t0" "sqlite3 '$work/state/nfsrecd/nfsrecd.sqlite' 'SELECT (SELECT count(*) FROM monitors) + (SELECT count(*) FROM notify_list);' 2>/dev/null || echo $peers"
figures=$(daemon_figures "$pid")
if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
kill "$pid"; wait "$pid" 2>/dev/null || true
state=$(sqlite3 "$work/state/nfsrecd/nfsrecd.sqlite" "SELECT local_state FROM nsm_state;")
echo "bench=boot server=nfsrecd peers=$peers reachable=$reachable left=$n ms=$((t1 - t0))" \
  "listed_ms=$listed_ms load=$load $figures" \
  "rcvbuf_drops=$(( $(udp_rcvbuf_errors) - drops0 ))" "$(verify_peer nfsrecd server "$state" "$t0")"
[[ " ${BOOT_SERVERS:-nfsrecd sm-notify} " == *" sm-notify "* ]] || exit 0

# Debian's sm-notify: one sm/ file per peer, in nfs-utils' record format.
fresh_state smn
list | while read -r a; do
  printf '0100007f 000186b5 00000003 00000010 %032x %s server\n' 0 "$a" > "$work/state/sm/$a"
done
load=$(cut -d' ' -f1 /proc/loadavg)
t0=$(now_ms)
drops0=$(udp_rcvbuf_errors)
sm-notify -d -P "$work/state" >"$work/sm-notify.log" 2>&1 &
pid=$!
wait_notified "$t0" "find '$work/state/sm.bak' '$work/state/sm' -type f | wc -l"
kill "$pid"; wait "$pid" 2>/dev/null || true
# sm-notify announces each record's my_name ("server"), as nfsrecd does.
state=$(od -An -td4 "$work/state/state" | tr -d ' ')
echo "bench=boot server=sm-notify peers=$peers reachable=$reachable left=$n ms=$((t1 - t0))" \
  "listed_ms=$listed_ms load=$load" \
  "rcvbuf_drops=$(( $(udp_rcvbuf_errors) - drops0 ))" \
  "$(verify_peer sm-notify server "$state" "$t0")"
