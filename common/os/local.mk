# The operating-system edge: event loop (libevent), files, name service,
# process set-up (daemonize, pid file).
noinst_LIBRARIES += common/os/libos.a
common_os_libos_a_SOURCES = \
	common/os/daemonize.cc common/os/daemonize.h \
	common/os/event_loop.cc common/os/event_loop.h \
	common/os/pidfile.cc common/os/pidfile.h \
	common/os/read_file.cc common/os/read_file.h \
	common/os/resolver.cc common/os/resolver.h

check_PROGRAMS += common/os/event_loop_test
TESTS += common/os/event_loop_test
common_os_event_loop_test_SOURCES = common/os/event_loop_test.cc
common_os_event_loop_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
common_os_event_loop_test_LDADD = $(COMMON_LIBS) $(GTEST_LIBS) $(SYS_LIBS)
