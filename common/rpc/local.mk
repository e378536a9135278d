# ONC RPC: message codec, event-driven server, rpcbind adapter, UDP client.
noinst_LIBRARIES += common/rpc/librpc.a
common_rpc_librpc_a_SOURCES = \
	common/rpc/rpc_message.cc common/rpc/rpc_message.h \
	common/rpc/rpc_server.cc common/rpc/rpc_server.h \
	common/rpc/rpcbind.cc common/rpc/rpcbind.h \
	common/rpc/udp_rpc_client.cc common/rpc/udp_rpc_client.h

check_PROGRAMS += common/rpc/rpc_test
TESTS += common/rpc/rpc_test
common_rpc_rpc_test_SOURCES = common/rpc/rpc_test.cc
common_rpc_rpc_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
common_rpc_rpc_test_LDADD = tests/support/librpctest.a $(COMMON_LIBS) rpcgen/librpcxdr.a \
	$(GTEST_LIBS) $(SYS_LIBS)
