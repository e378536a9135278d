#!/bin/bash
# A host on the link sends IPv6 packets whose source is ::ffff:127.0.0.1
# (Linux delivers those from the wire; it drops forged 127/8 and ::1) to the
# daemon's udp6 socket: SM_MON, SM_UNMON, SM_UNMON_ALL and SM_SIMU_CRASH are
# refused and logged, the store and the state are unchanged.  Then the same
# over TCP6, as far as the kernel lets a forged handshake get.
. "$(dirname "$0")/lib.sh"

FORGE6=$top_builddir/tests/system/forge6
PORT=4012
# Refuses to run on a host without IPv6 rather than pass vacuously.
[ -e /proc/sys/net/ipv6 ] || skip "no IPv6 in this kernel"

start_daemon -p $PORT
COOKIE=00112233445566778899aabbccddeeff
"$NSM_CLIENT" mon 10.99.0.5 $COOKIE >/dev/null || fail "local SM_MON"
before=$(sql "SELECT mon_name, my_name, hex(priv) FROM monitors;")

# The daemon's namespace (private to this test) gets fd00:120::1 without
# duplicate address detection, the attacker's fd00:120::2.
echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad
export FORGE6 PORT T
"$WITH_NETNS" --name attacker --no-rpcbind --veth fd00:120::1/64,fd00:120::2/64 -- bash -c '
  set -u
  # Wait (bounded) for duplicate address detection on our end.
  for _ in $(seq 1 100); do
    [ -z "$(ip -6 addr show tentative)" ] && break
    sleep 0.1
  done
  out=$("$FORGE6" udp ::ffff:127.0.0.1 fd00:120::1 "$PORT" mon); rc=$?
  echo "$out"
  if [ $rc = 77 ]; then echo "$out" > "$T/forge.skip"; exit 0; fi
  [ $rc = 0 ] || exit 1
  for proc in unmon unmon-all crash; do "$FORGE6" udp ::ffff:127.0.0.1 fd00:120::1 "$PORT" $proc || exit 1; done
  "$FORGE6" tcp ::ffff:127.0.0.1 fd00:120::1 "$PORT" mon > "$T/forge-tcp.out"
  echo $? > "$T/forge-tcp.rc"
  cat "$T/forge-tcp.out"
  exit 0' || fail "forging in the attacker namespace"
if [ -e "$T/forge.skip" ]; then
  stop_daemon
  skip "raw IPv6 sockets unavailable: $(cat "$T/forge.skip")"
fi

# The datagrams reached the daemon (each refusal is logged) ...
for proc in SM_MON SM_UNMON SM_UNMON_ALL SM_SIMU_CRASH; do
  for _ in $(seq 1 50); do
    grep -q "$proc call from non-local host \[::ffff:127.0.0.1\]:700 refused" "$T/daemon.log" && break
    sleep 0.1
  done
  grep -q "$proc call from non-local host \[::ffff:127.0.0.1\]:700 refused" "$T/daemon.log" ||
    fail "no refusal logged for the forged $proc"
done
# ... and changed nothing.
expect_eq "monitor list unchanged" "$before" "$(sql "SELECT mon_name, my_name, hex(priv) FROM monitors;")"
expect_eq "state unchanged" 3 "$(sql "SELECT local_state FROM nsm_state;")"
grep -q "MONITORING 10.66.0.1" "$T/daemon.log" && fail "the forged SM_MON was served"
grep -q "accepted" <(grep "::ffff:127.0.0.1" "$T/daemon.log") && fail "a forged call was accepted"

# TCP6: Linux answers no SYN from a v4-mapped source; if a kernel did, the
# connection's own address is not loopback and the call is refused anyway.
tcp_rc=$(cat "$T/forge-tcp.rc" 2>/dev/null)
case "$tcp_rc" in
  3) echo "ok: tcp6: the forged SYN was not answered ($(cat "$T/forge-tcp.out"))" ;;
  0)
    # The UDP SM_MON was the first refusal; this one is the second.
    for _ in $(seq 1 50); do
      [ "$(grep -c "SM_MON call from non-local host \[::ffff:127.0.0.1\]:700 refused" "$T/daemon.log")" -ge 2 ] && break
      sleep 0.1
    done
    [ "$(grep -c "SM_MON call from non-local host \[::ffff:127.0.0.1\]:700 refused" "$T/daemon.log")" -ge 2 ] ||
      fail "no refusal logged for the forged tcp6 SM_MON"
    expect_eq "tcp6: monitors unchanged" "$before" \
      "$(sql "SELECT mon_name, my_name, hex(priv) FROM monitors;")" ;;
  *) fail "tcp6 forging helper: rc=[$tcp_rc] $(cat "$T/forge-tcp.out" 2>/dev/null)" ;;
esac

# A real local caller is still served.
"$NSM_CLIENT" unmon 10.99.0.5 >/dev/null || fail "local SM_UNMON after the attack"
expect_eq "local SM_UNMON served" 0 "$(monitor_count)"
stop_daemon
finish
