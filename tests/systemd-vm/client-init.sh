#!/bin/sh
# /init of the client VM of the systemd boot test: the real-kernel suite's busybox initramfs
# (kernel NFS client, rpcbind, rpc.statd, flock) with this file as /init (build-image.sh).
#
# "client1" (10.0.1.2 on the private qemu network) mounts the server over NFSv4.2 and NFSv3,
# takes one lock on each, and keeps both while the server reboots. After every server boot it
# checks that its lock holders are still running and that its kernel logged no lost lock; the
# server checks the other side (its lock tables, and a conflicting lock refused).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp; mount -t tmpfs tmpfs /run
for ko in $(cat /modules.list); do insmod "$ko" 2>/dev/null; done
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 host /host || { echo "client: no 9p share"; poweroff -f; }
VM=client
. /sysvm-lib.sh
log "client init (kernel $(uname -r))"
hostname client1
/sbin/ip link set lo up
/sbin/ip addr add 10.0.1.2/24 dev eth0; /sbin/ip link set eth0 up
mount -t tmpfs -o mode=0755 tmpfs /var/lib/nfs
mkdir -p /var/lib/nfs/sm /var/lib/nfs/sm.bak /var/lib/nfs/rpc_pipefs /run/rpcbind /mnt/v4 /mnt/v3
mount -t rpc_pipefs rpc_pipefs /var/lib/nfs/rpc_pipefs
rpcbind -f > "$OUT/client-rpcbind.log" 2>&1 &
sleep 0.3
rpc.statd -F -d --no-notify > "$OUT/client-statd.log" 2>&1 &
finish() {
    dmesg > "$OUT/client-dmesg.txt"
    cat /proc/locks > "$OUT/client-locks-end.txt"
    echo "fails=$FAILS passes=$PASSES" > "$OUT/client.result"
    log "client done: fails=$FAILS passes=$PASSES"
    signal client-done
    sync; umount /host 2>/dev/null
    poweroff -f
}
no_lost_lock() { ! dmesg | grep -E 'lost [0-9]+ locks|lockd: .*lost|NFS: .*lost'; }
notified() { [ "$(grep -c "Received SM_NOTIFY" "$OUT/client-statd.log")" -ge "$1" ]; }

await up-1 "${SYSVM_WAIT:-900}" || finish
check "ping the server (10.0.1.1)" wait_until 20 ping -c1 -W1 10.0.1.1
check "mount NFSv4.2 10.0.1.1:/srv/export" mount.nfs4 10.0.1.1:/srv/export /mnt/v4 -o vers=4.2
check "mount NFSv3 10.0.1.1:/srv/export" mount.nfs 10.0.1.1:/srv/export /mnt/v3 -o vers=3
echo four > /mnt/v4/f4; echo three > /mnt/v3/f3
hold /mnt/v4/f4 client-flock-v4.log; H4=$HOLDER
hold /mnt/v3/f3 client-flock-v3.log; H3=$HOLDER
check "v4 lock granted" wait_until 60 grep -q LOCKED "$OUT/client-flock-v4.log"
check "v3 (NLM) lock granted" wait_until 60 grep -q LOCKED "$OUT/client-flock-v3.log"
signal client-locked
n=2
while :; do
    # the server announces each boot (up-N) or the end of the test (finished)
    wait_until "${SYSVM_WAIT:-900}" sh -c "test -e $SYNC/up-$n || test -e $SYNC/finished"
    [ -e "$SYNC/up-$n" ] || break
    log "server boot $n is up"
    # any call makes the v4 client notice the reboot (BADSESSION/STALE_CLIENTID) and reclaim;
    # the NLM lock is reclaimed when the server's SM_NOTIFY reaches rpc.statd here
    timeout 60 ls -l /mnt/v4 /mnt/v3 > /dev/null 2>&1 &
    await "server-checked-$n" 600
    check "boot $n: the v4 lock holder still runs" alive $H4
    check "boot $n: the v3 lock holder still runs" alive $H3
    check "boot $n: the client kernel logged no lost lock" no_lost_lock
    check "boot $n: client statd got SM_NOTIFY (one per server boot)" notified $((n - 1))
    signal "client-checked-$n"
    n=$((n + 1))
done
kill -TERM -$H4 -$H3 2>/dev/null
finish
