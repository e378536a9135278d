#!/bin/sh
# Stand-in for nfsrecd that runs nfs-utils' daemons behind nfsrecd's assumed command line, so
# that the harness's nfsrecd mode (one process group serving cld and NSM, the notify mode, the
# binary under $SHARE/bin) can be exercised before the daemon exists:
#   MODE=nfsrecd LOG_PATTERNS=nfs-utils NFSRECD_BIN=tests/realkernel/nfs-utils-as-nfsrecd.sh run-vm.sh all
# v40-reboot2 and nfsd-first fail with it, as they do in nfs-utils mode. The daemon options are ignored.
case "$1" in
    --sm-notify) shift; exec /sbin/sm-notify "$@" ;;
esac
/sbin/rpc.statd -F -d --no-notify &
exec /usr/sbin/nfsdcld -F -d
