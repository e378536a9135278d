#!/bin/sh
# cluster_etcd_test against real etcd members (tests/support/with-etcd).
exec "${top_srcdir:-$(dirname "$0")/../..}/tests/support/with-etcd" cluster/cluster_etcd_test "$@"
