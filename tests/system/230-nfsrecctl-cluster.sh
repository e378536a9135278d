#!/bin/bash
# nfsrecctl cluster against a real 3-member etcd (tests/support/etcd-cluster)
# holding a cluster's keys as two nodes' daemons would leave them (written
# with etcdctl, the owner and flag keys bound to each node's lease):
# status/instances/grace in text and --json, lift of a named instance,
# remove-node (its lease revoked, the grace lifted), the endpoints and
# cluster name from nfs.conf, usage errors (exit 2), an unknown instance or
# node (exit 1) and an unreachable etcd (exit 1, one line).  Every --json
# document is checked against its schema in docs/schema/.
. "$(dirname "$0")/lib.sh"
command -v etcd >/dev/null || skip "etcd is not installed (etcd-server)"
command -v etcdctl >/dev/null || skip "etcdctl is not installed (etcd-client)"
command -v python3 >/dev/null || skip "python3 is not installed"
python3 -c 'import jsonschema' 2>/dev/null || skip "python3-jsonschema is not installed"
NFSRECCTL=$top_builddir/nfsrecctl
ETCD_CLUSTER=$top_srcdir/tests/support/etcd-cluster

trap '"$ETCD_CLUSTER" cleanup "$T/etcd" >/dev/null 2>&1; cleanup' EXIT
EP=$("$ETCD_CLUSTER" start "$T/etcd" --members 3) || { fail "etcd did not start"; finish; }
export ETCDCTL_API=3
ectl() { etcdctl --endpoints "$EP" "$@"; }
ctl() { "$NFSRECCTL" --config "$CONF" cluster "$@" --etcd-endpoints "$EP" --cluster c1; }
# json_ok SCHEMA FILE: FILE validates against docs/schema/SCHEMA.json.
json_ok() {
  python3 - "$top_srcdir/docs/schema/$1.json" "$2" <<'PY' || fail "$2 does not match $1.json"
import json, sys, jsonschema
jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1])))
PY
}
P=/nfsrec/c1

out=$(ctl status)
expect_eq "status of an empty cluster" "cluster c1: no cluster grace (current epoch 1)" \
  "$(echo "$out" | head -1)"

# Node n1 serves i1 (still reclaiming), node n2 serves i2 (done).
L1=$(ectl lease grant 60 | awk '{print $2}')
L2=$(ectl lease grant 60 | awk '{print $2}')
ectl put --lease="$L1" $P/instances/i1/owner \
  '{"node":"n1","pid":101,"since":1764500000,"addresses":["192.0.2.1"]}' >/dev/null
ectl put $P/instances/i1/params '{"scope":"s1","lease_time":90,"grace_time":90}' >/dev/null
ectl put $P/instances/i1/v4/some-record x >/dev/null
ectl put --lease="$L1" $P/flags/i1 '{"need":true,"enforcing":true,"node":"n1"}' >/dev/null
ectl put --lease="$L2" $P/instances/i2/owner \
  '{"node":"n2","pid":202,"since":1764500100,"addresses":["192.0.2.2","2001:db8::2"]}' >/dev/null
ectl put --lease="$L2" $P/flags/i2 '{"need":false,"enforcing":true,"node":"n2"}' >/dev/null
ectl put $P/grace '{"current":2,"recovery":1}' >/dev/null

ctl status >"$T/status.txt"
expect_eq "status exit" 0 "$?"
expect_eq "grace line" "cluster c1: cluster grace 2 running (recovery epoch 1), waiting for i1" \
  "$(head -1 "$T/status.txt")"
expect_eq "i1 row" "i1 n1 101 2025-11-30T10:53:20Z yes yes 90/90 192.0.2.1" \
  "$(grep '^i1 ' "$T/status.txt" | tr -s ' ')"
expect_eq "i2 row" "i2 n2 202 2025-11-30T10:55:00Z no yes - 192.0.2.2,2001:db8::2" \
  "$(grep '^i2 ' "$T/status.txt" | tr -s ' ')"
expect_eq "columns aligned" 1 \
  "$(grep -E '^(INSTANCE|i1|i2) ' "$T/status.txt" | awk '{print index($0, $2)}' | sort -u | wc -l)"
expect_eq "nodes line" "nodes: n1 (i1); n2 (i2)" "$(tail -1 "$T/status.txt")"
expect_eq "instances: header and two rows" 3 "$(ctl instances | wc -l)"

ctl status --json >"$T/status.json" || fail "status --json"
json_ok cluster-status "$T/status.json"
ctl instances --json >"$T/instances.json" || fail "instances --json"
json_ok cluster-instances "$T/instances.json"
ctl grace --json >"$T/grace.json" || fail "grace --json"
json_ok cluster-grace "$T/grace.json"
python3 - "$T/status.json" "$L1" <<'PY' || fail "status --json fields"
import json, sys
s = json.load(open(sys.argv[1]))
assert list(s) == ["cluster", "revision", "grace", "awaiting", "instances", "nodes", "problems"], list(s)
assert s["awaiting"] == [], s["awaiting"]
assert s["cluster"] == "c1" and s["revision"] > 0
assert s["grace"] == {"current": 2, "recovery": 1, "in_grace": True}, s["grace"]
i1, i2 = s["instances"]
assert i1["name"] == "i1" and i1["owner"]["node"] == "n1" and i1["owner"]["pid"] == 101
assert i1["owner"]["lease"] == int(sys.argv[2], 16), (i1["owner"]["lease"], sys.argv[2])
assert i1["params"] == {"scope": "s1", "lease_time": 90, "grace_time": 90}
assert i1["flags"] == {"need": True, "enforcing": True, "node": "n1"}
assert i2["params"] is None and i2["owner"]["addresses"] == ["192.0.2.2", "2001:db8::2"]
assert s["nodes"] == [{"node": "n1", "instances": ["i1"]}, {"node": "n2", "instances": ["i2"]}]
PY
python3 -c '
import json, sys
g = json.load(sys.stdin)
assert list(g) == ["cluster", "revision", "grace", "awaiting", "instances"], list(g)
assert [i["name"] for i in g["instances"]] == ["i1", "i2"]' <"$T/grace.json" || fail "grace --json"

ctl lift i2 --json >"$T/lift.json" || fail "lift --json"
json_ok cluster-lift "$T/lift.json"
expect_eq "lift i2 (no need)" "no need to clear; cluster grace 2 still running: other instances need it" \
  "$(ctl lift i2)"
ctl lift i9 >/dev/null 2>"$T/lift.err"
expect_eq "lift of an unknown instance exit" 1 "$?"
ctl remove-node n7 >/dev/null 2>&1
expect_eq "remove-node of an unknown node exit" 1 "$?"

L3=$(ectl lease grant 60 | awk '{print $2}')
ectl put --lease="$L3" $P/instances/i3/owner \
  '{"node":"n3","pid":303,"since":1764500200,"addresses":[]}' >/dev/null
expect_eq "remove-node n3 (i1 still needs the grace)" "node n3: revoked 1 lease of i3" \
  "$(ctl remove-node n3)"
ctl remove-node n1 --json >"$T/remove.json" || fail "remove-node --json"
json_ok cluster-remove-node "$T/remove.json"
python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["instances"] == ["i1"] and r["revoked"] == 1 and r["lifted"] is True, r' \
  <"$T/remove.json" || fail "remove-node --json fields"
expect_eq "remove-node n1 again: nothing owned" 1 "$(ctl remove-node n1 >/dev/null 2>&1; echo $?)"
expect_eq "i1's owner key is gone" "" "$(ectl get $P/instances/i1/owner --print-value-only)"
expect_eq "i1's records stay" "x" "$(ectl get $P/instances/i1/v4/some-record --print-value-only)"
expect_eq "grace lifted" '{"current":2,"recovery":0}' "$(ectl get $P/grace --print-value-only)"
expect_eq "i2 untouched" '{"need":false,"enforcing":true,"node":"n2"}' \
  "$(ectl get $P/flags/i2 --print-value-only)"

# Endpoints and cluster from nfs.conf.
printf '[nfsrecd]\netcd-endpoints = %s\ncluster = c1\n' "${EP//,/ }" >"$T/cluster.conf"
expect_eq "nfs.conf settings" "cluster c1: no cluster grace (current epoch 2)" \
  "$("$NFSRECCTL" --config "$T/cluster.conf" cluster grace | head -1)"

# After a whole-cluster outage: grace 3 started by i2, waiting for members
# i4 (last on n4) and i5 (last on n5) to start (P/hold, cluster_grace.h).
LH=$(ectl lease grant 60 | awk '{print $2}')
ectl put $P/members/i4 '{"node":"n4"}' >/dev/null
ectl put $P/members/i5 '{"node":"n5"}' >/dev/null
ectl put --lease="$LH" $P/hold '{"grace":3,"awaiting":["i4","i5"]}' >/dev/null
ectl put $P/grace '{"current":3,"recovery":2}' >/dev/null
ectl put --lease="$L2" $P/flags/i2 '{"need":false,"enforcing":true,"node":"n2"}' >/dev/null
expect_eq "grace shows the awaited members" "awaiting members not started yet: i4, i5" \
  "$(ctl grace | sed -n 2p)"
expect_eq "remove-node n5: forgets its member, still waiting for i4" \
  "node n5: revoked 0 leases of no instance; forgot members i5" "$(ctl remove-node n5)"
expect_eq "i5 no longer a member" "" "$(ectl get $P/members/i5 --print-value-only)"
expect_eq "hold after remove-node" '{"awaiting":["i4"],"grace":3}' \
  "$(ectl get $P/hold --print-value-only)"
ctl lift i4 --json >"$T/lift-awaited.json" || fail "lift i4 --json"
json_ok cluster-lift "$T/lift-awaited.json"
python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["cleared"] == [] and r["released"] == ["i4"] and r["lifted"] is True, r' \
  <"$T/lift-awaited.json" || fail "lift i4: released and lifted"
expect_eq "hold gone" "" "$(ectl get $P/hold --print-value-only)"
expect_eq "grace 3 lifted" '{"current":3,"recovery":0}' "$(ectl get $P/grace --print-value-only)"

# Usage errors: exit 2.
for args in "cluster" "cluster bogus" "cluster remove-node" "cluster remove-node a b" \
  "cluster status extra" "cluster lift a/b" "cluster status --cluster a/b"; do
  # shellcheck disable=SC2086
  "$NFSRECCTL" --config "$CONF" $args --etcd-endpoints "$EP" >/dev/null 2>&1
  expect_eq "usage error: $args" 2 "$?"
done
"$NFSRECCTL" --config "$CONF" cluster status >/dev/null 2>"$T/noep.err"
expect_eq "no endpoint known: exit" 2 "$?"
grep -q "etcd-endpoints" "$T/noep.err" || fail "no endpoint: the message names etcd-endpoints"

# Unreachable: exit 1, one line.
"$NFSRECCTL" --config "$CONF" cluster status --etcd-endpoints http://127.0.0.1:9 --cluster c1 \
  >"$T/down.out" 2>"$T/down.err"
expect_eq "etcd unreachable: exit" 1 "$?"
expect_eq "etcd unreachable: one line" 1 "$(wc -l <"$T/down.err")"
grep -q "etcd unreachable at http://127.0.0.1:9" "$T/down.err" || fail "unreachable line: $(cat "$T/down.err")"
expect_eq "etcd unreachable: nothing on stdout" 0 "$(wc -c <"$T/down.out")"
finish
