# The operating-system edge: event loop (libevent), files, name service,
# process set-up (daemonize, pid file, dropping root, the privileged helper).
noinst_LIBRARIES += common/os/libos.a
common_os_libos_a_SOURCES = \
	common/os/atomic_file.cc common/os/atomic_file.h \
	common/os/daemonize.cc common/os/daemonize.h \
	common/os/effective_owner.cc common/os/effective_owner.h \
	common/os/event_loop.cc common/os/event_loop.h \
	common/os/executor.cc common/os/executor.h \
	common/os/file_system.cc common/os/file_system.h \
	common/os/pidfile.cc common/os/pidfile.h \
	common/os/privileges.cc common/os/privileges.h \
	common/os/privileged_helper.cc common/os/privileged_helper.h \
	common/os/resolver.cc common/os/resolver.h \
	common/os/signals.cc common/os/signals.h

check_PROGRAMS += common/os/event_loop_test
TESTS += common/os/event_loop_test
common_os_event_loop_test_SOURCES = common/os/event_loop_test.cc
common_os_event_loop_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
common_os_event_loop_test_LDADD = $(COMMON_LIBS) $(GTEST_LIBS) $(SYS_LIBS)

# Executor, FileSystem, ThreadResolver and EffectiveOwner (as root), against tests/support's fakes.
COMMON_OS_TESTS = common/os/executor_test common/os/file_system_test common/os/resolver_test \
	common/os/effective_owner_test
check_PROGRAMS += $(COMMON_OS_TESTS)
TESTS += $(COMMON_OS_TESTS)
common_os_executor_test_SOURCES = common/os/executor_test.cc
common_os_executor_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
common_os_executor_test_LDADD = $(COMMON_LIBS) $(GTEST_LIBS) $(SYS_LIBS)
common_os_file_system_test_SOURCES = common/os/file_system_test.cc \
	tests/support/fake_file_system.h
common_os_file_system_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
common_os_file_system_test_LDADD = $(COMMON_LIBS) $(GTEST_LIBS) $(SYS_LIBS)
common_os_effective_owner_test_SOURCES = common/os/effective_owner_test.cc
common_os_effective_owner_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
common_os_effective_owner_test_LDADD = $(COMMON_LIBS) $(GTEST_LIBS) $(SYS_LIBS)
common_os_resolver_test_SOURCES = common/os/resolver_test.cc tests/support/fake_scheduler.h
common_os_resolver_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
common_os_resolver_test_LDADD = $(COMMON_LIBS) $(GTEST_LIBS) $(SYS_LIBS)

# Dropping root and the privileged helper: the drops run in forked children
# (they cannot be undone) and skip without root; the helper's validation
# runs unprivileged.
COMMON_OS_PRIV_TESTS = common/os/privileges_test common/os/privileged_helper_test
check_PROGRAMS += $(COMMON_OS_PRIV_TESTS)
TESTS += $(COMMON_OS_PRIV_TESTS)
common_os_privileges_test_SOURCES = common/os/privileges_test.cc
common_os_privileges_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
common_os_privileges_test_LDADD = $(COMMON_LIBS) $(GTEST_LIBS) $(LIBCAP_LIBS) $(SYS_LIBS)
common_os_privileged_helper_test_SOURCES = common/os/privileged_helper_test.cc
common_os_privileged_helper_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
common_os_privileged_helper_test_LDADD = $(COMMON_LIBS) $(GTEST_LIBS) $(LIBCAP_LIBS) $(SYS_LIBS)
