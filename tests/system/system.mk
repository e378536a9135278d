# System tests: the real daemon, real rpcbind and Debian's rpcinfo /
# rpc.statd / sm-notify, each test in private network namespaces
# (tests/support/with-netns).  They exit 77 (SKIP) when not root.
check_PROGRAMS += tests/system/nsm-client
tests_system_nsm_client_SOURCES = tests/system/nsm_client.cc
tests_system_nsm_client_CPPFLAGS = $(AM_CPPFLAGS)
tests_system_nsm_client_LDADD = tests/support/librpctest.a statd/libstatd.a $(COMMON_LIBS) \
	rpcgen/librpcxdr.a $(SYS_LIBS)
check_PROGRAMS += tests/system/forge6
tests_system_forge6_SOURCES = tests/system/forge6.cc
tests_system_forge6_CPPFLAGS = $(AM_CPPFLAGS)
tests_system_forge6_LDADD = statd/libstatd.a $(COMMON_LIBS) rpcgen/librpcxdr.a $(SYS_LIBS)
check_PROGRAMS += tests/system/tcp-flood
tests_system_tcp_flood_SOURCES = tests/system/tcp_flood.cc
check_PROGRAMS += tests/system/nlm-client
tests_system_nlm_client_SOURCES = tests/system/nlm_client.cc
tests_system_nlm_client_CPPFLAGS = $(AM_CPPFLAGS)
tests_system_nlm_client_LDADD = tests/support/librpctest.a $(COMMON_LIBS) $(SYS_LIBS)

SYSTEM_TESTS = \
	tests/system/010-rpcinfo.sh \
	tests/system/020-mon-unmon.sh \
	tests/system/030-remote-caller.sh \
	tests/system/040-restart.sh \
	tests/system/050-bad-input.sh \
	tests/system/060-already-running.sh \
	tests/system/070-notify-callback.sh \
	tests/system/080-boot-notify.sh \
	tests/system/090-split-notify.sh \
	tests/system/100-statd-takeover.sh \
	tests/system/110-options.sh \
	tests/system/115-option-table-vs-nfs-utils.sh \
	tests/system/116-outgoing-addr-is-notify-source.sh \
	tests/system/116-lift-grace-no-leaves-lockd-grace.sh \
	tests/system/120-forged-v4mapped-caller-refused.sh \
	tests/system/130-tcp-flood-does-not-starve-lockd.sh \
	tests/system/135-ha-callout-before-reply.sh \
	tests/system/140-idle-without-nfsd-uses-no-cpu.sh \
	tests/system/150-replaced-database-fails-loudly.sh \
	tests/system/160-symlinked-state-directory-accepted.sh \
	tests/system/170-second-sigterm-during-teardown-unregisters.sh \
	tests/system/175-startup-failures-say-the-fix.sh \
	tests/system/176-quit-signal-during-start-up-exits-cleanly.sh \
	tests/system/180-rpcbind-restart-reregisters.sh \
	tests/system/185-unmon-not-durable-is-system-err.sh \
	tests/system/190-privileges-dropped.sh \
	tests/system/195-ganesha-uses-nfsrecd-as-statd.sh
TESTS += $(SYSTEM_TESTS)
EXTRA_DIST += $(SYSTEM_TESTS) tests/system/lib.sh tests/system/knfsd-deb.sh

# The way back to nfs-utils (nfsrecctl export --nfs-utils).
SYSTEM_TESTS += tests/system/200-export-to-nfs-utils.sh

# nfsrecctl's listings against a running and a stopped daemon, --json
# checked against docs/schema/.
SYSTEM_TESTS += tests/system/210-nfsrecctl-list.sh
# rpc.statd's files kept current while nfsrecd runs (statd/sm_mirror.h).
SYSTEM_TESTS += tests/system/215-sm-mirror-read-by-sm-notify.sh
# The switch from nfsdcld: its clients reclaim under nfsrecd (Debian's
# nfsdcld and the FUSE cld emulator).
SYSTEM_TESTS += tests/system/220-nfsdcld-clients-reclaim-after-switch.sh
# nfsrecctl status and metrics over the daemon's control socket.
SYSTEM_TESTS += tests/system/205-nfsrecctl-status.sh
# nfsrecctl remove monitor / expire client, through the daemon and offline.
SYSTEM_TESTS += tests/system/225-nfsrecctl-remove-expire.sh
# nfsrecctl cluster against a real 3-member etcd.
SYSTEM_TESTS += tests/system/230-nfsrecctl-cluster.sh
