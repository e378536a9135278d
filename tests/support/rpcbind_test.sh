#!/bin/bash
# rpcbind adapter and lockd emulator against a real rpcbind, inside a
# private network namespace (tests/support/with-netns).  Needs root; exits
# 77 (SKIP) otherwise.
#
# Checks: RpcbindRegistration makes udp/tcp/udp6/tcp6 entries that rpcinfo
# and the portmapper/rpcbind queries see, and removes them on SIGTERM;
# UnsetAll removes stale entries; ProbeRunning is true only while the
# service answers; lockd-emu registers NLM v3/v4, rejects a callback from an
# unprivileged port and prints one from a privileged port with the exact
# cookie, and unregisters when stopped.
set -u

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${top_builddir:-.}
with_netns=$srcdir/tests/support/with-netns

if [[ -z ${WITH_NETNS_NAME:-} ]]; then
  exec bash "$with_netns" --name rpcbind-test -- bash "$0" "$@"
fi

driver=$builddir/tests/support/rpcbind-driver
lockd=$builddir/tests/support/lockd-emu
for b in "$driver" "$lockd"; do
  [[ -x $b ]] || { echo "missing $b (make check builds it)"; exit 99; }
done

work=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

failures=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
check() {  # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

quiet() { "$@" >/dev/null 2>&1; }

wait_file() {  # wait_file FILE: at most 10 s
  local i
  for ((i = 0; i < 200; i++)); do
    [[ -s $1 ]] && return 0
    sleep 0.05
  done
  return 1
}

# rpcinfo (rpcbind v3/v4 dump): lines "prog vers netid uaddr service owner".
has_entry() {  # has_entry PROG VERS NETID PORT
  local hi=$(($4 >> 8)) lo=$(($4 & 255))
  rpcinfo 127.0.0.1 | awk -v p="$1" -v v="$2" -v n="$3" -v s=".$hi.$lo" \
    '$1 == p && $2 == v && $3 == n && substr($4, length($4) - length(s) + 1) == s { f = 1 }
     END { exit !f }'
}
has_prog() {  # has_prog PROG: any entry at all
  rpcinfo 127.0.0.1 | awk -v p="$1" '$1 == p { f = 1 } END { exit !f }'
}
pmap_entry() {  # pmap_entry PROG VERS PROTO PORT (rpcinfo -p, portmapper v2)
  rpcinfo -p 127.0.0.1 | awk -v p="$1" -v v="$2" -v t="$3" -v port="$4" \
    '$1 == p && $2 == v && $3 == t && $4 == port { f = 1 } END { exit !f }'
}
port_of() {  # port_of READY_FILE NETID
  awk -v n="$2" '$1 == n { print $2 }' "$1"
}

PROG=200100

# --- RpcbindRegistration -----------------------------------------------------
"$driver" serve $PROG 1 "$work/serve1" &
serve_pid=$!
pids+=("$serve_pid")
if ! wait_file "$work/serve1"; then
  fail "rpcbind-driver serve came up"
  exit 1
fi
for netid in udp tcp udp6 tcp6; do
  port=$(port_of "$work/serve1" $netid)
  check "rpcinfo lists $PROG/1 on $netid port $port" has_entry $PROG 1 $netid "$port"
done
udp_port=$(port_of "$work/serve1" udp)
tcp_port=$(port_of "$work/serve1" tcp)
check "UDP and TCP got separate ephemeral ports" test "$udp_port" != "$tcp_port"
check "rpcinfo -p lists $PROG/1 udp" pmap_entry $PROG 1 udp "$udp_port"
check "rpcinfo -p lists $PROG/1 tcp" pmap_entry $PROG 1 tcp "$tcp_port"
check "PMAP GETPORT (test client) finds the udp port" \
  test "$("$driver" getport 127.0.0.1 $PROG 1 udp)" = "$udp_port"
check "PMAP GETPORT (test client) finds the tcp port" \
  test "$("$driver" getport 127.0.0.1 $PROG 1 tcp)" = "$tcp_port"
udp6_port=$(port_of "$work/serve1" udp6)
check "RPCB GETADDR (test client) finds the udp6 address" \
  test "$("$driver" getaddr ::1 $PROG 1 udp6)" = "::1.$((udp6_port >> 8)).$((udp6_port & 255))"
check "rpcinfo -T udp pings the service" quiet rpcinfo -T udp 127.0.0.1 $PROG 1
check "ProbeRunning is true while the service answers" \
  test "$("$driver" probe $PROG 1 2000)" = running
check "ProbeRunning is false for another version" \
  test "$("$driver" probe $PROG 2 2000)" = not-running

kill -TERM "$serve_pid"
wait "$serve_pid"
check "rpcbind-driver serve exits 0 on SIGTERM" test $? -eq 0
check "the registration is gone after SIGTERM" bash -c "! rpcinfo 127.0.0.1 | awk '\$1 == $PROG' | grep -q ."
check "ProbeRunning is false once unregistered" \
  test "$("$driver" probe $PROG 1 1000)" = not-running

# --- Stale entries and UnsetAll -------------------------------------------------
"$driver" serve $PROG 1 "$work/serve2" &
serve_pid=$!
pids+=("$serve_pid")
wait_file "$work/serve2" || fail "second serve came up"
kill -KILL "$serve_pid"
wait "$serve_pid" 2>/dev/null
check "SIGKILL leaves a stale registration" has_prog $PROG
start=$(date +%s%N)
check "ProbeRunning is false for a stale registration" \
  test "$("$driver" probe $PROG 1 1000)" = not-running
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
check "ProbeRunning respects its timeout (${elapsed_ms} ms)" test $elapsed_ms -lt 3000
check "UnsetAll succeeds" "$driver" unset-all $PROG 1
check "UnsetAll removed every netid" bash -c "! rpcinfo 127.0.0.1 | awk '\$1 == $PROG' | grep -q ."
check "UnsetAll with nothing registered is OK" "$driver" unset-all $PROG 1

# --- lockd emulator ----------------------------------------------------------------
"$lockd" --ready-file "$work/lockd" >"$work/lockd.out" 2>"$work/lockd.err" &
lockd_pid=$!
pids+=("$lockd_pid")
if ! wait_file "$work/lockd"; then
  fail "lockd-emu came up"
  cat "$work/lockd.err"
  exit 1
fi
nlm_udp=$(port_of "$work/lockd" udp)
nlm_tcp=$(port_of "$work/lockd" tcp)
for v in 3 4; do
  check "rpcinfo -p lists NLM v$v udp" pmap_entry 100021 $v udp "$nlm_udp"
  check "rpcinfo -p lists NLM v$v tcp" pmap_entry 100021 $v tcp "$nlm_tcp"
done
check "NLM v4 is registered on udp6" has_entry 100021 4 udp6 "$(port_of "$work/lockd" udp6)"
check "lockd-emu answers NULL" quiet rpcinfo -T tcp 127.0.0.1 100021 4

cookie=00112233445566778899aabbccddeeff
out=$("$driver" notify 127.0.0.1 0 udp 3 unprivileged peer.example 7 $cookie)
check "unprivileged callback gets SYSTEM_ERR ($out)" test "$out" = SYSTEM_ERR
out=$("$driver" notify 127.0.0.1 0 udp 3 privileged peer.example 9 $cookie)
check "privileged callback over udp succeeds ($out)" test "$out" = SUCCESS
out=$("$driver" notify 127.0.0.1 0 tcp 4 privileged $'odd\tname' 11 ffeeddccbbaa99887766554433221100)
check "privileged callback over tcp succeeds ($out)" test "$out" = SUCCESS
out=$("$driver" notify ::1 "$(port_of "$work/lockd" udp6)" udp 4 privileged v6.example 13 $cookie)
check "privileged callback over udp6 succeeds ($out)" test "$out" = SUCCESS

# Each callback was printed exactly as documented.
sed 's/^/  lockd-emu: /' "$work/lockd.out"
re_port='[0-9]+'
check "REJECT line for the unprivileged callback" grep -Eq \
  "^REJECT vers=3 proto=udp from=127\.0\.0\.1:$re_port privileged=0 mon_name=peer\.example state=7 priv=$cookie\$" \
  "$work/lockd.out"
check "CALLBACK line with the exact cookie (udp)" grep -Eq \
  "^CALLBACK vers=3 proto=udp from=127\.0\.0\.1:$re_port privileged=1 mon_name=peer\.example state=9 priv=$cookie\$" \
  "$work/lockd.out"
check "CALLBACK line with the exact cookie (tcp, escaped name)" grep -Eq \
  "^CALLBACK vers=4 proto=tcp from=127\.0\.0\.1:$re_port privileged=1 mon_name=odd\\\\x09name state=11 priv=ffeeddccbbaa99887766554433221100\$" \
  "$work/lockd.out"
check "CALLBACK line for IPv6 loopback" grep -Eq \
  "^CALLBACK vers=4 proto=udp from=::1:$re_port privileged=1 mon_name=v6\.example state=13 priv=$cookie\$" \
  "$work/lockd.out"
check "four lines in all" test "$(wc -l <"$work/lockd.out")" -eq 4

kill -TERM "$lockd_pid"
wait "$lockd_pid"
check "lockd-emu exits 0 on SIGTERM" test $? -eq 0
check "lockd-emu unregistered NLM" bash -c "! rpcinfo 127.0.0.1 | awk '\$1 == 100021' | grep -q ."

# lockd-emu without rpcbind on a fixed port.
"$lockd" --no-rpcbind --no-ipv6 --port 4045 --ready-file "$work/lockd2" >"$work/lockd2.out" &
lockd_pid=$!
pids+=("$lockd_pid")
wait_file "$work/lockd2" || fail "lockd-emu --no-rpcbind came up"
check "--port gives udp and tcp the same port" \
  test "$(port_of "$work/lockd2" udp) $(port_of "$work/lockd2" tcp)" = "4045 4045"
check "--no-rpcbind leaves rpcbind alone" bash -c "! rpcinfo 127.0.0.1 | awk '\$1 == 100021' | grep -q ."
out=$("$driver" notify 127.0.0.1 4045 tcp 3 privileged fixed.example 1 $cookie)
check "callback to the fixed port succeeds ($out)" test "$out" = SUCCESS
kill -TERM "$lockd_pid"
wait "$lockd_pid"

if [[ $failures -ne 0 ]]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
exit 0
