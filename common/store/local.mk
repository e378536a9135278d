# Store pieces: SQLite RAII, group commit, versioned schema.
noinst_LIBRARIES += common/store/libstore.a
common_store_libstore_a_SOURCES = \
	common/store/commit_queue.cc common/store/commit_queue.h \
	common/store/schema.cc common/store/schema.h \
	common/store/sqlite.cc common/store/sqlite.h

check_PROGRAMS += common/store/store_test
TESTS += common/store/store_test
common_store_store_test_SOURCES = \
	common/store/commit_queue_test.cc \
	common/store/schema_test.cc \
	common/store/sqlite_test.cc \
	common/store/store_fault_test.cc
common_store_store_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
common_store_store_test_LDADD = tests/support/libstorefakes.a $(COMMON_LIBS) \
	$(GTEST_LIBS) $(SYS_LIBS)
