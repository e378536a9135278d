# ONC RPC transport: message codec, event-driven server, rpcbind adapter.
common_libcommon_a_SOURCES += \
	common/rpc_message.cc common/rpc_message.h \
	common/rpc_server.cc common/rpc_server.h \
	common/rpcbind.cc common/rpcbind.h

check_PROGRAMS += common/rpc_test
TESTS += common/rpc_test
common_rpc_test_SOURCES = common/rpc_test.cc
common_rpc_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
common_rpc_test_LDADD = tests/support/librpctest.a common/libcommon.a rpcgen/librpcxdr.a \
	$(GTEST_LIBS) $(SYS_LIBS)
