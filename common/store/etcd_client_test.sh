#!/bin/sh
# etcd_client_test against real etcd members (tests/support/with-etcd).
exec "${top_srcdir:-$(dirname "$0")/../..}/tests/support/with-etcd" common/store/etcd_client_test "$@"
