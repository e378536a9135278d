# Store test support: the store harness (temporary directory, loop, database,
# CommitQueue, reopen, fault VFS), the in-memory NsmStore, the fault-injecting
# SQLite VFS, and the shared assertions.  MemClientStore is compiled into the
# nfs4rec tests that use it (NFS4REC_MEM_STORE in nfs4rec/local.mk).
noinst_LIBRARIES += tests/support/libstorefakes.a
tests_support_libstorefakes_a_SOURCES = \
	tests/support/fault_vfs.cc tests/support/fault_vfs.h \
	tests/support/mem_nsm_store.cc tests/support/mem_nsm_store.h \
	tests/support/nsm_store_testutil.h \
	tests/support/status_matchers.h \
	tests/support/store_harness.cc tests/support/store_harness.h \
	tests/support/temp_dir.h
tests_support_libstorefakes_a_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
