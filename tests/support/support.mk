# RPC test support: blocking test client (librpctest.a), lockd emulator,
# rpcbind test driver, and the netns+rpcbind runner (with-netns).
noinst_LIBRARIES += tests/support/librpctest.a
tests_support_librpctest_a_SOURCES = \
	tests/support/rpc_test_client.cc tests/support/rpc_test_client.h

# NLM callback target standing in for the kernel's lockd (see the file).
check_PROGRAMS += tests/support/lockd-emu
tests_support_lockd_emu_SOURCES = tests/support/lockd_emulator.cc
tests_support_lockd_emu_LDADD = $(COMMON_LIBS) rpcgen/librpcxdr.a $(SYS_LIBS)

# Drives common/rpc/rpcbind.h and the test client for rpcbind_test.sh.
check_PROGRAMS += tests/support/rpcbind-driver
tests_support_rpcbind_driver_SOURCES = tests/support/rpcbind_driver.cc
tests_support_rpcbind_driver_LDADD = tests/support/librpctest.a $(COMMON_LIBS) \
	rpcgen/librpcxdr.a $(SYS_LIBS)

# Runs a command in a private network namespace with its own rpcbind.
EXTRA_DIST += tests/support/with-netns tests/support/with-etcd tests/support/fake-statd-peer tests/support/timed tests/support/rpcbind_test.sh tests/support/dispatch_testutil.h
TESTS += tests/support/rpcbind_test.sh
EXTRA_DIST += tests/support/fake_cluster_grace.h
