# The binaries: every main, option parsing, nfs.conf and the daemon's
# configuration.  The only folder that sees both statd/ and nfs4rec/.
noinst_LIBRARIES += daemon/libdaemon.a
daemon_libdaemon_a_SOURCES = \
	daemon/options.cc daemon/options.h \
	daemon/daemon_config.cc daemon/daemon_config.h \
	daemon/notify_config.cc daemon/notify_config.h \
	daemon/cltrack_config.cc daemon/cltrack_config.h \
	daemon/nfsdcld_config.cc daemon/nfsdcld_config.h \
	daemon/nlm_ports.cc daemon/nlm_ports.h \
	daemon/notify_source.cc daemon/notify_source.h \
	daemon/nfs_conf.cc daemon/nfs_conf.h \
	daemon/notify_main.cc daemon/notify_main.h \
	daemon/nsm_endpoint.cc daemon/nsm_endpoint.h \
	daemon/process.cc daemon/process.h

# The daemon (and, through argv[0] or --sm-notify, the sm-notify command).
sbin_PROGRAMS += nfsrecd
nfsrecd_SOURCES = daemon/nfsrecd_main.cc
# DAEMON_LIBS (configure.ac) is $(SYS_LIBS), or with --enable-static-daemon
# the same libraries linked statically except libc and libtirpc: libtirpc.a
# needs libgssapi_krb5, which Debian 12 ships without a static archive.
nfsrecd_LDADD = daemon/libdaemon.a statd/libstatd.a nfs4rec/libnfs4rec.a $(COMMON_LIBS) \
	rpcgen/librpcxdr.a @DAEMON_LIBS@
if STATIC_DAEMON
nfsrecd_LDFLAGS = $(AM_LDFLAGS) -static-libstdc++ -static-libgcc
endif

# sm-notify-compatible command: a link to the daemon binary.
install-exec-hook:
	cd $(DESTDIR)$(sbindir) && rm -f nfsrec-notify && $(LN_S) nfsrecd nfsrec-notify
uninstall-hook:
	rm -f $(DESTDIR)$(sbindir)/nfsrec-notify

# nfsdcltrack-compatible usermode helper.
sbin_PROGRAMS += nfsrec-cltrack
nfsrec_cltrack_SOURCES = daemon/cltrack_main.cc
nfsrec_cltrack_LDADD = daemon/libdaemon.a nfs4rec/libnfs4rec.a $(COMMON_LIBS) $(SYS_LIBS)

check_PROGRAMS += daemon/config_test
TESTS += daemon/config_test
daemon_config_test_SOURCES = daemon/nfs_conf_test.cc daemon/options_test.cc \
	daemon/check_state_directory_test.cc \
	daemon/daemon_config_test.cc daemon/notify_config_test.cc daemon/cltrack_config_test.cc \
	daemon/nfsdcld_config_test.cc
daemon_config_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
daemon_config_test_LDADD = daemon/libdaemon.a statd/libstatd.a $(COMMON_LIBS) $(GTEST_LIBS) \
	$(SYS_LIBS)
