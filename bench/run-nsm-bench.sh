#!/bin/bash
# Durable SM_MON/s of nfsrecd beside Debian's rpc.statd, in one run, on the
# same machine, each in the same private network namespace with its own
# rpcbind (tests/support/with-netns), driven by the same client
# (bench/nsm-bench) over TCP with kernel-lockd arguments.
#
#   bench/run-nsm-bench.sh [BUILD_DIR] [CALLS]
#
# Both servers get a fresh state directory on the same filesystem (/var/tmp,
# so fsync cost is that of the real disk).  rpc.statd writes each record
# with O_SYNC files; nfsrecd group-commits into SQLite (WAL,
# synchronous=FULL).  Every reply is verified by nsm-bench; the records on
# disk are counted afterwards.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
calls=${2:-2000}
export PATH="$PATH:/usr/sbin:/sbin"
make -C "$build" -s bench/nsm-bench nfsrecd >/dev/null

if [ -z "${WITH_NETNS_NAME:-}" ]; then
  exec "$top/tests/support/with-netns" -- "$0" "$build" "$calls"
fi

work=$(mktemp -d /var/tmp/nsm-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
bench=$build/bench/nsm-bench

wait_registered() {
  for _ in $(seq 1 100); do
    rpcinfo -T tcp 127.0.0.1 100024 1 >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "server did not register" >&2
  return 1
}

run_server() {  # NAME START_CMD COUNT_CMD
  local name=$1 start=$2 count=$3
  for conc in 1 8; do
    rm -rf "$work/state"; mkdir -p "$work/state/sm" "$work/state/sm.bak" "$work/root/proc/sys/kernel/random"
    echo "bench-boot" > "$work/root/proc/sys/kernel/random/boot_id"
    eval "exec $start" >"$work/$name.log" 2>&1 &
    local pid=$!
    wait_registered
    local out
    out=$("$bench" --calls "$calls" --concurrency "$conc" --prefix "10.$((70 + conc))")
    local stored
    stored=$(eval "$count")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    echo "server=$name $out stored=$stored"
  done
}

run_server nfsrecd \
  "'$build/nfsrecd' -F -P '$work/state' --pidfile '$work/pid' --proc-root '$work/root' --no-nfs4 -L" \
  "sqlite3 '$work/state/nfsrecd/nfsrecd.sqlite' 'SELECT count(*) FROM monitors;'"
run_server rpc.statd \
  "rpc.statd -F --no-notify -P '$work/state'" \
  "cat '$work/state'/sm/* | wc -l"
