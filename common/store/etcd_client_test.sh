#!/bin/bash
# Runs etcd_client_test against real etcd members started by
# tests/support/etcd-cluster: inside a private network namespace
# (tests/support/with-netns) when root, so the members' ports are the
# test's alone; else on the host's loopback with free ports.
# SKIP (77) when etcd or etcdctl is missing.
set -u
src=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${top_builddir:-.}
for t in etcd:etcd-server etcdctl:etcd-client; do
  command -v "${t%%:*}" >/dev/null 2>&1 || {
    echo "SKIP: '${t%%:*}' is not installed (Debian package ${t#*:}; scripts/deps installs it)"
    exit 77
  }
done
export ETCD_CLUSTER=$src/tests/support/etcd-cluster
bin=$build/common/store/etcd_client_test
if [[ $(id -u) -eq 0 ]]; then
  exec "$src/tests/support/with-netns" --no-rpcbind -- "$bin" "$@"
fi
exec "$bin" "$@"
