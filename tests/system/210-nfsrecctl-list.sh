#!/bin/bash
# nfsrecctl's listings (list monitors|notify|clients, show, grace, state)
# on state made through a running daemon (SM_MON/SM_UNMON over loopback, a
# reboot that leaves a peer owed a notification, NFSv4 clients through
# nfsdcltrack's interface, left in grace): every listing, human and --json,
# while the daemon runs and again after it stopped gives the same output;
# every --json document passes its schema in docs/schema/; the tables name
# what was stored; show finds peers by folded name and by address, clients
# by text and hex id; exit 1 for nothing found, 2 for a usage error.
. "$(dirname "$0")/lib.sh"
python3 -c 'import jsonschema' 2>/dev/null ||
  skip "python3's jsonschema is not installed (Debian package python3-jsonschema)"
NFSRECCTL=$top_builddir/nfsrecctl
CLTRACK=$top_builddir/nfsrec-cltrack
SCHEMAS=$top_srcdir/docs/schema
ctl() { "$NFSRECCTL" --config "$CONF" --state-dir "$STATE" "$@"; }

P1=10.237.0.2
P2=10.237.0.3
P3=10.237.0.4     # monitored, then unmonitored
GONE=10.237.0.99  # nobody answers: stays owed a notification
C1=0123456789abcdef0123456789abcdef

# Before: GONE monitored (with a name in upper case, as some lock managers
# send it), then a reboot whose notification cannot reach it.
start_daemon
"$NSM_CLIENT" --tcp mon $GONE 00000000000000000000000000000009 >/dev/null || fail "SM_MON gone"
stop_daemon
echo "44444444-2222-3333-4444-555555555555" > "$ROOT/proc/sys/kernel/random/boot_id"
start_daemon
for p in "$P1 $C1" "$P2 00000000000000000000000000000002" "$P3 00000000000000000000000000000003"; do
  set -- $p
  expect_eq "SM_MON $1" "stat_succ state=5" "$("$NSM_CLIENT" --tcp mon "$1" "$2")"
done
"$NSM_CLIENT" --tcp unmon $P3 >/dev/null || fail "SM_UNMON $P3"

# NFSv4 clients: a, b, c and one whose id is not text; a reboot (init)
# opens grace; a reclaims; d is new.  Grace stays open.
CLT="$CLTRACK -f -s $STATE/nfsrecd --proc-root $ROOT"
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
for c in "$(hex "Linux NFSv4.2 a")" "$(hex "Linux NFSv4.2 b")" "$(hex "Linux NFSv4.2 c")" 0102fe; do
  $CLT create "$c" || fail "create $c"
done
$CLT init || fail "cltrack init"
$CLT check "$(hex "Linux NFSv4.2 a")" || fail "check a"
$CLT create "$(hex "Linux NFSv4.2 a")" || fail "create a again"
$CLT create "$(hex "Linux NFSv4.2 d")" || fail "create d"

# listing NAME ARGS...: stdout to $dir/NAME.out, exit status to $dir/NAME.rc.
LISTINGS=(
  "monitors list monitors"
  "notify list notify"
  "clients list clients"
  "clients-current list clients --epoch current"
  "clients-recovery list clients --epoch recovery"
  "grace grace"
  "state state"
  "show-p1 show $P1"
  "show-gone show $GONE"
  "show-mapped show ::ffff:$P1"
  "show-client-hex show hex:0102FE"
)
run_all() {
  local dir=$1
  mkdir -p "$dir"
  for l in "${LISTINGS[@]}"; do
    set -- $l
    local name=$1
    shift
    ctl "$@" >"$dir/$name.out" 2>"$dir/$name.err"
    echo $? >"$dir/$name.rc"
    ctl "$@" --json >"$dir/$name.json" 2>"$dir/$name.json.err"
    echo $? >"$dir/$name.json.rc"
  done
  # Ids with blanks, given as one argument.
  ctl show "Linux NFSv4.2 a" >"$dir/show-client.out" 2>&1
  echo $? >"$dir/show-client.rc"
  ctl show "Linux NFSv4.2 a" --json >"$dir/show-client.json" 2>&1
  echo $? >"$dir/show-client.json.rc"
}

before=$(sql "SELECT count(*) FROM monitors; SELECT count(*) FROM notify_list; SELECT count(*) FROM cld_clients;" | tr '\n' ' ')
run_all "$T/running"
expect_eq "database unchanged by the listings" "$before" \
  "$(sql "SELECT count(*) FROM monitors; SELECT count(*) FROM notify_list; SELECT count(*) FROM cld_clients;" | tr '\n' ' ')"
stop_daemon
run_all "$T/stopped"

R=$T/running
for rc in "$R"/*.rc; do
  expect_eq "exit status of $(basename "$rc" .rc)" 0 "$(cat "$rc")"
done
diff -r "$R" "$T/stopped" >"$T/diff.out" 2>&1 &&
  echo "ok: every listing is the same with the daemon running and stopped" ||
  fail "listings differ between the running and the stopped daemon: $(head -20 "$T/diff.out")"

# Every --json document against its schema.
schema_of() {
  case $1 in
    monitors) echo list-monitors ;; notify) echo list-notify ;; clients*) echo list-clients ;;
    grace) echo grace ;; state) echo state ;; show*) echo show ;;
  esac
}
for j in "$R"/*.json; do
  name=$(basename "$j" .json)
  out=$(python3 - "$SCHEMAS/$(schema_of "$name").json" "$j" <<'PY' 2>&1
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft7Validator.check_schema(schema)
jsonschema.Draft7Validator(schema).validate(json.load(open(sys.argv[2])))
PY
  ) && echo "ok: $name --json matches $(schema_of "$name").json" || fail "$name --json: $out"
done

# The schemas catch a drift: a field they do not name is refused.
python3 - "$SCHEMAS/list-monitors.json" "$R/monitors.json" <<'PY' && echo "ok: an unknown field fails the schema" || fail "the schema let an unknown field through"
import json, sys, jsonschema
doc = json.load(open(sys.argv[2]))
doc["monitors"][0]["added_later"] = 1
sys.exit(0 if list(jsonschema.Draft7Validator(json.load(open(sys.argv[1]))).iter_errors(doc)) else 1)
PY

# What the documents say.
jq_() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
expect_eq "monitors" "$P1 $P2" "$(jq_ "$R/monitors.json" '" ".join(m["mon_name"]["text"] for m in d["monitors"])')"
expect_eq "P1's cookie" "$C1" "$(jq_ "$R/monitors.json" 'd["monitors"][0]["cookie"]["hex"]')"
expect_eq "notify list" "$GONE" "$(jq_ "$R/notify.json" '" ".join(m["mon_name"]["text"] for m in d["notify"])')"
expect_eq "current clients" "Linux NFSv4.2 a|Linux NFSv4.2 d" \
  "$(jq_ "$R/clients.json" '"|".join(c["id"]["text"] for c in d["clients"])')"
expect_eq "recovery clients and whether they reclaimed" \
  "0102fe:False Linux NFSv4.2 a:True Linux NFSv4.2 b:False Linux NFSv4.2 c:False" \
  "$(jq_ "$R/clients-recovery.json" '" ".join(c["id"].get("text", c["id"]["hex"]) + ":" + str(c["reclaimed"]) for c in d["clients"])')"
expect_eq "grace" "True 2 1 4 1" \
  "$(jq_ "$R/grace.json" '" ".join(str(d[k]) for k in ("in_grace", "current_epoch", "recovery_epoch", "may_reclaim", "reclaimed"))')"
expect_eq "state" "5 odd" "$(jq_ "$R/state.json" 'str(d["state"]) + " " + d["parity"]')"
expect_eq "show by a v4-mapped address" "$P1" "$(jq_ "$R/show-mapped.json" 'd["monitors"][0]["mon_name"]["text"]')"
expect_eq "show of the client in both epochs" "current recovery" \
  "$(jq_ "$R/show-client.json" '" ".join(c["epoch"] for c in d["clients"])')"

# The tables name what is stored.
for n in "$P1" "$P2"; do grep -q "^$n  " "$R/monitors.out" || fail "list monitors lacks $n: $(cat "$R/monitors.out")"; done
grep -q "$P3" "$R/monitors.out" && fail "list monitors shows the unmonitored $P3"
head -1 "$R/monitors.out" | grep -Eq "^MON_NAME +CANONICAL_NAME +MY_NAME +PROG" || fail "monitors header: $(head -1 "$R/monitors.out")"
grep -q "^$GONE  " "$R/notify.out" || fail "list notify lacks $GONE"
grep -q "  yes        Linux NFSv4.2 a$" "$R/clients-recovery.out" || fail "recovery table: $(cat "$R/clients-recovery.out")"
grep -q "  no         hex:0102fe$" "$R/clients-recovery.out" || fail "binary id as hex: $(cat "$R/clients-recovery.out")"
grep -q "^reclaimed: *1$" "$R/grace.out" || fail "grace: $(cat "$R/grace.out")"
expect_eq "state" "state: 5 (odd: up)" "$(cat "$R/state.out")"
grep -q "^monitor $P1$" "$R/show-mapped.out" || fail "show ::ffff:$P1: $(cat "$R/show-mapped.out")"
grep -q "^notify $GONE$" "$R/show-gone.out" || fail "show $GONE: $(cat "$R/show-gone.out")"
grep -q "^client hex:0102fe$" "$R/show-client-hex.out" || fail "show hex:0102FE: $(cat "$R/show-client-hex.out")"

cat "$R/monitors.out" "$R/notify.out" "$R/clients-recovery.out" "$R/grace.out" "$R/show-p1.out"

# Nothing found, usage errors, no database.
ctl show nobody.example >"$T/nf.out" 2>"$T/nf.err"
expect_eq "show of an unknown name exits 1" 1 "$?"
expect_eq "nothing on stdout when nothing is found" "" "$(cat "$T/nf.out")"
grep -q "no monitor, notify entry or NFSv4 client matches 'nobody.example'" "$T/nf.err" || fail "not found: $(cat "$T/nf.err")"
ctl list peers >/dev/null 2>"$T/usage.err"
expect_eq "an unknown list exits 2" 2 "$?"
grep -q "^Usage:" "$T/usage.err" || fail "no usage after a usage error: $(cat "$T/usage.err")"
ctl list clients --epoch previous >/dev/null 2>&1
expect_eq "a bad --epoch exits 2" 2 "$?"
mkdir -p "$T/empty"
"$NFSRECCTL" --config "$CONF" --state-dir "$T/empty" list monitors >/dev/null 2>"$T/nodb.err"
expect_eq "no database exits 1" 1 "$?"
grep -q "no database at $T/empty/nfsrecd/nfsrecd.sqlite" "$T/nodb.err" || fail "no database: $(cat "$T/nodb.err")"

finish
