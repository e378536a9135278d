#!/bin/bash
# -H: every acknowledged SM_MON has had its add-client callout (the reply
# waits for it, as rpc.statd's does); a backlog of sm-notify callouts from
# SM_NOTIFY does not delay an add-client; SIGTERM logs the sm-notify
# callouts it drops.
. "$(dirname "$0")/lib.sh"

COOKIE=0123456789abcdeffedcba9876543210
cat > "$T/ha.sh" <<SCRIPT
#!/bin/sh
echo "\$@" >> "$T/ha.out"
[ "\$1" = sm-notify ] && sleep 0.2
exit 0
SCRIPT
chmod 755 "$T/ha.sh"
: > "$T/ha.out"
start_daemon -H "$T/ha.sh"

# 1. The reply comes after the callout: the line is there when it arrives.
late=0
for i in $(seq 1 30); do
  r=$("$NSM_CLIENT" --tcp mon 10.9.0.$i $COOKIE)
  [ "$r" = "stat_succ state=3" ] || fail "SM_MON $i: $r"
  n=$(grep -c '^add-client ' "$T/ha.out")
  [ "$n" -ge "$i" ] || late=$((late + 1))
done
expect_eq "SM_MON replies sent before their add-client callout" 0 "$late"
expect_eq "add-client callouts" 30 "$(grep -c '^add-client 10.9.0.[0-9]* server$' "$T/ha.out")"

# 2. 200 notifies from hosts nobody monitors queue 200 sm-notify callouts of
#    0.2 s each (40 s in a row); an SM_MON meanwhile is answered at once.
for i in $(seq 1 200); do "$NSM_CLIENT" notify stranger$i 3 >/dev/null; done
t0=$(date +%s%N)
expect_eq "SM_MON behind the sm-notify backlog" "stat_succ state=3" \
  "$("$NSM_CLIENT" --tcp --timeout-ms 3000 mon 10.9.1.1 $COOKIE)"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "SM_MON with the callout took $ms ms"
[ "$ms" -lt 2000 ] || fail "SM_MON took $ms ms behind sm-notify callouts"
grep -q '^add-client 10.9.1.1 server$' "$T/ha.out" || fail "no add-client for 10.9.1.1"
queued_notifies=$(grep -c '^sm-notify ' "$T/ha.out")
[ "$queued_notifies" -lt 200 ] || fail "the sm-notify backlog had already drained ($queued_notifies)"

# 3. SIGTERM: the queued sm-notify callouts are dropped, and said so.
stop_daemon
grep -qE 'shutting down; dropping [0-9]+ queued sm-notify callout' "$T"/daemon*.log ||
  fail "no log line for the dropped sm-notify callouts"
finish
