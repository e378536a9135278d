#!/bin/bash
# The story scripts/cluster-demo tells (see there); the commands it runs
# are printed before their output.
. "$(dirname "$0")/lib.sh"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() {
  printf '$ nfsrecctl %s\n' "$*"
  ctl "$SHOW_NODE" "$@" || true
}
hex_name() { hex "$1"; }

say "etcd: 3 members on the hub namespace"
etcd_up 3
echo "endpoints (from node 1): $(endpoints 1)"
say "nodes 1 and 2 serve instances i1 and i2"
node_up 1
node_up 2
emu_up 1
emu_up 2
daemon_up 1 i1
daemon_up 2 i2
echo "nfsd of i1: $(emu 1 start)"
echo "nfsd of i2: $(emu 2 start)"
for c in alpha beta gamma; do echo "i1: Create $c: $(emu 1 create "$(hex_name "client-$c")")"; done
echo "i2: Create delta: $(emu 2 create "$(hex_name "client-delta")")"
SHOW_NODE=1
show cluster status
show cluster instances

say "node 1 dies; i1 is started on node 3 (its lease of 2 s must expire first)"
node_kill 1
node_up 3
emu_up 3
daemon_up 3 i1
SHOW_NODE=3
echo "nfsd of i1 on node 3: $(emu 3 start)"
echo "clients offered to it: $(emu_table 3 | tr '\n' ' ')"
show cluster grace
say "the clients reclaim; the cluster grace ends with the last one"
for c in alpha beta gamma; do
  id=$(hex_name "client-$c")
  echo "$c: reclaim $(emu 3 reclaim "$id"), RECLAIM_COMPLETE $(emu 3 complete "$id")"
done
sleep 0.5
echo "i1's nfsd: $(emu 3 grace)"
show cluster grace
show cluster status --json
say "done: everything goes with the namespaces"
finish
