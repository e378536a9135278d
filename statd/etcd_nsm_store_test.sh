#!/bin/sh
# etcd_nsm_store_test against real etcd members (tests/support/with-etcd).
exec "${top_srcdir:-$(dirname "$0")/../..}/tests/support/with-etcd" statd/etcd_nsm_store_test "$@"
