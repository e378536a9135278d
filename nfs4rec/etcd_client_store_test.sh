#!/bin/sh
# etcd_client_store_test against real etcd members (tests/support/with-etcd).
exec "${top_srcdir:-$(dirname "$0")/../..}/tests/support/with-etcd" nfs4rec/etcd_client_store_test "$@"
