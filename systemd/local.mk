# systemd units, the tmpfiles.d file and the switch command, with the
# configured paths (@sbindir@, @statedir@, ...) filled in at build time.
systemdsystemunit_DATA = systemd/nfsrecd.service systemd/nfsrecd-notify.service
tmpfiles_DATA = systemd/nfsrecd.conf
sbin_SCRIPTS = systemd/nfsrecd-switch
EXTRA_DIST += systemd/nfsrecd.service.in systemd/nfsrecd-notify.service.in \
	systemd/nfsrecd.tmpfiles.in systemd/nfsrecd-switch.in
CLEANFILES += $(systemdsystemunit_DATA) $(tmpfiles_DATA) $(sbin_SCRIPTS)

subst_configured = sed -e 's|@sbindir[@]|$(sbindir)|g' -e 's|@libexecdir[@]|$(libexecdir)|g' \
	-e 's|@statedir[@]|$(statedir)|g' -e 's|@statduser[@]|$(statduser)|g'

systemd/nfsrecd.service: $(srcdir)/systemd/nfsrecd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && $(subst_configured) $(srcdir)/systemd/nfsrecd.service.in >$@
systemd/nfsrecd-notify.service: $(srcdir)/systemd/nfsrecd-notify.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && $(subst_configured) $(srcdir)/systemd/nfsrecd-notify.service.in >$@
systemd/nfsrecd.conf: $(srcdir)/systemd/nfsrecd.tmpfiles.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && $(subst_configured) $(srcdir)/systemd/nfsrecd.tmpfiles.in >$@
systemd/nfsrecd-switch: $(srcdir)/systemd/nfsrecd-switch.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && $(subst_configured) $(srcdir)/systemd/nfsrecd-switch.in >$@ && chmod +x $@
