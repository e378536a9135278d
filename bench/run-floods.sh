#!/bin/bash
# Resource use of nfsrecd under hostile load, for docs/RESOURCE_BOUNDS.md.
#
#   bench/run-floods.sh [BUILD_DIR]
#
# Runs in a private network namespace with its own rpcbind
# (tests/support/with-netns).  For each row a fresh daemon starts on a fresh
# state directory; the row's flood runs (bench/nsm-flood, which also probes
# SM_MON/SM_UNMON over loopback TCP during or after the flood and checks
# every reply); then the daemon's VmRSS, VmHWM (peak) and CPU seconds
# (utime+stime from /proc/PID/stat) are read.  "Remote" connections come
# from 10.99.0.2-71 to 10.99.0.1, addresses added to the namespace's
# loopback interface, so the daemon sees a non-loopback peer.  Prints a Markdown
# table; exit status 1 if a probe failed or the daemon died.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
export PATH="$PATH:/usr/sbin:/sbin"
make -C "$build" -s bench/nsm-flood nfsrecd >/dev/null

if [ -z "${WITH_NETNS_NAME:-}" ]; then
  exec "$top/tests/support/with-netns" -- "$0" "$build"
fi

ip addr add 10.99.0.1/24 dev lo
for i in $(seq 2 71); do ip addr add "10.99.0.$i/24" dev lo; done

work=$(mktemp -d /var/tmp/nfsrec-floods.XXXXXX)
DPID=
cleanup() {
  [ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
flood=$build/bench/nsm-flood
hz=$(getconf CLK_TCK)
status=0

# start_daemon EXTRA_ARGS...: a fresh state directory and fake /proc.
start_daemon() {
  rm -rf "$work/run"
  mkdir -p "$work/run/state" "$work/run/root/proc/sys/fs/nfs" "$work/run/root/proc/fs/lockd" \
    "$work/run/root/proc/sys/kernel/random" "$work/run/pipefs"
  : >"$work/run/root/proc/sys/fs/nfs/nsm_local_state"
  : >"$work/run/root/proc/fs/lockd/nlm_end_grace"
  echo "11111111-2222-3333-4444-555555555555" >"$work/run/root/proc/sys/kernel/random/boot_id"
  printf '[general]\npipefs-directory = %s\n' "$work/run/pipefs" >"$work/run/nfs.conf"
  "$build/nfsrecd" -F -P "$work/run/state" --pidfile "$work/run/pid" \
    --proc-root "$work/run/root" --config "$work/run/nfs.conf" "$@" >"$work/run/daemon.log" 2>&1 &
  DPID=$!
  for _ in $(seq 1 200); do
    rpcinfo -T tcp 127.0.0.1 100024 1 >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "daemon did not come up" >&2
  cat "$work/run/daemon.log" >&2
  exit 1
}

stop_daemon() {
  kill -TERM "$DPID" 2>/dev/null || true
  wait "$DPID" 2>/dev/null || true
  DPID=
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$DPID/stat"; }
kb() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$DPID/status"; }

# row LABEL SECONDS_IDLE_AFTER FLOOD_ARGS...: one table row.
row() {
  local label=$1 settle=$2
  shift 2
  sleep 1
  local rss0 t0 t1 t2 out rc=0
  rss0=$(kb VmRSS)
  t0=$(cpu_ticks)
  if [ $# -gt 0 ]; then
    out=$(ulimit -n 16384; "$flood" "$@" 2>&1) || rc=$?
  else
    out="idle"
  fi
  t1=$(cpu_ticks)
  local rss_during
  rss_during=$(kb VmRSS)
  sleep "$settle"
  if ! kill -0 "$DPID" 2>/dev/null; then
    echo "daemon died during: $label" >&2
    status=1
    return
  fi
  t2=$(cpu_ticks)
  [ "$rc" = 0 ] || status=1
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$rss0" "$rss_during" \
    "$(kb VmRSS)" "$(kb VmHWM)" "$(awk -v a="$t0" -v b="$t1" -v h="$hz" 'BEGIN{printf "%.2f", (b-a)/h}')" \
    "$(awk -v a="$t1" -v b="$t2" -v h="$hz" -v s="$settle" 'BEGIN{printf "%.3f", (b-a)/h/s}')" "$out"
}

echo "| flood | RSS before (KB) | RSS after flood (KB) | RSS settled (KB) | peak RSS (KB) | CPU s during | CPU s/s after | driver output |"
echo "|---|---|---|---|---|---|---|---|"

start_daemon --no-nfs4
row "idle, NFSv4 tracking off" 10
stop_daemon

start_daemon
row "idle, NFSv4 on, no nfsd (rpc_pipefs without nfsd/cld)" 10
stop_daemon

start_daemon
mkdir -p "$work/run/pipefs/nfsd"
mkfifo "$work/run/pipefs/nfsd/cld"
row "idle, NFSv4 on, cld pipe present (a FIFO standing in)" 10
stop_daemon

start_daemon --no-nfs4
row "1,100 idle TCP connections from one remote address" 2 \
  tcp-idle --conns 1100 --source 10.99.0.2 --target 10.99.0.1 --hold-ms 5000
stop_daemon

start_daemon --no-nfs4
row "1,100 idle TCP connections from 70 remote addresses" 2 \
  tcp-idle --conns 1100 --source 10.99.0.2 --sources 70 --target 10.99.0.1 --hold-ms 5000
stop_daemon

start_daemon --no-nfs4
row "1,100 TCP connections from 70 addresses, each holding 64,999 bytes of a record" 2 \
  tcp-slow --conns 1100 --source 10.99.0.2 --sources 70 --target 10.99.0.1 --hold-ms 5000
stop_daemon

start_daemon --no-nfs4
row "200 TCP connections sending 64 KiB of a 16 MiB record" 2 \
  tcp-big --conns 200 --source 10.99.0.2 --target 10.99.0.1 --hold-ms 2000
stop_daemon

start_daemon --no-nfs4
row "20,000 SM_NOTIFY from unknown names" 2 notify-unknown --calls 20000
stop_daemon

start_daemon --no-nfs4
row "5,000 SM_MON + SM_UNMON of distinct unresolvable names" 2 mon-names --calls 5000
stop_daemon

start_daemon --no-nfs4
row "60,000 SM_NOTIFY for one monitored peer, lockd absent" 5 \
  notify-one --calls 60000 --name 10.98.0.1
stop_daemon

cat >"$work/callout" <<'EOF'
#!/bin/sh
sleep 0.2
EOF
chmod +x "$work/callout"
start_daemon --no-nfs4 -H "$work/callout"
row "20,000 SM_NOTIFY from unknown names, HA callout taking 0.2 s" 2 \
  notify-unknown --calls 20000
stop_daemon

exit $status
