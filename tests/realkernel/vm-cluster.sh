# The cluster scenario of the real-kernel VM (issue 14), sourced by vm-init.sh after
# vm-scenarios.sh (its helpers: check, hold, make_client_ns, c2, LOSS_PAT, ...).
#
# Two nodes in one VM. A node is a network, mount and UTS namespace: the kernel runs one nfsd
# and one lockd per network namespace, and the mount namespace gives each its own
# /proc/fs/nfsd (the nfsd fs shows the nfsd of the namespace that mounted it), rpc_pipefs (its
# pipes are that namespace's), /var/lib/nfs (a per-node directory: the node's own disk), /run
# (rpcbind) and boot id (a bind mount over /proc/sys/kernel/random/boot_id: two hosts never
# share one). Both export the same /export with the same fsid (shared storage whose file
# handles are valid on both; POSIX locks live on the inode, so each nfsd sees the other's
# locks, as on a cluster filesystem).
#
#   init netns  clients' host "nfsvm" (its NFS client address 10.0.9.1 on lo, the source of its
#               routes to the service address), etcd (one member, data in /tmp: the failover
#               between nodes needs one; member failures are tests/cluster's), routes between
#               the others; client2 behind veth0 (10.0.0.2, its own NSM daemon: make_client_ns)
#   node A, B   veth nAh|nBh (init, 10.0.K.1) <-> nAn|nBn (node, 10.0.K.2), K = 1 for A, 2 for B;
#               rpcbind, rpc.mountd, exportfs, nfsd (rpc.nfsd run with instance i1's server
#               scope as its UTS name, as the nfs_server_scope of Pacemaker does), lockd, and
#               nfsrecd on backend = etcd serving instance i1 as node "nodeA" or "nodeB"
#   client3     netns c3 (10.0.3.2): a v4.2 client that mounts as node B's nfsd starts, holding
#               nothing
#   10.0.5.10   instance i1's service address: on the node that serves i1, init routes to it
CL_ADDR=10.0.5.10
CL_SCOPE=nfs-i1
CL_DIR=/tmp/cluster
CL_CLIENT_ADDR=10.0.9.1
# The product's default lease: 3 s was lost under CI load (three TCG VMs on two shared cores: a
# renewal, every third of the lease, did not get through in time, and the daemon stopped, as it
# must). nfsd's grace is shorter than the harness's 15 s so that the clients' backed-off retries of
# the conflicting locks come soon after it.
CL_LEASE=10
CL_GRACE=10
CL_ETCD=/usr/bin/etcd
CL_NFSRECD="/host/bin/nfsrecd -F -d -P /var/lib/nfs --cld-pipe /var/lib/nfs/rpc_pipefs/nfsd/cld"
CL_NFSRECCTL=/host/bin/nfsrecctl

cl_pid() { eval "echo \$CL_NODE_$1"; }
cl_in() {  # cl_in <node> <command...>: run inside the node's namespaces
    local node=$1; shift
    nsenter -t "$(cl_pid "$node")" -n -m -u "$@"
}
# A path of the node's mount namespace, seen from init (/proc/PID/root).
cl_path() { echo "/proc/$(cl_pid "$1")/root$2"; }
cl_k() { case "$1" in A) echo 1 ;; B) echo 2 ;; esac; }

cl_node_up() {  # cl_node_up <A|B>
    local n=$1 k d=$CL_DIR/$1
    k=$(cl_k "$1")
    mkdir -p "$d/state/sm" "$d/state/sm.bak" "$d/state/rpc_pipefs"
    cat /proc/sys/kernel/random/uuid > "$d/boot_id"
    unshare -n -m -u --propagation private sleep 100000 &
    eval "CL_NODE_$n=$!"
    sleep 0.3
    /sbin/ip link add "n${n}h" type veth peer name "n${n}n"
    /sbin/ip link set "n${n}n" netns "$(cl_pid "$n")"
    /sbin/ip addr add "10.0.$k.1/24" dev "n${n}h"; /sbin/ip link set "n${n}h" up
    cl_in "$n" sh -c "
        hostname node$n
        /sbin/ip link set lo up; /sbin/ip addr add 10.0.$k.2/24 dev n${n}n; /sbin/ip link set n${n}n up
        /sbin/ip route add default via 10.0.$k.1
        umount /proc/fs/nfsd 2>/dev/null; umount /var/lib/nfs/rpc_pipefs
        mount --bind $d/state /var/lib/nfs
        mount -t rpc_pipefs rpc_pipefs /var/lib/nfs/rpc_pipefs
        mount -t nfsd nfsd /proc/fs/nfsd
        mount --bind $d/boot_id /proc/sys/kernel/random/boot_id
        mount -t tmpfs tmpfs /run; mkdir -p /run/rpcbind" || log "node $n: setup failed"
    {
        printf '[nfsd]\nscope = %s\nlease-time = %s\ngrace-time = %s\n' "$CL_SCOPE" "$LEASE" "$CL_GRACE"
        printf '[nfsrecd]\nbackend = etcd\netcd-endpoints = http://10.0.%s.1:2379\ncluster = vm\n' "$k"
        printf 'instance = i1\nnode = node%s\ncluster-addresses = %s\ncluster-lease-time = %s\n' \
            "$n" "$CL_ADDR" "$CL_LEASE"
    } > "$d/nfs.conf"
    run_bg "$OUT/node$n-rpcbind.log" "nsenter -t $(cl_pid "$n") -n -m -u rpcbind -f"
    eval "CL_RPCBIND_$n=$BG_PID"
    check "node $n: own boot id ($(cl_in "$n" cat /proc/sys/kernel/random/boot_id))" \
        cl_in "$n" sh -c "[ \"\$(cat /proc/sys/kernel/random/boot_id)\" != '$(cat /proc/sys/kernel/random/boot_id)' ]"
}

cl_etcd_healthy() { wget -q -O - http://127.0.0.1:2379/health 2>/dev/null | grep -q '"health":"true"'; }
cl_etcd_up() {
    mkdir -p /tmp/etcd
    run_bg "$OUT/etcd.log" "$CL_ETCD --name vm --data-dir /tmp/etcd \
        --listen-client-urls http://127.0.0.1:2379,http://10.0.1.1:2379,http://10.0.2.1:2379 \
        --advertise-client-urls http://127.0.0.1:2379 --listen-peer-urls http://127.0.0.1:2380 \
        --initial-advertise-peer-urls http://127.0.0.1:2380 --initial-cluster vm=http://127.0.0.1:2380 \
        --logger zap --log-level warn"
    CL_ETCD_PID=$BG_PID
    T=$(up)
    check "etcd answers (one member)" wait_until 40 cl_etcd_healthy
    info "etcd up in $(elapsed "$T")s"
}
# cl_etcd_count <prefix ending in />: the number of keys under it (etcd's JSON gateway).
cl_etcd_count() {
    local c
    b() { printf '%s' "$1" | base64 | tr -d '\n'; }
    c=$(wget -q -O - --post-data "{\"key\":\"$(b "$1")\",\"range_end\":\"$(b "${1%/}0")\",\"count_only\":true}" \
        http://127.0.0.1:2379/v3/kv/range | sed -n 's/.*"count":"\([0-9]*\)".*/\1/p')
    echo "${c:-0}"
}

cl_daemon_start() {  # cl_daemon_start <node>: nfsrecd for instance i1
    run_bg "$OUT/node$1.log" "nsenter -t $(cl_pid "$1") -n -m -u $CL_NFSRECD --config $CL_DIR/$1/nfs.conf"
    eval "CL_DAEMON_$1=$BG_PID"
}
cl_nsm_answers() { cl_in "$1" rpcinfo -u 127.0.0.1 100024 1 > /dev/null 2>&1; }
cl_nfsd_start() {  # cl_nfsd_start <node>: exports, mountd, nfsd; sets NFSD_T and TRACKING
    cl_in "$1" sh -c "echo $LEASE > /proc/fs/nfsd/nfsv4leasetime; echo $CL_GRACE > /proc/fs/nfsd/nfsv4gracetime
        exportfs -ra" >> "$OUT/exportfs.log" 2>&1
    run_bg "$OUT/node$1-mountd.log" "nsenter -t $(cl_pid "$1") -n -m -u rpc.mountd -F -d all"
    eval "CL_MOUNTD_$1=$BG_PID"
    sleep 0.5
    local t0
    t0=$(up)
    cl_in "$1" unshare -u sh -c "hostname $CL_SCOPE; exec rpc.nfsd 2" >> "$OUT/node$1-rpc.nfsd.log" 2>&1 ||
        log "node $1: rpc.nfsd failed: $(tail -3 "$OUT/node$1-rpc.nfsd.log")"
    NFSD_T=$t0
    log "node $1: nfsd up: threads=$(cat "$(cl_path "$1" /proc/fs/nfsd/threads)")"
    TRACKING=$(dmesg_since "$t0" | grep -o 'NFSD: Using .* client tracking operations' | tail -1)
    kernel_lines
}
# The node crashes: its daemon first (SIGKILL, no SM_UNMON or upcall reaches it), mountd, the
# NLM locks taken through the address, nfsd (its v4 state and lockd's hosts go with it), the
# address, rpcbind. The node's namespace stays, as a powered-off host's disk does.
cl_node_crash() {
    kill -9 -"$(eval echo "\$CL_DAEMON_$1")" "$(eval echo "\$CL_MOUNTD_$1")" 2>/dev/null
    cl_in "$1" sh -c "echo $CL_ADDR > /proc/fs/nfsd/unlock_ip; rpc.nfsd 0; exportfs -f
        /sbin/ip addr del $CL_ADDR/32 dev n$1n" >> "$OUT/node$1-rpc.nfsd.log" 2>&1
    kill -9 "$(eval echo "\$CL_RPCBIND_$1")" 2>/dev/null
}
cl_address_to() {  # cl_address_to <node>: the service address moves there, init's route with it
    cl_in "$1" /sbin/ip addr add "$CL_ADDR/32" dev "n$1n"
    /sbin/ip route replace "$CL_ADDR/32" via "10.0.$(cl_k "$1").2" src "$CL_CLIENT_ADDR"
    log "service address $CL_ADDR now on node $1"
}

# cl_v4_lock_held <node> <client name part> <file>: as v4_lock_held, on the node's nfsd.
cl_v4_lock_held() {
    for c in "$(cl_path "$1" /proc/fs/nfsd/clients)"/*; do
        [ -f "$c/info" ] || continue
        grep -q "^name: .*$2" "$c/info" || continue
        grep -q "type: lock, .*filename: \"/$3\"" "$c/states" && return 0
    done
    return 1
}
cl_end_grace() { cat "$(cl_path "$1" /proc/fs/nfsd/v4_end_grace)" 2>/dev/null; }
cl_grace_ended() { [ "$(cl_end_grace "$1")" = Y ]; }
cl_any_lock() { grep -q "$(srvlock_pat "$1")" /proc/locks; }
cl_all_reclaimed() {
    cl_v4_lock_held B "NFSv4.0 nfsvm" k40 && cl_v4_lock_held B "NFSv4.2 nfsvm" k42 &&
        cl_v4_lock_held B "NFSv4.1 client2" k41 && nlm_lock_held k3
}
# The NSM state number in the node's status report: "state" directly in the top-level "nsm"
# object (other objects, "cluster"'s "stores" among them, have an "nsm" or a "state" of their own).
cl_nsm_state() {
    cl_in "$1" "$CL_NFSRECCTL" --config "$CL_DIR/$1/nfs.conf" status --json \
        2> "$OUT/node$1-status.err" | tee "$OUT/node$1-status.json" | tr -d ' \n' |
        awk '{ d = 0; in_nsm = 0
               for (j = 1; j <= length($0); j++) {
                   c = substr($0, j, 1)
                   if (c == "{" || c == "[") {
                       d++
                       if (d == 2 && substr($0, j - 6, 6) == "\"nsm\":") in_nsm = 1
                   } else if (c == "}" || c == "]") {
                       if (d == 2 && in_nsm) exit
                       d--
                   } else if (in_nsm && d == 2 && substr($0, j, 8) == "\"state\":") {
                       v = substr($0, j + 8); sub(/[^0-9].*/, "", v); print v; exit
                   }
               } }'
}
cl_ctl_show() {  # cl_ctl_show <node> <nfsrecctl args...>: into the log (and a file)
    local n=$1 f; shift
    f=$OUT/node$n-nfsrecctl-$(echo "$*" | tr -c 'a-z0-9\n' '-').txt
    cl_in "$n" "$CL_NFSRECCTL" --config "$CL_DIR/$n/nfs.conf" "$@" > "$f" 2>&1
    info "node $n: nfsrecctl $* (exit $?):"
    while IFS= read -r l; do log "  | $l"; done < "$f"
}

# client3: its own network and UTS namespace (its own NFSv4 client owner), nothing else.
cl_client3_up() {
    unshare -n -m -u --propagation private sleep 100000 &
    C3=$!
    sleep 0.3
    /sbin/ip link add c3h type veth peer name c3n
    /sbin/ip link set c3n netns $C3
    /sbin/ip addr add 10.0.3.1/24 dev c3h; /sbin/ip link set c3h up
    nsenter -t $C3 -n -m -u sh -c '
        hostname client3
        /sbin/ip link set lo up; /sbin/ip addr add 10.0.3.2/24 dev c3n; /sbin/ip link set c3n up
        /sbin/ip route add default via 10.0.3.1
        umount /proc/fs/nfsd 2>/dev/null; mkdir -p /mnt/c3v4'
}
# attempt <log> <file> [prefix...]: a conflicting lock attempt in the background; the log gets
# "<file> <exit status> <uptime when answered>" (0: granted). flock -n returns when the server
# answers: NFS4ERR_GRACE and NLM's DENIED_GRACE_PERIOD are retried by the client.
attempt() {
    local l=$1 f=$2; shift 2
    "$@" sh -c "timeout 120 flock -n -x $f true; echo \"$f \$? \$(cut -d' ' -f1 /proc/uptime)\"" >> "$OUT/$l" 2>&1 &
}

# Node A serves i1: nfsvm holds a v4.0 and a v4.2 lock, client2 a v4.1 and an NLM lock (its
# records in etcd, SM_MON at node A's daemon). Node A crashes, the address moves to node B, and
# node B's nfsrecd takes i1 once node A's lease has ended, then its nfsd starts. Node B's
# GraceStart offers i1's three v4 clients, its boot notification reaches client2 from the address
# with the next state, every lock comes back, and client3 (v4) and nfsvm (NLM), which held
# nothing, are still waiting for the same locks at the last reclaim and are refused afterwards.
scenario_cluster() {
    log "=== cluster scenario (issue 14): instance i1 ($CL_ADDR) moves from node A to node B"
    if [ -z "$MODE_NFSREC_CMD" ]; then info "cluster mode is nfsrecd's: nfsrecd mode only"; return; fi
    if [ ! -x "$CL_ETCD" ]; then
        SKIPS=$((SKIPS + 1)); log "SKIP: no etcd in the image (host package etcd-server)"; return
    fi
    S0=$(up)
    echo 1 > /proc/sys/net/ipv4/ip_forward
    /sbin/ip addr add "$CL_CLIENT_ADDR/32" dev lo
    # The address's name, which the daemon announces as the mon_name of its SM_NOTIFY (sent from
    # the address either way; without a name it announces the address text:
    # daemon/notify_source.cc).
    echo "$CL_ADDR $CL_SCOPE" >> /etc/hosts
    make_client_ns
    c2 /sbin/ip route add default via 10.0.0.1
    cl_client3_up
    cl_node_up A
    cl_node_up B
    cl_etcd_up
    cl_address_to A

    log "--- node A serves instance i1"
    # lockd's grace at this first start: nothing to reclaim (vm-init.sh's reason)
    echo 3 > /proc/sys/fs/nfs/nlm_timeout; echo 3 > /proc/sys/fs/nfs/nlm_grace_period
    cl_daemon_start A
    check "node A: nfsrecd serves i1 (NSM answers)" wait_until 20 cl_nsm_answers A
    cl_nfsd_start A
    check "node A: kernel uses the cld daemon ('$TRACKING')" tracking_is_cld
    echo 10 > /proc/sys/fs/nfs/nlm_timeout; echo 10 > /proc/sys/fs/nfs/nlm_grace_period
    check "node A: grace over (nothing to reclaim)" wait_until $((2 * LEASE + 10)) cl_grace_ended A
    mkdir -p /mnt/cl40 /mnt/cl42 /mnt/cl3
    check "mount v4.0 $CL_ADDR:/export" mount.nfs4 "$CL_ADDR:/export" /mnt/cl40 -o vers=4.0
    check "mount v4.2 $CL_ADDR:/export" mount.nfs4 "$CL_ADDR:/export" /mnt/cl42 -o vers=4.2
    check "client2: mount v4.1 $CL_ADDR:/export" c2 mount.nfs4 "$CL_ADDR:/export" /mnt/c2v41 -o vers=4.1
    check "client2: mount v3 $CL_ADDR:/export" c2 mount.nfs "$CL_ADDR:/export" /mnt/c2v3 -o vers=3
    for f in k40 k42 k41 k3; do echo "$f" > /mnt/cl42/$f; done
    T=$(up)
    hold /mnt/cl40/k40 cl-40.log; H40=$HOLDER
    hold /mnt/cl42/k42 cl-42.log; H42=$HOLDER
    hold /mnt/c2v41/k41 cl-41.log nsenter -t $C1 -n -m -u; H41=$HOLDER
    hold /mnt/c2v3/k3 cl-3.log nsenter -t $C1 -n -m -u; H3=$HOLDER
    check "v4.0 lock granted (nfsvm)" wait_grep LOCKED "$OUT/cl-40.log" 40
    check "v4.2 lock granted (nfsvm)" wait_grep LOCKED "$OUT/cl-42.log" 40
    check "client2 v4.1 lock granted" wait_grep LOCKED "$OUT/cl-41.log" 40
    check "client2 v3 lock granted" wait_grep LOCKED "$OUT/cl-3.log" 40
    info "four locks granted in $(elapsed "$T")s"
    check "node A holds the v4.0 lock" cl_v4_lock_held A "NFSv4.0 nfsvm" k40
    check "node A holds the v4.2 lock" cl_v4_lock_held A "NFSv4.2 nfsvm" k42
    check "node A holds client2's v4.1 lock" cl_v4_lock_held A "NFSv4.1 client2" k41
    check "node A holds client2's NLM lock" nlm_lock_held k3
    check "node A's lockd monitored client2 (no 'cannot monitor')" not dmesg_since_has "$S0" 'cannot monitor'
    logcheck "node A's nfsrecd got SM_MON for client2" "$OUT/nodeA.log" "${PAT_NSM_MON:+$PAT_NSM_MON 10\.0\.0\.2}"
    info "node A's nfsrecd answered $(grep -cE "$PAT_CLD_CREATE" "$OUT/nodeA.log") Create upcalls"
    RECS=$(cl_etcd_count /nfsrec/vm/instances/i1/v4/rec/)
    check "etcd holds i1's three v4 client records ($RECS under /nfsrec/vm/instances/i1/v4/rec/)" [ "$RECS" = 3 ]
    NSMK=$(cl_etcd_count /nfsrec/vm/instances/i1/nsm/)
    info "etcd keys under /nfsrec/vm/instances/i1/nsm/: $NSMK"
    STATE_A=$(cl_nsm_state A)
    info "i1's NSM state on node A: ${STATE_A:-unknown}"
    cl_ctl_show A cluster status

    log "--- node A crashes; $CL_ADDR moves to node B"
    C0=$(up)
    cl_node_crash A
    check "node A's crash dropped client2's NLM lock" not nlm_lock_held k3
    check "node A's crash dropped every v4 lock" sh -c "! grep -qE \"$(srvlock_pat k40)|$(srvlock_pat k42)|$(srvlock_pat k41)\" /proc/locks"
    cl_address_to B
    trace_ops_start
    cl_daemon_start B
    T=$(up)
    check "node B: nfsrecd took instance i1 over (NSM answers)" wait_until 30 cl_nsm_answers B
    info "node B's nfsrecd served i1 $(elapsed "$T")s after its start, $(elapsed "$C0")s after node A's crash (cluster-lease-time ${CL_LEASE}s)"
    check "node B's nfsrecd took i1" grep -q 'instance i1 taken by node nodeB' "$OUT/nodeB.log"
    if grep -q 'instance i1 is held by node nodeA' "$OUT/nodeB.log"; then
        info "node B's nfsrecd found i1 held by nodeA and waited for that lease to end"
    else info "node A's lease had ended before node B's nfsrecd asked"; fi
    cl_nfsd_start B
    # right after nfsd's start: a client that held nothing asks for the same locks
    c3 mount.nfs4 "$CL_ADDR:/export" /mnt/c3v4 -o vers=4.2 > /dev/null 2>&1 ||
        log "client3: mount failed"
    : > "$OUT/cl-conflict.log"
    for f in k40 k42 k41 k3; do attempt cl-conflict.log /mnt/c3v4/$f nsenter -t $C3 -n -m -u; done
    mount.nfs "$CL_ADDR:/export" /mnt/cl3 -o vers=3 || log "nfsvm: v3 mount failed"
    attempt cl-conflict.log /mnt/cl3/k3
    A0=$(up)
    poke /mnt/cl40; poke /mnt/cl42; c2_poke /mnt/c2v41 &
    check "node B: kernel uses the cld daemon ('$TRACKING')" tracking_is_cld
    check "node B: kernel started a grace period" \
        wait_until 5 dmesg_since_has "$NFSD_T" 'starting [0-9]+-second grace period'
    check "node B's GraceStart offered exactly i1's 3 clients" \
        log_since_start_has "$OUT/nodeB.log" 'cld: grace started: 3 clients may reclaim'
    check "every lock reclaimed on node B (v4.0, v4.2, client2's v4.1 and NLM)" wait_until 60 cl_all_reclaimed
    TR=$(up)
    check "conflicting attempts still waiting when the last lock was reclaimed" \
        [ "$(wc -l < "$OUT/cl-conflict.log")" = 0 ]
    info "last reclaim seen $(elapsed "$NFSD_T")s after node B's nfsd started (polled every 0.5 s)"
    dump_nfsd_clients_at B > "$OUT/cl-clients-after.txt"
    check "node B holds the v4.0 lock" cl_v4_lock_held B "NFSv4.0 nfsvm" k40
    check "node B holds the v4.2 lock" cl_v4_lock_held B "NFSv4.2 nfsvm" k42
    check "node B holds client2's v4.1 lock" cl_v4_lock_held B "NFSv4.1 client2" k41
    check "client2's NLM lock is back (lockd reclaimed it on node B)" nlm_lock_held k3
    STATE_B=$(cl_nsm_state B)
    NOTE=$(grep -E "Received SM_NOTIFY from $CL_ADDR[ :]" "$C2_LOG" | tail -1)
    info "client2: ${NOTE:-no SM_NOTIFY from $CL_ADDR}"
    check "client2 got SM_NOTIFY from $CL_ADDR with i1's new state ${STATE_B:-?} (node A had ${STATE_A:-?})" \
        sh -c "[ -n '$STATE_B' ] && [ '$STATE_B' -gt '${STATE_A:-0}' ] &&
            echo '$NOTE' | grep -qE 'state $STATE_B\$'"
    logcheck "node B's nfsrecd notified client2" "$OUT/nodeB.log" "$PAT_NOTIFY_SENT"
    logcheck "node B's lockd monitored client2 through node B's nfsrecd (its reclaim)" "$OUT/nodeB.log" \
        "${PAT_NSM_MON:+$PAT_NSM_MON 10\.0\.0\.2}"
    check "grace ended on node B" wait_until $((2 * LEASE + 10)) cl_grace_ended B
    TG=$(up)
    info "grace over $(elapsed "$NFSD_T")s after node B's nfsd started"
    GE=$(log_since_start "$OUT/nodeB.log" | grep -oE 'cld: grace ended \([^)]*\)' | tail -1)
    info "node B's nfsrecd: '${GE:-no grace ended line yet}'"
    if dmesg_since_has "$NFSD_T" 'all clients done reclaiming'; then info "the kernel ended grace itself"; fi
    # A v4.0 client's reclaim brings no Create (and it sends no RECLAIM_COMPLETE), so the daemon
    # cannot tell that it is back: with one, nfsd's grace timer ends grace.
    check "node B's nfsrecd saw grace end (all reclaimed, or nfsd's timer)" \
        log_since_start_has "$OUT/nodeB.log" 'cld: grace ended \((all reclaimed|timer)\)'
    check "the cluster grace was lifted" log_since_start_has "$OUT/nodeB.log" 'cluster grace [0-9]+ lifted'
    check "every conflicting attempt answered" wait_until 130 sh -c "[ \$(wc -l < '$OUT/cl-conflict.log') = 5 ]"
    while read -r f rc t; do
        info "conflicting lock on $f answered (exit $rc) $(echo "$t $NFSD_T" | awk '{printf "%.1f", $1-$2}')s after nfsd started, $(echo "$t $TR" | awk '{printf "%.1f", $1-$2}')s after the last reclaim was seen"
        check "conflicting lock on $f from a client that held nothing: denied" [ "$rc" != 0 ]
    done < "$OUT/cl-conflict.log"
    check "no client lost a lock (no 'lost', no failed reclaim in the kernel log)" \
        not dmesg_since_has "$C0" "$LOSS_PAT"
    sleep 1
    trace_ops_stop "$OUT/cl-ops-trace.txt"
    trace_ops_summary "$OUT/cl-ops-trace.txt"
    check "nfsd refused no reclaim (no NFS4ERR_RECLAIM_BAD or NO_GRACE)" \
        not reclaim_refused "$OUT/cl-ops-trace.txt"
    # The same clock as the kernel log: the last granted LOCK (the conflicting ones were all
    # refused, so these are the reclaims) against node B's grace start.
    GS=$(dmesg_ts_since "$C0" | grep -E 'starting [0-9]+-second grace period' | tail -1 | cut -d' ' -f1)
    LR=$(trace_time "$OUT/cl-ops-trace.txt" 'OP_LOCK status=0')
    info "last v4 LOCK reclaim $(echo "$LR $GS" | awk '$1 != "" && $2 != "" {printf "%.2f", $1 - $2}')s after node B's grace started (trace ${LR:-none}, grace ${GS:-none})"
    cl_ctl_show B cluster status
    check "nfsrecctl cluster status on node B: i1 owned by nodeB" \
        grep -qE 'i1.*nodeB' "$OUT/nodeB-nfsrecctl-cluster-status.txt"
    kernel_lines
    unhold $H40; unhold $H42; unhold $H41; unhold $H3
    info "cluster scenario took $(elapsed "$S0")s"
}
c3() { nsenter -t $C3 -n -m -u "$@"; }
dump_nfsd_clients_at() {
    for c in "$(cl_path "$1" /proc/fs/nfsd/clients)"/*; do
        [ -d "$c" ] || continue
        echo "--- $c"; cat "$c/info"; cat "$c/states"
    done
}
