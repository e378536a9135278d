#!/bin/bash
# nfsrecd-switch against a fake systemctl and update-alternatives that
# model the alias links: to nfsrecd it stops nfs-utils' daemons before
# starting nfsrecd, selects our alternatives, marks boot notification done;
# back, it exports the state (nfsrecctl) before rpc.statd starts, restores
# the alternatives and starts nfsdcld only with nfs-server; both directions
# are idempotent; failures stop with status 1 and say what to do.
set -euo pipefail
: "${top_builddir:?}"
if [ "${NFSREC_SANITIZED_PASS:-0}" = 1 ]; then
  echo "SKIP: a shell script, no sanitized code; the plain pass runs it"; exit 77
fi
switch=$top_builddir/systemd/nfsrecd-switch
[ -x "$switch" ] || { echo "FAIL: $switch not built"; exit 1; }
libexec=$(sed -n "s/^LIBEXECDIR='\(.*\)'$/\1/p" "$switch")
statedir=$(sed -n "s/^STATEDIR='\(.*\)'$/\1/p" "$switch")

work=$(mktemp -d "${TMPDIR:-/tmp}/nfsrecd-switch.XXXXXX")
trap 'rm -rf "$work"' EXIT
state=$work/state; bin=$work/bin; mkdir -p "$state" "$bin" "$work/run"
calls=$work/calls
fail() { echo "FAIL: $*"; echo "--- calls:"; cat "$calls" 2>/dev/null; exit 1; }

# systemctl: one file per active or enabled unit; while nfsrecd.service is
# enabled the three alias names are nfsrecd's units.
cat >"$bin/systemctl" <<'SH'
#!/bin/bash
s=$FAKE_STATE; echo "systemctl $*" >>"$FAKE_CALLS"
id() {
  if [ -e "$s/enabled.nfsrecd.service" ]; then
    case $1 in rpc-statd.service|nfsdcld.service) echo nfsrecd.service; return ;;
      rpc-statd-notify.service) echo nfsrecd-notify.service; return ;; esac
  fi
  echo "$1"
}
cmd=$1; shift
args=(); for a in "$@"; do case $a in --quiet|-q) ;; *) args+=("$a") ;; esac; done
case $cmd in
  is-active) for u in "${args[@]}"; do [ -e "$s/active.$(id "$u")" ] || exit 3; done ;;
  is-enabled) if [ -e "$s/enabled.${args[0]}" ]; then echo enabled; else echo disabled; exit 1; fi ;;
  show) id "${args[-1]}" ;;
  start) for u in "${args[@]}"; do
           [ -e "$s/fail-start.$(id "$u")" ] && exit 1; touch "$s/active.$(id "$u")"; done ;;
  stop) for u in "${args[@]}"; do rm -f "$s/active.$(id "$u")"; done ;;
  enable) for u in "${args[@]}"; do touch "$s/enabled.$u"; done ;;
  disable) for u in "${args[@]}"; do rm -f "$s/enabled.$u"; done ;;
  daemon-reload) ;;
  *) exit 1 ;;
esac
SH
cat >"$bin/update-alternatives" <<'SH'
#!/bin/bash
s=$FAKE_STATE; echo "update-alternatives $*" >>"$FAKE_CALLS"
args=(); for a in "$@"; do [ "$a" = --quiet ] || args+=("$a"); done
case ${args[0]} in
  --query) [ -e "$s/alt.${args[1]}" ] || exit 2; echo "Value: $(cat "$s/alt.${args[1]}")" ;;
  --set) echo "${args[2]}" >"$s/alt.${args[1]}" ;;
  --auto) echo "nfs-utils:${args[1]}" >"$s/alt.${args[1]}" ;;
esac
SH
printf '#!/bin/sh\n[ "$1" = -u ] && echo 0\n' >"$bin/id"
chmod +x "$bin"/*
export FAKE_STATE=$state FAKE_CALLS=$calls PATH=$bin:$PATH
export NFSRECD_SWITCH_SYSTEMCTL=systemctl NFSRECD_SWITCH_RUNDIR=$work/run
export NFSRECD_SWITCH_NFSRECCTL=$work/nfsrecctl
names="rpc.statd sm-notify nfsdcld nfsdcltrack"
for n in $names; do echo "nfs-utils:$n" >"$state/alt.$n"; done
touch "$state/active.rpc-statd.service" "$state/active.nfsdcld.service" "$state/active.nfs-server.service"
line() { grep -n -F -x "$1" "$calls" | head -1 | cut -d: -f1; }

# To nfsrecd.
: >"$calls"
"$switch" nfsrecd >"$work/out" 2>&1 || { cat "$work/out"; fail "switch to nfsrecd"; }
stop=$(line "systemctl stop rpc-statd.service nfsdcld.service")
enable=$(line "systemctl enable --quiet nfsrecd.service nfsrecd-notify.service")
start=$(line "systemctl start nfsrecd.service")
[ -n "$stop" ] && [ -n "$enable" ] && [ -n "$start" ] || fail "a step is missing"
[ "$stop" -lt "$enable" ] && [ "$enable" -lt "$start" ] || fail "order: stop nfs-utils, enable, start"
[ "$(line "systemctl daemon-reload")" -lt "$start" ] || fail "daemon-reload after start"
for n in $names; do [ "$(cat "$state/alt.$n")" = "$libexec/$n" ] || fail "alternative $n"; done
[ -e "$work/run/sm-notify.pid" ] || fail "boot notification not marked done"
[ -e "$state/active.nfsrecd.service" ] && [ ! -e "$state/active.rpc-statd.service" ] ||
  fail "nfsrecd should run, rpc.statd not"
"$switch" status >"$work/out"
grep -qx "nfsrecd-switch: active side: nfsrecd" "$work/out" || fail "status after switch"
echo "to nfsrecd: ok"

# Again: nothing to do.
: >"$calls"
"$switch" nfsrecd >"$work/out"
grep -q "already active; nothing to do" "$work/out" || fail "second switch"
if grep -E "systemctl (stop|start|enable)" "$calls"; then fail "second switch changed units"; fi
echo "to nfsrecd again: nothing done"

# Back, without nfsrecctl: loud warning, the rest done.
: >"$calls"
"$switch" nfs-utils >"$work/out" 2>"$work/err" || { cat "$work/out" "$work/err"; fail "switch back"; }
grep -q "WARNING: .*nfsrecctl not found" "$work/err" || fail "no warning for a missing nfsrecctl"
for n in $names; do [ "$(cat "$state/alt.$n")" = "nfs-utils:$n" ] || fail "alternative $n not restored"; done
[ ! -e "$state/enabled.nfsrecd.service" ] || fail "nfsrecd.service still enabled"
[ -e "$state/active.rpc-statd.service" ] && [ -e "$state/active.nfsdcld.service" ] ||
  fail "rpc.statd and nfsdcld (nfs-server runs) should run"
[ ! -e "$state/active.nfsrecd.service" ] || fail "nfsrecd still runs"
echo "to nfs-utils (no nfsrecctl): ok"
: >"$calls"
"$switch" nfs-utils >"$work/out"
grep -q "already active; nothing to do" "$work/out" || fail "second switch back"
if grep -E "systemctl (stop|start|disable)" "$calls"; then fail "second switch back changed units"; fi

# Back with nfsrecctl: it exports before rpc.statd starts; without
# nfs-server, nfsdcld is not started.
"$switch" nfsrecd >/dev/null
rm -f "$state/active.nfs-server.service" "$state/active.nfsdcld.service"
printf '#!/bin/sh\necho "nfsrecctl $*" >>"%s"\n' "$calls" >"$work/nfsrecctl"; chmod +x "$work/nfsrecctl"
: >"$calls"
"$switch" nfs-utils >/dev/null 2>&1 || fail "switch back with nfsrecctl"
export_at=$(line "nfsrecctl export --nfs-utils $statedir")
[ -n "$export_at" ] && [ "$export_at" -lt "$(line "systemctl start rpc-statd.service")" ] ||
  fail "nfsrecctl export must run before rpc.statd starts"
[ "$export_at" -gt "$(line "systemctl stop nfsrecd.service nfsrecd-notify.service")" ] ||
  fail "nfsrecctl export must run after nfsrecd stopped"
[ ! -e "$state/active.nfsdcld.service" ] || fail "nfsdcld started without nfs-server"
echo "to nfs-utils (nfsrecctl export first): ok"

# A failed export stops the switch: status 1, rpc.statd not started.
"$switch" nfsrecd >/dev/null
printf '#!/bin/sh\nexit 3\n' >"$work/nfsrecctl"
set +e; "$switch" nfs-utils >/dev/null 2>"$work/err"; rc=$?; set -e
[ "$rc" = 1 ] || fail "failed export: status $rc, want 1"
grep -q "error: nfsrecctl\|error: .*export" "$work/err" || fail "failed export not named: $(cat "$work/err")"
[ ! -e "$state/active.rpc-statd.service" ] || fail "rpc.statd started after a failed export"
# A unit that does not start: status 1 and the way back is named.
rm -f "$work/nfsrecctl"; "$switch" nfs-utils >/dev/null 2>&1
touch "$state/fail-start.nfsrecd.service"
set +e; "$switch" nfsrecd >/dev/null 2>"$work/err"; rc=$?; set -e
[ "$rc" = 1 ] && grep -q "nfsrecd-switch nfs-utils" "$work/err" || fail "failed start: status $rc"
set +e; "$switch" >/dev/null 2>&1; rc=$?; set -e
[ "$rc" = 2 ] || fail "no argument: status $rc, want 2"
echo "failures: status 1 with the cause; usage: 2"
echo "PASS"
