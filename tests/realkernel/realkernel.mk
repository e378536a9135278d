# Real-kernel acceptance (qemu): Debian's kernel nfsd and lockd with the recovery daemon under
# test. Run by `make check-realkernel`, not by `make check` (it boots VMs and downloads the kernel
# package with apt). See tests/realkernel/README.md.
#
#   make check-realkernel                              nfsrecd, built statically, in every scenario
#   make check-realkernel REALKERNEL_MODE=nfs-utils    nfs-utils' daemons, for comparison
#   make check-realkernel REALKERNEL_SCENARIOS="v4 2host"
#   make check-realkernel REALKERNEL_LINK=dynamic      this build's nfsrecd; the image gets its libraries
#
# With REALKERNEL_LINK=static (the default) the daemon is linked with --enable-static-daemon: in
# this build when it was configured so, otherwise in a second build directory
# ($(REALKERNEL_STATIC_BUILDDIR)) configured with the same options plus --enable-static-daemon.
REALKERNEL_MODE = nfsrecd
REALKERNEL_LINK = static
REALKERNEL_SCENARIOS =
REALKERNEL_WORK = $(abs_top_builddir)/realkernel-work
REALKERNEL_STATIC_BUILDDIR = $(abs_top_builddir)/realkernel-static
REALKERNEL_DAEMON = nfsrecd$(EXEEXT)
# After every scenario (REALKERNEL_SCENARIOS empty), the systemd boot test runs on the same kernel.
REALKERNEL_SYSTEMD_VM = yes

EXTRA_DIST += tests/realkernel/README.md tests/realkernel/check-realkernel.sh \
	tests/realkernel/run-vm.sh tests/realkernel/vm-init.sh tests/realkernel/vm-scenarios.sh tests/realkernel/vm-cluster.sh \
	tests/realkernel/nfs-utils-as-nfsrecd.sh

# nfsrecctl is built beside the daemon (the switch scenarios run it in the VM); it stays
# dynamically linked and run-vm.sh copies its libraries into the image.
REALKERNEL_CTL = nfsrecctl$(EXEEXT)

if STATIC_DAEMON
realkernel_daemon_path = $(abs_top_builddir)/$(REALKERNEL_DAEMON)
realkernel-daemon: $(REALKERNEL_DAEMON) $(REALKERNEL_CTL)
else
realkernel_daemon_path = $(REALKERNEL_STATIC_BUILDDIR)/$(REALKERNEL_DAEMON)
realkernel-daemon:
	@if test "$(abs_top_srcdir)" = "$(abs_top_builddir)"; then \
	  echo "check-realkernel: an in-tree build cannot configure a second build of the same source;"; \
	  echo "  configure this build with --enable-static-daemon, or build out of tree"; exit 1; \
	fi
	$(MKDIR_P) $(REALKERNEL_STATIC_BUILDDIR)
	cd $(REALKERNEL_STATIC_BUILDDIR) && \
	  if test ! -f Makefile; then \
	    eval "$(SHELL) '$(abs_top_srcdir)/configure' -q $$(cd '$(abs_top_builddir)' && ./config.status --config) \
	      --enable-static-daemon"; \
	  fi && \
	  $(MAKE) $(AM_MAKEFLAGS) $(REALKERNEL_DAEMON) $(REALKERNEL_CTL)
endif

check-realkernel:
	@if test "$(REALKERNEL_MODE)" = nfsrecd && test "$(REALKERNEL_LINK)" = dynamic; then \
	  $(MAKE) $(AM_MAKEFLAGS) $(REALKERNEL_DAEMON) $(REALKERNEL_CTL) || exit 1; \
	  set -- nfsrecd "$(abs_top_builddir)/$(REALKERNEL_DAEMON)"; \
	elif test "$(REALKERNEL_MODE)" = nfsrecd; then \
	  $(MAKE) $(AM_MAKEFLAGS) realkernel-daemon || exit 1; \
	  set -- nfsrecd "$(realkernel_daemon_path)"; \
	else \
	  set -- "$(REALKERNEL_MODE)"; \
	fi; \
	REALKERNEL_WORK='$(REALKERNEL_WORK)' \
	  bash '$(abs_top_srcdir)/tests/realkernel/check-realkernel.sh' "$$@" $(REALKERNEL_SCENARIOS)
	@if test "$(REALKERNEL_SYSTEMD_VM)" = yes && test -z "$(REALKERNEL_SCENARIOS)"; then \
	  $(MAKE) $(AM_MAKEFLAGS) check-systemd-vm; fi

# Only the default locations: an overridden REALKERNEL_WORK is the caller's to keep.
clean-realkernel:
	-rm -rf '$(abs_top_builddir)/realkernel-static' '$(abs_top_builddir)/realkernel-work'
clean-local: clean-realkernel

include tests/systemd-vm/systemd-vm.mk
