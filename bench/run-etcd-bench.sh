#!/bin/bash
# Runs bench/etcd_bench against one etcd member whose data directory is on
# the same disk as the SQLite databases (both under DIR).
#
#   bench/run-etcd-bench.sh [DIR] [etcd_bench options...]
#
# DIR defaults to $TMPDIR or /tmp.  Run from the build directory after
# `make bench/etcd_bench`.  The member listens on a free loopback port and
# is removed afterwards.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-${TMPDIR:-/tmp}}
shift || true
work=$(mktemp -d "$dir/etcd-bench.XXXXXX")
trap '"$src/tests/support/etcd-cluster" cleanup "$work/etcd" >/dev/null 2>&1; rm -rf "$work"' EXIT
endpoints=$("$src/tests/support/etcd-cluster" start "$work/etcd" --members 1)
df -h "$work" | tail -1 | awk '{print "disk: " $1 " mounted on " $6}'
./bench/etcd_bench --endpoints "$endpoints" --dir "$work" "$@"
