# Store pieces: SQLite RAII, group commit, versioned schema.
common_libcommon_a_SOURCES += \
	common/commit_queue.cc common/commit_queue.h \
	common/schema.cc common/schema.h \
	common/sqlite.cc common/sqlite.h

check_PROGRAMS += common/store_test
TESTS += common/store_test
common_store_test_SOURCES = \
	common/commit_queue_test.cc \
	common/schema_test.cc \
	common/sqlite_test.cc \
	common/store_fault_test.cc \
	tests/support/store_testutil.h
common_store_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
common_store_test_LDADD = tests/support/libstorefakes.a common/libcommon.a \
	$(GTEST_LIBS) $(SYS_LIBS)
