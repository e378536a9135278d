# The binaries: every main, option parsing, nfs.conf and the daemon's
# configuration.  The only folder that sees both statd/ and nfs4rec/.
noinst_LIBRARIES += daemon/libdaemon.a
daemon_libdaemon_a_SOURCES = \
	daemon/options.cc daemon/options.h \
	daemon/daemon_config.cc daemon/daemon_config.h \
	daemon/cluster_config.cc daemon/cluster_config.h \
	daemon/cluster_preflight.cc daemon/cluster_preflight.h \
	daemon/cluster_mode.cc daemon/cluster_mode.h \
	daemon/notify_config.cc daemon/notify_config.h \
	daemon/cltrack_config.cc daemon/cltrack_config.h \
	daemon/nfsdcld_config.cc daemon/nfsdcld_config.h \
	daemon/nlm_ports.cc daemon/nlm_ports.h \
	daemon/nfs4_takeover.cc daemon/nfs4_takeover.h \
	daemon/notify_source.cc daemon/notify_source.h \
	daemon/nfs_conf.cc daemon/nfs_conf.h \
	daemon/notify_main.cc daemon/notify_main.h \
	daemon/nsm_endpoint.cc daemon/nsm_endpoint.h \
	daemon/process.cc daemon/process.h \
	daemon/control_server.cc daemon/control_server.h \
	daemon/control_client.cc daemon/control_client.h \
	daemon/status_report.cc daemon/status_report.h \
	daemon/live_figures.cc daemon/live_figures.h \
	daemon/control_admin.cc daemon/control_admin.h \
	daemon/cluster_grace_control.cc daemon/cluster_grace_control.h

# The daemon (and, through argv[0] or --sm-notify, the sm-notify command).
sbin_PROGRAMS += nfsrecd
nfsrecd_SOURCES = daemon/nfsrecd_main.cc
# DAEMON_LIBS (configure.ac) is $(SYS_LIBS), or with --enable-static-daemon
# the same libraries linked statically except libc and libtirpc: libtirpc.a
# needs libgssapi_krb5, which Debian 12 ships without a static archive.
nfsrecd_LDADD = daemon/libdaemon.a $(ETCD_NSM_LIBS) statd/libstatd.a nfs4rec/libnfs4rec.a \
	$(CLUSTER_LIBS) $(COMMON_LIBS) rpcgen/librpcxdr.a @DAEMON_LIBS@
if STATIC_DAEMON
nfsrecd_LDFLAGS = $(AM_LDFLAGS) -static-libstdc++ -static-libgcc
endif

# sm-notify-compatible command: a link to the daemon binary.  The names
# other software calls (rpc.statd, sm-notify, nfsdcld: the daemon in that
# role, chosen by argv[0]; nfsdcltrack: the helper) are links in
# $(libexecdir)/nfsrecd, so that installing never replaces nfs-utils'
# files; the package makes them alternatives of nfs-utils' names.
compatdir = $(libexecdir)/nfsrecd
install-exec-hook:
	cd $(DESTDIR)$(sbindir) && rm -f nfsrec-notify && $(LN_S) nfsrecd nfsrec-notify
	$(MKDIR_P) $(DESTDIR)$(compatdir)
	for name in rpc.statd sm-notify nfsdcld; do \
	  rm -f $(DESTDIR)$(compatdir)/$$name && \
	  $(LN_S) $(sbindir)/nfsrecd $(DESTDIR)$(compatdir)/$$name || exit 1; \
	done
	rm -f $(DESTDIR)$(compatdir)/nfsdcltrack && \
	  $(LN_S) $(sbindir)/nfsrec-cltrack $(DESTDIR)$(compatdir)/nfsdcltrack
uninstall-hook:
	rm -f $(DESTDIR)$(sbindir)/nfsrec-notify
	for name in rpc.statd sm-notify nfsdcld nfsdcltrack; do rm -f $(DESTDIR)$(compatdir)/$$name; done
	-rmdir $(DESTDIR)$(compatdir)

# nfsdcltrack-compatible usermode helper.
sbin_PROGRAMS += nfsrec-cltrack
nfsrec_cltrack_SOURCES = daemon/cltrack_main.cc
nfsrec_cltrack_LDADD = daemon/libdaemon.a nfs4rec/libnfs4rec.a $(COMMON_LIBS) $(SYS_LIBS)

check_PROGRAMS += daemon/config_test
TESTS += daemon/config_test
daemon_config_test_SOURCES = daemon/nfs_conf_test.cc daemon/options_test.cc \
	daemon/cluster_config_test.cc daemon/cluster_preflight_test.cc \
	daemon/check_state_directory_test.cc \
	daemon/daemon_config_test.cc daemon/notify_config_test.cc daemon/cltrack_config_test.cc \
	daemon/startup_notify_test.cc daemon/nfsdcld_config_test.cc
daemon_config_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
daemon_config_test_LDADD = daemon/libdaemon.a statd/libstatd.a $(COMMON_LIBS) $(GTEST_LIBS) \
	$(SYS_LIBS)

# nfsrecctl: the administrator's command (man/nfsrecctl.8).  Everything but
# its main is a library of its own, linked by the command and by the tests
# below, so that each source is compiled once per build.
noinst_LIBRARIES += daemon/libnfsrecctl.a
daemon_libnfsrecctl_a_SOURCES = daemon/nfsrecctl_config.cc daemon/nfsrecctl_config.h \
	daemon/nfsrecctl_import.cc daemon/nfsrecctl_import.h \
	daemon/nfsrecctl_live.cc daemon/nfsrecctl_live.h \
	daemon/nfsrecctl_admin.cc daemon/nfsrecctl_admin.h \
	daemon/nfsrecctl_cluster.cc daemon/nfsrecctl_cluster.h \
	daemon/nfsrecctl_store.cc daemon/nfsrecctl_store.h \
	daemon/nfsrecctl_format.cc daemon/nfsrecctl_format.h \
	daemon/nfsrecctl_list.cc daemon/nfsrecctl_list.h
NFSRECCTL_LIBS = daemon/libnfsrecctl.a
sbin_PROGRAMS += nfsrecctl
nfsrecctl_SOURCES = daemon/nfsrecctl_main.cc
nfsrecctl_LDADD = $(NFSRECCTL_LIBS) daemon/libdaemon.a statd/libstatd.a nfs4rec/libnfs4rec.a \
	$(CLUSTER_LIBS) $(COMMON_LIBS) rpcgen/librpcxdr.a $(CURL_LIBS) $(SYS_LIBS)
dist_man_MANS += man/nfsrecctl.8
# The --json shapes (man/nfsrecctl.8 points to them), with their schemas.
dist_doc_DATA = docs/nfsrecctl-json.md
nfsrecctlschemadir = $(docdir)/schema
dist_nfsrecctlschema_DATA = docs/schema/list-monitors.json docs/schema/list-notify.json \
	docs/schema/list-clients.json docs/schema/show.json docs/schema/grace.json \
	docs/schema/state.json docs/schema/remove-monitor.json docs/schema/expire-client.json \
	docs/schema/cluster-status.json docs/schema/cluster-instances.json \
	docs/schema/cluster-grace.json docs/schema/cluster-lift.json docs/schema/cluster-remove-node.json

# The listings on databases written by the real SQLite stores.
check_PROGRAMS += daemon/nfsrecctl_list_test
TESTS += daemon/nfsrecctl_list_test
daemon_nfsrecctl_list_test_SOURCES = daemon/nfsrecctl_list_test.cc
daemon_nfsrecctl_list_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
daemon_nfsrecctl_list_test_LDADD = $(NFSRECCTL_LIBS) tests/support/libstorefakes.a daemon/libdaemon.a \
	statd/libstatd.a nfs4rec/libnfs4rec.a cluster/libcluster.a $(COMMON_LIBS) rpcgen/librpcxdr.a $(GTEST_LIBS) \
	$(SYS_LIBS)

check_PROGRAMS += daemon/nfsrecctl_config_test
TESTS += daemon/nfsrecctl_config_test
daemon_nfsrecctl_config_test_SOURCES = daemon/nfsrecctl_config_test.cc
daemon_nfsrecctl_config_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
daemon_nfsrecctl_config_test_LDADD = $(NFSRECCTL_LIBS) daemon/libdaemon.a cluster/libcluster.a $(COMMON_LIBS) $(GTEST_LIBS) $(SYS_LIBS)

# What the daemon hands over to the user it drops to (database directory,
# a database at the old path, pid file).
check_PROGRAMS += daemon/process_test
TESTS += daemon/process_test
daemon_process_test_SOURCES = daemon/process_test.cc
daemon_process_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
daemon_process_test_LDADD = daemon/libdaemon.a $(COMMON_LIBS) $(GTEST_LIBS) $(LIBCAP_LIBS) \
	$(SYS_LIBS)

# nfsrecctl import: its options and the running-daemon check.
check_PROGRAMS += daemon/nfsrecctl_import_test
TESTS += daemon/nfsrecctl_import_test
daemon_nfsrecctl_import_test_SOURCES = daemon/nfsrecctl_import_test.cc
daemon_nfsrecctl_import_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
daemon_nfsrecctl_import_test_LDADD = $(NFSRECCTL_LIBS) daemon/libdaemon.a statd/libstatd.a nfs4rec/libnfs4rec.a \
	cluster/libcluster.a $(COMMON_LIBS) $(GTEST_LIBS) $(SYS_LIBS)
# The control socket (server and client) and the status/metrics renderings.
check_PROGRAMS += daemon/control_test
TESTS += daemon/control_test
daemon_control_test_SOURCES = daemon/control_server_test.cc daemon/status_report_test.cc \
	daemon/nfsrecctl_live_test.cc
daemon_control_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
daemon_control_test_LDADD = $(NFSRECCTL_LIBS) daemon/libdaemon.a cluster/libcluster.a $(COMMON_LIBS) $(GTEST_LIBS) $(SYS_LIBS)
# nfsrecctl remove monitor / expire client: the control commands
# (daemon/control_admin.h) and the CLI with its offline path.
check_PROGRAMS += daemon/admin_test
TESTS += daemon/admin_test
daemon_admin_test_SOURCES = daemon/control_admin_test.cc daemon/nfsrecctl_admin_test.cc
daemon_admin_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
daemon_admin_test_LDADD = $(NFSRECCTL_LIBS) daemon/libdaemon.a statd/libstatd.a nfs4rec/libnfs4rec.a \
	cluster/libcluster.a $(COMMON_LIBS) rpcgen/librpcxdr.a $(GTEST_LIBS) $(SYS_LIBS)

# ClusterGraceControl: the kernel's early end waits for the cluster grace.
check_PROGRAMS += daemon/cluster_grace_control_test
TESTS += daemon/cluster_grace_control_test
daemon_cluster_grace_control_test_SOURCES = daemon/cluster_grace_control_test.cc
daemon_cluster_grace_control_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
daemon_cluster_grace_control_test_LDADD = daemon/libdaemon.a nfs4rec/libnfs4rec.a $(COMMON_LIBS) \
	$(GTEST_LIBS) $(SYS_LIBS)
