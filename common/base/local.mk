# Values and vocabulary with no I/O: Status/Result, logging, clock port.
noinst_LIBRARIES += common/base/libbase.a
common_base_libbase_a_SOURCES = \
	common/base/callback.h \
	common/base/clock.h \
	common/base/histogram.h \
	common/base/liveness.h \
	common/base/log_limiter.cc common/base/log_limiter.h \
	common/base/logging.cc common/base/logging.h \
	common/base/result.h \
	common/base/status.cc common/base/status.h \
	common/base/unique_fd.h

check_PROGRAMS += common/base/base_test
TESTS += common/base/base_test
common_base_base_test_SOURCES = common/base/base_test.cc common/base/log_limiter_test.cc \
	common/base/histogram_test.cc \
	tests/support/status_matchers.h
common_base_base_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
common_base_base_test_LDADD = common/base/libbase.a $(GTEST_LIBS) $(SYS_LIBS)
