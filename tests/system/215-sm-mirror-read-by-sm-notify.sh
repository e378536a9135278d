#!/bin/bash
# nfsrecd keeps rpc.statd's files current as it goes (statd/sm_mirror.h),
# for the tools that copy them: with Debian's layout (state directory
# root's, sm/, sm.bak/ and state the statd user's, so the daemon drops to
# statd), SM_MON of peers A and B then SM_UNMON of B leave sm/ listing A
# alone, and Debian's own sm-notify run on a copy of the files, as
# Pacemaker's nfsnotify agent runs it (sm-notify -f -P COPY), notifies
# exactly A.  A clean stop leaves sm/ exact (an SM_UNMON just before
# SIGTERM is written), and the next start takes nothing over from the files.
. "$(dirname "$0")/lib.sh"
command -v rpc.statd >/dev/null || skip "rpc.statd is not installed (Debian package nfs-common)"
command -v sm-notify >/dev/null || skip "sm-notify is not installed (Debian package nfs-common)"

OURS=10.238.0.1
A=10.238.0.2
B=10.238.0.3
CA=0123456789abcdef0123456789abcdef
CB=fedcba9876543210fedcba9876543210

# Debian's layout: /var/lib/nfs root's, sm/, sm.bak/ and an empty state
# file the statd user's (nfs-common's postinst).
OWNER=root
if getent passwd statd >/dev/null; then OWNER=statd; fi
chmod 755 "$T" "$STATE"
mkdir -p "$STATE/sm" "$STATE/sm.bak"
: > "$STATE/state"
chown "$OWNER:" "$STATE/sm" "$STATE/sm.bak" "$STATE/state"
chmod 700 "$STATE/sm" "$STATE/sm.bak"

# wait_for WHAT CMD...: polls CMD for up to 5 s.
wait_for() {
  local what=$1; shift
  for _ in $(seq 1 100); do "$@" && return 0; sleep 0.05; done
  fail "$what"
  return 1
}
sm_is() { [ "$(ls "$STATE/sm" | tr '\n' ' ' | sed 's/ $//')" = "$1" ]; }

start_daemon
if [ "$OWNER" = statd ]; then
  grep -q "Effective UID, GID: $(id -u statd), $(id -g statd)" "$T/daemon.log" ||
    fail "the daemon did not drop to statd: $(grep -i uid "$T/daemon.log")"
fi
expect_eq "SM_MON A" "stat_succ state=3" "$("$NSM_CLIENT" --tcp mon $A $CA)"
expect_eq "SM_MON B" "stat_succ state=3" "$("$NSM_CLIENT" --tcp mon $B $CB)"
"$NSM_CLIENT" --tcp unmon $B >/dev/null || fail "SM_UNMON B"
wait_for "sm/ lists A alone: [$(ls "$STATE/sm" | tr '\n' ' ')]" sm_is "$A"
LO=$(printf '\177\000\000\001' | od -An -tx4 | tr -d ' \n')  # 127.0.0.1's s_addr as a host int
expect_eq "sm/$A as rpc.statd writes it" "$LO 000186b5 00000003 00000010 $CA $A server" "$(cat "$STATE/sm/$A")"
expect_eq "sm/$A owner and mode" "$OWNER 600" "$(stat -c '%U %a' "$STATE/sm/$A")"
expect_eq "state file" 3 "$(od -An -td4 "$STATE/state" | tr -d ' ')"
expect_eq "state file owner (written in place)" "$OWNER" "$(stat -c %U "$STATE/state")"
expect_eq "sm.bak/ empty" "" "$(ls "$STATE/sm.bak")"
expect_eq "no temp file left" "" "$(find "$STATE/sm" "$STATE/sm.bak" -name '.*')"

# Pacemaker's nfsnotify: copy sm/, sm.bak/ and state, sm-notify -f on the
# copy.  The peer namespace holds A and B and runs rpc.statd, which logs
# every SM_NOTIFY it receives.
COPY=$T/nfsnotify_copy
mkdir -p "$COPY"
cp -rp "$STATE/sm" "$STATE/sm.bak" "$STATE/state" "$COPY/"
export T A B
"$WITH_NETNS" --name peer --veth "$OURS/24,$A/24" -- bash -c '
  ip addr add "$B/24" dev veth0
  mkdir -p "$T/peer/sm" "$T/peer/sm.bak"
  rpc.statd -F -d --no-notify -P "$T/peer" >"$T/peer-statd.log" 2>&1 &
  for _ in $(seq 1 100); do rpcinfo -T udp 127.0.0.1 100024 1 >/dev/null 2>&1 && break; sleep 0.05; done
  touch "$T/peer.ready"
  while [ ! -e "$T/peer.stop" ]; do sleep 0.1; done
  kill %1; wait' &
PEERPID=$!
for _ in $(seq 1 200); do [ -e "$T/peer.ready" ] && break; sleep 0.05; done
timeout 20 sm-notify -f -d -P "$COPY" >"$T/sm-notify.log" 2>&1
expect_eq "sm-notify exit status" 0 "$?"
sleep 0.3  # a stray SM_NOTIFY to B would have arrived by now
touch "$T/peer.stop"; wait "$PEERPID"
expect_eq "sm-notify notified exactly A" "$A" \
  "$(sed -n 's/.*Host \(.*\) notified successfully.*/\1/p' "$T/sm-notify.log" | sort -u | tr '\n' ' ' | sed 's/ $//')"
expect_eq "the peer received one SM_NOTIFY, with state 5" 1 \
  "$(grep -c "Received SM_NOTIFY from .*, state: 5" "$T/peer-statd.log")"
grep -q "$B" "$T/sm-notify.log" && fail "sm-notify tried B: $(cat "$T/sm-notify.log")"

# A clean stop writes the last change: SM_UNMON of A, then SIGTERM at once.
"$NSM_CLIENT" --tcp unmon $A >/dev/null || fail "SM_UNMON A"
stop_daemon
expect_eq "sm/ empty after the clean stop" "" "$(ls "$STATE/sm")"

# The next start reads its database, not the files it wrote.
"$NSM_CLIENT" --tcp mon $A $CA >/dev/null 2>&1  # nobody answers: no daemon
start_daemon
grep -q "Took over from rpc.statd" "$T"/daemon*.log && fail "the mirrored files were taken over"
expect_eq "monitors after the restart" 0 "$(monitor_count)"
stop_daemon
finish
