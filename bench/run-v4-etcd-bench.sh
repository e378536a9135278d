#!/bin/bash
# Runs bench/v4-etcd-bench: EtcdClientStore on a 1-member and a 3-member
# loopback etcd beside SqliteClientStore, every data directory and database
# on DIR's disk.
#
#   bench/run-v4-etcd-bench.sh [DIR] [v4-etcd-bench options...]
#
# DIR defaults to $TMPDIR or /tmp.  Run from the build directory after
# `make bench/v4-etcd-bench`.  The members listen on free loopback ports and
# are removed afterwards.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-${TMPDIR:-/tmp}}
shift || true
work=$(mktemp -d "$dir/v4-etcd-bench.XXXXXX")
cluster=$src/tests/support/etcd-cluster
trap '"$cluster" cleanup "$work/e1" >/dev/null 2>&1; "$cluster" cleanup "$work/e3" >/dev/null 2>&1; rm -rf "$work"' EXIT
one=$("$cluster" start "$work/e1" --members 1)
three=$("$cluster" start "$work/e3" --members 3)
df -h "$work" | tail -1 | awk '{print "disk: " $1 " mounted on " $6}'
echo "etcd $(etcd --version | sed -n 's/^etcd Version: //p'), default limits (--max-txn-ops 128, --max-request-bytes 1.5 MiB)"
./bench/v4-etcd-bench --etcd1 "$one" --etcd3 "$three" --dir "$work" "$@"
