#!/bin/bash
# VmRSS of nfsrecd under two SM_NOTIFY floods, in a private network namespace
# with its own rpcbind and no lockd:
#   1. one monitored peer, N1 SM_NOTIFY for it with rising states (each one
#      owes lockd a callback that nobody answers);
#   2. N2 SM_NOTIFY naming hosts nobody monitors.
# Prints VmRSS (kB) after start, after the monitor, after each flood (and 60 s
# after the first), and the lockd-callback rounds the daemon logged (each
# round asks rpcbind for lockd's port).
#
#   bench/run-notify-flood.sh [BUILD_DIR] [N1=60000] [N2=20000]
#   NFSRECD=/path/to/other/nfsrecd bench/run-notify-flood.sh ...   # compare a build
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
n1=${2:-60000}
n2=${3:-20000}
export PATH="$PATH:/usr/sbin:/sbin"
make -C "$build" -s bench/nsm-bench nfsrecd >/dev/null
daemon=${NFSRECD:-$build/nfsrecd}

if [ -z "${WITH_NETNS_NAME:-}" ]; then
  exec env NFSRECD="$daemon" "$top/tests/support/with-netns" -- "$0" "$build" "$n1" "$n2"
fi

work=$(mktemp -d /var/tmp/notify-flood.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
bench=$build/bench/nsm-bench
mkdir -p "$work/state" "$work/root/proc/sys/kernel/random"
echo boot-a > "$work/root/proc/sys/kernel/random/boot_id"
: > "$work/nfs.conf"
"$daemon" -F -d -P "$work/state" --pidfile "$work/pid" --proc-root "$work/root" --no-nfs4 -L \
  --config "$work/nfs.conf" >"$work/daemon.log" 2>&1 &
pid=$!
for _ in $(seq 1 200); do rpcinfo -T udp 127.0.0.1 100024 1 >/dev/null 2>&1 && break; sleep 0.05; done
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
rounds() { grep -c 'Callback for 10.77.0.0 failed' "$work/daemon.log" || true; }
echo "rss_kb_start=$(rss)"
"$bench" --calls 1 --concurrency 1 --prefix 10.77 >/dev/null   # SM_MON of 10.77.0.0
echo "rss_kb_monitoring_one=$(rss)"
t0=$(date +%s)
"$bench" --notify 3 --rising --calls "$n1" --concurrency 1 --prefix 10.77
t1=$(date +%s)
r1=$(rounds)
echo "rss_kb_after_${n1}_rising_notifies=$(rss) seconds=$((t1 - t0)) callback_rounds_logged=$r1"
sleep 60
r2=$(rounds)
echo "rss_kb_60s_later=$(rss) callback_rounds_in_those_60s=$((r2 - r1))"
"$bench" --notify 7 --calls "$n2" --concurrency 8 --prefix 10.99
echo "rss_kb_after_${n2}_unknown_notifies=$(rss)"
echo "log_lines_unmatched=$(grep -c 'matches no monitored host' "$work/daemon.log" || true)"
