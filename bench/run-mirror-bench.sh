#!/bin/bash
# The cost of keeping rpc.statd's files current (statd/sm_mirror.h):
# durable SM_MON throughput and latency of nfsrecd with the mirror (the
# default) and without it (--no-mirror-sm), at concurrency 1, 8 and 64, in
# one run, interleaved, each on a fresh state directory in /var/tmp (the
# real disk), in a private network namespace with its own rpcbind.
#
#   bench/run-mirror-bench.sh [BUILD_DIR] [CALLS] [ROUNDS] [CONCURRENCIES]
#
# CONCURRENCIES defaults to "1 8 64".
# Every reply is verified by nsm-bench; after each run the daemon is
# stopped (SIGTERM: the mirror's last job is flushed) and the records are
# counted in the database and, with the mirror, in sm/ (one file per peer).
# Bounded: CALLS (default 2000) per run, each run killed after 120 s.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
calls=${2:-2000}
rounds=${3:-1}
concurrencies=${4:-1 8 64}
export PATH="$PATH:/usr/sbin:/sbin"
make -C "$build" -s bench/nsm-bench nfsrecd >/dev/null

if [ -z "${WITH_NETNS_NAME:-}" ]; then
  exec "$top/tests/support/with-netns" -- "$0" "$build" "$calls" "$rounds" "$concurrencies"
fi

work=$(mktemp -d /var/tmp/mirror-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
bench=$build/bench/nsm-bench

run() {  # MODE CONCURRENCY
  local mode=$1 conc=$2 extra=""
  [ "$mode" = off ] && extra=--no-mirror-sm
  rm -rf "$work/state"
  mkdir -p "$work/state/sm" "$work/state/sm.bak" "$work/root/proc/sys/kernel/random"
  echo "bench-boot" > "$work/root/proc/sys/kernel/random/boot_id"
  : > "$work/nfs.conf"
  "$build/nfsrecd" -F -P "$work/state" --pidfile "$work/pid" --proc-root "$work/root" --no-nfs4 -L \
    --config "$work/nfs.conf" $extra >"$work/daemon.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do rpcinfo -T tcp 127.0.0.1 100024 1 >/dev/null 2>&1 && break; sleep 0.05; done
  local out
  out=$(timeout 120 "$bench" --calls "$calls" --concurrency "$conc" --prefix "10.$((70 + conc))")
  kill -TERM "$pid"; wait "$pid" || true
  local rows files
  rows=$(sqlite3 "$work/state/nfsrecd/nfsrecd.sqlite" 'SELECT count(*) FROM monitors;')
  files=$(ls "$work/state/sm" | wc -l)
  echo "mirror=$mode $out stored=$rows sm_files=$files"
}

# The order alternates between rounds, so that neither mode always runs
# on a disk still busy with the other's writes.
for round in $(seq 1 "$rounds"); do
  for conc in $concurrencies; do
    if [ $((round % 2)) = 1 ]; then
      run on "$conc"; run off "$conc"
    else
      run off "$conc"; run on "$conc"
    fi
  done
done
