#!/bin/bash
# Runs bench/nsm_store_bench against a 1-member and a 3-member etcd cluster
# whose data directories are on the same disk as the SQLite database (all
# under DIR).
#
#   bench/run-nsm-store-bench.sh [DIR] [nsm_store_bench options...]
#
# DIR defaults to $TMPDIR or /tmp.  Run from the build directory after
# `make bench/nsm_store_bench`.  The members listen on free loopback ports
# and are removed afterwards.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-${TMPDIR:-/tmp}}
shift || true
work=$(mktemp -d "$dir/nsm-store-bench.XXXXXX")
cleanup() {
  "$src/tests/support/etcd-cluster" cleanup "$work/e1" >/dev/null 2>&1 || true
  "$src/tests/support/etcd-cluster" cleanup "$work/e3" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
e1=$("$src/tests/support/etcd-cluster" start "$work/e1" --members 1)
e3=$("$src/tests/support/etcd-cluster" start "$work/e3" --members 3)
df -h "$work" | tail -1 | awk '{print "disk: " $1 " mounted on " $6}'
./bench/nsm_store_bench --etcd "etcd-1=$e1" --etcd "etcd-3=$e3" --dir "$work" "$@"
