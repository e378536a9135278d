#!/bin/bash
# The daemon registers NSM (100024 v1) with a real rpcbind on udp, tcp, udp6
# and tcp6, answers NULL on each, and removes its registrations on exit.
. "$(dirname "$0")/lib.sh"

start_daemon
dump=$(rpcinfo 127.0.0.1)
echo "$dump" | grep -w 100024
for netid in udp tcp udp6 tcp6; do
  if echo "$dump" | awk -v n="$netid" '$1 == 100024 && $2 == 1 && $3 == n' | grep -q .; then
    echo "ok: registered on $netid"
  else
    fail "not registered on $netid"
  fi
done
rpcinfo -T udp 127.0.0.1 100024 1 || fail "NULL over udp"
rpcinfo -T tcp 127.0.0.1 100024 1 || fail "NULL over tcp"
rpcinfo -T udp6 ::1 100024 1 || fail "NULL over udp6"
rpcinfo -T tcp6 ::1 100024 1 || fail "NULL over tcp6"
# The portmapper (v2) view that the kernel's lockd and mount.nfs use.
rpcinfo -p 127.0.0.1 | grep -q ' 100024 *1 *udp' || fail "pmap v2 udp entry missing"
rpcinfo -p 127.0.0.1 | grep -q ' 100024 *1 *tcp' || fail "pmap v2 tcp entry missing"
pid=$(cat "$T/pid")
expect_eq "pid file" "$DPID" "$pid"

stop_daemon || fail "daemon exit status"
if rpcinfo 127.0.0.1 | awk '$1 == 100024' | grep -q .; then
  fail "registrations left behind after SIGTERM"
else
  echo "ok: unregistered on exit"
fi
expect_eq "pid file truncated on exit" "" "$(cat "$T/pid")"
grep -q "Caught signal SIGTERM" "$T/daemon.log" || fail "no shutdown log line"

# -p fixes the port of every transport.
start_daemon -p 4000
for netid in udp tcp udp6 tcp6; do
  port=$(rpcinfo 127.0.0.1 | awk -v n="$netid" '$1 == 100024 && $3 == n {print $4}' | awk -F. '{print $(NF-1)*256+$NF}')
  expect_eq "-p 4000 on $netid" 4000 "$port"
done
stop_daemon

# nfs.conf: [statd] port applies as -p does, the command line wins over it,
# and a bad value stops the daemon with a message that names the setting.
printf '[statd]\nport = 4001   # fixed for the firewall\n' > "$T/port.conf"
start_daemon --config "$T/port.conf"
for netid in udp tcp udp6 tcp6; do
  port=$(rpcinfo 127.0.0.1 | awk -v n="$netid" '$1 == 100024 && $3 == n {print $4}' | awk -F. '{print $(NF-1)*256+$NF}')
  expect_eq "nfs.conf port 4001 on $netid" 4001 "$port"
done
stop_daemon
start_daemon --config "$T/port.conf" -p 4002
port=$(rpcinfo -p 127.0.0.1 | awk '$1 == 100024 && $3 == "udp" {print $4}')
expect_eq "-p 4002 wins over nfs.conf" 4002 "$port"
stop_daemon
# A port nfs-utils reads with atoi() ("http": 0, an ephemeral port) is a
# FILE:LINE warning, not a reason to stop.
printf '[statd]\nport = http\n' > "$T/bad.conf"
start_daemon --config "$T/bad.conf"
grep -q 'bad.conf:2: \[statd\] port: http is not a number' "$T"/daemon*.log ||
  fail "no FILE:LINE warning: $(cat "$T"/daemon*.log)"
stop_daemon
finish
