#!/bin/sh
# etcd_batcher_test against real etcd members (tests/support/with-etcd).
exec "${top_srcdir:-$(dirname "$0")/../..}/tests/support/with-etcd" common/store/etcd_batcher_test "$@"
