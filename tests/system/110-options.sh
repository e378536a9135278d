#!/bin/bash
# One option parser for every binary: bundled short options work as in
# nfs-utils (nfsrecd -Fd, -FdLP/dir -p662; sm-notify -dfn, -dfm5), and
# each binary keeps its exit statuses for bad command lines: nfsrecd
# rpc.statd's (usage 255, bad port 1, bad nfs.conf 1 without usage), the
# sm-notify command 1, nfsrec-cltrack 1 with the usage text on stdout (as
# Debian's nfsdcltrack);
# bad nfs.conf values that nfs-utils tolerates are warnings, not errors.
. "$(dirname "$0")/lib.sh"

# Starts the daemon with exactly these arguments and waits for its rpcbind
# registration.
start_with() {
  local log=$T/daemon.$(date +%s%N).log
  "$NFSRECD" "$@" >"$log" 2>&1 &
  DPID=$!
  for _ in $(seq 1 100); do
    rpcinfo -T udp 127.0.0.1 100024 1 >/dev/null 2>&1 && { echo "ok: started: $*"; return 0; }
    kill -0 "$DPID" 2>/dev/null || break
    sleep 0.05
  done
  fail "daemon did not come up with: $*"
  dump_logs
  exit 1
}

udp_port() { rpcinfo -p 127.0.0.1 | awk '$1 == 100024 && $3 == "udp" {print $4}'; }

# -Fd: foreground, debug log on stderr.
start_with -Fd -P "$STATE" --pidfile "$T/pid" --proc-root "$ROOT" --no-nfs4 --config "$CONF"
rpcinfo -T tcp 127.0.0.1 100024 1 >/dev/null || fail "NULL over tcp"
expect_eq "pid file" "$DPID" "$(cat "$T/pid")"
grep -q "debug:" "$T"/daemon.*.log || fail "-Fd: no debug lines on stderr"
stop_daemon

# Values attached to bundles and long options with '='.
start_with -FdLP"$STATE" -p4003 --pidfile="$T/pid" --proc-root="$ROOT" --no-nfs4 --config="$CONF"
expect_eq "-p4003" 4003 "$(udp_port)"
stop_daemon

# The sm-notify command with bundled flags.  With a peer to notify (Debian's
# rpc.statd in another namespace), -n keeps the NSM state and -m5 without
# -n bumps it by 2.
state() { sql "SELECT local_state FROM nsm_state;"; }
NOTIFY=("$NFSRECD" --sm-notify --proc-root "$ROOT" --daemon-pidfile "$T/pid" --config "$CONF")
if command -v rpc.statd >/dev/null; then
  OURS=10.235.0.1
  PEER=10.235.0.2
  start_peer_statd "$OURS" "$PEER"
  start_with -FdL -P "$STATE" --pidfile "$T/pid" --proc-root "$ROOT" --no-nfs4 --config "$CONF"
  "$NSM_CLIENT" --tcp mon $PEER 0123456789abcdef0123456789abcdef >/dev/null || fail "SM_MON"
  before=$(state)
  "${NOTIFY[@]}" -dfn -P "$STATE" >"$T/notify-dfn.log" 2>&1
  expect_eq "sm-notify -dfn: exit status" 0 "$?"
  grep -q "Host $PEER notified successfully" "$T/notify-dfn.log" || fail "-dfn: peer not notified"
  expect_eq "sm-notify -dfn kept the state" "$before" "$(state)"
  "$NSM_CLIENT" --tcp mon $PEER 0123456789abcdef0123456789abcdef >/dev/null || fail "SM_MON again"
  "${NOTIFY[@]}" -dfm5 -P"$STATE" >"$T/notify-dfm5.log" 2>&1
  expect_eq "sm-notify -dfm5: exit status" 0 "$?"
  grep -q "Host $PEER notified successfully" "$T/notify-dfm5.log" || fail "-dfm5: peer not notified"
  expect_eq "sm-notify -dfm5 bumped the state" $((before + 2)) "$(state)"
  stop_daemon
  stop_peer_statd
else
  echo "rpc.statd is not installed: sm-notify runs without a peer"
  "${NOTIFY[@]}" -dfn -P "$STATE" >"$T/notify-dfn.log" 2>&1
  expect_eq "sm-notify -dfn: exit status" 0 "$?"
  "${NOTIFY[@]}" -dfm5 -P"$STATE" >"$T/notify-dfm5.log" 2>&1
  expect_eq "sm-notify -dfm5: exit status" 0 "$?"
fi

# Bad command lines: exit status, and usage text or not (on stderr, for
# nfsrec-cltrack on stdout).
# check_error WHAT STATUS USAGE(yes/no) COMMAND...
check_error() {
  local what=$1 want=$2 usage=$3 has=no
  shift 3
  "$@" >"$T/err.out" 2>"$T/err.log"
  expect_eq "$what: exit status" "$want" "$?"
  if grep -q "^Usage: " "$T/err.log" || grep -q "<command>" "$T/err.out"; then has=yes; fi
  expect_eq "$what: usage text" "$usage" "$has"
}
printf '[statd]\nport = http\n[sm-notify]\nretry-time = soon\n' > "$T/bad.conf"
D=("$NFSRECD" -P "$STATE" --pidfile "$T/pid" --proc-root "$ROOT" --no-nfs4)
check_error "nfsrecd --bogus" 255 yes "${D[@]}" --config "$CONF" --bogus
check_error "nfsrecd -Fx" 255 yes "${D[@]}" --config "$CONF" -Fx
check_error "nfsrecd -p (no value)" 255 yes "${D[@]}" --config "$CONF" -p
check_error "nfsrecd stray operand" 255 yes "${D[@]}" --config "$CONF" stray
check_error "nfsrecd -p0" 1 yes "${D[@]}" --config "$CONF" -Fp0
# Values nfs-utils tolerates are warned about with FILE:LINE, never fatal.
check_error "nfsrecd tolerated bad nfs.conf" 0 no "${D[@]}" --config "$T/bad.conf" --dump-config
grep -q 'bad.conf:2: \[statd\] port: http is not a number' "$T/err.log" ||
  fail "no FILE:LINE nfs.conf warning: $(cat "$T/err.log")"
check_error "nfsrecd -h" 0 yes "${D[@]}" --config "$CONF" -h
check_error "nfsrecd --sm-notify -dx" 1 yes "$NFSRECD" --sm-notify --config "$CONF" -dx
check_error "nfsrecd --sm-notify -m" 1 yes "$NFSRECD" --sm-notify --config "$CONF" -dfm
check_error "nfsrecd --sm-notify -p0" 1 yes "$NFSRECD" --sm-notify --config "$CONF" -p0
check_error "nfsrecd --sm-notify tolerated bad nfs.conf" 0 no "$NFSRECD" --sm-notify \
  --config "$T/bad.conf" -d -P "$STATE" --proc-root "$ROOT" --daemon-pidfile "$T/pid"
grep -q 'bad.conf:4: \[sm-notify\] retry-time: soon is not a number' "$T/err.log" ||
  fail "sm-notify: no FILE:LINE nfs.conf warning: $(cat "$T/err.log")"
check_error "nfsrec-cltrack -x" 1 yes "$top_builddir/nfsrec-cltrack" -x init
check_error "nfsrec-cltrack -fs" 1 yes "$top_builddir/nfsrec-cltrack" -fs
if rpcinfo 127.0.0.1 | awk '$1 == 100024' | grep -q .; then fail "registered after a bad command line"; fi
finish
