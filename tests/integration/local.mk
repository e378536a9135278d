# Both facades in one process on one loop and one database, as the
# daemon's composition root wires them; no root needed (fake /proc,
# ephemeral loopback ports, no rpcbind).
check_PROGRAMS += tests/integration/daemons_test
TESTS += tests/integration/daemons_test
tests_integration_daemons_test_SOURCES = tests/integration/daemons_test.cc \
	tests/integration/daemon_harness.cc tests/integration/daemon_harness.h \
	tests/integration/pty_cld_pipe.cc tests/integration/pty_cld_pipe.h \
	tests/support/fake_file_system.h
tests_integration_daemons_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
tests_integration_daemons_test_LDADD = tests/support/librpctest.a daemon/libdaemon.a \
	statd/libstatd.a nfs4rec/libnfs4rec.a $(COMMON_LIBS) rpcgen/librpcxdr.a \
	$(GTEST_LIBS) $(SYS_LIBS)
