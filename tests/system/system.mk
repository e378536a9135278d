# System tests: the real daemon, real rpcbind and Debian's rpcinfo /
# rpc.statd / sm-notify, each test in private network namespaces
# (tests/support/with-netns).  They exit 77 (SKIP) when not root.
check_PROGRAMS += tests/system/nsm-client
tests_system_nsm_client_SOURCES = tests/system/nsm_client.cc
tests_system_nsm_client_CPPFLAGS = $(AM_CPPFLAGS)
tests_system_nsm_client_LDADD = tests/support/librpctest.a statd/libstatd.a $(COMMON_LIBS) \
	rpcgen/librpcxdr.a $(SYS_LIBS)

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
	tests/system/135-ha-callout-before-reply.sh
TESTS += $(SYSTEM_TESTS)
EXTRA_DIST += $(SYSTEM_TESTS) tests/system/lib.sh
