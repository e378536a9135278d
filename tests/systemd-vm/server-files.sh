#!/bin/bash
# server-files.sh <root> - the configuration of the server VM's Debian root, written after
# debootstrap (build-image.sh). Part of the image's cache key: a change rebuilds the image.
set -euo pipefail
R=$1
echo nfsserver > "$R/etc/hostname"
printf '127.0.0.1 localhost\n10.0.1.1 nfsserver\n10.0.1.2 client1\n' > "$R/etc/hosts"
# the 9p share of the host carries the test agent and takes the results
mkdir -p "$R/host" "$R/srv/export"
chmod 1777 "$R/srv/export"
cat > "$R/etc/fstab" <<'FSTAB'
/dev/vda / ext4 rw,errors=remount-ro 0 1
host /host 9p trans=virtio,version=9p2000.L,msize=262144,nofail 0 0
FSTAB
printf '9p\n9pnet_virtio\n' > "$R/etc/modules-load.d/sysvm.conf"
# The private qemu network between the two VMs (eth0: net.ifnames=0 on the command line): the
# server's initramfs sets its address before systemd starts (build-image.sh), so no network
# manager runs and network-online.target does not wait.
printf '/srv/export 10.0.1.0/24(rw,no_root_squash,no_subtree_check,insecure) 127.0.0.1(rw,no_root_squash,no_subtree_check,insecure)\n' \
    > "$R/etc/exports"
# Short lease and grace so that a round takes seconds, not minutes; lockd's grace likewise
# (module options: the sysctls exist only once lockd is loaded).
mkdir -p "$R/etc/nfs.conf.d"
printf '[nfsd]\nlease-time=15\ngrace-time=15\n' > "$R/etc/nfs.conf.d/sysvm.conf"
printf 'options lockd nlm_grace_period=15 nlm_timeout=5\n' > "$R/etc/modprobe.d/sysvm-lockd.conf"
# No delegations (nfsd needs leases for them): under a delegation the client would keep new
# locks to itself and the server's lock tables would not show them.
printf 'fs.leases-enable = 0\n' > "$R/etc/sysctl.d/sysvm.conf"
# persistent journal: the evidence of earlier boots
mkdir -p "$R/etc/systemd/journald.conf.d" "$R/var/log/journal"
printf '[Journal]\nStorage=persistent\n' > "$R/etc/systemd/journald.conf.d/sysvm.conf"
# the agent: runs /host/server-agent.sh once the system is up, at every boot
cat > "$R/etc/systemd/system/sysvm-agent.service" <<'UNIT'
[Unit]
Description=systemd-vm test agent (tests/systemd-vm/server-agent.sh on the host share)
After=multi-user.target nfs-server.service
RequiresMountsFor=/host
[Service]
Type=simple
ExecStart=/bin/sh /host/server-agent.sh
StandardOutput=journal+console
StandardError=journal+console
[Install]
WantedBy=multi-user.target
UNIT
systemctl --root="$R" enable sysvm-agent.service nfs-server.service
systemctl --root="$R" mask serial-getty@ttyS0.service getty@tty1.service apt-daily.timer apt-daily-upgrade.timer \
    e2scrub_all.timer e2scrub_reap.service fstrim.timer > /dev/null 2>&1 || true
