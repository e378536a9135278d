# Store test support: in-memory NsmStore and the fault-injecting SQLite VFS.
noinst_LIBRARIES += tests/support/libstorefakes.a
tests_support_libstorefakes_a_SOURCES = \
	tests/support/fault_vfs.cc tests/support/fault_vfs.h \
	tests/support/mem_nsm_store.cc tests/support/mem_nsm_store.h \
	tests/support/nsm_store_testutil.h \
	tests/support/store_testutil.h tests/support/temp_dir.h
