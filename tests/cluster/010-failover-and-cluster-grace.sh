#!/bin/bash
# Cluster mode on etcd (docs/cluster.md), with nodes in network namespaces
# and the FUSE kernel emulator for nfsd (tests/cluster/lib.sh):
#  1. Instances i1 (node 1) and i2 (node 2) record their NFSv4 clients in
#     etcd; an instance with nobody to wait for ends grace at once, through
#     v4_end_grace (its kernel never ends it by itself: the hold record).
#  2. Node 1 dies.  i1 is started on node 3 (a failover): it waits until
#     node 1's lease has expired, then its nfsd's GraceStart receives exactly
#     i1's clients, none of i2's.
#  3. Cluster grace: i2's nfsd restarts meanwhile and its only client
#     reclaims at once, but i2 stays in grace while i1 still needs it;
#     every i1 client's RECLAIM_COMPLETE ends i1's need, the cluster grace is
#     lifted and both end grace by v4_end_grace, within a second.
#  4. A node dying during grace: i1 needs grace again (restarted with its
#     clients missing), node 3 is killed; i2 ends its grace only after
#     i1's lease (2 s) has expired, not before.
. "$(dirname "$0")/lib.sh"

etcd_up 3
node_up 1
node_up 2
emu_up 1
emu_up 2
daemon_up 1 i1
daemon_up 2 i2

# 1. Fresh instances: only the hold record is uploaded.
expect_eq "i1's first nfsd start" "booted version=2 uploaded=1 skipped=0" "$(emu 1 start)"
A=$(hex "Linux NFSv4.2 client-a") B=$(hex "Linux NFSv4.1 client-b") C=$(hex "client-c")
D=$(hex "Linux NFSv4.2 client-d")
for id in $A $B $C; do expect_eq "Create on i1" "ok 0" "$(emu 1 create "$id")"; done
expect_eq "i2's first nfsd start" "booted version=2 uploaded=1 skipped=0" "$(emu 2 start)"
expect_eq "Create on i2" "ok 0" "$(emu 2 create "$D")"
# grace_of K: "in=0|1 end=HOW" of node K's nfsd.
grace_of() { emu "$1" grace | sed 's/^grace \(in=[01] end=[a-z-]*\).*/\1/'; }
wait_grace_end() {  # K WHAT: waits (10 s at most) until node K's nfsd is out of grace
  local i g=
  for i in $(seq 1 200); do
    g=$(grace_of "$1")
    case $g in *in=0*) break ;; esac
    sleep 0.05
  done
  expect_eq "$2" "in=0 end=proc-write" "$g"
}
wait_grace_end 1 "i1 with nobody to wait for ends grace through v4_end_grace"
wait_grace_end 2 "i2 with nobody to wait for ends grace through v4_end_grace"

# 2. Failover of i1 to node 3.
node_kill 1
node_up 3
emu_up 3
t0=$(date +%s%N)
daemon_up 3 i1
grep -q "waiting" "$T/n3/daemon.log" ||
  echo "note: node 1's lease had expired before i1 was started again"
expect_eq "i1's nfsd on node 3" "booted version=2 uploaded=4 skipped=0" "$(emu 3 start)"
expect_eq "exactly i1's clients are offered" "$(printf '%s\n' $A $B $C | sort)" "$(emu_table 3)"
expect_eq "i2's client is not i1's" "reclaim-bad" "$(emu 3 reclaim "$D")"

# 3. i2 restarts while i1 recovers: it joins the cluster grace.
emu 2 stop >/dev/null
expect_eq "i2's nfsd restarts" "booted version=2 uploaded=2 skipped=0" "$(emu 2 start)"
expect_eq "D reclaims on i2" "ok" "$(emu 2 reclaim "$D")"
expect_eq "D completes on i2" "ok 0" "$(emu 2 complete "$D")"
sleep 0.5
expect_eq "i2 stays in grace while i1 needs it" "in=1 end=none" "$(grace_of 2)"
ctl 3 cluster status --json >"$T/status.json" || fail "nfsrecctl cluster status"
python3 - "$T/status.json" <<'PY' || fail "cluster status during grace: $(cat "$T/status.json")"
import json, sys
s = json.load(open(sys.argv[1]))
inst = {i["name"]: i for i in s["instances"]}
assert s["grace"]["recovery"] != 0, s["grace"]
assert inst["i1"]["flags"]["need"] is True, inst["i1"]
assert inst["i2"]["flags"]["need"] is False, inst["i2"]
assert inst["i1"]["owner"]["node"] == "node3", inst["i1"]
PY
for id in $A $B; do
  expect_eq "reclaim on i1" "ok" "$(emu 3 reclaim "$id")"
  expect_eq "RECLAIM_COMPLETE on i1" "ok 0" "$(emu 3 complete "$id")"
done
expect_eq "i1 still in grace with C missing" "in=1 end=none" "$(grace_of 3)"
expect_eq "C reclaims" "ok" "$(emu 3 reclaim "$C")"
t1=$(date +%s%N)
expect_eq "C's RECLAIM_COMPLETE" "ok 0" "$(emu 3 complete "$C")"
wait_grace_end 3 "i1's grace ends once its last client completed"
wait_grace_end 2 "i2's grace ends with the cluster grace"
t2=$(date +%s%N)
echo "last RECLAIM_COMPLETE -> both instances out of grace: $(((t2 - t1) / 1000000)) ms"
[ $(((t2 - t1) / 1000000)) -lt 2000 ] || fail "the cluster grace took over 2 s to end"

# 4. i1 needs grace again and its node dies: i2 waits for i1's lease only.
emu 3 stop >/dev/null
expect_eq "i1's nfsd restarts" "booted version=2 uploaded=4 skipped=0" "$(emu 3 start)"
emu 2 stop >/dev/null
expect_eq "i2's nfsd restarts" "booted version=2 uploaded=2 skipped=0" "$(emu 2 start)"
expect_eq "D completes on i2" "ok 0" "$(emu 2 complete "$D")"
sleep 0.3
node_kill 3
t3=$(date +%s%N)
sleep 1
expect_eq "i2 still in grace 1 s after i1's node died (lease 2 s)" \
  "in=1 end=none" "$(grace_of 2)"
wait_grace_end 2 "i2 ends grace once i1's lease expired"
t4=$(date +%s%N)
echo "node with a need killed -> the other instance out of grace: $(((t4 - t3) / 1000000)) ms"
[ $(((t4 - t3) / 1000000)) -lt 6000 ] || fail "the dead node held the cluster in grace too long"
grep -q "lifted" "$T/n2/daemon.log" || fail "no log line says the cluster grace was lifted"
finish
