noinst_LIBRARIES += common/libcommon.a
common_libcommon_a_SOURCES = \
	common/clock.h \
	common/daemonize.cc common/daemonize.h \
	common/daemon_config.cc common/daemon_config.h \
	common/event_loop.cc common/event_loop.h \
	common/logging.cc common/logging.h \
	common/nfs_conf.cc common/nfs_conf.h \
	common/pidfile.cc common/pidfile.h \
	common/read_file.cc common/read_file.h \
	common/resolver.cc common/resolver.h \
	common/result.h \
	common/udp_rpc_client.cc common/udp_rpc_client.h \
	common/status.cc common/status.h \
	common/unique_fd.h

# Store pieces (sqlite, commit queue, schema) live in common/store.mk.
include common/store.mk
# RPC transport pieces live in common/rpc.mk.
include common/rpc.mk

check_PROGRAMS += common/config_test
TESTS += common/config_test
common_config_test_SOURCES = common/nfs_conf_test.cc common/daemon_config_test.cc
common_config_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
common_config_test_LDADD = common/libcommon.a $(GTEST_LIBS) $(SYS_LIBS)

check_PROGRAMS += common/event_loop_test
TESTS += common/event_loop_test
common_event_loop_test_SOURCES = common/event_loop_test.cc
common_event_loop_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
common_event_loop_test_LDADD = common/libcommon.a $(GTEST_LIBS) $(SYS_LIBS)
