# Sourced by system tests that run Debian's nfsdcld (unpacked from the
# nfs-kernel-server .deb, which need not be installed): finds the .deb, or
# downloads it, before the test enters its network namespace (no network
# there), and exports NFS_KERNEL_SERVER_DEB for the namespaced run.
if [ -z "${WITH_NETNS_NAME:-}" ] && [ -z "${NFS_KERNEL_SERVER_DEB:-}" ] && [ "$(id -u)" = 0 ]; then
  debs=${top_builddir:-.}/tests/system/debs
  for d in "${top_builddir:-.}/realkernel-work/debs" /var/cache/apt/archives "$debs"; do
    NFS_KERNEL_SERVER_DEB=$(ls "$d"/nfs-kernel-server_*.deb 2>/dev/null | head -1)
    [ -n "$NFS_KERNEL_SERVER_DEB" ] && break
  done
  if [ -z "$NFS_KERNEL_SERVER_DEB" ] && mkdir -p "$debs"; then
    (cd "$debs" && timeout 60 apt-get download nfs-kernel-server >/dev/null 2>&1)
    NFS_KERNEL_SERVER_DEB=$(ls "$debs"/nfs-kernel-server_*.deb 2>/dev/null | head -1)
  fi
  export NFS_KERNEL_SERVER_DEB
fi
