# The systemd boot test (qemu): a Debian 12 root made by debootstrap, systemd as PID 1, the
# real kernel nfsd and lockd; nfs-utils -> nfsrecd -> nfs-utils across reboots while a client VM
# holds NFSv3 and NFSv4 locks. Run by `make check-systemd-vm`, and by `make check-realkernel`
# after the real-kernel scenarios (it reuses their kernel). See tests/systemd-vm/README.md.
#
#   make check-systemd-vm                               the package from scripts/build-deb
#   make check-systemd-vm NFSRECD_DEB=/path/nfsrecd_1.0_amd64.deb
#   make check-systemd-vm SYSVM_REBOOT=crash            the server crashes instead of rebooting
SYSVM_WORK = $(abs_top_builddir)/systemd-vm-work
# Where make check's packaging test leaves the package: reused when built from the same sources.
SYSVM_DEB_OUT = $(abs_top_builddir)/tests/packaging/deb-out

EXTRA_DIST += tests/systemd-vm/README.md tests/systemd-vm/check-systemd-vm.sh \
	tests/systemd-vm/run-sysvm.sh tests/systemd-vm/build-image.sh tests/systemd-vm/server-files.sh \
	tests/systemd-vm/server-agent.sh tests/systemd-vm/client-init.sh tests/systemd-vm/sysvm-lib.sh \
	tests/systemd-vm/check-install-order.sh

# A missing host tool (exit 77) is reported as a skip, not as a failure of the target.
check-systemd-vm:
	@rc=0; SYSVM_WORK='$(SYSVM_WORK)' REALKERNEL_WORK='$(REALKERNEL_WORK)' \
	  NFSRECD_DEB_OUT="$${NFSRECD_DEB_OUT:-$(SYSVM_DEB_OUT)}" \
	  bash '$(abs_top_srcdir)/tests/systemd-vm/check-systemd-vm.sh' '$(abs_top_srcdir)' || rc=$$?; \
	if test $$rc = 77; then echo "check-systemd-vm: skipped"; exit 0; fi; exit $$rc

clean-systemd-vm:
	-rm -rf '$(abs_top_builddir)/systemd-vm-work'
clean-local: clean-systemd-vm
